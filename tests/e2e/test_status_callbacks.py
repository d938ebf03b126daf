"""Status callbacks end to end: the local stack (its own, with the retry schedule shortened a hundredfold) calls a
receiver on 127.0.0.1 (the local allowed host). Every signature is verified with the Standard Webhooks reference
library and the secret that GET /v1/webhook-secret shows."""

from __future__ import annotations

import contextlib
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from standardwebhooks import Webhook

from e2e.conftest import OTHER_KEY, Stack, start_stack, stop_stack
from e2e.test_triggers import put_event

# (status, extra headers, seconds to sleep first), per path; the last answer repeats.
Script = list[tuple[int, dict[str, str], float]]


class Receiver:
    def __init__(self) -> None:
        self.scripts: dict[str, Script] = {}
        self.received: list[tuple[str, dict[str, str], bytes, float]] = []
        self.lock = threading.Lock()
        self.url = ""

    def script(self, answers: Script) -> str:
        path = f"/hook/{uuid.uuid4().hex[:10]}"
        self.scripts[path] = list(answers)
        return path

    def next_answer(self, path: str) -> tuple[int, dict[str, str], float]:
        with self.lock:
            answers = self.scripts.get(path.split("?", maxsplit=1)[0], [(200, {}, 0.0)])
            return answers.pop(0) if len(answers) > 1 else answers[0]

    def to(self, path: str, timeout: float = 20, count: int = 1) -> list[tuple[dict[str, str], bytes, float]]:
        """What reached `path`, once at least `count` POSTs did (or the timeout passed)."""
        deadline = time.monotonic() + timeout
        while True:
            with self.lock:
                found = [
                    (headers, body, at)
                    for where, headers, body, at in self.received
                    if where.split("?", maxsplit=1)[0] == path
                ]
            if len(found) >= count or time.monotonic() > deadline:
                return found
            time.sleep(0.1)


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            with state.lock:
                state.received.append((self.path, dict(self.headers.items()), body, time.monotonic()))
            status, headers, sleep = state.next_answer(self.path)
            time.sleep(sleep)
            with contextlib.suppress(OSError):
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    # 5 s, 5 min, 30 min… become 1 s (SQS delays in whole seconds), 3 s, 18 s…
    process, running = start_stack(
        {"STATUS_CALLBACK_RETRY_SCALE": "0.01"}, log_name="callbacks.log", tmp=tmp_path_factory.mktemp("callbacks")
    )
    try:
        yield running
    finally:
        stop_stack(process)


def send(stack: Stack, callback: str | None, text: str = "Hello", key: str | None = None) -> Any:
    body: dict[str, Any] = {"to": "+13056708084", "text": text}
    if callback is not None:
        body["status_callback"] = callback
    return stack.call("POST", "/v1/ogangi/sms", json=body, **({"key": key} if key else {}))


def secret(stack: Stack, key: str | None = None) -> str:
    answer = stack.call("GET", "/v1/webhook-secret", **({"key": key} if key else {}))
    assert answer.status_code == 200
    value: str = answer.json()["secret"]
    return value


def verified(secret_text: str, headers: dict[str, str], body: bytes) -> Any:
    return Webhook(secret_text).verify(body, {name.lower(): value for name, value in headers.items()})


def eventually(check: Callable[[], Any], timeout: float = 15) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.2)


def test_500_503_200_is_three_attempts_of_one_signed_event(stack: Stack, receiver: Receiver) -> None:
    path = receiver.script([(500, {}, 0.0), (503, {}, 0.0), (200, {}, 0.0)])
    accepted = send(stack, receiver.url + path + "?token=the-callers-own")
    assert accepted.status_code == 202
    operation_id = accepted.json()["id"]
    assert accepted.json()["status_callback"] == {"status": "pending", "attempts": 0, "last_status_code": None}
    posts = receiver.to(path, count=3)
    assert len(posts) == 3
    current = secret(stack)
    assert {headers["webhook-id"] for headers, _, _ in posts} == {f"evt_{operation_id[3:]}"}
    for headers, body, _ in posts:
        event = verified(current, headers, body)
        assert event["type"] == "operation.succeeded" and event["data"]["id"] == operation_id
    shown = eventually(
        lambda: (found := stack.wait_for(operation_id))["status_callback"]["status"] == "delivered" and found
    )
    assert shown["status_callback"] == {"status": "delivered", "attempts": 3, "last_status_code": 200}
    assert "the-callers-own" not in json.dumps(shown)
    time.sleep(1.5)
    assert len(receiver.to(path, timeout=0)) == 3  # delivered: nothing more


def test_410_stops_at_once(stack: Stack, receiver: Receiver) -> None:
    path = receiver.script([(410, {}, 0.0), (200, {}, 0.0)])
    operation_id = send(stack, receiver.url + path).json()["id"]
    assert len(receiver.to(path)) == 1
    shown = eventually(
        lambda: (found := stack.wait_for(operation_id))["status_callback"]["status"] == "failed" and found
    )
    assert shown["status_callback"] == {"status": "failed", "attempts": 1, "last_status_code": 410}
    time.sleep(2.5)  # a retry would have come 1 s later
    assert len(receiver.to(path, timeout=0)) == 1


def test_a_redirect_is_retried_never_followed(stack: Stack, receiver: Receiver) -> None:
    elsewhere = receiver.script([(200, {}, 0.0)])
    path = receiver.script([(307, {"Location": receiver.url + elsewhere}, 0.0), (200, {}, 0.0)])
    send(stack, receiver.url + path)
    assert len(receiver.to(path, count=2)) == 2
    assert receiver.to(elsewhere, timeout=0) == []


def test_a_receiver_that_sleeps_delays_no_send(stack: Stack, receiver: Receiver) -> None:
    """Its first answer takes 25 s (past the 10 s deadline); sends meanwhile go through at their usual pace."""
    path = receiver.script([(200, {}, 25.0), (200, {}, 0.0)])
    slow = send(stack, receiver.url + path).json()["id"]
    assert receiver.to(path, count=1)
    started = time.monotonic()
    others = [send(stack, None, text=f"while the receiver sleeps {index}").json()["id"] for index in range(3)]
    assert [stack.wait_for(other)["status"] for other in others] == ["succeeded"] * 3
    assert time.monotonic() - started < 8
    posts = receiver.to(path, count=2, timeout=25)
    assert len(posts) == 2
    assert 9.5 <= posts[1][2] - posts[0][2] < 16  # cut at 10 s, retried about a second later
    shown = eventually(lambda: (found := stack.wait_for(slow))["status_callback"]["status"] == "delivered" and found)
    assert shown["status_callback"]["attempts"] == 2


def test_rotation_gives_two_valid_signatures(stack: Stack, receiver: Receiver) -> None:
    before = secret(stack, OTHER_KEY)
    rotated = stack.call("POST", "/v1/webhook-secret/rotate", key=OTHER_KEY)
    assert rotated.status_code == 200 and rotated.headers["Cache-Control"] == "no-store"
    after = rotated.json()["secret"]
    assert after != before and secret(stack, OTHER_KEY) == after != secret(stack)
    path = receiver.script([(204, {}, 0.0)])
    assert send(stack, receiver.url + path, key=OTHER_KEY).status_code == 202
    [(headers, body, _)] = receiver.to(path)
    assert len(headers["webhook-signature"].split(" ")) == 2
    assert verified(before, headers, body) == verified(after, headers, body)
    with pytest.raises(Exception, match="signature"):
        verified(secret(stack), headers, body)  # the other client's secret verifies nothing
    assert before not in stack.log_path.read_text() and after not in stack.log_path.read_text()


# The local stack exempts 127.0.0.1 as written (STATUS_CALLBACK_ALLOWED_HOSTS): no other spelling of it is exempt.
FORGED = [
    "https://localhost/hook",
    "https://2130706433/hook",
    "https://0x7f000001/hook",
    "https://0177.0.0.1/hook",
    "https://127.1/hook",
    "https://[::1]/hook",
    "https://[::ffff:127.0.0.1]/hook",
    "https://[::ffff:7f00:1]/hook",
    "https://169.254.169.254/latest/meta-data/",
    "https://2852039166/latest/meta-data/",
    "https://10.0.0.1/hook",
    "https://172.16.0.1/hook",
    "https://192.168.1.1/hook",
    "https://100.64.0.1/hook",
    "https://224.0.0.1/hook",
    "https://240.0.0.1/hook",
    "https://0.0.0.0/hook",
    "https://[fd00::1]/hook",
    "https://[fe80::1]/hook",
    "http://93.184.215.14/hook",
    "https://user:pass@93.184.215.14/hook",
    "https://93.184.215.14/hook#fragment",
    "https://93.184.215.14/" + "a" * 2040,
    "http://10.0.0.1/hook",  # http only for the allowed host, and only that host
]


def test_forged_urls_are_refused_and_nothing_is_queued(stack: Stack) -> None:
    marker = uuid.uuid4().hex[:10]
    for index, url in enumerate(FORGED):
        answer = send(stack, url, text=f"forged {marker} {index}")
        assert answer.status_code == 422, url
        problem = answer.json()
        assert problem["code"] == "validation_error"
        assert [error["field"] for error in problem["errors"]] == ["status_callback"], url
    probe = send(stack, None, text=f"probe after {marker}").json()["id"]
    assert stack.wait_for(probe)["status"] == "succeeded"
    assert not any(f"forged {marker}" in entry for entry in stack.sandbox("ogangi")["acted"])


def test_a_trigger_event_calls_back_too(stack: Stack, receiver: Receiver) -> None:
    path = receiver.script([(200, {}, 0.0)])
    text = f"event with callback {uuid.uuid4().hex[:8]}"
    put_event(stack, "ogangi.send_sms", {"to": "+13056708084", "text": text, "status_callback": receiver.url + path})
    [(headers, body, _)] = receiver.to(path)
    event = json.loads(body)
    assert event["type"] == "operation.succeeded" and headers["webhook-signature"].startswith("v1,")
    assert receiver.url not in stack.log_path.read_text()


def test_a_retried_send_calls_back_once(stack: Stack, receiver: Receiver) -> None:
    """The sandbox answers +15005550003 with 503 every time: three attempts at the provider, one callback."""
    path = receiver.script([(200, {}, 0.0)])
    answer = stack.call(
        "POST",
        "/v1/ogangi/sms",
        json={"to": "+15005550003", "text": "retried", "status_callback": receiver.url + path},
    )
    operation_id = answer.json()["id"]
    ended = stack.wait_for(operation_id)
    assert ended["status"] == "failed" and ended["attempts"] == 3
    [(headers, body, _)] = receiver.to(path)
    event = verified(secret(stack), headers, body)
    assert event["type"] == "operation.failed" and event["data"]["attempts"] == 3
    time.sleep(1.5)
    assert len(receiver.to(path, timeout=0)) == 1


def test_a_batch_calls_back_once_per_item(stack: Stack, receiver: Receiver) -> None:
    """The batch's `status_callback` serves its items; each item's end is one signed callback of its own."""
    path = receiver.script([(200, {}, 0.0)])
    marker = uuid.uuid4().hex[:8]
    items = [{"to": f"+1305670{8090 + index}", "text": f"batch {marker} {index}"} for index in range(5)]
    answer = stack.call(
        "POST",
        "/v1/batches",
        json={"operation": "ogangi.send_sms", "items": items, "status_callback": receiver.url + path},
    )
    assert answer.status_code == 202 and answer.json()["accepted"] == 5
    operation_ids = {item["operation_id"] for item in answer.json()["items"]}
    posts = receiver.to(path, count=5, timeout=30)
    current = secret(stack)
    events = [verified(current, headers, body) for headers, body, _ in posts]
    assert sorted(event["data"]["id"] for event in events) == sorted(operation_ids)
    assert {event["type"] for event in events} == {"operation.succeeded"}
    assert {event["data"]["batch_id"] for event in events} == {answer.json()["id"]}
    assert len({headers["webhook-id"] for headers, _, _ in posts}) == 5
