"""Changing the suppression list: the API's routes, Sumotext's STOP and START, and ProTexting's "opted out".

Every change publishes `opt_out.changed` and records who made it (`changed_by`: the client, or sumotext); a
request that changes nothing (a second STOP) writes and publishes nothing. The recipient owns their STOP: an
opt-out that came from the handset is undone only by the handset (START), never by a client.
"""

from __future__ import annotations

from urllib.parse import unquote

from textgate import clock, log, metrics
from textgate.dal import events, suppression
from textgate.errors import OptedOutByRecipient, ValidationFailed
from textgate.phone import InvalidPhoneNumber, normalise
from textgate.schemas.sumotext import OptOutView

logger = log.get_logger(__name__)

# The source of opt-outs that came from the recipient's own handset (a STOP forwarded by Sumotext).
RECIPIENT = "sumotext"


def parse_phone(raw: str, country: str | None) -> str:
    """The {phone} of a route: E.164 ('+' may come URL-encoded, or as a space from a decoded '+'), or national
    digits with `country`."""
    text = unquote(raw) if "%" in raw else raw
    if text.startswith(" ") and text.strip():
        text = "+" + text.strip()
    try:
        return normalise(text, country)
    except InvalidPhoneNumber as exc:
        raise ValidationFailed("invalid phone", errors=[{"field": "phone", "message": str(exc)}]) from None


def view(number: str, entry: suppression.SuppressionEntry | None) -> OptOutView:
    if entry is None:
        return OptOutView(phone=number, opted_out=False, source=None, changed_by=None, updated_at=None)
    return OptOutView(
        phone=number,
        opted_out=entry.opted_out,
        source=entry.source,
        changed_by=entry.changed_by,
        updated_at=clock.rfc3339(entry.updated_at),
    )


def status(number: str) -> OptOutView:
    return view(number, suppression.get(number))


def set_opted_out(number: str, opted_out: bool, *, source: str, changed_by: str) -> OptOutView:
    """Put `number` (E.164) on the list or take it off, and answer where it stands now. Taking off a number
    that its recipient opted out is refused (409) unless the recipient asks."""
    try:
        changed = suppression.change(
            number,
            opted_out=opted_out,
            source=source,
            changed_by=changed_by,
            now=clock.now(),
            recipient_source=RECIPIENT,
        )
    except suppression.OwnedByRecipient:
        raise OptedOutByRecipient(
            "the recipient opted out from their phone; only the recipient can opt back in (by texting START)"
        ) from None
    if changed is None:
        return status(number)
    current = view(number, changed)
    logger.info(
        "suppression list changed",
        extra={"phone": log.mask_phone(number), "opted_out": opted_out, "source": source, "changed_by": changed_by},
    )
    metrics.opt_out_changed(source, opted_out)
    events.publish("opt_out.changed", current.model_dump())
    return current


def record_opt_out(phone: str, *, source: str) -> None:
    """For the sending paths: a provider told us the number opted out (ProTexting's "opted out" answer).

    `phone` is E.164 or international digits without '+' (ProTexting's form). A number that cannot be read
    cannot be texted either, so it is logged and left off the list rather than failing the caller.
    """
    try:
        number = normalise(phone if phone.startswith("+") else "+" + phone)
    except InvalidPhoneNumber:
        logger.warning("opt-out of an unreadable number ignored", extra={"source": source})
        return
    set_opted_out(number, True, source=source, changed_by=source)
