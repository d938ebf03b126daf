"""Executors: turn a claimed operation into one provider call. One module per provider."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textgate import secrets
from textgate.providers.outcome import ProviderOutcome


class NotAttempted(Exception):
    """Raised before any request left: the operation may be tried again (for example a secret unreadable)."""


def credentials[C](provider_label: str, secret_id: str, parse: Callable[[dict[str, Any]], C]) -> C:
    """A provider's credentials from its secret; unreadable or incomplete means nothing can be sent yet."""
    try:
        return parse(secrets.get_secret(secret_id))
    except (secrets.SecretUnavailable, KeyError, ValueError, TypeError) as exc:
        raise NotAttempted(f"{provider_label} credentials unavailable ({type(exc).__name__})") from None


__all__ = ["NotAttempted", "ProviderOutcome", "credentials"]
