"""Scheduled sends, cancel and quiet hours through the local stack, over HTTP, in real time: its scheduler fires
the schedules that moto keeps, as EventBridge Scheduler would.

The stack runs with quiet hours around the present moment in London (which Tokyo, nine hours ahead in winter
and eight in summer, is outside of), so the deferral is seen whatever the hour the suite runs at."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from urllib.parse import quote
from zoneinfo import ZoneInfo

import pytest

from e2e.conftest import OTHER_KEY, Stack, start_stack, stop_stack
from e2e.test_triggers import acted_with, put_event

UK_MOBILE = "+447911123456"
TOKYO_MOBILE = "+819012345678"
LONDON = ZoneInfo("Europe/London")


def quiet_window_around_now() -> tuple[str, datetime]:
    """(QUIET_HOURS from an hour ago to two hours ahead in London, the end of that window in UTC)."""
    now = datetime.now(LONDON).replace(second=0, microsecond=0)
    start, end = now - timedelta(hours=1), now + timedelta(hours=2)
    return f"{start:%H:%M}-{end:%H:%M}", end.astimezone(UTC)


@pytest.fixture(scope="module")
def scheduling_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Stack, datetime]]:
    window, window_end = quiet_window_around_now()
    process, running = start_stack(
        {"QUIET_HOURS": window}, log_name="schedules.log", tmp=tmp_path_factory.mktemp("schedules")
    )
    try:
        yield running, window_end
    finally:
        stop_stack(process)


def send_at_in(seconds: float) -> str:
    return (datetime.now(UTC) + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def sms(stack: Stack, to: str, text: str, **extra: object) -> dict[str, object]:
    answer = stack.call("POST", "/v1/ogangi/sms", json={"to": to, "text": text, **extra})
    assert answer.status_code == 202, answer.text
    body: dict[str, object] = answer.json()
    return body


def reached_ogangi(stack: Stack, marker: str) -> list[str]:
    return [entry for entry in stack.sandbox("ogangi")["acted"] if entry.endswith(f":{marker}")]


def test_scheduled_sends_wait_for_their_time_cancel_and_opt_outs_hold(scheduling_stack: tuple[Stack, datetime]) -> None:
    stack, _ = scheduling_stack
    run = uuid.uuid4().hex[:8]
    later, canceled, opted_out = (f"{name} {run}" for name in ("later", "canceled", "opted-out"))
    opted_out_number = f"+1212555{int(run, 16) % 10_000:04d}"
    accepted_at = time.monotonic()
    scheduled = sms(stack, "+13056708084", later, send_at=send_at_in(70))
    to_cancel = sms(stack, "+13056708084", canceled, send_at=send_at_in(70))
    to_opted_out = sms(stack, opted_out_number, opted_out, send_at=send_at_in(70))
    assert scheduled["status"] == "scheduled" and isinstance(scheduled["send_at"], str)
    assert "deferred_for" not in scheduled

    # Cancel: another client cannot; the owner can, once; a canceled operation cannot be canceled again.
    assert stack.call("POST", f"/v1/operations/{to_cancel['id']}/cancel", key=OTHER_KEY).status_code == 404
    answer = stack.call("POST", f"/v1/operations/{to_cancel['id']}/cancel")
    assert answer.status_code == 200 and answer.json()["status"] == "canceled"
    again = stack.call("POST", f"/v1/operations/{to_cancel['id']}/cancel")
    assert again.status_code == 409 and again.json()["code"] == "not_cancelable"
    # The recipient opts out before its send_at.
    assert stack.call("PUT", f"/v1/opt-outs/{quote(opted_out_number, safe='')}").status_code == 200

    time.sleep(max(0.0, 50 - (time.monotonic() - accepted_at)))
    assert stack.wait_for(str(scheduled["id"]), final=False)["status"] == "scheduled"
    assert reached_ogangi(stack, later) == []  # not early

    done = stack.wait_for(str(scheduled["id"]), timeout=60)
    assert done["status"] == "succeeded", done
    assert time.monotonic() - accepted_at >= 69
    assert len(reached_ogangi(stack, later)) == 1
    ended = stack.wait_for(str(to_opted_out["id"]), timeout=30)
    assert ended["status"] == "failed" and ended["error"]["code"] == "recipient_opted_out"
    assert stack.wait_for(str(to_cancel["id"]))["status"] == "canceled"
    assert reached_ogangi(stack, canceled) == [] and reached_ogangi(stack, opted_out) == []


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"send_at": 30}, "send_at"),
        ({"send_at": 36 * 86_400}, "send_at"),
        ({"send_at": -60}, "send_at"),
        ({"send_at": "2030-01-01T09:00:00"}, "send_at"),
        ({"purpose": "spam"}, "purpose"),
    ],
)
def test_send_at_out_of_bounds_is_refused(
    scheduling_stack: tuple[Stack, datetime], extra: dict[str, object], field: str
) -> None:
    stack, _ = scheduling_stack
    body: dict[str, object] = {"to": "+13056708084", "text": "bounds"}
    for name, value in extra.items():
        body[name] = send_at_in(value) if isinstance(value, int) else value
    answer = stack.call("POST", "/v1/ogangi/sms", json=body)
    assert answer.status_code == 422, answer.text
    assert [error["field"] for error in answer.json()["errors"]] == [field]


def test_a_pin_cannot_be_scheduled(scheduling_stack: tuple[Stack, datetime]) -> None:
    stack, _ = scheduling_stack
    body = {"to": "+13056708084", "carrier": "Movistar", "text": "Your code", "send_at": send_at_in(600)}
    answer = stack.call("POST", "/v1/ogangi/pins", json=body)
    assert answer.status_code == 422 and answer.json()["errors"][0]["field"] == "send_at"


def test_marketing_to_a_uk_handset_in_its_quiet_hours_waits_while_others_go_at_once(
    scheduling_stack: tuple[Stack, datetime],
) -> None:
    stack, window_end = scheduling_stack
    run = uuid.uuid4().hex[:8]
    deferred = sms(stack, UK_MOBILE, f"uk marketing {run}", purpose="marketing")
    assert deferred["status"] == "scheduled" and deferred["deferred_for"] == "quiet_hours"
    assert deferred["send_at"] == window_end.strftime("%Y-%m-%dT%H:%M:%SZ")
    transactional = sms(stack, UK_MOBILE, f"uk transactional {run}")
    tokyo = sms(stack, TOKYO_MOBILE, f"tokyo marketing {run}", purpose="marketing")
    assert transactional["status"] == tokyo["status"] == "queued"
    assert stack.wait_for(str(transactional["id"]))["status"] == "succeeded"
    assert stack.wait_for(str(tokyo["id"]))["status"] == "succeeded"
    assert reached_ogangi(stack, f"uk marketing {run}") == []
    # It can still be taken back before the morning.
    answer = stack.call("POST", f"/v1/operations/{deferred['id']}/cancel")
    assert answer.status_code == 200 and answer.json()["status"] == "canceled"


def test_trigger_events_take_send_at_and_purpose(scheduling_stack: tuple[Stack, datetime]) -> None:
    stack, _ = scheduling_stack
    run = uuid.uuid4().hex[:8]
    source = f"campaigns.{run}"
    put_event(stack, "ogangi.send_sms", {"to": UK_MOBILE, "text": f"night {run}", "purpose": "marketing"}, source)
    put_event(stack, "ogangi.send_sms", {"to": UK_MOBILE, "text": f"day {run}"}, source)
    put_event(stack, "ogangi.send_sms", {"to": UK_MOBILE, "text": f"soon {run}", "send_at": send_at_in(30)}, source)
    assert acted_with(stack, f"day {run}") != []
    assert acted_with(stack, f"night {run}", timeout=2) == []
    refusals = [line for line in stack.log_path.read_text(errors="replace").splitlines() if source in line]
    assert any("trigger refused: validation_error" in line for line in refusals), refusals
