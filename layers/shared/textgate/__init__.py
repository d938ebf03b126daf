"""textgate: one API over five mobile-messaging providers (the shared Lambda layer)."""
