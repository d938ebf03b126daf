"""When AWS applies a write but its answer is lost (botocore retries it, or raises), nothing is sent twice and
nothing is left without a way forward."""

from __future__ import annotations

import json
import os
from typing import Any

import pytest

from textgate import aws, clock
from textgate.dal import idempotency as idempotency_store
from textgate.dal import operations as records
from textgate.dal import queue
from textgate.delivery import DeliveryConfig, deliver_message
from textgate.logic import idempotency, operations, triggers
from textgate.models import Operation, Status
from textgate.payloads import OgangiSms
from textgate.providers.outcome import ProviderOutcome
from textgate.registry import OperationName, Provider

PAYLOAD = OgangiSms(to="+13056708084", text="hi", sender="1")


def accept() -> Operation:
    return operations.accept(client="c", operation="ogangi.send_sms", payload=PAYLOAD)


def queued_bodies() -> list[str]:
    url = os.environ["OGANGI_QUEUE_URL"]
    bodies = []
    while messages := aws.sqs().receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        for message in messages:
            bodies.append(message["Body"])
            aws.sqs().delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return bodies


def test_a_queue_write_that_went_through_is_not_reported_as_failed(
    aws_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    queued_bodies()
    real_enqueue = queue.enqueue

    def stored_then_lost(provider: str, operation_id: str, **kwargs: Any) -> None:
        real_enqueue(provider, operation_id, **kwargs)
        records.claim(operation_id, now=clock.now(), lease_seconds=60)  # delivery picked it up meanwhile
        raise TimeoutError("the answer was lost")

    monkeypatch.setattr(queue, "enqueue", stored_then_lost)
    operation = accept()  # no ServiceUnavailable: the send is under way
    stored = records.get(operation.id)
    assert stored is not None and stored.status is Status.SENDING


def test_an_idempotent_retry_after_a_lost_completion_finds_the_same_operation(
    aws_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    queued_bodies()

    def run() -> dict[str, Any]:
        return {"statusCode": 202, "id": accept().id}

    def lost(*args: Any, **kwargs: Any) -> None:
        raise TimeoutError("the completion's answer was lost")

    real_complete = idempotency_store.complete
    monkeypatch.setattr(idempotency_store, "complete", lost)
    first, _ = idempotency.run_once("client-x", "retry-key", "hash", run)
    monkeypatch.setattr(idempotency_store, "complete", real_complete)
    later = clock.now() + idempotency.LOCK_SECONDS + 1
    monkeypatch.setattr(clock, "now", lambda: later)
    second, replayed = idempotency.run_once("client-x", "retry-key", "hash", run)
    assert not replayed and second["id"] == first["id"]
    assert [json.loads(body)["operation_id"] for body in queued_bodies()].count(first["id"]) >= 1
    stored = records.get(first["id"])
    assert stored is not None and stored.status is Status.QUEUED


def test_a_retry_schedule_whose_answer_was_lost_still_queues_the_next_attempt(
    aws_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RETRY_BASE_SECONDS", "0")
    operation = accept()
    queued_bodies()
    real_schedule = records.schedule_retry

    def applied_then_lost(*args: Any, **kwargs: Any) -> None:
        real_schedule(*args, **kwargs)

    monkeypatch.setattr(records, "schedule_retry", applied_then_lost)
    config = DeliveryConfig(
        Provider.OGANGI,
        {OperationName.OGANGI_SEND_SMS: lambda op: ProviderOutcome.transient("provider_error", "HTTP 503")},
    )
    assert deliver_message(json.dumps({"operation_id": operation.id}), config)
    stored = records.get(operation.id)
    assert stored is not None and stored.status is Status.RETRYING
    assert json.dumps({"operation_id": operation.id}) in queued_bodies()


def test_a_redelivered_event_without_a_key_starts_one_operation(aws_env: dict[str, str]) -> None:
    queued_bodies()
    event = {
        "id": "evt-1234",
        "source": "billing",
        "detail-type": "ogangi.send_sms",
        "detail": {"to": "+13056708084", "text": "once", "from": "1"},
    }
    first, second = triggers.handle(event), triggers.handle(event)
    assert first["status"] == second["status"] == "accepted"
    assert first["operation"]["id"] == second["operation"]["id"]
    assert len(queued_bodies()) == 1


def test_a_trigger_failing_on_our_side_is_raised_for_lambda_to_retry(
    aws_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("SQS is down")

    monkeypatch.setattr(queue, "enqueue", refuse)
    event = {
        "id": "evt-5678",
        "source": "billing",
        "detail-type": "ogangi.send_sms",
        "detail": {"to": "+13056708084", "text": "later", "from": "1"},
    }
    with pytest.raises(Exception, match="could not be queued"):
        triggers.handle(event)
