"""A message that reaches a dead-letter queue marks its operation; redrive puts it back, once, and never
re-sends an operation that already ended."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from textgate import aws
from textgate.dal import operations as records
from textgate.delivery import DeliveryConfig, deliver_message
from textgate.logic import dead_letters, operations
from textgate.models import Operation, Status
from textgate.payloads import OgangiSms
from textgate.providers.outcome import ProviderOutcome
from textgate.registry import OperationName, Provider
from textgate_local.moto_endpoint import MotoEndpoint

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
    assert dead_letters.mark(body)
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
    assert dead_letters.mark(json.dumps({"operation_id": operation.id}))
    report = dead_letters.redrive()
    assert operation.id in report.already_final and operation.id not in report.requeued


def test_a_message_naming_nothing_is_dropped_with_a_log(aws_env: dict[str, str]) -> None:
    assert not dead_letters.mark("garbage")
    assert not dead_letters.mark(json.dumps({"operation_id": "op_missing"}))


def test_make_redrive_command_puts_operations_back(
    aws_env: dict[str, str], aws_endpoint: tuple[MotoEndpoint, dict[str, str]]
) -> None:
    operation = operations.accept(
        client="c",
        operation="ogangi.send_sms",
        payload=OgangiSms(to="+13056708084", text="cli", sender="1"),
    )
    dead_letters.mark(poison(operation))
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
