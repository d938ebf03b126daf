"""The delivery engine against real DynamoDB and SQS (moto server), with a provider we script."""

from __future__ import annotations

import json
import threading
import time

import pytest

from integration.conftest import drain_bodies as drain
from textgate import clock
from textgate.dal import operations as records
from textgate.delivery import DeliveryConfig, deliver_message, handle_batch
from textgate.logic import operations
from textgate.models import Operation, Status
from textgate.payloads import OgangiSms
from textgate.providers.outcome import ProviderOutcome
from textgate.registry import OperationName, Provider


@pytest.fixture
def fast_retries(aws_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RETRY_BASE_SECONDS", "0")
    monkeypatch.setenv("MAX_ATTEMPTS", "3")


def accept() -> Operation:
    return operations.accept(
        client="c",
        operation="ogangi.send_sms",
        payload=OgangiSms(to="+13056708084", text="hi", sender="1"),
    )


def scripted(*outcomes: ProviderOutcome) -> tuple[DeliveryConfig, list[str]]:
    calls: list[str] = []
    remaining = list(outcomes)

    def execute(operation: Operation) -> ProviderOutcome:
        calls.append(operation.id)
        return remaining.pop(0)

    return DeliveryConfig(Provider.OGANGI, {OperationName.OGANGI_SEND_SMS: execute}), calls


def body_of(operation: Operation) -> str:
    return json.dumps({"operation_id": operation.id})


def test_success_stores_the_result_and_a_second_copy_never_calls_again(fast_retries: None) -> None:
    operation = accept()
    config, calls = scripted(ProviderOutcome.succeeded({"provider_message_id": "-8174720676710228700"}))
    assert deliver_message(body_of(operation), config)
    assert deliver_message(body_of(operation), config)
    stored = records.get(operation.id)
    assert stored is not None and stored.status is Status.SUCCEEDED and stored.attempts == 1
    assert stored.result == {"provider_message_id": "-8174720676710228700"}
    assert calls == [operation.id]


def test_transient_failures_retry_then_exhaust(fast_retries: None) -> None:
    operation = accept()
    queue_url = aws_url("OGANGI_QUEUE_URL")
    drain(queue_url)
    config, calls = scripted(*[ProviderOutcome.transient("provider_error", "HTTP 503")] * 3)
    for _ in range(3):
        assert deliver_message(body_of(operation), config)
        time.sleep(0.01)
    stored = records.get(operation.id)
    assert stored is not None and stored.status is Status.FAILED and stored.attempts == 3
    assert stored.error is not None and stored.error.code == "retries_exhausted"
    assert "HTTP 503" in stored.error.message
    assert len(calls) == 3
    assert len(drain(queue_url)) == 2  # one delayed message per retry, none after the last attempt


def test_rejection_is_final_at_once(fast_retries: None) -> None:
    operation = accept()
    config, _ = scripted(ProviderOutcome.rejected("bad_signature", "Invalid signature, access denied"))
    assert deliver_message(body_of(operation), config)
    stored = records.get(operation.id)
    assert stored is not None and stored.status is Status.FAILED
    assert stored.error is not None and stored.error.message == "Invalid signature, access denied"
    assert not stored.error.retryable


def test_unknown_is_final_and_never_retried(fast_retries: None) -> None:
    operation = accept()
    config, calls = scripted(ProviderOutcome.unknown("provider_timeout", "no answer"))
    assert deliver_message(body_of(operation), config)
    assert deliver_message(body_of(operation), config)
    stored = records.get(operation.id)
    assert stored is not None and stored.status is Status.UNKNOWN and len(calls) == 1


def test_rate_limit_delays_without_spending_an_attempt(fast_retries: None) -> None:
    operation = accept()
    queue_url = aws_url("OGANGI_QUEUE_URL")
    drain(queue_url)
    config, _ = scripted(ProviderOutcome.rate_limited(2, "Too Many Requests"))
    before = clock.now()
    assert deliver_message(body_of(operation), config)
    stored = records.get(operation.id)
    assert stored is not None and stored.status is Status.RETRYING and stored.attempts == 0
    assert stored.next_attempt_at is not None and stored.next_attempt_at >= before + 2
    assert drain(queue_url) == []  # delayed: not visible yet
    time.sleep(2.5)
    assert drain(queue_url) == [body_of(operation)]


def test_concurrent_copies_of_one_message_call_the_provider_once(fast_retries: None) -> None:
    operation = accept()
    gate = threading.Event()
    calls: list[str] = []

    def slow(op: Operation) -> ProviderOutcome:
        calls.append(op.id)
        gate.wait(5)
        return ProviderOutcome.succeeded({"provider_message_id": "1"})

    config = DeliveryConfig(Provider.OGANGI, {OperationName.OGANGI_SEND_SMS: slow})
    results: list[bool] = []
    threads = [
        threading.Thread(target=lambda: results.append(deliver_message(body_of(operation), config))) for _ in range(5)
    ]
    for thread in threads:
        thread.start()
    time.sleep(1.5)  # every copy has read the record (in flight) before the provider answers
    gate.set()
    for thread in threads:
        thread.join()
    assert calls == [operation.id]
    # The copies that found it in flight ask to see the message again; the winner acknowledges it.
    assert sorted(results) == [False] * 4 + [True]


def test_a_batch_reports_only_its_failed_messages(fast_retries: None) -> None:
    good, missing = accept(), "op_doesnotexist"
    config, _ = scripted(ProviderOutcome.succeeded({"provider_message_id": "1"}))
    event = {
        "Records": [
            {"messageId": "m1", "body": body_of(good)},
            {"messageId": "m2", "body": json.dumps({"operation_id": missing})},
            {"messageId": "m3", "body": "not json"},
        ]
    }
    assert handle_batch(event, config) == {"batchItemFailures": [{"itemIdentifier": "m2"}, {"itemIdentifier": "m3"}]}


def test_a_failed_queue_write_fails_the_operation_and_the_request(
    fast_retries: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from textgate.dal import queue
    from textgate.errors import ServiceUnavailable

    created: list[str] = []
    real_create = records.create

    def spy(operation: Operation) -> Operation:
        created.append(operation.id)
        return real_create(operation)

    def refuse(*args: object, **kwargs: object) -> None:
        raise RuntimeError("SQS is down")

    monkeypatch.setattr(records, "create", spy)
    monkeypatch.setattr(queue, "enqueue", refuse)
    with pytest.raises(ServiceUnavailable):
        accept()
    stored = records.get(created[0])
    assert stored is not None and stored.status is Status.FAILED
    assert stored.error is not None and stored.error.code == "queue_unavailable"


def aws_url(name: str) -> str:
    import os

    return os.environ[name]


def test_a_message_a_little_early_is_put_back_for_its_time_not_left_for_the_visibility_timeout(
    fast_retries: None,
) -> None:
    queue_url = aws_url("OGANGI_QUEUE_URL")
    operation = accept()
    drain(queue_url)
    now = clock.now()
    records.claim(operation.id, now=now, lease_seconds=60)
    records.schedule_retry(operation.id, attempt=1, now=now, next_attempt_at=now + 0.5, error=None)
    config, calls = scripted(ProviderOutcome.succeeded({"provider_message_id": "1"}))
    # Arrives 0.5 s early: it must be acknowledged and re-queued, not failed back to SQS for 180 s.
    assert deliver_message(body_of(operation), config)
    assert calls == [] and drain(queue_url) == []  # the new copy is delayed, rounded up to a whole second
    time.sleep(1.2)
    [again] = drain(queue_url)
    assert deliver_message(again, config)
    stored = records.get(operation.id)
    assert stored is not None and stored.status is Status.SUCCEEDED and calls == [operation.id]


def test_a_payload_that_cannot_be_read_fails_at_once_and_sends_nothing(fast_retries: None) -> None:
    broken = Operation.new(operation="ogangi.send_sms", client="c", payload={"to": "+13056708084"})
    records.create(broken)
    config = DeliveryConfig.of(Provider.OGANGI)
    assert deliver_message(body_of(broken), config)
    stored = records.get(broken.id)
    assert stored is not None and stored.status is Status.FAILED and stored.attempts == 1
    assert stored.error is not None and stored.error.code == "invalid_payload" and not stored.error.retryable
    assert "OgangiSms" in stored.error.message and "text" in stored.error.message
