"""Quiet hours: the local times at which a marketing text must not reach a handset, as arithmetic only.

A window is a pair of local wall-clock times (`21:00-08:00`); it crosses midnight when it starts later than it
ends. A moment is quiet for a number when it is inside the window in any of the number's time zones: a number
that spans several zones (a mobile range of a whole country) may be texted only when every one of them is awake.
Daylight saving is the zone database's business: the window is read in each zone's wall-clock time at each
moment, so a send deferred across a change of the clocks lands on the first minute the clock shows the end.

No I/O and no clock: the caller passes `now`. libphonenumber's time-zone data is imported on the first lookup
only (only a marketing send needs it).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from datetime import datetime
from functools import lru_cache
from typing import NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

MINUTES_PER_DAY = 1440
# The largest change of the clocks any zone makes today is one hour; two is the margin that keeps a jump from
# passing the end of a window whatever the zone database says.
_LARGEST_CLOCK_CHANGE_MINUTES = 120
# Every zone's window ends within a day of any moment; a number whose zones are awake at no common minute
# within this horizon never will be.
_HORIZON_SECONDS = 3 * 86_400.0

_WINDOW = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])-([01][0-9]|2[0-3]):([0-5][0-9])$")


class NoTimeOutside(ValueError):
    """The number's zones are never all outside the window at once (they span more hours than the window
    leaves awake)."""


class Window(NamedTuple):  # not a dataclass: a tenth of the import time, at every cold start
    start: int  # minutes after local midnight, inside the window
    end: int  # minutes after local midnight, the first minute outside it

    def __str__(self) -> str:
        return f"{self.start // 60:02d}:{self.start % 60:02d}-{self.end // 60:02d}:{self.end % 60:02d}"

    def contains(self, minute_of_day: int) -> bool:
        if self.start < self.end:
            return self.start <= minute_of_day < self.end
        return minute_of_day >= self.start or minute_of_day < self.end  # crosses midnight

    def minutes_left(self, minute_of_day: int) -> int:
        """Wall-clock minutes from `minute_of_day` to the window's end (0 when outside it)."""
        if not self.contains(minute_of_day):
            return 0
        return (self.end - minute_of_day) % MINUTES_PER_DAY


def parse_window(text: str) -> Window | None:
    """`HH:MM-HH:MM` (24-hour local times), or `off` for no quiet hours (None). ValueError otherwise."""
    cleaned = text.strip().lower()
    if cleaned == "off":
        return None
    match = _WINDOW.match(cleaned)
    if match is None:
        raise ValueError("quiet hours are HH:MM-HH:MM (24-hour local times) or off")
    start_hour, start_minute, end_hour, end_minute = (int(part) for part in match.groups())
    window = Window(start=start_hour * 60 + start_minute, end=end_hour * 60 + end_minute)
    if window.start == window.end:
        raise ValueError("quiet hours must start and end at different times")
    return window


@lru_cache(maxsize=512)
def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def zones_for_number(e164: str, default_zone: str) -> tuple[str, ...]:
    """The IANA zones libphonenumber gives the number (several for a range that spans them); `default_zone`
    for a number it does not place, or whose zones this runtime's zone database lacks."""
    import phonenumbers  # noqa: PLC0415 - with its time-zone data, only when a marketing send asks
    from phonenumbers.timezone import UNKNOWN_TIMEZONE, time_zones_for_number  # noqa: PLC0415

    try:
        names = time_zones_for_number(phonenumbers.parse(e164, None))
    except phonenumbers.NumberParseException:
        names = ()
    known = tuple(name for name in names if name != UNKNOWN_TIMEZONE and _exists(name))
    return known or (default_zone,)


def _exists(name: str) -> bool:
    try:
        zone(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def _minute_of_day(epoch: float, zone_name: str) -> int:
    local = datetime.fromtimestamp(epoch, zone(zone_name))
    return local.hour * 60 + local.minute


def is_quiet(epoch: float, zones: Sequence[str], window: Window) -> bool:
    return any(window.contains(_minute_of_day(epoch, name)) for name in zones)


def first_moment_outside(now: float, zones: Sequence[str], window: Window | None) -> float:
    """`now` when no zone is inside the window; otherwise the first whole minute at which none is.

    Jumps by the wall-clock time left in the zone that waits longest, less the largest change of the clocks
    (so a change on the way never carries a jump past the end), then walks minute by minute: exact at daylight
    saving changes, a few hundred cheap steps at most."""
    if window is None or not zones or not is_quiet(now, zones, window):
        return now
    moment = math.ceil(now / 60) * 60.0
    while moment <= now + _HORIZON_SECONDS:
        left = max(window.minutes_left(_minute_of_day(moment, name)) for name in zones)
        if left == 0:
            return moment
        moment += max(1, left - _LARGEST_CLOCK_CHANGE_MINUTES) * 60
    raise NoTimeOutside(f"no minute is outside {window} in every one of {len(zones)} time zones")
