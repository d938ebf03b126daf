"""The provider accounts of this deployment: each client built from the settings and its secret.

Delivery (the executors) and the synchronous reads (logic) both build clients here, so neither imports the other.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textgate import secrets
from textgate.providers.ogangi import OgangiClient, OgangiCredentials
from textgate.settings import get_settings


class NotAttempted(Exception):
    """Raised before any request left: the operation may be tried again (for example a secret unreadable)."""


def credentials[C](provider_label: str, secret_id: str, parse: Callable[[dict[str, Any]], C]) -> C:
    """A provider's credentials from its secret; unreadable or incomplete means nothing can be sent yet."""
    try:
        return parse(secrets.get_secret(secret_id))
    except (secrets.SecretUnavailable, KeyError, ValueError, TypeError) as exc:
        raise NotAttempted(f"{provider_label} credentials unavailable ({type(exc).__name__})") from None


def ogangi() -> OgangiClient:
    settings = get_settings()
    account = credentials("Ogangi", settings.ogangi_secret_id, OgangiCredentials.from_secret)
    return OgangiClient(settings.ogangi_base_url, account, settings.provider_timeouts)
