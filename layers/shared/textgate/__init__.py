"""textgate: one API over five mobile-messaging providers (the shared Lambda layer)."""

import os

# pydantic looks for plugins when it builds its first model by reading the entry points of every installed
# distribution (the layer's and the runtime's): several milliseconds of every cold start, for plugins textgate
# never uses. Set before any textgate module defines a model; an explicit setting in the environment wins.
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
