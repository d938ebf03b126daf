"""OperationLatency: what users wait for, from accepted (or a scheduled send's `send_at`) to the final status,
emitted once per operation when it ends, by provider, with an injected clock."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from textgate import clock, delivery
from textgate.dal import operations as records
from textgate.delivery import DeliveryConfig, Executor, deliver_message
from textgate.models import Operation, Status
from textgate.providers.outcome import ProviderOutcome
from textgate.registry import OperationName, Provider


class Clock:
    def __init__(self) -> None:
        self.at = 1_800_000_000.0

    def __call__(self) -> float:
        return self.at


@pytest.fixture
def moments(aws_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[Clock]:
    monkeypatch.setenv("RETRY_BASE_SECONDS", "0")
    monkeypatch.setenv("MAX_ATTEMPTS", "3")
    fake = Clock()
    monkeypatch.setattr(clock, "now", fake)
    yield fake


def latencies(out: str) -> list[tuple[float, list[list[str]], str]]:
    """(milliseconds, dimension sets, provider) of each OperationLatency written."""
    found = []
    for line in out.splitlines():
        if not line.startswith("{"):
            continue
        document: dict[str, Any] = json.loads(line)
        for metric in document.get("_aws", {}).get("CloudWatchMetrics", []):
            if any(entry["Name"] == "OperationLatency" for entry in metric["Metrics"]):
                assert metric["Metrics"] == [{"Name": "OperationLatency", "Unit": "Milliseconds"}]
                [value] = document["OperationLatency"]  # one value per document: one operation ended
                found.append((value, metric["Dimensions"], document["provider"]))
    return found


def queued_send() -> Operation:
    operation = Operation.new(
        operation=OperationName.OGANGI_SEND_SMS,
        client="c",
        payload={"to": "+13056708084", "text": "hi", "from": "1", "carrier": None, "flags": None},
    )
    records.create(operation)
    return operation


def scripted(*outcomes: ProviderOutcome) -> DeliveryConfig:
    remaining = list(outcomes)
    return sends_sms(lambda _: remaining.pop(0))


def sends_sms(execute: Executor, *, pausable: bool = False) -> DeliveryConfig:
    """Ogangi's delivery with a provider call the test scripts."""
    return DeliveryConfig(Provider.OGANGI, {OperationName.OGANGI_SEND_SMS: execute}, pausable=pausable)


def body_of(operation: Operation) -> str:
    return json.dumps({"operation_id": operation.id})


def test_a_send_counts_from_accepted_to_delivered_once_it_ends(
    moments: Clock, capsys: pytest.CaptureFixture[str]
) -> None:
    operation = queued_send()
    config = scripted(
        ProviderOutcome.transient("provider_error", "HTTP 503"), ProviderOutcome.succeeded({"provider_message_id": "1"})
    )
    moments.at += 1.5
    assert deliver_message(body_of(operation), config)  # a retry: not final, nothing to measure yet
    capsys.readouterr()
    moments.at += 40.0
    assert deliver_message(body_of(operation), config)
    stored = records.get(operation.id)
    assert stored is not None and stored.status is Status.SUCCEEDED and stored.attempts == 2
    assert latencies(capsys.readouterr().out) == [(41_500.0, [["service", "provider"]], "ogangi")]
    # A second copy of the message finds it final: the operation is measured once.
    assert deliver_message(body_of(operation), config)
    assert latencies(capsys.readouterr().out) == []


def test_a_failure_is_measured_too(moments: Clock, capsys: pytest.CaptureFixture[str]) -> None:
    operation = queued_send()
    moments.at += 2.25
    assert deliver_message(body_of(operation), scripted(ProviderOutcome.rejected("invalid_number", "no such number")))
    assert latencies(capsys.readouterr().out) == [(2_250.0, [["service", "provider"]], "ogangi")]


class ScheduledOperation(Operation):
    send_at: float | None = None


def test_a_scheduled_operation_counts_from_its_send_at() -> None:
    accepted = 1_800_000_000.0
    scheduled = ScheduledOperation(
        id="op_1",
        operation=OperationName.OGANGI_SEND_SMS,
        provider=Provider.OGANGI,
        client="c",
        status=Status.SUCCEEDED,
        created_at=accepted,
        updated_at=accepted + 3_600 + 4.5,
        send_at=accepted + 3_600,
    )
    assert delivery._waited_seconds(scheduled) == pytest.approx(4.5)
    unscheduled = Operation.model_validate(scheduled.model_dump(exclude={"send_at"}))
    assert delivery._waited_seconds(unscheduled) == pytest.approx(3_604.5)
