"""Quiet hours as arithmetic: windows across midnight, changes of the clocks, numbers spanning several zones."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from textgate.quiet_hours import (
    NoTimeOutside,
    Window,
    first_moment_outside,
    is_quiet,
    parse_window,
    zones_for_number,
)

NIGHT = Window(start=21 * 60, end=8 * 60)  # 21:00-08:00, TCPA's calling-time rule
NEW_YORK = "America/New_York"
LONDON = "Europe/London"


def at(text: str, zone: str) -> float:
    """Epoch seconds of a local wall-clock time (the first one, where the clocks go back)."""
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(zone)).timestamp()


def local(epoch: float, zone: str) -> str:
    return datetime.fromtimestamp(epoch, ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M:%S %Z")


class TestWindow:
    def test_parse_reads_the_setting_and_off(self) -> None:
        assert parse_window("21:00-08:00") == NIGHT
        assert parse_window(" 13:30-14:45 ") == Window(start=810, end=885)
        assert parse_window("off") is None
        assert parse_window("OFF") is None

    @pytest.mark.parametrize("text", ["", "21-08", "24:00-08:00", "21:00-8:00", "21:00-21:00", "21:00\u201308:00"])
    def test_parse_refuses_what_is_not_a_window(self, text: str) -> None:
        with pytest.raises(ValueError, match="quiet hours"):
            parse_window(text)

    def test_a_window_across_midnight_holds_both_evening_and_morning(self) -> None:
        assert [NIGHT.contains(minute) for minute in (20 * 60 + 59, 21 * 60, 0, 7 * 60 + 59, 8 * 60)] == [
            False,
            True,
            True,
            True,
            False,
        ]

    def test_a_window_within_one_day(self) -> None:
        lunch = Window(start=12 * 60, end=13 * 60)
        assert [lunch.contains(minute) for minute in (719, 720, 779, 780)] == [False, True, True, False]


class TestFirstMomentOutside:
    def test_outside_quiet_hours_it_goes_now(self) -> None:
        now = at("2026-06-10T14:03:27", NEW_YORK)
        assert first_moment_outside(now, [NEW_YORK], NIGHT) == now

    def test_off_never_defers(self) -> None:
        now = at("2026-06-10T23:00:00", NEW_YORK)
        assert first_moment_outside(now, [NEW_YORK], None) == now

    def test_in_the_evening_it_waits_across_midnight_for_the_morning(self) -> None:
        now = at("2026-06-10T22:15:10", NEW_YORK)
        assert local(first_moment_outside(now, [NEW_YORK], NIGHT), NEW_YORK) == "2026-06-11 08:00:00 EDT"

    def test_after_midnight_it_waits_for_the_same_mornings_end(self) -> None:
        now = at("2026-06-11T03:00:00", NEW_YORK)
        assert local(first_moment_outside(now, [NEW_YORK], NIGHT), NEW_YORK) == "2026-06-11 08:00:00 EDT"

    def test_the_start_is_inside_and_the_end_outside(self) -> None:
        assert is_quiet(at("2026-06-10T21:00:00", NEW_YORK), [NEW_YORK], NIGHT)
        assert not is_quiet(at("2026-06-10T08:00:00", NEW_YORK), [NEW_YORK], NIGHT)
        assert not is_quiet(at("2026-06-10T20:59:59", NEW_YORK), [NEW_YORK], NIGHT)
        # Seconds before the end: the send goes at the end's whole minute, not a minute later.
        now = at("2026-06-10T07:59:30", NEW_YORK)
        assert first_moment_outside(now, [NEW_YORK], NIGHT) == at("2026-06-10T08:00:00", NEW_YORK)

    def test_spring_forward_night_is_an_hour_shorter(self) -> None:
        # 2026-03-08: New York's clocks jump from 02:00 EST to 03:00 EDT; 08:00 comes 10 hours after 21:00.
        now = at("2026-03-07T21:30:00", NEW_YORK)
        send_at = first_moment_outside(now, [NEW_YORK], NIGHT)
        assert local(send_at, NEW_YORK) == "2026-03-08 08:00:00 EDT"
        assert send_at - now == 10.5 * 3600 - 3600

    def test_fall_back_night_is_an_hour_longer(self) -> None:
        # 2026-11-01: the clocks go back from 02:00 EDT to 01:00 EST.
        now = at("2026-10-31T21:30:00", NEW_YORK)
        send_at = first_moment_outside(now, [NEW_YORK], NIGHT)
        assert local(send_at, NEW_YORK) == "2026-11-01 08:00:00 EST"
        assert send_at - now == 10.5 * 3600 + 3600

    def test_a_window_ending_in_the_skipped_hour_ends_when_the_clocks_jump(self) -> None:
        # 02:30 never shows on 2026-03-08 in New York: the first minute outside 22:00-02:30 is 03:00 EDT.
        window = Window(start=22 * 60, end=2 * 60 + 30)
        send_at = first_moment_outside(at("2026-03-07T23:00:00", NEW_YORK), [NEW_YORK], window)
        assert local(send_at, NEW_YORK) == "2026-03-08 03:00:00 EDT"

    def test_a_window_starting_in_the_repeated_hour_holds_both_of_its_passes(self) -> None:
        # 2026-11-01 in New York: 01:00-01:59 happens twice; 01:15-06:00 is quiet on both passes.
        window = Window(start=75, end=6 * 60)
        second_pass = at("2026-11-01T01:30:00", NEW_YORK) + 3600  # 01:30 EST
        assert local(second_pass, NEW_YORK) == "2026-11-01 01:30:00 EST"
        assert local(first_moment_outside(second_pass, [NEW_YORK], window), NEW_YORK) == "2026-11-01 06:00:00 EST"

    def test_london_and_new_york_change_clocks_on_different_weekends(self) -> None:
        # 2026-03-14: New York is already on EDT (UTC-4), London still on GMT: 5 hours apart become 4.
        # 07:30 in New York is 11:30 in London: only New York holds it back, until 08:00 EDT.
        now = at("2026-03-14T07:30:00", NEW_YORK)
        send_at = first_moment_outside(now, [LONDON, NEW_YORK], NIGHT)
        assert local(send_at, NEW_YORK) == "2026-03-14 08:00:00 EDT"
        assert local(send_at, LONDON) == "2026-03-14 12:00:00 GMT"


class TestSeveralZones:
    def test_every_zone_must_be_awake(self) -> None:
        # 20:30 in New York is 17:30 in Los Angeles; at 21:00 New York goes quiet and Los Angeles stays awake:
        # a number in both waits for New York's morning and then for Los Angeles' (3 hours behind).
        zones = [NEW_YORK, "America/Los_Angeles"]
        now = at("2026-06-10T21:10:00", NEW_YORK)
        send_at = first_moment_outside(now, zones, NIGHT)
        assert local(send_at, "America/Los_Angeles") == "2026-06-11 08:00:00 PDT"
        assert local(send_at, NEW_YORK) == "2026-06-11 11:00:00 EDT"

    def test_the_latest_evening_zone_counts_too(self) -> None:
        # 06:00 in Los Angeles is 09:00 in New York: New York is awake, Los Angeles is not yet.
        zones = [NEW_YORK, "America/Los_Angeles"]
        assert is_quiet(at("2026-06-10T06:00:00", "America/Los_Angeles"), zones, NIGHT)

    def test_an_australian_mobile_waits_for_its_westernmost_zone(self) -> None:
        # Australian mobiles span Lord Howe (UTC+10:30 in winter) to Perth (UTC+8) and the Cocos (UTC+6:30).
        zones = zones_for_number("+61412345678", NEW_YORK)
        assert {"Australia/Sydney", "Australia/Perth", "Australia/Lord_Howe"} <= set(zones)
        now = at("2026-06-10T07:00:00", "Australia/Sydney")
        send_at = first_moment_outside(now, zones, NIGHT)
        assert local(send_at, "Indian/Cocos") == "2026-06-10 08:00:00 +0630"  # the westernmost wakes last
        assert not is_quiet(send_at, zones, NIGHT)
        assert is_quiet(send_at - 60, zones, NIGHT)

    def test_zones_that_share_no_waking_minute_are_refused(self) -> None:
        # UTC, Shanghai (UTC+8) and Honolulu (UTC-10): each pair shares waking hours, the three never do.
        zones = ["Etc/UTC", "Asia/Shanghai", "Pacific/Honolulu"]
        with pytest.raises(NoTimeOutside):
            first_moment_outside(at("2026-06-10T23:00:00", "Etc/UTC"), zones, NIGHT)
        assert not is_quiet(at("2026-06-10T12:00:00", "Etc/UTC"), zones[:2], NIGHT)

    def test_toll_free_numbers_span_guam_to_samoa_and_still_share_a_morning(self) -> None:
        zones = zones_for_number("+18885551234", NEW_YORK)
        assert {"Pacific/Guam", "Pacific/Pago_Pago", "America/St_Johns"} <= set(zones)
        send_at = first_moment_outside(at("2026-06-10T12:00:00", NEW_YORK), zones, NIGHT)
        assert not is_quiet(send_at, zones, NIGHT) and is_quiet(send_at - 60, zones, NIGHT)


class TestZonesForNumber:
    @pytest.mark.parametrize(
        ("number", "expected"),
        [
            ("+13056708084", ("America/New_York",)),
            ("+819012345678", ("Asia/Tokyo",)),
            ("+442071234567", ("Europe/London",)),
        ],
    )
    def test_libphonenumber_places_the_number(self, number: str, expected: tuple[str, ...]) -> None:
        assert zones_for_number(number, "UTC") == expected

    def test_a_uk_mobile_is_in_london_and_the_crown_dependencies(self) -> None:
        assert LONDON in zones_for_number("+447911123456", "UTC")

    def test_a_number_it_cannot_place_takes_the_default_zone(self) -> None:
        # Ofcom's drama range: a possible number, but in no allocated range.
        assert zones_for_number("+447700900123", "America/Chicago") == ("America/Chicago",)
