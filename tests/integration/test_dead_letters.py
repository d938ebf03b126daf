"""A message that reaches a dead-letter queue marks its operation; redrive puts it back, once, and never
re-sends an operation that already ended."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from textgate import aws
from textgate.dal import events
from textgate.dal import operations as records
from textgate.delivery import DeliveryConfig, deliver_message
from textgate.logic import dead_letters, operations
from textgate.logic.dead_letters import Reading
from textgate.models import Operation, Status
from textgate.payloads import OgangiSms
from textgate.providers.outcome import ProviderOutcome
from textgate.registry import OperationName, Provider
from textgate_local.moto_endpoint import MotoEndpoint
from textgate_local.pollers import QueuePoller
from textgate_local.template import Template, queue_sources

ROOT = Path(__file__).resolve().parents[2]


def dead_letter_url() -> str:
    return str(aws.sqs().get_queue_url(QueueName="OgangiDeadLetterQueue")["QueueUrl"])


def receive_all(url: str, *, delete: bool) -> list[str]:
    bodies = []
    for _ in range(20):
        messages = (
            aws.sqs().receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0).get("Messages", [])
        )
        if not messages:
            break
        for message in messages:
            bodies.append(message["Body"])
            if delete:
                aws.sqs().delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return bodies


def poison(operation: Operation) -> str:
    """Receive the operation's message past maxReceiveCount without deleting it, as a crashing worker would."""
    queue_url = os.environ["OGANGI_QUEUE_URL"]
    for _ in range(8):
        aws.sqs().receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, VisibilityTimeout=0)
    landed = [body for body in receive_all(dead_letter_url(), delete=True) if operation.id in body]
    assert landed, "the message should have reached the dead-letter queue"
    return landed[0]


def test_dead_lettered_operation_is_marked_redriven_once_and_delivered_once(aws_env: dict[str, str]) -> None:
    receive_all(os.environ["OGANGI_QUEUE_URL"], delete=True)
    operation = operations.accept(
        client="c",
        operation="ogangi.send_sms",
        payload=OgangiSms(to="+13056708084", text="hi", sender="1"),
    )
    body = poison(operation)
    assert dead_letters.mark(body) is Reading.MARKED
    assert dead_letters.mark(body) is Reading.ALREADY_MARKED  # a copy of the message marks nothing more
    marked = records.get(operation.id)
    assert marked is not None and marked.dead_lettered_at is not None
    assert "dead_lettered_at" in marked.public()

    first = dead_letters.redrive()
    assert operation.id in first.requeued
    assert operation.id not in dead_letters.redrive().requeued  # idempotent: nothing left to put back

    calls: list[str] = []

    def execute(op: Operation) -> ProviderOutcome:
        calls.append(op.id)
        return ProviderOutcome.succeeded({"provider_message_id": "1"})

    config = DeliveryConfig(Provider.OGANGI, {OperationName.OGANGI_SEND_SMS: execute})
    for queued in receive_all(os.environ["OGANGI_QUEUE_URL"], delete=True):
        deliver_message(queued, config)
    stored = records.get(operation.id)
    assert stored is not None and stored.status is Status.SUCCEEDED and calls == [operation.id]

    # Dead-lettered again after it ended (a late copy): redrive must not queue a final operation.
    assert dead_letters.mark(json.dumps({"operation_id": operation.id})) is Reading.MARKED
    report = dead_letters.redrive()
    assert operation.id in report.already_final and operation.id not in report.requeued


def accepted() -> Operation:
    return operations.accept(
        client="c",
        operation="ogangi.send_sms",
        payload=OgangiSms(to="+13056708084", text="x", sender="1"),
    )


def body_of(operation_id: str) -> str:
    return json.dumps({"operation_id": operation_id})


@pytest.fixture
def announced(aws_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The ids of the operations announced as dead-lettered (the real events are published too)."""
    seen: list[str] = []
    real = events.publish

    def spy(detail_type: str, detail: dict[str, Any]) -> bool:
        if detail_type == "operation.dead_lettered":
            seen.append(detail["id"])
        return real(detail_type, detail)

    monkeypatch.setattr(events, "publish", spy)
    return seen


class DeadLetterQueue:
    """A dead-letter queue read as Lambda's SQS event source reads it, by the real dead-letter function: only the
    messages its answer does not list as failures are deleted. Visibility 0, so what it keeps is seen again."""

    def __init__(self) -> None:
        self.url = aws.sqs().create_queue(
            QueueName=f"DeadLetterReaderTest{uuid.uuid4().hex[:12]}", Attributes={"VisibilityTimeout": "0"}
        )["QueueUrl"]
        source = next(s for s in queue_sources(Template.read()) if s.function == "DeadLetterFunction")
        assert source.report_failures
        path = str(ROOT / "functions" / "dead_letter")
        if path not in sys.path:
            sys.path.insert(0, path)
        handler = importlib.import_module("dead_letter").handler
        self.poller = QueuePoller(source, self.url, "", aws.sqs(), lambda _name, event: handler(event, None))

    def send(self, *bodies: str) -> None:
        for body in bodies:
            aws.sqs().send_message(QueueUrl=self.url, MessageBody=body)

    def read(self) -> None:
        assert self.poller.poll_once(wait_seconds=0) > 0

    def left(self) -> list[str]:
        """The bodies still on the queue (at most ten here), left there."""
        answer = aws.sqs().receive_message(QueueUrl=self.url, MaxNumberOfMessages=10, VisibilityTimeout=0)
        return sorted(message["Body"] for message in answer.get("Messages", []))


def test_a_message_that_names_no_operation_or_an_unknown_one_stays_on_its_queue(announced: list[str]) -> None:
    operation = accepted()
    queue = DeadLetterQueue()
    queue.send("garbage", body_of("op_missing"), body_of(operation.id))
    queue.read()
    assert queue.left() == sorted(["garbage", body_of("op_missing")])  # kept for a person, under the alarm
    marked = records.get(operation.id)
    assert marked is not None and marked.dead_lettered_at is not None
    assert announced == [operation.id]


def failing_for(failing: set[str], failure: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Reading fails for the operations in `failing` (while it holds any): DynamoDB throttles the mark (it raises),
    or EventBridge refuses the event (publish logs it and answers False; it never raises)."""
    if failure == "throttled":
        real_mark = records.mark_dead_lettered

        def mark(operation_id: str, *, now: float) -> Operation | None:
            if operation_id in failing:
                error = {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow down"}}
                raise ClientError(error, "UpdateItem")
            return real_mark(operation_id, now=now)

        monkeypatch.setattr(records, "mark_dead_lettered", mark)
    else:
        spy = events.publish

        def publish(detail_type: str, detail: dict[str, Any]) -> bool:
            return False if detail["id"] in failing else spy(detail_type, detail)

        monkeypatch.setattr(events, "publish", publish)


@pytest.mark.parametrize("failure", ["throttled", "not_published"])
def test_a_message_that_fails_mid_batch_alone_comes_back_and_each_operation_is_announced_once(
    announced: list[str], monkeypatch: pytest.MonkeyPatch, failure: str
) -> None:
    first, middle, last = accepted(), accepted(), accepted()
    failing = {middle.id}
    failing_for(failing, failure, monkeypatch)
    queue = DeadLetterQueue()
    queue.send(body_of(first.id), body_of(middle.id), body_of(last.id))
    queue.read()
    assert queue.left() == [body_of(middle.id)]  # only the message that failed comes back
    assert sorted(announced) == sorted([first.id, last.id])
    # Not announced, so not marked either: received again, it is marked then.
    assert middle.id not in records.dead_lettered()

    # SQS delivers at least once: copies of the marked messages come back with the failed one.
    failing.clear()
    queue.send(body_of(first.id), body_of(last.id))
    queue.read()
    assert queue.left() == []
    assert sorted(announced) == sorted([first.id, middle.id, last.id])  # each marked, counted, announced once
    assert {first.id, middle.id, last.id} <= set(records.dead_lettered())


def test_make_redrive_command_puts_operations_back(
    aws_env: dict[str, str], aws_endpoint: tuple[MotoEndpoint, dict[str, str]]
) -> None:
    operation = operations.accept(
        client="c",
        operation="ogangi.send_sms",
        payload=OgangiSms(to="+13056708084", text="cli", sender="1"),
    )
    assert dead_letters.mark(poison(operation)) is Reading.MARKED
    endpoint, _ = aws_endpoint
    env = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
    env |= {
        "TEXTGATE_AWS_PORT": str(endpoint.port),
        "PYTHONPATH": os.pathsep.join([str(ROOT / "local"), str(ROOT / "layers" / "shared")]),
    }
    completed = subprocess.run(
        [sys.executable, "-m", "textgate_local.redrive"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert operation.id in json.loads(completed.stdout)["requeued"]
    assert any(operation.id in body for body in receive_all(os.environ["OGANGI_QUEUE_URL"], delete=True))
