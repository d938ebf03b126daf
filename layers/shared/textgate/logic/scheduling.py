"""When a send goes: at once, at the caller's `send_at`, or at the end of the recipient's quiet hours.

`plan` is a function of (operation, payload, now) and the request's `send_at` and `purpose`, with no I/O: a
route, a trigger and each item of a batch ask it the same question. `not_before` is what delivery asks again
before each provider call (a marketing send queued at 20:59 must not go at 21:00, nor its retry at night).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import NamedTuple

from textgate import clock, quiet_hours
from textgate.errors import ValidationFailed
from textgate.logic.recipients import texted_handset
from textgate.models import MARKETING, QUIET_HOURS, TRANSACTIONAL
from textgate.registry import SCHEDULABLE, OperationName
from textgate.settings import get_settings

MIN_AHEAD_SECONDS = 60.0
MAX_AHEAD_SECONDS = 35 * 86_400.0
_RFC3339 = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?(?P<offset>[Zz]|[+-]\d{2}:\d{2})?$", re.ASCII
)


class SendPlan(NamedTuple):  # not a dataclass: a tenth of the import time, at every cold start
    send_at: float | None  # None: at once
    purpose: str = TRANSACTIONAL
    deferred_for: str | None = None  # QUIET_HOURS when textgate moved it


def parse_send_at(text: str) -> float:
    """RFC 3339 with an offset (`Z` or `±hh:mm`) to epoch seconds; ValueError otherwise. A time without an offset
    is refused: whose 9 am would it be?"""
    match = _RFC3339.match(text)
    if match is None:
        raise ValueError("must be an RFC 3339 date-time, such as 2026-12-24T09:00:00-05:00")
    if match.group("offset") is None:
        raise ValueError("needs a time zone offset (Z or ±hh:mm): a local time without one is ambiguous")
    try:
        return clock.parse_rfc3339(text.upper())
    except ValueError:
        raise ValueError("is not a date and time that exists") from None


def plan(
    operation: OperationName,
    payload: Mapping[str, object],
    now: float,
    *,
    send_at: str | None = None,
    purpose: str | None = None,
) -> SendPlan:
    """Validate `send_at` (1 minute to 35 days ahead: 422 on the field otherwise) and hold a marketing text to a
    handset until every one of its time zones is outside quiet hours."""
    purpose = purpose or TRANSACTIONAL
    at: float | None = None
    if send_at is not None and operation not in SCHEDULABLE:
        raise ValidationFailed(
            "invalid send_at",
            errors=[{"field": "send_at", "message": f"{operation} is sent at once: it cannot be scheduled"}],
        )
    if send_at is not None:
        try:
            at = parse_send_at(send_at)
        except ValueError as exc:
            raise ValidationFailed("invalid send_at", errors=[{"field": "send_at", "message": str(exc)}]) from None
        if not MIN_AHEAD_SECONDS <= at - now <= MAX_AHEAD_SECONDS:
            raise ValidationFailed(
                "invalid send_at",
                errors=[{"field": "send_at", "message": "must be between 1 minute and 35 days from now"}],
            )
    if purpose != MARKETING:
        return SendPlan(send_at=at, purpose=purpose)
    start = now if at is None else at
    outside = _first_moment_outside(operation, payload, start)
    if outside is None:
        raise ValidationFailed(
            "no time outside quiet hours",
            errors=[
                {
                    "field": "purpose",
                    "message": "marketing cannot reach this number: its time zones are never all outside quiet hours",
                }
            ],
        )
    if outside > start:
        return SendPlan(send_at=outside, purpose=purpose, deferred_for=QUIET_HOURS)
    return SendPlan(send_at=at, purpose=purpose)


def not_before(operation: OperationName, payload: Mapping[str, object], purpose: str, moment: float) -> float | None:
    """The first moment at or after `moment` at which this send may be handed to its provider; None when never
    (a marketing number whose zones share no waking minute)."""
    if purpose != MARKETING:
        return moment
    return _first_moment_outside(operation, payload, moment)


def _first_moment_outside(operation: OperationName, payload: Mapping[str, object], moment: float) -> float | None:
    settings = get_settings()
    window = settings.quiet_hours_window
    handset = texted_handset(operation, payload)
    if window is None or handset is None:
        return moment  # quiet hours are off, or the operation texts nobody
    zones = quiet_hours.zones_for_number(handset.number, settings.default_time_zone)
    try:
        return quiet_hours.first_moment_outside(moment, zones, window)
    except quiet_hours.NoTimeOutside:
        return None
