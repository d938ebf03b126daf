"""Powertools in the layer: the Logger's keys per invocation and per delivery thread, redaction of numbers and
secrets, log sampling, the metrics' documents and dimensions, and provider calls traced without personal data."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import textwrap
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from textgate import delivery, invocation, log, metrics
from textgate.registry import OperationName, Provider

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Context:
    function_name: str = "OgangiDeliveryFunction"
    aws_request_id: str = "req-1"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:OgangiDeliveryFunction"


def written(out: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(log lines, EMF documents) among what was written to stdout."""
    entries = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    return [e for e in entries if "_aws" not in e], [e for e in entries if "_aws" in e]


def test_delivery_threads_keep_their_own_keys_and_share_the_invocations(
    unit_settings: dict[str, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    log.configure("INFO")
    together = threading.Barrier(5)

    def deliver(operation_id: str, config: delivery.DeliveryConfig) -> bool:
        together.wait(timeout=10)  # all five calls in flight at once, in five threads
        logging.getLogger("textgate.delivery").info("working on %s", operation_id)
        time.sleep(0.01)
        logging.getLogger("textgate.delivery").info("done with %s", operation_id)
        metrics.outcome("succeeded", Provider.OGANGI, OperationName.OGANGI_SEND_SMS)
        return True

    monkeypatch.setattr(delivery, "_deliver", deliver)
    monkeypatch.setattr(delivery, "_pool", None)
    config = delivery.DeliveryConfig(provider=Provider.OGANGI, executors={})

    @invocation.around_invocation()
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        return delivery.handle_batch(event, config)

    records = [{"messageId": f"m{n}", "body": json.dumps({"operation_id": f"op_{n}"})} for n in range(5)]
    assert handler({"Records": records}, Context()) == {"batchItemFailures": []}
    lines, documents = written(capsys.readouterr().out)
    assert len(lines) == 10
    for line in lines:
        assert line["message"].endswith(line["operation_id"]) and line["correlation_id"] == line["operation_id"]
        assert line["function_request_id"] == "req-1" and line["function_name"] == "OgangiDeliveryFunction"
        assert line["service"] == "textgate" and "cold_start" in line
    assert {line["operation_id"] for line in lines} == {f"op_{n}" for n in range(5)}
    assert log.bound() == {}  # nothing is left behind in the caller's thread
    # The five threads' metrics are the invocation's: one document, written once when it ended.
    [document] = documents
    assert document["OperationSucceeded"] == [1.0] * 5 and document["function_name"] == "OgangiDeliveryFunction"


def test_cold_start_and_correlation_id_per_invocation(capsys: pytest.CaptureFixture[str]) -> None:
    log.configure("INFO")

    @invocation.around_invocation(correlation_id=lambda event: event["requestContext"]["requestId"])
    def handler(event: dict[str, Any], context: Any) -> None:
        logging.getLogger("textgate.test").info("handled")

    handler({"requestContext": {"requestId": "r-1"}}, Context(aws_request_id="a"))
    handler({"requestContext": {"requestId": "r-2"}}, Context(aws_request_id="b"))
    handler({}, None)  # no correlation id, no context: still handled and logged
    first, second, third = written(capsys.readouterr().out)[0]
    assert (first["correlation_id"], first["function_request_id"], first["cold_start"]) == ("r-1", "a", True)
    assert (second["correlation_id"], second["function_request_id"], second["cold_start"]) == ("r-2", "b", False)
    assert "correlation_id" not in third and third["message"] == "handled"


def test_secret_fields_and_secret_values_are_never_written(capsys: pytest.CaptureFixture[str]) -> None:
    log.configure("INFO")
    log.register_secret_values(["s3cr3t-Private-Key", 'with"quote\\', "434"])
    logging.getLogger("textgate.test").info(
        "signed with s3cr3t-Private-Key for +13056708084",
        extra={
            "password": "hunter22",
            "headers": {"Authorization": "Basic dXNlcjpwYXNz", "Accept": "text/xml"},
            "private_key": "zzz-private",
            "pin": "846547",
            "access_token": "tok-123456",
            "note": 'with"quote\\',
            "code": "bad_signature",
            "instance": "434",
        },
    )
    out = capsys.readouterr().out
    [entry] = written(out)[0]
    for secret in ("s3cr3t-Private-Key", "hunter22", "dXNlcjpwYXNz", "zzz-private", "846547", "tok-123456", "quote"):
        assert secret not in out
    assert "3056708084" not in out and entry["message"] == "signed with [redacted] for +*******8084"
    assert entry["headers"] == {"Authorization": "[redacted]", "Accept": "text/xml"}
    # Error codes, and values too short to be a secret, are ordinary words.
    assert entry["code"] == "bad_signature" and entry["instance"] == "434"


def test_a_refusal_counts_with_its_reason_and_no_id(capsys: pytest.CaptureFixture[str]) -> None:
    from textgate.http_api import ApiRequest, json_body, operation_handler
    from textgate.schemas.ogangi import SendSmsRequest

    @operation_handler(OperationName.OGANGI_SEND_SMS)
    def send(request: ApiRequest) -> dict[str, Any]:
        json_body(request, SendSmsRequest)
        raise AssertionError("not reached")

    event = {
        "httpMethod": "POST",
        "path": "/v1/ogangi/sms",
        "body": json.dumps({"to": "555", "text": ""}),
        "requestContext": {"requestId": "r-9", "identity": {"apiKeyId": "local"}},
    }
    assert send(event, Context(function_name="OgangiSendSmsFunction"))["statusCode"] == 422
    [document] = written(capsys.readouterr().out)[1]
    assert document["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["service", "operation", "reason"]]
    assert (document["operation"], document["reason"], document["OperationRefused"]) == (
        "ogangi.send_sms",
        "validation_error",
        [1.0],
    )


@pytest.mark.parametrize(
    ("emit", "dimensions"),
    [
        (
            lambda: metrics.refused(OperationName.OGANGI_SEND_SMS, "op_1f2e"),
            {"operation": "ogangi.send_sms", "reason": "other"},
        ),
        # No operation (an event naming none), or not one of the registry's (a string where mypy would object).
        (lambda: metrics.refused(None, "validation_error"), {"operation": "other"}),
        (lambda: metrics.refused("+13056708084", "validation_error"), {"operation": "other"}),
        (lambda: metrics.callback_stored("campaign-42"), {"kind": "other"}),
        (lambda: metrics.opt_out_changed("client-7", True), {"source": "other", "change": "opted_out"}),
        (lambda: metrics.pin_checked("846547"), {"result": "other"}),
    ],
)
def test_dimension_values_are_the_documented_words_only(
    emit: Any, dimensions: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    emit()
    [document] = written(capsys.readouterr().out)[1]
    assert {key: document[key] for key in dimensions} == dimensions


def test_outcomes_carry_both_dimension_sets(capsys: pytest.CaptureFixture[str]) -> None:
    metrics.outcome("unknown", Provider.INTERACT, OperationName.INTERACT_SEND_CAMPAIGN_SMS)
    metrics.provider_latency(Provider.OGANGI, None, 12.5)  # a synchronous read: no operation, one set
    metrics.outcome("queued", Provider.OGANGI, OperationName.OGANGI_SEND_SMS)  # not an outcome: nothing
    unknown, latency = written(capsys.readouterr().out)[1]
    assert unknown["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [
        ["service", "provider"],
        ["service", "provider", "operation"],
    ]
    assert unknown["OperationUnknown"] == [1.0] and unknown["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "textgate"
    assert latency["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["service", "provider"]]
    assert latency["_aws"]["CloudWatchMetrics"][0]["Metrics"] == [{"Name": "ProviderLatency", "Unit": "Milliseconds"}]


def run_python(code: str, **env: str) -> str:
    completed = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env={**os.environ, "PYTHONPATH": str(ROOT / "layers" / "shared"), **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    return completed.stdout


SAMPLED = """
    import logging
    from textgate import invocation, log
    log.configure("WARNING")

    @invocation.around_invocation()
    def handler(event, context):
        logging.getLogger("textgate.test").debug("detail")

    for _ in range(3):
        handler({}, None)
"""


@pytest.mark.parametrize(("rate", "lines"), [("1", 3), ("0", 0)])
def test_log_sampling_by_setting(rate: str, lines: int) -> None:
    out = run_python(SAMPLED, POWERTOOLS_LOGGER_SAMPLE_RATE=rate)
    assert out.count('"message":"detail"') == lines


TRACED = """
    import json, threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Answer(BaseHTTPRequestHandler):
        def do_POST(self):
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"OK")
        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Answer)
    threading.Thread(target=server.serve_forever, daemon=True).start()

    from textgate import operation_context, tracing
    from textgate.providers import transport
    from textgate.registry import OperationName, Provider
    assert tracing.activate() and tracing.active()

    from aws_xray_sdk.core import patcher, xray_recorder
    sent = []

    class Emitter:
        def send_entity(self, entity):
            sent.append(json.loads(entity.serialize()))
        def set_daemon_address(self, address):
            pass

    xray_recorder.emitter = Emitter()
    url = f"http://127.0.0.1:{server.server_port}/sendSMS/434/13056708084/Hello?signature=c2lnbmF0dXJl"
    with operation_context.working_on(OperationName.OGANGI_SEND_SMS):
        assert transport.call(Provider.OGANGI, "POST", url, timeout=(2, 2), data=b"pin=846547").status == 200
    print(json.dumps({"sent": sent, "patched": sorted(patcher._PATCHED_MODULES)}))
"""


def test_provider_calls_are_traced_with_annotations_only() -> None:
    out = run_python(
        TRACED,
        LAMBDA_TASK_ROOT="/var/task",
        _X_AMZN_TRACE_ID="Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
        AWS_XRAY_CONTEXT_MISSING="LOG_ERROR",
        POWERTOOLS_SERVICE_NAME="textgate",
    )
    report = json.loads(out.strip().splitlines()[-1])
    assert report["patched"] == ["botocore"]  # requests (and with it every provider URL) is never patched
    [call] = [entity for entity in report["sent"] if entity["name"] == "## ogangi"]
    assert call["annotations"] == {"provider": "ogangi", "operation": "ogangi.send_sms", "http_status": 200}
    recorded = json.dumps(report["sent"])
    assert "13056708084" not in recorded and "c2lnbmF0dXJl" not in recorded and "846547" not in recorded
    assert "http" not in call  # no URL, no request, no response


def test_tracing_waits_for_a_sampled_invocation() -> None:
    out = run_python(
        """
        import sys
        from textgate import tracing
        print(tracing.activate(), "aws_xray_sdk" in sys.modules)
        """,
        LAMBDA_TASK_ROOT="/var/task",
        _X_AMZN_TRACE_ID="Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=0",
    )
    assert out.split() == ["False", "False"]


def test_unbind_puts_back_what_was_bound_and_a_copied_context_keeps_its_own() -> None:
    outer = log.bind(operation_id="op_outer", route="POST /v1/ogangi/sms")
    try:
        inner = log.bind(operation_id="op_inner")
        assert log.bound()["operation_id"] == "op_inner"

        def in_a_worker() -> dict[str, Any]:
            token = log.bind(attempt=2)
            log.unbind(token)
            log.bind(worker="w-1")  # left bound in the worker's own copy
            return log.bound()

        worker = invocation.run_in_copy(in_a_worker)
        assert worker() == {"operation_id": "op_inner", "route": "POST /v1/ogangi/sms", "worker": "w-1"}
        log.unbind(inner)
        assert log.bound() == {"operation_id": "op_outer", "route": "POST /v1/ogangi/sms"}
    finally:
        log.unbind(outer)
    assert "operation_id" not in log.bound()
