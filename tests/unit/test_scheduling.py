"""send_at as the contract reads it, and the `at()` expressions both sides of the schedule agree on."""

from __future__ import annotations

import pytest

from textgate.dal.schedules import expression
from textgate.logic.scheduling import parse_send_at
from textgate_local.scheduler import due_time

NOON_UTC = 1_796_731_200.0  # 2026-12-08T12:00:00Z


@pytest.mark.parametrize(
    "text",
    [
        "2026-12-08T12:00:00Z",
        "2026-12-08t12:00:00z",
        "2026-12-08T07:00:00-05:00",
        "2026-12-08T21:00:00+09:00",
        "2026-12-08T12:00:00.000000+00:00",
    ],
)
def test_rfc3339_with_any_offset_is_one_moment(text: str) -> None:
    assert parse_send_at(text) == NOON_UTC


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2026-12-08T12:00:00", "offset"),
        ("2026-12-08 12:00:00Z", "RFC 3339"),
        ("2026-12-08T12:00Z", "RFC 3339"),
        ("20261208T120000Z", "RFC 3339"),
        ("2026-12-08T12:00:00+0500", "RFC 3339"),
        ("2026-13-08T12:00:00Z", "exists"),
        ("2026-12-08T24:00:00Z", "exists"),
        ("２０２６-12-08T12:00:00Z", "RFC 3339"),  # noqa: RUF001 - fullwidth digits are not RFC 3339's
    ],
)
def test_what_is_not_rfc3339_with_an_offset_is_refused(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_send_at(text)


def test_the_schedule_expression_and_the_local_scheduler_read_the_same_moment() -> None:
    assert expression(NOON_UTC + 59.9) == "at(2026-12-08T12:00:59)"
    assert due_time(expression(NOON_UTC), "UTC") == NOON_UTC
    assert due_time("at(2026-12-08T07:00:00)", "America/New_York") == NOON_UTC
    assert due_time("rate(5 minutes)", None) is None


def test_the_registry_and_the_request_models_agree_on_what_may_be_scheduled() -> None:
    from textgate.registry import OPERATIONS, SCHEDULABLE, load

    for name, row in OPERATIONS.items():
        fields = load(row.request).model_fields
        assert "purpose" in fields, name
        # A PIN's model has send_at only to refuse it with a reason.
        takes_a_time = fields["send_at"].annotation not in (None, type(None))
        assert takes_a_time == (name in SCHEDULABLE), name


def test_an_operation_sent_at_once_cannot_be_given_a_time() -> None:
    from textgate.errors import ValidationFailed
    from textgate.logic.scheduling import plan
    from textgate.registry import OperationName

    with pytest.raises(ValidationFailed) as refused:
        plan(OperationName.OGANGI_SEND_PIN, {"to": "+13056708084"}, NOON_UTC, send_at="2026-12-08T13:00:00Z")
    assert refused.value.errors[0]["field"] == "send_at"


@pytest.mark.parametrize(
    "environment", [{"QUIET_HOURS": "9pm-8am"}, {"DEFAULT_TIME_ZONE": "Mars/Olympus_Mons"}, {"QUIET_HOURS": ""}]
)
def test_a_bad_quiet_hours_setting_fails_the_cold_start(environment: dict[str, str]) -> None:
    from textgate.settings import Settings, SettingsError

    with pytest.raises(SettingsError, match=next(iter(environment))):
        Settings.from_environment(environment)
    assert Settings.from_environment({"QUIET_HOURS": "off"}).quiet_hours_window is None
