"""Who an operation texts, and what protects that person: the suppression list and the daily limit.

One function (`handset`) answers which handset an operation is about and whether it texts it, from the operation's
row in `textgate.registry`; accepting and delivering both ask it, so a new operation cannot be added to one path
and forgotten on the other.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import NamedTuple

from textgate.dal import limits, suppression
from textgate.errors import ApiError, RecipientLimitReached, RecipientOptedOut
from textgate.registry import OperationName, spec
from textgate.settings import get_settings

DAY_SECONDS = 86_400.0


class Handset(NamedTuple):  # not a dataclass: a tenth of the import time, at every cold start
    number: str  # E.164
    field: str  # the request field that named it
    texted: bool  # whether the operation sends this handset a text


def handset(operation: OperationName, payload: Mapping[str, object]) -> Handset | None:
    """The handset an operation is about, and whether it texts it; None for operations about no handset."""
    row = spec(operation)
    field = row.handset_field
    number = payload.get(field) if field else None
    if field is None or not isinstance(number, str):
        return None
    return Handset(number=number, field=field, texted=row.texts_handset)


def texted_handset(operation: OperationName, payload: Mapping[str, object]) -> Handset | None:
    found = handset(operation, payload)
    return found if found is not None and found.texted else None


def ensure_may_text(found: Handset) -> None:
    """Refuse (422) a text to a number on the suppression list. Eventually consistent: delivery reads the list
    again, consistently, before the provider is called, so an opt-out this read misses still stops the text."""
    if suppression.is_opted_out(found.number, consistent=False):
        raise opted_out(found)


def opted_out(found: Handset) -> ApiError:
    """The refusal of a text to a number on the suppression list."""
    return RecipientOptedOut(
        "the recipient opted out of messages; nothing was queued",
        errors=[{"field": found.field, "message": "is on the suppression list"}],
    )


def opted_out_among(numbers: Iterable[str]) -> set[str]:
    """The numbers on the suppression list, of many (a batch's), read together and, like `ensure_may_text`,
    eventually consistent (delivery reads the list again before the provider is called)."""
    return suppression.opted_out_among(numbers, consistent=False)


def opted_out_now(operation: OperationName, payload: Mapping[str, object]) -> Handset | None:
    """At delivery: the texted handset if it is on the list now (it may have opted out after queuing). The last
    check before the provider is called, so a consistent read."""
    found = texted_handset(operation, payload)
    return found if found is not None and suppression.is_opted_out(found.number, consistent=True) else None


def daily_key(number: str) -> str:
    return limits.key("daily", number)


def take_daily_slot(number: str, now: float) -> limits.Slot:
    """Count one text to `number` against RECIPIENT_DAILY_LIMIT in any 24 hours, or refuse (429)."""
    limit = get_settings().recipient_daily_limit
    taken = limits.take_slot(daily_key(number), limit=limit, window_seconds=DAY_SECONDS, now=now)
    if isinstance(taken, limits.Refused):
        raise limit_reached(limit, taken)
    return taken


def take_daily_slots(number: str, count: int, now: float) -> tuple[limits.Slots, ApiError | None]:
    """Count `count` texts to `number` at once (a batch's items to it), as many as the daily limit allows; the
    refusal of the rest, if any."""
    limit = get_settings().recipient_daily_limit
    taken = limits.take_slots(daily_key(number), count, limit=limit, window_seconds=DAY_SECONDS, now=now)
    return taken, limit_reached(limit, taken.refused) if taken.refused is not None else None


def limit_reached(limit: int, refused: limits.Refused) -> ApiError:
    wait = refused.retry_after_header
    return RecipientLimitReached(
        f"at most {limit} texts to one recipient in 24 hours; try again in {wait} seconds",
        headers={"Retry-After": wait},
    )
