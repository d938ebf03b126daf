"""What an on-call engineer reads, through the local stack: the functions' EMF documents and JSON log lines in the
stack's output, as CloudWatch would receive them (docs/operating.md), with correlation ids and no personal data."""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from e2e.conftest import Stack, start_stack, stop_stack
from textgate import errors
from textgate.registry import OperationName, Provider

PHONE = "+13056708084"
OPERATIONS = {operation.value for operation in OperationName}
DIMENSION_VALUES = {
    "service": {"textgate"},
    "operation": OPERATIONS,
    "provider": {provider.value for provider in Provider},
    "kind": {"crm", "poll", "text4info", "mo", "dlr"},
    "source": {"api", "sumotext", "protexting"},
    "change": {"opted_out", "opted_in"},
    "result": {"verified", "wrong_code", "pending", "expired", "used", "too_many_attempts"},
    # A refusal's reason is its problem code.
    "reason": {
        kind.code for kind in vars(errors).values() if isinstance(kind, type) and issubclass(kind, errors.ApiError)
    },
}


@pytest.fixture(scope="module")
def observed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A stack of its own that logs at INFO (the shared one logs warnings only)."""
    process, running = start_stack(
        {"LOG_LEVEL": "INFO"}, log_name="observability.log", tmp=tmp_path_factory.mktemp("observability")
    )
    try:
        yield running
    finally:
        stop_stack(process)


def lines(path: Path) -> list[dict[str, Any]]:
    found = []
    for line in path.read_text(errors="replace").splitlines():
        if line.startswith("{"):
            try:
                found.append(json.loads(line))
            except ValueError:
                continue
    return found


def emf(path: Path) -> list[dict[str, Any]]:
    return [line for line in lines(path) if "_aws" in line]


def eventually[T](read: Callable[[], T | None], timeout: float = 15.0) -> T:
    deadline = time.monotonic() + timeout
    while True:
        found = read()
        if found or time.monotonic() > deadline:
            assert found, "not found in the stack's output in time"
            return found
        time.sleep(0.2)


def metric(path: Path, name: str, **dimensions: str) -> list[dict[str, Any]]:
    """The EMF documents that carry `name` with these dimension values."""
    return [
        document
        for document in emf(path)
        if name in document and all(document.get(key) == value for key, value in dimensions.items())
    ]


def dimension_sets(document: dict[str, Any]) -> list[list[str]]:
    [directive] = document["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == "textgate"
    return [list(names) for names in directive["Dimensions"]]


def units(document: dict[str, Any]) -> dict[str, str]:
    [directive] = document["_aws"]["CloudWatchMetrics"]
    return {entry["Name"]: entry["Unit"] for entry in directive["Metrics"]}


def test_a_send_emits_the_documented_metrics_with_their_dimensions(observed: Stack) -> None:
    text = f"metrics {uuid.uuid4().hex[:8]}"
    answer = observed.call("POST", "/v1/ogangi/sms", json={"to": PHONE, "text": text, "carrier": "Movistar"})
    assert answer.status_code == 202, answer.text
    assert observed.wait_for(answer.json()["id"])["status"] == "succeeded"
    refused = observed.call("POST", "/v1/ogangi/sms", json={"to": "555", "text": ""})
    assert refused.status_code == 422

    path = observed.log_path
    [accepted, *_] = eventually(lambda: metric(path, "OperationAccepted", operation="ogangi.send_sms"))
    assert dimension_sets(accepted) == [["service", "operation"]] and accepted["service"] == "textgate"
    assert units(accepted)["OperationAccepted"] == "Count"
    [succeeded, *_] = eventually(lambda: metric(path, "OperationSucceeded", provider="ogangi"))
    assert dimension_sets(succeeded) == [["service", "provider"], ["service", "provider", "operation"]]
    assert succeeded["operation"] == "ogangi.send_sms"
    [latency, *_] = eventually(lambda: metric(path, "ProviderLatency", provider="ogangi"))
    assert dimension_sets(latency) == [["service", "provider"], ["service", "provider", "operation"]]
    assert units(latency)["ProviderLatency"] == "Milliseconds"  # beside the outcome, in one document per set
    assert all(0 < value < 10_000 for value in latency["ProviderLatency"])
    [refusal, *_] = eventually(lambda: metric(path, "OperationRefused", reason="validation_error"))
    assert dimension_sets(refusal) == [["service", "operation", "reason"]]
    assert refusal["operation"] == "ogangi.send_sms"


def test_outcomes_refusals_and_opt_outs_are_counted(observed: Stack) -> None:
    failed = observed.call("POST", "/v1/ogangi/sms", json={"to": "+15005550001", "text": "x"}).json()
    retried = observed.call("POST", "/v1/ogangi/sms", json={"to": "+15005550003", "text": "x"}).json()
    assert observed.wait_for(failed["id"])["status"] == "failed"
    assert observed.wait_for(retried["id"])["status"] == "failed"
    assert observed.call("PUT", "/v1/opt-outs/%2B12125550142").status_code == 200
    opted_out = observed.call("POST", "/v1/ogangi/sms", json={"to": "+12125550142", "text": "x"})
    assert opted_out.status_code == 422
    assert observed.call("DELETE", "/v1/opt-outs/%2B12125550142").status_code == 200

    path = observed.log_path
    eventually(lambda: metric(path, "OperationFailed", provider="ogangi", operation="ogangi.send_sms"))
    eventually(lambda: metric(path, "OperationRetried", provider="ogangi", operation="ogangi.send_sms"))
    eventually(lambda: metric(path, "OperationRefused", reason="recipient_opted_out"))
    [out, *_] = eventually(lambda: metric(path, "OptOutChanged", source="api", change="opted_out"))
    assert dimension_sets(out) == [["service", "source", "change"]]
    eventually(lambda: metric(path, "OptOutChanged", source="api", change="opted_in"))


def test_metrics_hold_no_personal_data(observed: Stack) -> None:
    answer = observed.call("POST", "/v1/ogangi/sms", json={"to": PHONE, "text": "private"})
    operation_id = answer.json()["id"]
    observed.wait_for(operation_id)
    documents = eventually(lambda: emf(observed.log_path))
    for document in documents:
        for names in dimension_sets(document):
            for name in names:
                assert document[name] in DIMENSION_VALUES[name], (name, document[name])
        words = [value for key, value in document.items() if key != "_aws" and isinstance(value, str)]
        assert words and not any("op_" in word or re.search(r"\d{4,}", word) for word in words), words
        assert operation_id not in json.dumps(document) and PHONE[2:] not in json.dumps(document)


def test_log_lines_carry_the_correlation_id_and_the_lambda_context(observed: Stack) -> None:
    answer = observed.call("POST", "/v1/ogangi/sms", json={"to": PHONE, "text": "correlated"})
    request_id = answer.headers["x-amzn-RequestId"]
    operation_id = answer.json()["id"]
    observed.wait_for(operation_id)

    def accepted() -> list[dict[str, Any]]:
        return [line for line in lines(observed.log_path) if line.get("correlation_id") == request_id]

    [line, *_] = eventually(accepted)
    assert line["message"] == "operation accepted" and line["operation_id"] == operation_id
    assert line["service"] == "textgate" and line["function_name"] == "OgangiSendSmsFunction"
    assert line["function_request_id"] and isinstance(line["cold_start"], bool)
    assert line["route"] == "POST /v1/ogangi/sms"

    def delivered() -> list[dict[str, Any]]:
        return [
            line
            for line in lines(observed.log_path)
            if line.get("correlation_id") == operation_id and line.get("message") == "provider answered"
        ]

    [answered, *_] = eventually(delivered)
    assert answered["function_name"] == "OgangiDeliveryFunction" and answered["operation_id"] == operation_id
    assert answered["function_request_id"] != line["function_request_id"]
    # No line the functions wrote holds the whole number (the banner's curl example is the stack's, not theirs).
    written = [line for line in observed.log_path.read_text().splitlines() if line.startswith("{")]
    # At least this send's: accepted, answered and their two metric documents.
    assert len(written) >= 4 and not [line for line in written if PHONE[2:] in line]
