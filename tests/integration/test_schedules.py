"""Scheduled sends, cancellation and quiet hours against moto: the records, the schedules Scheduler keeps, the
queues, the re-checks when a schedule fires, and the cancel that races delivery. The clock is injected."""

from __future__ import annotations

import itertools
import json
import threading
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from integration.conftest import drain_bodies as drain
from textgate import aws, clock, retry
from textgate.dal import events, queue, schedules
from textgate.dal import operations as records
from textgate.delivery import DeliveryConfig, deliver_message
from textgate.errors import ApiError
from textgate.logic import interact, ogangi, operations, opt_outs, pins, protexting
from textgate.models import Operation, Status
from textgate.providers.outcome import ProviderOutcome
from textgate.registry import OperationName, Provider
from textgate.schemas.interact import SendCampaignSmsRequest
from textgate.schemas.ogangi import SendPinRequest, SendSmsRequest
from textgate.schemas.protexting import OptInRequest
from textgate.settings import get_settings
from textgate_local.scheduler import ScheduleFirer

_numbers = itertools.count(3000)
NOW = datetime(2026, 12, 7, 15, 0, tzinfo=ZoneInfo("UTC")).timestamp()  # a Monday, 10:00 in New York
UK_MOBILE = "+447911123456"
TOKYO_MOBILE = "+819012345678"


def new_phone() -> str:
    return f"+1305557{next(_numbers):04d}"


class Clock:
    def __init__(self, start: float) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def at(aws_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Clock:
    moment = Clock(NOW)
    monkeypatch.setattr(clock, "now", moment)
    return moment


@pytest.fixture
def published(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, dict[str, Any]]]:
    seen: list[tuple[str, dict[str, Any]]] = []
    monkeypatch.setattr(events, "publish", lambda detail_type, detail: seen.append((detail_type, detail)))
    return seen


def sms(to: str, **extra: Any) -> Operation:
    return ogangi.accept_sms("c", SendSmsRequest.model_validate({"to": to, "text": "hi", "from": "1", **extra}))


def iso(epoch: float) -> str:
    return clock.rfc3339(epoch)


def scripted() -> tuple[DeliveryConfig, list[str]]:
    calls: list[str] = []

    def execute(operation: Operation) -> ProviderOutcome:
        calls.append(operation.id)
        return ProviderOutcome.succeeded({"provider_message_id": "1"})

    return DeliveryConfig(Provider.OGANGI, {OperationName.OGANGI_SEND_SMS: execute}), calls


def stored_schedule(operation_id: str) -> dict[str, Any] | None:
    try:
        return dict(aws.scheduler().get_schedule(Name=operation_id, GroupName=get_settings().schedule_group_name))
    except aws.scheduler().exceptions.ResourceNotFoundException:
        return None


def fire(operation: Operation, moment: Clock, config: DeliveryConfig) -> bool:
    """The schedule fires at its time: its message reaches delivery."""
    assert operation.send_at is not None
    moment.now = operation.send_at
    return deliver_message(queue.message_body(operation.id), config)


class TestSendAt:
    def test_a_send_for_later_is_scheduled_with_a_one_time_schedule_onto_its_queue(self, at: Clock) -> None:
        drain(queue.queue_url(Provider.OGANGI))
        operation = sms(new_phone(), send_at="2026-12-07T12:30:00-05:00")
        assert operation.status is Status.SCHEDULED and operation.send_at == NOW + 9000
        assert operation.public()["send_at"] == "2026-12-07T17:30:00Z" and "deferred_for" not in operation.public()
        schedule = stored_schedule(operation.id)
        assert schedule is not None
        assert schedule["ScheduleExpression"] == "at(2026-12-07T17:30:00)"
        assert schedule["ScheduleExpressionTimezone"] == "UTC" and schedule["ActionAfterCompletion"] == "DELETE"
        target = schedule["Target"]
        assert target["Arn"] == schedules.queue_arn(Provider.OGANGI) and target["Arn"].endswith(":OgangiQueue")
        assert json.loads(target["Input"]) == {"operation_id": operation.id}
        assert target["RoleArn"] == get_settings().scheduler_role_arn
        assert target["DeadLetterConfig"]["Arn"] == get_settings().scheduler_dead_letter_queue_arn
        assert drain(queue.queue_url(Provider.OGANGI)) == []  # nothing on the queue before its time

    @pytest.mark.parametrize(
        ("send_at", "message"),
        [
            ("2026-12-07T15:00:30Z", "between 1 minute and 35 days"),
            ("2027-01-12T15:00:00Z", "between 1 minute and 35 days"),
            ("2026-12-07T14:00:00Z", "between 1 minute and 35 days"),
            ("2026-12-07T18:00:00", "offset"),
            ("tomorrow", "RFC 3339"),
            ("2026-02-30T10:00:00Z", "exists"),
        ],
    )
    def test_send_at_out_of_bounds_or_without_an_offset_is_refused(self, at: Clock, send_at: str, message: str) -> None:
        number = new_phone()
        with pytest.raises(ApiError) as refused:
            sms(number, send_at=send_at)
        assert (refused.value.status, refused.value.errors[0]["field"]) == (422, "send_at")
        assert message in refused.value.errors[0]["message"]

    def test_the_bounds_are_inclusive(self, at: Clock) -> None:
        assert sms(new_phone(), send_at=iso(NOW + 60)).status is Status.SCHEDULED
        assert sms(new_phone(), send_at=iso(NOW + 35 * 86_400)).status is Status.SCHEDULED

    def test_a_pin_cannot_be_scheduled_nor_be_marketing(self, at: Clock) -> None:
        body = {"to": new_phone(), "text": "code", "carrier": "Movistar", "from": "1"}
        for extra, field in (({"send_at": iso(NOW + 600)}, "send_at"), ({"purpose": "marketing"}, "purpose")):
            with pytest.raises(ApiError) as refused:
                from textgate.validation import validate

                pins.accept_pin("c", validate(SendPinRequest, {**body, **extra}))
            assert refused.value.status == 422 and refused.value.errors[0]["field"] == field

    def test_every_async_send_takes_send_at(self, at: Clock) -> None:
        later = iso(NOW + 600)
        campaign = interact.accept_campaign_sms(
            "c",
            "camp",
            SendCampaignSmsRequest.model_validate({"caller_id": new_phone(), "jp_token": "t", "send_at": later}),
        )
        opt_in = protexting.accept_opt_in(
            "c", OptInRequest(phone_number=new_phone(), group_ids=[1], cta_message="Reply Y", send_at=later)
        )
        assert {campaign.status, opt_in.status} == {Status.SCHEDULED}
        assert stored_schedule(campaign.id)["Target"]["Arn"].endswith(":InteractQueue")  # type: ignore[index]

    def test_a_scheduled_send_takes_no_daily_slot_until_it_fires(
        self, at: Clock, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("RECIPIENT_DAILY_LIMIT", "1")
        get_settings.cache_clear()
        number = new_phone()
        later = sms(number, send_at=iso(NOW + 3600))
        now = sms(number)  # the slot is still free: the scheduled one has not texted anyone
        assert now.status is Status.QUEUED
        config, calls = scripted()
        assert fire(later, at, config)
        stored = records.get(later.id)
        assert stored is not None and stored.status is Status.FAILED and calls == []
        assert stored.error is not None and stored.error.code == "recipient_limit_reached"

    def test_a_retried_request_finds_its_schedule(self, at: Clock) -> None:
        operation = sms(new_phone(), send_at=iso(NOW + 600))
        schedules.create(operation.id, Provider.OGANGI, NOW + 600)  # the same name: no second schedule, no error
        assert stored_schedule(operation.id) is not None


class TestFiring:
    def test_when_it_fires_it_is_queued_then_sent_once(self, at: Clock, published: list[Any]) -> None:
        operation = sms(new_phone(), send_at=iso(NOW + 120))
        config, calls = scripted()
        at.now = NOW + 60
        assert deliver_message(queue.message_body(operation.id), config)  # early: it waits for its time
        assert calls == []
        assert records.get(operation.id).status is Status.SCHEDULED  # type: ignore[union-attr]
        assert fire(operation, at, config) and fire(operation, at, config)
        stored = records.get(operation.id)
        assert stored is not None and stored.status is Status.SUCCEEDED and calls == [operation.id]
        assert [kind for kind, _ in published] == ["operation.succeeded"]

    def test_a_recipient_who_opted_out_meanwhile_is_not_texted(self, at: Clock, published: list[Any]) -> None:
        number = new_phone()
        operation = sms(number, send_at=iso(NOW + 600))
        opt_outs.set_opted_out(number, True, source="api", changed_by="c")
        config, calls = scripted()
        assert fire(operation, at, config)
        stored = records.get(operation.id)
        assert stored is not None and stored.status is Status.FAILED and calls == []
        assert stored.error is not None and stored.error.code == "recipient_opted_out"
        assert [kind for kind, _ in published if kind.startswith("operation.")] == ["operation.failed"]


class TestCancel:
    def test_a_scheduled_send_is_canceled_its_schedule_deleted_and_announced(
        self, at: Clock, published: list[Any]
    ) -> None:
        operation = sms(new_phone(), send_at=iso(NOW + 600))
        canceled = operations.cancel("c", operation.id)
        assert canceled.status is Status.CANCELED and canceled.public()["send_at"] == iso(NOW + 600)
        assert stored_schedule(operation.id) is None
        assert [(kind, detail["status"]) for kind, detail in published] == [("operation.canceled", "canceled")]
        config, calls = scripted()
        assert fire(operation, at, config) and calls == []  # a schedule that fired anyway changes nothing

    def test_a_queued_message_already_on_the_queue_never_reaches_the_provider(self, at: Clock) -> None:
        operation = sms(new_phone())
        assert operations.cancel("c", operation.id).status is Status.CANCELED
        config, calls = scripted()
        assert deliver_message(queue.message_body(operation.id), config) and calls == []
        assert records.get(operation.id).status is Status.CANCELED  # type: ignore[union-attr]

    def test_once_claimed_or_ended_it_is_not_cancelable(self, at: Clock) -> None:
        operation = sms(new_phone())
        assert records.claim(operation.id, now=NOW, lease_seconds=60) is not None
        with pytest.raises(ApiError) as refused:
            operations.cancel("c", operation.id)
        assert (refused.value.status, refused.value.code) == (409, "not_cancelable")
        assert "sending" in refused.value.detail
        records.finish(operation.id, attempt=1, status=Status.SUCCEEDED, now=NOW, result={})
        with pytest.raises(ApiError) as again:
            operations.cancel("c", operation.id)
        assert again.value.code == "not_cancelable"

    def test_another_clients_operation_is_not_found(self, at: Clock) -> None:
        operation = sms(new_phone(), send_at=iso(NOW + 600))
        with pytest.raises(ApiError) as refused:
            operations.cancel("someone-else", operation.id)
        assert refused.value.status == 404
        assert records.get(operation.id).status is Status.SCHEDULED  # type: ignore[union-attr]

    def test_cancel_and_delivery_race_and_exactly_one_wins(self, at: Clock) -> None:
        for _ in range(10):
            operation = sms(new_phone())
            config, calls = scripted()
            outcome = race_cancel_against_delivery(operation, config)
            final = records.get(operation.id)
            assert final is not None
            if outcome == "canceled":
                assert final.status is Status.CANCELED and calls == []
            else:
                assert outcome == "not_cancelable" and final.status is Status.SUCCEEDED
                assert calls == [operation.id]


def race_cancel_against_delivery(operation: Operation, config: DeliveryConfig) -> str:
    """Start a delivery and a cancel of the same operation at once: what the cancel answered."""
    start = threading.Barrier(2)
    outcome: list[str] = []

    def deliver() -> None:
        start.wait()
        deliver_message(queue.message_body(operation.id), config)

    def cancel() -> None:
        start.wait()
        try:
            outcome.append(operations.cancel("c", operation.id).status.value)
        except ApiError as error:
            outcome.append(error.code)

    threads = [threading.Thread(target=deliver), threading.Thread(target=cancel)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcome[0]


class TestQuietHours:
    def uk_night(self, at: Clock) -> None:
        at.now = datetime(2026, 12, 7, 22, 30, tzinfo=ZoneInfo("Europe/London")).timestamp()

    def test_marketing_to_a_uk_handset_at_night_waits_for_eight_in_london(self, at: Clock) -> None:
        self.uk_night(at)
        operation = sms(UK_MOBILE, purpose="marketing")
        shown = operation.public()
        assert shown["status"] == "scheduled" and shown["deferred_for"] == "quiet_hours"
        assert shown["send_at"] == "2026-12-08T08:00:00Z"  # GMT in December
        assert stored_schedule(operation.id)["ScheduleExpression"] == "at(2026-12-08T08:00:00)"  # type: ignore[index]

    def test_transactional_and_marketing_to_tokyo_go_at_once(self, at: Clock) -> None:
        self.uk_night(at)  # 07:30 in Tokyo is still quiet there: one hour later it is not
        assert sms(UK_MOBILE).status is Status.QUEUED
        at.now += 3600
        assert sms(TOKYO_MOBILE, purpose="marketing").status is Status.QUEUED

    def test_a_send_at_inside_quiet_hours_moves_to_their_end(self, at: Clock) -> None:
        operation = sms(UK_MOBILE, purpose="marketing", send_at="2026-12-07T23:00:00Z")
        assert operation.public()["send_at"] == "2026-12-08T08:00:00Z"
        assert operation.deferred_for == "quiet_hours"

    def test_quiet_hours_ending_within_the_minute_use_the_queues_delay(self, at: Clock) -> None:
        at.now = datetime(2026, 12, 8, 7, 59, 30, tzinfo=ZoneInfo("Europe/London")).timestamp()
        operation = sms(UK_MOBILE, purpose="marketing")
        assert operation.status is Status.SCHEDULED and operation.send_at == at.now + 30
        assert stored_schedule(operation.id) is None
        config, calls = scripted()
        assert fire(operation, at, config) and calls == [operation.id]

    def test_quiet_hours_off(self, at: Clock, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("QUIET_HOURS", "off")
        get_settings.cache_clear()
        self.uk_night(at)
        assert sms(UK_MOBILE, purpose="marketing").status is Status.QUEUED

    def test_delivery_holds_marketing_that_reaches_it_at_night(
        self, at: Clock, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        at.now = datetime(2026, 12, 7, 20, 59, 30, tzinfo=ZoneInfo("Europe/London")).timestamp()
        operation = sms(UK_MOBILE, purpose="marketing")
        assert operation.status is Status.QUEUED  # still evening
        requeued: list[float] = []
        monkeypatch.setattr(
            queue, "enqueue", lambda provider, operation_id, delay_seconds=0: requeued.append(delay_seconds)
        )
        at.now += 60  # delivered at 21:00:30: quiet
        config, calls = scripted()
        assert deliver_message(queue.message_body(operation.id), config) and calls == []
        assert requeued == [11 * 3600 - 30]  # held on the queue until 08:00 (SQS caps each wait at 15 minutes)
        held = records.get(operation.id)
        assert held is not None and held.status is Status.QUEUED and held.attempts == 0  # its claim given back
        at.now = datetime(2026, 12, 8, 8, 0, tzinfo=ZoneInfo("Europe/London")).timestamp()
        assert deliver_message(queue.message_body(operation.id), config) and calls == [operation.id]

    def test_a_retry_that_would_fall_at_night_waits_for_the_morning(
        self, at: Clock, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(retry, "backoff_seconds", lambda attempt, base, cap: 10.0)
        at.now = datetime(2026, 12, 7, 20, 59, 55, tzinfo=ZoneInfo("Europe/London")).timestamp()
        operation = sms(UK_MOBILE, purpose="marketing")

        def flaky(_: Operation) -> ProviderOutcome:
            return ProviderOutcome.transient("provider_error", "HTTP 503")

        config = DeliveryConfig(Provider.OGANGI, {OperationName.OGANGI_SEND_SMS: flaky})
        assert deliver_message(queue.message_body(operation.id), config)
        stored = records.get(operation.id)
        assert stored is not None and stored.status is Status.RETRYING
        assert stored.next_attempt_at == datetime(2026, 12, 8, 8, 0, tzinfo=ZoneInfo("Europe/London")).timestamp()


def test_the_local_scheduler_fires_due_schedules_onto_their_queue(at: Clock) -> None:
    url = queue.queue_url(Provider.OGANGI)
    drain(url)
    operation = sms(new_phone(), send_at=iso(NOW + 120))
    firer = ScheduleFirer([get_settings().schedule_group_name], aws.scheduler(), aws.sqs())
    firer.fire_due(NOW + 119)  # (schedules of other tests that are due by then fire too)
    assert queue.message_body(operation.id) not in drain(url) and stored_schedule(operation.id) is not None
    assert firer.fire_due(NOW + 120) >= 1
    assert queue.message_body(operation.id) in drain(url)
    assert stored_schedule(operation.id) is None  # ActionAfterCompletion: DELETE
