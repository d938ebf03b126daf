"""Executors: turn a claimed operation into one provider call. One module per provider."""

from __future__ import annotations

from textgate.providers.outcome import ProviderOutcome


class NotAttempted(Exception):
    """Raised before any request left: the operation may be tried again (for example a secret unreadable)."""


__all__ = ["NotAttempted", "ProviderOutcome"]
