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


# Operations that text a handset, and the payload field that holds its number.
RECIPIENT_FIELDS = {
    "ogangi.send_sms": "to",
    "ogangi.send_pin": "to",
    "interact.send_campaign_sms": "caller_id",
}


def handset_of(operation: str, payload: dict[str, object]) -> str | None:
    """The number an operation is about, when a provider's "opted out" answer should reach our list too."""
    field = RECIPIENT_FIELDS.get(operation) or ("phone_number" if operation == "protexting.opt_in" else None)
    number = payload.get(field) if field else None
    return number if isinstance(number, str) else None


def opted_out_recipient(operation: str, payload: dict[str, object]) -> str | None:
    """The operation's recipient if it is now on the suppression list (it may have opted out after queuing)."""
    field = RECIPIENT_FIELDS.get(operation)
    recipient = payload.get(field) if field else None
    if isinstance(recipient, str) and suppression.is_opted_out(recipient):
        return recipient
    return None
