"""Time in one place, so tests and the state machine agree on what 'now' is."""

from __future__ import annotations

import time
from datetime import UTC, datetime


def now() -> float:
    return time.time()


def sleep(seconds: float) -> None:
    """Wait (backoff between retries of a partly processed batch call); tests may replace it."""
    time.sleep(seconds)


def rfc3339(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_rfc3339(text: str) -> float:
    """Seconds since the epoch; ValueError for a time that is not one, or that falls outside the years 1 to 9999
    once in UTC (0001-01-01T00:00:00+01:00 is a year-0 time, which nothing downstream can show)."""
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    try:
        epoch = value.timestamp()
        datetime.fromtimestamp(epoch, UTC)
    except (OverflowError, OSError, ValueError):
        raise ValueError("out of range") from None
    return epoch
