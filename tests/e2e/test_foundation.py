"""The foundation through the local stack over HTTP: auth, health, OpenAPI, and the Ogangi SMS slice."""

from __future__ import annotations

import socket
import uuid

import pytest

from e2e.conftest import API_KEY, OTHER_KEY, Stack, assert_never_reached_ogangi


def test_health_needs_no_key(stack: Stack) -> None:
    answer = stack.call("GET", "/v1/health", key=None)
    assert answer.status_code == 200 and answer.json() == {"status": "ok"}


def test_missing_or_unknown_key_is_forbidden_as_api_gateway_says(stack: Stack) -> None:
    marker = f"forbidden-{uuid.uuid4().hex[:8]}"
    for key in (None, "wrong"):
        answer = stack.call("POST", "/v1/ogangi/sms", key=key, json={"to": "+13056708084", "text": marker})
        assert answer.status_code == 403 and answer.json() == {"message": "Forbidden"}
    assert_never_reached_ogangi(stack, marker)


def test_openapi_document_is_served_with_a_key(stack: Stack) -> None:
    answer = stack.call("GET", "/v1/openapi.json")
    assert answer.status_code == 200
    assert answer.json()["openapi"].startswith("3.1") and "/v1/ogangi/sms" in answer.json()["paths"]


def test_sms_is_accepted_queued_delivered_and_visible(stack: Stack) -> None:
    text = f"Hello {uuid.uuid4().hex[:8]} ñ 👋"
    answer = stack.call("POST", "/v1/ogangi/sms", json={"to": "+13056708084", "text": text, "carrier": "Movistar"})
    assert answer.status_code == 202, answer.text
    operation = answer.json()
    assert answer.headers["Location"] == f"/v1/operations/{operation['id']}"
    assert operation["status"] == "queued" and operation["operation"] == "ogangi.send_sms"
    assert operation["sms"] == {"characters": len(text), "encoding": "UCS-2", "segments": 1}
    done = stack.wait_for(operation["id"])
    assert done["status"] == "succeeded", done
    assert done["attempts"] == 1
    assert done["result"]["provider_message_id"].lstrip("-").isdigit()
    assert done["result"]["provider_status"] == "SENT_TO_CARRIER"
    assert f"sendSMS:13056708084:{text}" in stack.sandbox("ogangi")["acted"]


def test_without_carrier_it_is_send_mt(stack: Stack) -> None:
    text = f"mt {uuid.uuid4().hex[:8]}"
    operation = stack.call("POST", "/v1/ogangi/sms", json={"to": "+13056708084", "text": text}).json()
    done = stack.wait_for(operation["id"])
    assert done["status"] == "succeeded" and done["result"]["provider_status"] == "OK"
    assert f"sendMT:13056708084:{text}" in stack.sandbox("ogangi")["acted"]


def test_invalid_body_is_refused_and_nothing_is_queued(stack: Stack) -> None:
    answer = stack.call("POST", "/v1/ogangi/sms", json={"to": "555", "text": ""})
    assert answer.status_code == 422
    assert answer.headers["Content-Type"] == "application/problem+json"
    assert {error["field"] for error in answer.json()["errors"]} == {"to", "text"}
    not_json = stack.call("POST", "/v1/ogangi/sms", data="{", headers={"Content-Type": "application/json"})
    assert not_json.status_code == 400 and not_json.json()["code"] == "invalid_json"
    # A valid body refused by a business rule (an opted-out recipient) queues nothing either.
    marker = f"refused-{uuid.uuid4().hex[:8]}"
    assert stack.call("PUT", "/v1/opt-outs/%2B12125550199").status_code == 200
    opted_out = stack.call("POST", "/v1/ogangi/sms", json={"to": "+12125550199", "text": marker})
    assert opted_out.status_code == 422 and opted_out.json()["code"] == "recipient_opted_out"
    assert_never_reached_ogangi(stack, marker)


def test_provider_rejection_ends_failed_with_its_words(stack: Stack) -> None:
    operation = stack.call("POST", "/v1/ogangi/sms", json={"to": "+15005550001", "text": "x"}).json()
    done = stack.wait_for(operation["id"])
    assert done["status"] == "failed"
    assert done["error"] == {"code": "bad_signature", "message": "Invalid signature, access denied", "retryable": False}


def test_transient_errors_retry_until_exhausted(stack: Stack) -> None:
    operation = stack.call("POST", "/v1/ogangi/sms", json={"to": "+15005550003", "text": "x"}).json()  # HTTP 503
    done = stack.wait_for(operation["id"])
    assert done["status"] == "failed" and done["attempts"] == 3
    assert done["error"]["code"] == "retries_exhausted"


def test_ogangis_internal_error_is_unknown_after_one_call(stack: Stack) -> None:
    # ERROR does not show that nothing was sent (the sandbox sends, then answers ERROR): never sent again.
    marker = f"err-{uuid.uuid4().hex[:8]}"
    before = stack.sandbox("ogangi")["requests"]
    operation = stack.call("POST", "/v1/ogangi/sms", json={"to": "+15005550002", "text": marker}).json()
    done = stack.wait_for(operation["id"])
    assert done["status"] == "unknown" and done["attempts"] == 1, done
    assert done["error"] == {
        "code": "provider_internal_error",
        "message": "Ogangi answered ERROR: Internal error",
        "retryable": False,
    }
    assert stack.sandbox("ogangi")["requests"] == before + 1
    sent = stack.session.get(f"{stack.url}/_sandbox/ogangi/messages/15005550002", timeout=5).json()["messages"]
    assert [message["text"] for message in sent].count(marker) == 1


def test_a_slow_provider_is_unknown_and_not_retried(stack: Stack) -> None:
    operation = stack.call("POST", "/v1/ogangi/sms", json={"to": "+15005550004", "text": "x"}).json()
    done = stack.wait_for(operation["id"])
    assert done["status"] == "unknown" and done["attempts"] == 1


def test_another_client_cannot_see_the_operation(stack: Stack) -> None:
    operation = stack.call("POST", "/v1/ogangi/sms", json={"to": "+13056708084", "text": "mine"}).json()
    assert stack.call("GET", f"/v1/operations/{operation['id']}", key=OTHER_KEY).status_code == 404
    assert stack.call("GET", f"/v1/operations/{operation['id']}").status_code == 200
    assert stack.call("GET", "/v1/operations/op_000000000000000000000000").status_code == 404


def test_idempotency_key_replays_and_acts_once(stack: Stack) -> None:
    key = uuid.uuid4().hex
    body = {"to": "+13056708084", "text": f"once {key[:6]}"}
    first = stack.call("POST", "/v1/ogangi/sms", json=body, headers={"Idempotency-Key": key})
    second = stack.call("POST", "/v1/ogangi/sms", json=body, headers={"Idempotency-Key": key})
    assert first.status_code == second.status_code == 202
    assert second.json() == first.json() and second.headers["Idempotent-Replayed"] == "true"
    other = stack.call("POST", "/v1/ogangi/sms", json={**body, "text": "else"}, headers={"Idempotency-Key": key})
    assert other.status_code == 422 and other.json()["code"] == "idempotency_key_reused"
    stack.wait_for(first.json()["id"])
    assert stack.sandbox("ogangi")["acted"].count(f"sendMT:13056708084:{body['text']}") == 1


def test_swagger_ui_is_served_with_its_assets(stack: Stack) -> None:
    page = stack.session.get(f"{stack.url}/docs", timeout=10)
    assert page.status_code == 200 and "SwaggerUIBundle" in page.text and "/v1/openapi.json" in page.text
    bundle = stack.session.get(f"{stack.url}/docs/swagger-ui-bundle.js", timeout=10)
    assert bundle.status_code == 200 and len(bundle.content) > 100_000
    assert stack.session.get(f"{stack.url}/docs/../template.yaml", timeout=10).status_code == 404


def test_unknown_paths_are_a_problem_404(stack: Stack) -> None:
    for method in ("GET", "DELETE", "TRACE", "BREW"):
        answer = stack.call(method, "/v1/nowhere")
        assert answer.status_code == 404 and answer.headers["Content-Type"] == "application/problem+json"
        assert answer.json()["code"] == "not_found"


@pytest.mark.parametrize("method", ["DELETE", "PUT", "PATCH", "HEAD", "OPTIONS", "TRACE", "CONNECT", "QUERY", "BREW"])
def test_any_other_method_on_a_path_is_a_405_naming_the_methods_it_takes(stack: Stack, method: str) -> None:
    answer = stack.call(method, "/v1/ogangi/sms")
    assert answer.status_code == 405 and answer.headers["Allow"] == "POST"
    assert answer.headers["Content-Type"] == "application/problem+json"
    if method != "HEAD":
        assert answer.json()["code"] == "method_not_allowed"
    assert stack.call(method, "/v1/ogangi/sms", key=None).status_code == 403  # the key is asked for first
    on_health = stack.call(method, "/v1/health", key=None)  # no key needed there
    assert on_health.status_code == 405 and on_health.headers["Allow"] == "GET"
    if method not in {"DELETE", "PUT"}:  # the methods of that path
        opt_outs = stack.call(method, "/v1/opt-outs/%2B13056708084")
        assert opt_outs.status_code == 405 and opt_outs.headers["Allow"] == "DELETE, GET, PUT"


def raw_request(stack: Stack, head: bytes, body: bytes = b"", *, wait: float = 10.0) -> bytes:
    """What the gateway answers to bytes a well-behaved client would not send; the connection must not be dropped."""
    host, port = stack.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=wait) as connection:
        # "Host: x" stands for the stack's own address (another Host is refused before anything is read).
        connection.sendall(head.replace(b"Host: x", f"Host: {host}:{port}".encode()) + b"\r\n" + body)
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    assert answer, "the connection was dropped without an answer"
    return answer


@pytest.mark.parametrize("length", [b"-5", b"abc", b"1e3", b"+3", b"99999999999999999999999", b"12, 13"])
def test_a_bad_content_length_is_a_400_never_a_dropped_connection(stack: Stack, length: bytes) -> None:
    head = (
        b"POST /v1/ogangi/sms HTTP/1.1\r\nHost: x\r\nx-api-key: " + API_KEY.encode() + b"\r\n"
        b"Content-Type: application/json\r\nContent-Length: " + length + b"\r\n"
    )
    answer = raw_request(stack, head, b'{"to": "+13056708084", "text": "x"}')
    status = answer.split(b"\r\n", 1)[0]
    assert status.split(b" ")[1] in (b"400", b"413"), answer[:200]
    assert b"application/json" in answer and b"<html" not in answer.lower()


def test_a_body_shorter_than_its_content_length_is_a_400(stack: Stack) -> None:
    head = (
        b"POST /v1/ogangi/sms HTTP/1.1\r\nHost: x\r\nx-api-key: " + API_KEY.encode() + b"\r\n"
        b"Content-Type: application/json\r\nContent-Length: 500\r\n"
    )
    answer = raw_request(stack, head, b'{"to": "+13056708084", "text": "x"}', wait=30)
    assert answer.startswith(b"HTTP/1.1 400 ") and b'"Bad Request"' in answer


def test_a_request_line_http_server_cannot_read_is_answered_in_json(stack: Stack) -> None:
    answer = raw_request(stack, b"GET /v1/health HTTP/9.9\r\nHost: x\r\n")
    assert answer.startswith(b"HTTP/1.1 505 ") and b'"HTTP Version Not Supported"' in answer
    assert b"<html" not in answer.lower() and b"application/json" in answer


def test_a_chunked_body_is_read(stack: Stack) -> None:
    chunks = iter([b'{"to": "+13056708084", ', b'"text": "chunked"}'])
    answer = stack.call("POST", "/v1/ogangi/sms", data=chunks, headers={"Content-Type": "application/json"})
    assert answer.status_code == 202, answer.text


def test_bodies_that_are_not_utf8_json_or_not_json_at_all(stack: Stack) -> None:
    latin1 = '{"to": "+13056708084", "text": "café"}'.encode("latin-1")
    answer = stack.call("POST", "/v1/ogangi/sms", data=latin1, headers={"Content-Type": "application/json"})
    assert answer.status_code == 400 and answer.json()["code"] == "invalid_json"
    form = stack.call("POST", "/v1/ogangi/sms", data={"to": "+13056708084", "text": "x"})
    assert form.status_code == 415 and form.json()["code"] == "unsupported_media_type"
    plain = stack.call("POST", "/v1/ogangi/sms", data=b'{"to": "+13056708084", "text": "no type"}')
    assert plain.status_code == 202  # no Content-Type at all is read as JSON, as API Gateway does


def test_a_since_at_the_edge_of_the_calendar_is_a_422(stack: Stack) -> None:
    answer = stack.call("GET", "/v1/sumotext/events", params={"kind": "mo", "since": "0001-01-01T00:00:00+01:00"})
    assert answer.status_code == 422 and [error["field"] for error in answer.json()["errors"]] == ["since"]


def test_fired_messages_describe_their_text_and_other_operations_say_sms_null(stack: Stack) -> None:
    fired = stack.call("POST", "/v1/ogangi/mo", json={"mobile": "+13056708084", "text": "JOIN now"}).json()
    assert fired["sms"] == {"characters": 8, "encoding": "GSM-7", "segments": 1}
    chat = stack.call(
        "POST", "/v1/contactatonce/conversations", json={"merchant_id": 1, "consumer_phone": "+13056708084"}
    ).json()
    assert chat["sms"] is None
