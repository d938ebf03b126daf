"""Status-callback delivery against moto and a real HTTP receiver on 127.0.0.1 (the local allowed host).

Every signature is verified with the Standard Webhooks reference library, never with textgate's own signer.
Attempts are driven message by message with the clock moved forward, so the 7 retries take no real time.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from standardwebhooks import Webhook

from textgate import aws, clock, webhook_url
from textgate.dal import events
from textgate.dal import operations as records
from textgate.dal import status_callbacks as store
from textgate.logic import outcomes, status_callbacks, webhook_secrets
from textgate.models import CallbackStatus, Operation, Status
from textgate.registry import OperationName, Provider
from textgate.settings import get_settings


@dataclass
class Receiver:
    """Answers each POST with the next scripted answer (the last one repeats) and records what it got."""

    answers: list[tuple[int, dict[str, str], float]] = field(default_factory=lambda: [(200, {}, 0.0)])
    received: list[tuple[str, dict[str, str], bytes]] = field(default_factory=list)
    url: str = ""

    def answer(self) -> tuple[int, dict[str, str], float]:
        return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            state.received.append((self.path, dict(self.headers.items()), body))
            status, headers, sleep = state.answer()
            time.sleep(sleep)
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            payload = b"x" * 100_000  # more than the 64 KiB textgate reads
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            with contextlib.suppress(OSError):
                self.wfile.write(payload)

        def do_GET(self) -> None:
            state.received.append((self.path, dict(self.headers.items()), b""))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def env(aws_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    monkeypatch.setenv("STATUS_CALLBACK_ALLOWED_HOSTS", "127.0.0.1")
    get_settings.cache_clear()
    return aws_env


@pytest.fixture
def published(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, dict[str, Any]]]:
    seen: list[tuple[str, dict[str, Any]]] = []
    real = events.publish

    def spy(detail_type: str, detail: dict[str, Any]) -> bool:
        seen.append((detail_type, detail))
        return real(detail_type, detail)

    monkeypatch.setattr(events, "publish", spy)
    return seen


def ended(url: str, client: str = "local", status: Status = Status.SUCCEEDED) -> Operation:
    operation = Operation.new(
        operation="ogangi.send_sms",
        client=client,
        payload={"to": "+13056708084"},
        status_callback=url,
    ).model_copy(update={"status": status, "attempts": 1, "result": {"provider_message_id": "m-1"}})
    return records.create(operation)


def queued_send(url: str) -> Operation:
    """A queued send that asks for a status callback at `url`."""
    return records.create(
        Operation.new(
            operation="ogangi.send_sms",
            client="local",
            payload={"to": "+13056708084", "text": "hi", "from": "1"},
            status_callback=url,
        )
    )


def succeeding_delivery() -> Any:
    """Ogangi's delivery with a provider that accepts every send."""
    from textgate.delivery import DeliveryConfig
    from textgate.providers.outcome import ProviderOutcome

    return DeliveryConfig(
        Provider.OGANGI, {OperationName.OGANGI_SEND_SMS: lambda _: ProviderOutcome.succeeded({"id": "m"})}
    )


def sqs_down(*_args: Any, **_kwargs: Any) -> Any:
    raise RuntimeError("SQS is down")


def attempt(operation_id: str, number: int) -> bool:
    return status_callbacks.deliver_message(json.dumps({"operation_id": operation_id, "attempt": number}))


def verify(secret: str, headers: dict[str, str], body: bytes) -> Any:
    return Webhook(secret).verify(body, {name.lower(): value for name, value in headers.items()})


def state_of(operation_id: str) -> Any:
    found = records.get(operation_id)
    assert found is not None and found.status_callback is not None
    return found.status_callback


def queued_for(operation_id: str, wait: int = 2) -> list[dict[str, Any]]:
    url = get_settings().status_callback_queue_url
    found: list[dict[str, Any]] = []
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline and not found:
        for message in (
            aws.sqs().receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])
        ):
            body = json.loads(message["Body"])
            if body["operation_id"] == operation_id:
                found.append(body)
                aws.sqs().delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return found


def test_a_final_status_is_posted_signed_as_standard_webhooks_says(env: dict[str, str], receiver: Receiver) -> None:
    operation = ended(receiver.url + "/hooks?mine=1")
    assert outcomes.announce(operation)
    [message] = queued_for(operation.id)
    assert message == {"operation_id": operation.id, "attempt": 1}
    assert status_callbacks.deliver_message(json.dumps(message))
    [(path, headers, body)] = receiver.received
    assert path == "/hooks?mine=1" and headers["Content-Type"] == "application/json"
    event = verify(webhook_secrets.current("local").secret, headers, body)
    assert event["type"] == "operation.succeeded" and event["timestamp"] == clock.rfc3339(operation.updated_at)
    public = records.get(operation.id).public()  # type: ignore[union-attr]
    assert event["data"] == {key: value for key, value in public.items() if key != "status_callback"}
    assert receiver.url not in body.decode()
    assert state_of(operation.id).model_dump() == {
        "url": receiver.url + "/hooks?mine=1",
        "status": CallbackStatus.DELIVERED,
        "attempts": 1,
        "last_status_code": 200,
        "next_attempt_at": None,
        "lease_until": None,
    }
    shown = records.get(operation.id).public()  # type: ignore[union-attr]
    assert shown["status_callback"] == {"status": "delivered", "attempts": 1, "last_status_code": 200}
    assert attempt(operation.id, 1) and len(receiver.received) == 1  # a copy of the message posts nothing


def test_retries_keep_one_webhook_id_and_a_signature_that_verifies_each_time(
    env: dict[str, str], receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    receiver.answers = [(500, {}, 0.0), (503, {}, 0.0), (200, {}, 0.0)]
    operation = ended(receiver.url, status=Status.FAILED)
    start = clock.now()
    assert attempt(operation.id, 1)
    assert state_of(operation.id).next_attempt_at == pytest.approx(start + 5, abs=2)
    assert attempt(operation.id, 2) and len(receiver.received) == 1  # early: waits for its time, posts nothing
    # The verifier judges each webhook-timestamp against the real clock: the waits are shortened, not skipped.
    monkeypatch.setenv("STATUS_CALLBACK_RETRY_SCALE", "0.01")
    get_settings.cache_clear()
    monkeypatch.setattr(clock, "now", lambda: start + 6)
    assert attempt(operation.id, 2)
    assert state_of(operation.id).next_attempt_at == pytest.approx(start + 6 + 3, abs=1)
    monkeypatch.setattr(clock, "now", lambda: start + 10)
    assert attempt(operation.id, 3)
    assert [headers["webhook-id"] for _, headers, _ in receiver.received] == [f"evt_{operation.id[3:]}"] * 3
    secret = webhook_secrets.current("local").secret
    assert len({body for _, _, body in receiver.received}) == 1  # the same event every time
    for _, headers, body in receiver.received:
        verify(secret, headers, body)
    assert len({headers["webhook-timestamp"] for _, headers, _ in receiver.received}) == 3  # signed per attempt
    assert state_of(operation.id).status is CallbackStatus.DELIVERED and state_of(operation.id).attempts == 3


def test_410_stops_at_once_and_says_so_on_the_bus(
    env: dict[str, str], receiver: Receiver, published: list[tuple[str, dict[str, Any]]]
) -> None:
    receiver.answers = [(410, {}, 0.0)]
    operation = ended(receiver.url, status=Status.UNKNOWN)
    assert attempt(operation.id, 1)
    state = state_of(operation.id)
    assert (state.status, state.attempts, state.last_status_code) == (CallbackStatus.FAILED, 1, 410)
    [(_kind, detail)] = [(kind, detail) for kind, detail in published if kind == "webhook.failed"]
    assert detail["operation_id"] == operation.id and detail["reason"] == "gone"
    assert receiver.url not in json.dumps(detail)
    assert attempt(operation.id, 2) and len(receiver.received) == 1


def test_a_redirect_is_retried_never_followed(env: dict[str, str], receiver: Receiver) -> None:
    receiver.answers = [(302, {"Location": receiver.url + "/elsewhere"}, 0.0)]
    operation = ended(receiver.url + "/hook")
    assert attempt(operation.id, 1)
    assert [path for path, _, _ in receiver.received] == ["/hook"]
    state = state_of(operation.id)
    assert (state.status, state.last_status_code) == (CallbackStatus.PENDING, 302)
    assert state.next_attempt_at is not None


def test_every_retry_spent_gives_up_with_webhook_failed(
    env: dict[str, str], receiver: Receiver, monkeypatch: pytest.MonkeyPatch, published: list[Any]
) -> None:
    receiver.answers = [(500, {}, 0.0)]
    operation = ended(receiver.url)
    now = clock.now()
    waits = []
    for number in range(1, status_callbacks.MAX_ATTEMPTS + 1):
        monkeypatch.setattr(clock, "now", lambda moment=now: moment)
        assert attempt(operation.id, number)
        state = state_of(operation.id)
        if state.next_attempt_at is not None:
            waits.append(round(state.next_attempt_at - now))
            now = state.next_attempt_at
    assert waits == [5, 300, 1800, 7200, 18000, 36000, 36000]
    state = state_of(operation.id)
    assert (state.status, state.attempts, state.last_status_code) == (CallbackStatus.FAILED, 8, 500)
    assert len(receiver.received) == 8
    assert [detail["reason"] for kind, detail in published if kind == "webhook.failed"] == ["retries_exhausted"]


def test_the_retry_scale_shortens_the_schedule(
    env: dict[str, str], receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STATUS_CALLBACK_RETRY_SCALE", "0.01")
    get_settings.cache_clear()
    receiver.answers = [(500, {}, 0.0)]
    operation = ended(receiver.url)
    for number in (1, 2):
        monkeypatch.setattr(clock, "now", lambda number=number: time.time() + 10 * number)
        assert attempt(operation.id, number)
    state = state_of(operation.id)
    assert state.next_attempt_at == pytest.approx(time.time() + 20 + 3, abs=1)  # 5 min x 0.01


def test_a_slow_receiver_times_out_and_is_retried(
    env: dict[str, str], receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(status_callbacks, "TIMEOUT_SECONDS", 0.5)
    receiver.answers = [(200, {}, 2.0)]
    operation = ended(receiver.url)
    started = time.monotonic()
    assert attempt(operation.id, 1)
    assert time.monotonic() - started < 1.5
    state = state_of(operation.id)
    assert (state.status, state.last_status_code) == (CallbackStatus.PENDING, None)


def test_a_name_that_now_resolves_inside_is_refused_before_sending(
    env: dict[str, str], receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DNS rebinding: public when accepted, the loopback address at the attempt."""
    operation = ended("https://hooks.example.com/in")
    monkeypatch.setattr(webhook_url, "system_resolver", lambda host, port: ["127.0.0.1"])
    assert attempt(operation.id, 1)
    state = state_of(operation.id)
    assert (state.status, state.attempts, state.last_status_code) == (CallbackStatus.PENDING, 1, None)
    assert receiver.received == []


def test_a_rotated_secret_signs_beside_the_new_one(env: dict[str, str], receiver: Receiver) -> None:
    client = f"rotating-{time.time_ns()}"
    old = webhook_secrets.current(client).secret
    new, _ = webhook_secrets.rotate(client)
    operation = ended(receiver.url, client=client)
    assert attempt(operation.id, 1)
    [(_, headers, body)] = receiver.received
    assert len(headers["webhook-signature"].split(" ")) == 2
    verify(old, headers, body)
    verify(new.secret, headers, body)
    with pytest.raises(Exception, match="signature"):
        verify(webhook_secrets.current("local").secret, headers, body)  # another client's secret does not verify


def test_a_worker_that_died_mid_attempt_leaves_a_retry_not_a_stuck_callback(
    env: dict[str, str], receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STATUS_CALLBACK_RETRY_SCALE", "0.01")
    get_settings.cache_clear()
    operation = ended(receiver.url)
    now = clock.now()
    claimed, _ = store.claim_or_current(operation.id, 1, now=now, lease_seconds=60)
    assert claimed is not None  # claimed, then the worker died
    assert attempt(operation.id, 1) and receiver.received == []  # its lease is live: nothing yet
    monkeypatch.setattr(clock, "now", lambda: now + 61)
    assert attempt(operation.id, 1)
    state = state_of(operation.id)
    assert (state.status, state.attempts, state.lease_until) == (CallbackStatus.PENDING, 1, None)
    assert [message["attempt"] for message in queued_for(operation.id, wait=4)] == [2]


def test_a_final_operation_redelivered_queues_its_callback_once_more_harmlessly(
    env: dict[str, str], receiver: Receiver
) -> None:
    operation = ended(receiver.url)
    assert outcomes.ensure_callback_queued(operation) and outcomes.ensure_callback_queued(operation)
    messages = queued_for(operation.id)
    for message in messages:
        assert status_callbacks.deliver_message(json.dumps(message))
    assert len(receiver.received) == 1
    assert outcomes.ensure_callback_queued(records.get(operation.id))  # type: ignore[arg-type]
    assert queued_for(operation.id, wait=1) == []  # attempted: never queued again


def test_every_final_transition_queues_the_callback_even_one_that_was_never_queued(
    env: dict[str, str], receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The provider queue refuses at accept: the operation ends failed there, and still calls back."""
    from textgate.dal import queue
    from textgate.errors import ServiceUnavailable
    from textgate.logic import operations
    from textgate.payloads import OgangiSms

    created: list[str] = []
    real_create = records.create
    monkeypatch.setattr(records, "create", lambda operation: created.append(operation.id) or real_create(operation))
    monkeypatch.setattr(queue, "enqueue", sqs_down)
    with pytest.raises(ServiceUnavailable):
        operations.accept(
            client="local",
            operation="ogangi.send_sms",
            payload=OgangiSms(to="+13056708084", text="hi", sender="1"),
            status_callback=receiver.url + "/unqueued",
        )
    [message] = queued_for(created[0])
    assert status_callbacks.deliver_message(json.dumps(message))
    [(_, headers, body)] = receiver.received
    assert verify(webhook_secrets.current("local").secret, headers, body)["type"] == "operation.failed"


def test_delivery_keeps_its_message_until_the_callback_is_queued(
    env: dict[str, str], receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    from textgate.delivery import deliver_message

    operation = queued_send(receiver.url + "/kept")
    config = succeeding_delivery()
    real_enqueue = store.enqueue
    monkeypatch.setattr(store, "enqueue", sqs_down)
    body = json.dumps({"operation_id": operation.id})
    assert deliver_message(body, config) is False  # succeeded, but its callback is not queued: keep the message
    assert records.get(operation.id).status is Status.SUCCEEDED  # type: ignore[union-attr]
    monkeypatch.setattr(store, "enqueue", real_enqueue)
    assert deliver_message(body, config) is True  # the message came back: final, so only the callback is queued
    assert [message["attempt"] for message in queued_for(operation.id)] == [1]


def test_a_copy_of_a_settled_attempt_queues_nothing_but_the_message_itself_coming_back_does(
    env: dict[str, str], receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The next attempt's message is queued after the attempt is settled: if that fails, the attempt's own message
    comes back (SQS counts a second receive) and queues it. A copy received once queues nothing, so copies never
    multiply along the schedule."""
    monkeypatch.setenv("STATUS_CALLBACK_RETRY_SCALE", "0.01")
    get_settings.cache_clear()
    receiver.answers = [(500, {}, 0.0)]
    operation = ended(receiver.url)
    real_enqueue = store.enqueue
    monkeypatch.setattr(store, "enqueue", sqs_down)
    assert attempt(operation.id, 1) is False  # settled, next message not queued: keep this one
    monkeypatch.setattr(store, "enqueue", real_enqueue)
    body = json.dumps({"operation_id": operation.id, "attempt": 1})
    record = {"messageId": "m1", "body": body, "attributes": {"ApproximateReceiveCount": "1"}}
    assert status_callbacks.handle_batch({"Records": [record]}) == {"batchItemFailures": []}
    assert queued_for(operation.id, wait=3) == []  # a copy: nothing
    record["attributes"]["ApproximateReceiveCount"] = "2"
    assert status_callbacks.handle_batch({"Records": [record]}) == {"batchItemFailures": []}
    assert [message["attempt"] for message in queued_for(operation.id, wait=4)] == [2]
    assert len(receiver.received) == 1


def test_a_canceled_operation_calls_back_too(env: dict[str, str], receiver: Receiver) -> None:
    from textgate.logic import operations

    waiting = queued_send(receiver.url + "/canceled")
    assert operations.cancel("local", waiting.id).status is Status.CANCELED
    [message] = queued_for(waiting.id)
    assert status_callbacks.deliver_message(json.dumps(message))
    [(_, headers, body)] = receiver.received
    event = verify(webhook_secrets.current("local").secret, headers, body)
    assert event["type"] == "operation.canceled" and event["data"]["status"] == "canceled"


def test_a_batch_calls_back_for_each_item_at_its_own_url_or_the_batchs(
    env: dict[str, str], receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The batch's `status_callback` serves every item that names none; an item that could not be queued ends
    failed at accept and is called back like any other end."""
    from textgate.dal import queue
    from textgate.logic import batches
    from textgate.schemas.batches import BatchRequest
    from textgate.validation import validate

    real_enqueue_many = queue.enqueue_many

    def lose_the_first(provider: str, operation_ids: list[str]) -> list[str]:
        real_enqueue_many(provider, operation_ids[1:])
        return operation_ids[:1]

    monkeypatch.setattr(queue, "enqueue_many", lose_the_first)
    items = [
        {"to": "+13056708084", "text": "one", "from": "1"},
        {"to": "+13056708085", "text": "two", "from": "1", "status_callback": receiver.url + "/own"},
        {"to": "+13056708086", "text": "three", "from": "1"},
    ]
    request = validate(
        BatchRequest,
        {"operation": "ogangi.send_sms", "items": items, "status_callback": receiver.url + "/batch"},
    )
    answer = batches.accept("local", request)
    assert (answer["accepted"], answer["refused"]) == (2, 1)

    stored = [records.get(operation_id) for operation_id in _batch_ids(answer)]
    unqueued, own, default = stored
    assert unqueued is not None and unqueued.status is Status.FAILED
    assert own is not None and own.status_callback is not None and own.status_callback.url.endswith("/own")
    assert default is not None and default.status_callback is not None
    assert default.status_callback.url.endswith("/batch")
    assert "status_callback" not in json.dumps(answer)  # the URLs are never shown back

    [message] = queued_for(unqueued.id)
    assert status_callbacks.deliver_message(json.dumps(message))
    [(path, headers, body)] = receiver.received
    event = verify(webhook_secrets.current("local").secret, headers, body)
    assert path == "/batch" and event["type"] == "operation.failed"
    assert event["data"]["id"] == unqueued.id and event["data"]["batch_id"] == answer["id"]


def _batch_ids(answer: dict[str, Any]) -> list[str]:
    from textgate.models import batch_operation_id

    return [batch_operation_id(answer["id"], index) for index in range(len(answer["items"]))]


@pytest.mark.parametrize("forged", ["http://2130706433/", "https://0x7f000001/", "https://169.254.169.254/x"])
def test_a_batch_with_a_forged_status_callback_is_refused_whole(aws_env: dict[str, str], forged: str) -> None:
    from textgate.errors import ValidationFailed
    from textgate.schemas.batches import BatchRequest
    from textgate.validation import validate

    with pytest.raises(ValidationFailed) as refused:
        validate(
            BatchRequest,
            {
                "operation": "ogangi.send_sms",
                "items": [{"to": "+13056708084", "text": "hi"}],
                "status_callback": forged,
            },
        )
    assert [error["field"] for error in refused.value.errors] == ["status_callback"]


def _answer_lost(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    """`records.<name>` writes, then its answer is lost (as when botocore's retry of an applied conditional write
    finds its condition gone and the DAL answers None)."""
    real = getattr(records, name)

    def lost(*args: Any, **kwargs: Any) -> None:
        real(*args, **kwargs)

    monkeypatch.setattr(records, name, lost)


def test_an_end_whose_write_answer_was_lost_still_calls_back(
    env: dict[str, str], receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    from textgate.delivery import deliver_message

    operation = queued_send(receiver.url + "/lost-answer")
    config = succeeding_delivery()
    _answer_lost(monkeypatch, "finish")
    assert deliver_message(json.dumps({"operation_id": operation.id}), config) is True
    assert records.get(operation.id).status is Status.SUCCEEDED  # type: ignore[union-attr]
    assert [message["attempt"] for message in queued_for(operation.id)] == [1]


def test_an_unqueued_accept_whose_write_answer_was_lost_is_still_a_503_and_calls_back(
    env: dict[str, str], receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    from textgate.dal import queue
    from textgate.errors import ServiceUnavailable
    from textgate.logic import operations
    from textgate.payloads import OgangiSms

    created: list[str] = []
    real_create = records.create
    monkeypatch.setattr(records, "create", lambda operation: created.append(operation.id) or real_create(operation))
    monkeypatch.setattr(queue, "enqueue", sqs_down)
    _answer_lost(monkeypatch, "fail_unsent")
    with pytest.raises(ServiceUnavailable):
        operations.accept(
            client="local",
            operation="ogangi.send_sms",
            payload=OgangiSms(to="+13056708084", text="hi", sender="1"),
            status_callback=receiver.url + "/unqueued-lost",
        )
    assert records.get(created[0]).status is Status.FAILED  # type: ignore[union-attr]
    assert [message["attempt"] for message in queued_for(created[0])] == [1]


def test_a_cancel_whose_callback_could_not_be_queued_is_a_503_and_its_retry_queues_it(
    env: dict[str, str], receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    from textgate.errors import NotCancelable, ServiceUnavailable
    from textgate.logic import operations

    waiting = queued_send(receiver.url + "/cancel-retried")
    real_enqueue = store.enqueue
    monkeypatch.setattr(store, "enqueue", sqs_down)
    with pytest.raises(ServiceUnavailable):
        operations.cancel("local", waiting.id)
    assert records.get(waiting.id).status is Status.CANCELED  # type: ignore[union-attr]
    assert queued_for(waiting.id, wait=1) == []
    monkeypatch.setattr(store, "enqueue", real_enqueue)
    with pytest.raises(NotCancelable):  # already canceled: 409, and what the first cancel left undone is done
        operations.cancel("local", waiting.id)
    [message] = queued_for(waiting.id)
    assert status_callbacks.deliver_message(json.dumps(message))
    [(_, headers, body)] = receiver.received
    assert verify(webhook_secrets.current("local").secret, headers, body)["type"] == "operation.canceled"


def test_redrive_queues_the_callback_of_a_final_operation_whose_message_was_dead_lettered(
    env: dict[str, str], receiver: Receiver
) -> None:
    """Delivery keeps its message while a final operation's callback cannot be queued; after its last receive it
    is dead-lettered. Redrive finds the operation final and queues the callback then."""
    from textgate.logic import dead_letters

    operation = ended(receiver.url + "/dead-lettered")
    assert dead_letters.mark(json.dumps({"operation_id": operation.id})) is dead_letters.Reading.MARKED
    report = dead_letters.redrive()
    assert operation.id in report.already_final
    assert [message["attempt"] for message in queued_for(operation.id)] == [1]
