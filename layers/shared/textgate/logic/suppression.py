"""The suppression list, as the sending paths consult it."""

from __future__ import annotations

from textgate.dal import suppression
from textgate.errors import RecipientOptedOut


def ensure_not_opted_out(phone: str, field: str) -> None:
    if suppression.is_opted_out(phone):
        raise RecipientOptedOut(
            "the recipient opted out of messages; nothing was queued",
            errors=[{"field": field, "message": "is on the suppression list"}],
        )
