"""The local stack beside a browser: no web page reads its secrets or changes its state while `make run` is up,
and a client that sends its request slowly cannot keep the gateway's connections."""

from __future__ import annotations

import json
import re
import socket
import time

import pytest
import requests

from e2e.conftest import API_KEY, Stack
from textgate_local.gateway import REQUEST_WAIT_SECONDS

EVIL = "http://evil.example"


def sandbox_urls(stack: Stack) -> dict[str, str]:
    """The sandboxes' own addresses, as the banner prints them."""
    found = re.findall(r"sandbox\s+(\w+)\s+(http://127\.0\.0\.1:\d+)", stack.log_path.read_text(errors="replace"))
    assert found, "the banner names the sandboxes"
    return dict(found)


def test_the_local_aws_endpoint_answers_no_web_page(stack: Stack) -> None:
    data = f"{stack.aws_url}/moto-api/data.json"
    for origin in (EVIL, stack.url, "null"):
        answer = requests.get(data, headers={"Origin": origin}, timeout=10)
        assert answer.status_code == 403, origin
        assert "Access-Control-Allow-Origin" not in answer.headers and "token" not in answer.text
    preflight = requests.options(
        stack.aws_url + "/",
        headers={
            "Origin": EVIL,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type,x-amz-target",
        },
        timeout=10,
    )
    assert preflight.status_code == 403 and "Access-Control-Allow-Origin" not in preflight.headers
    # Without an Origin (boto3, curl) it is the endpoint it always was, and it sends no CORS header.
    plain = requests.get(data, timeout=10)
    assert plain.status_code == 200 and "Access-Control-Allow-Origin" not in plain.headers


def test_a_cross_origin_delete_cannot_remove_an_opt_out(stack: Stack) -> None:
    phone = "+12025550187"
    assert stack.call("PUT", "/v1/opt-outs/%2B12025550187").json()["opted_out"] is True
    delete = requests.post(
        stack.aws_url + "/",
        headers={
            "Origin": EVIL,
            "Content-Type": "application/x-amz-json-1.0",
            "X-Amz-Target": "DynamoDB_20120810.DeleteItem",
            "Authorization": "AWS4-HMAC-SHA256 Credential=testing/20261205/us-east-1/dynamodb/aws4_request, "
            "SignedHeaders=host, Signature=0",
        },
        data=json.dumps({"TableName": "SuppressionTable", "Key": {"phone": {"S": phone}}}),
        timeout=10,
    )
    assert delete.status_code == 403
    assert stack.call("GET", "/v1/opt-outs/%2B12025550187").json()["opted_out"] is True
    assert stack.call("DELETE", "/v1/opt-outs/%2B12025550187").status_code == 200


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/_sandbox/ogangi"), ("POST", "/_sandbox/ogangi/reset"), ("POST", "/_sandbox/interact/faults")],
)
def test_the_sandboxes_admin_routes_answer_no_web_page(stack: Stack, method: str, path: str) -> None:
    before = stack.sandbox("ogangi")["requests"]
    answer = requests.request(method, stack.url + path, headers={"Origin": EVIL}, data=b"{}", timeout=10)
    assert answer.status_code == 403 and "Access-Control-Allow-Origin" not in answer.headers
    assert stack.sandbox("interact")["faults_on"] is False  # no fault plan was set by the page
    if before:
        assert stack.sandbox("ogangi")["requests"] == before  # not reset
    # The API itself still takes a same-origin page's requests (Swagger UI's "try it out" sends an Origin).
    health = requests.get(stack.url + "/v1/health", headers={"Origin": stack.url, "x-api-key": API_KEY}, timeout=10)
    assert health.status_code == 200


def test_the_sandboxes_own_ports_refuse_another_host_name(stack: Stack) -> None:
    for provider, url in sandbox_urls(stack).items():
        port = url.rsplit(":", 1)[1]
        for host in (f"attacker.example:{port}", "127.0.0.1:1", "127.0.0.1"):
            answer = requests.post(url + "/", headers={"Host": host}, data=b"x", timeout=10)
            assert answer.status_code == 403, (provider, host)
        assert requests.post(url + "/", data=b"x", timeout=10).status_code != 403, provider


def _is_closed(connection: socket.socket) -> bool:
    """True once the gateway has closed the connection (what it answered before closing is read and dropped)."""
    try:
        while chunk := connection.recv(4096):
            del chunk
    except BlockingIOError:
        return False
    except OSError:
        return True
    return True


def test_a_request_that_does_not_arrive_in_time_is_closed(stack: Stack) -> None:
    host, port = stack.url.removeprefix("http://").split(":")
    head = f"POST /v1/ogangi/sms HTTP/1.1\r\nHost: {host}:{port}\r\nx-api-key: {API_KEY}\r\n".encode()
    stalled = []
    for number in range(30):
        connection = socket.create_connection((host, int(port)), timeout=10)
        # Idle, half a request line, half the headers, or the headers with half the body.
        partial = [b"", head[:10], head, head + b"Content-Length: 100\r\n\r\n{"][number % 4]
        connection.sendall(partial)
        stalled.append(connection)
    trickle = socket.create_connection((host, int(port)), timeout=10)
    started = time.monotonic()
    try:
        sent = 0
        while time.monotonic() - started < REQUEST_WAIT_SECONDS + 3:
            for connection in (*stalled, trickle):
                connection.setblocking(False)
            if all(_is_closed(connection) for connection in (*stalled, trickle)):
                break
            # One byte at a time keeps the trickle busy, never idle, and never done.
            if sent < len(head):
                try:
                    trickle.send(head[sent : sent + 1])
                    sent += 1
                except OSError:
                    sent = len(head)
            time.sleep(0.5)
            # The gateway keeps serving everyone else meanwhile.
            assert requests.get(stack.url + "/v1/health", timeout=5).status_code == 200
        elapsed = time.monotonic() - started
        assert all(_is_closed(connection) for connection in (*stalled, trickle))
        assert elapsed < REQUEST_WAIT_SECONDS + 3
    finally:
        for connection in (*stalled, trickle):
            connection.close()
