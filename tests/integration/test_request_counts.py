"""What delivery asks of AWS, counted request by request as they leave for moto server (botocore's `before-send`,
so a retried request counts twice): the claim is one request whether it wins or not, the suppression list is read
at full price only where nothing checks it again, and a batch starting in a new container reads its provider's
secret once."""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from textgate import aws, clock, delivery, secrets
from textgate.dal import operations as records
from textgate.delivery import DeliveryConfig, Executor, deliver_message, handle_batch
from textgate.logic import operations, opt_outs
from textgate.models import Operation, Status
from textgate.payloads import OgangiSms
from textgate.providers import accounts
from textgate.providers.ogangi import OgangiCredentials
from textgate.providers.outcome import ProviderOutcome
from textgate.registry import OperationName, Provider
from textgate.settings import get_settings


@dataclass
class Requests:
    """(service, operation, table or secret) of every HTTP request the layer's clients sent."""

    sent: list[tuple[str, str, str]] = field(default_factory=list)
    reads: list[tuple[str, bool]] = field(default_factory=list)  # (table, strongly consistent) of each GetItem
    lock: threading.Lock = field(default_factory=threading.Lock)
    # A secret read that takes this long: every thread of a batch asks while the first read is still under way.
    secret_read_seconds: float = 0.0

    def record(self, request: Any, **_: Any) -> None:
        target = request.headers.get("X-Amz-Target", b"")
        target = target.decode() if isinstance(target, bytes) else str(target)
        service, _dot, operation = target.partition(".")
        body = json.loads(request.body or b"{}")
        with self.lock:
            self.sent.append((service, operation, body.get("TableName") or body.get("SecretId") or ""))
            if operation == "GetItem":
                self.reads.append((body["TableName"], bool(body.get("ConsistentRead"))))
        if operation == "GetSecretValue":
            time.sleep(self.secret_read_seconds)

    def to(self, table: str) -> list[str]:
        with self.lock:
            return [operation for _, operation, name in self.sent if name == table]

    def secret_reads(self) -> int:
        with self.lock:
            return sum(1 for _, operation, _ in self.sent if operation == "GetSecretValue")

    def clear(self) -> None:
        with self.lock:
            self.sent.clear()
            self.reads.clear()


@pytest.fixture
def requests_sent(aws_env: dict[str, str]) -> Iterator[Requests]:
    aws.reset()  # clients of this test's environment, with the counter on them
    counted = Requests()
    clients = (aws.dynamodb(), aws.secretsmanager())
    for client in clients:
        client.meta.events.register("before-send", counted.record, unique_id="count-requests")
    try:
        yield counted
    finally:
        for client in clients:
            client.meta.events.unregister("before-send", unique_id="count-requests")


_numbers = itertools.count(int(time.time()) % 10_000)


def new_number() -> str:
    """A handset of its own per test run, so the daily limit of one number is never reached."""
    return f"+1305557{next(_numbers) % 10_000:04d}"


def queued_send(number: str = "+13056708084") -> Operation:
    operation = Operation.new(
        operation=OperationName.OGANGI_SEND_SMS,
        client="c",
        payload={"to": number, "text": "hi", "from": "1", "carrier": None, "flags": None},
    )
    records.create(operation)
    return operation


def sends_sms(execute: Executor, *, pausable: bool = False) -> DeliveryConfig:
    """Ogangi's delivery with a provider call the test scripts."""
    return DeliveryConfig(Provider.OGANGI, {OperationName.OGANGI_SEND_SMS: execute}, pausable=pausable)


def body_of(operation: Operation) -> str:
    return json.dumps({"operation_id": operation.id})


def operations_table(aws_env: dict[str, str]) -> str:
    return aws_env["OPERATIONS_TABLE"]


def test_the_claim_is_one_request_and_the_record_is_not_read_before_it(
    requests_sent: Requests, aws_env: dict[str, str]
) -> None:
    operation = queued_send()
    before_the_call: list[list[str]] = []

    def execute(claimed: Operation) -> ProviderOutcome:
        before_the_call.append(requests_sent.to(operations_table(aws_env)))
        assert claimed.status is Status.SENDING and claimed.attempts == 1 and claimed.payload["to"] == "+13056708084"
        return ProviderOutcome.succeeded({"provider_message_id": "1"})

    requests_sent.clear()
    assert deliver_message(body_of(operation), sends_sms(execute))
    # The provider was called after exactly one request to the record: the claim, which answered with it.
    assert before_the_call == [["UpdateItem"]]
    assert requests_sent.to(operations_table(aws_env)) == ["UpdateItem", "UpdateItem"]  # claim, settle
    stored = records.get(operation.id)
    assert stored is not None and stored.status is Status.SUCCEEDED and stored.attempts == 1


def test_a_claim_that_fails_answers_with_the_record_in_the_same_request(
    requests_sent: Requests, aws_env: dict[str, str]
) -> None:
    operation = queued_send()
    calls: list[str] = []

    def execute(claimed: Operation) -> ProviderOutcome:
        calls.append(claimed.id)
        return ProviderOutcome.succeeded({"provider_message_id": "1"})

    config = sends_sms(execute)
    assert deliver_message(body_of(operation), config)
    requests_sent.clear()
    # A second copy of the message: the failed claim shows the record final, so it is acknowledged, unsent.
    assert deliver_message(body_of(operation), config)
    assert requests_sent.to(operations_table(aws_env)) == ["UpdateItem"]
    assert calls == [operation.id]

    # One held by a live worker: one request, and the message comes back later.
    held = queued_send()
    records.claim(held.id, now=clock.now(), lease_seconds=60)
    requests_sent.clear()
    assert not deliver_message(body_of(held), config)
    assert requests_sent.to(operations_table(aws_env)) == ["UpdateItem"] and held.id not in calls

    # And a message naming no operation at all.
    requests_sent.clear()
    assert not deliver_message(json.dumps({"operation_id": "op_doesnotexist"}), config)
    assert requests_sent.to(operations_table(aws_env)) == ["UpdateItem"]


def test_a_recipient_who_opted_out_after_queuing_is_not_texted_and_no_attempt_is_counted(
    aws_env: dict[str, str],
) -> None:
    number = "+13056700417"
    operation = queued_send(number)
    opt_outs.set_opted_out(number, True, source="api", changed_by="c")
    calls: list[str] = []

    def execute(claimed: Operation) -> ProviderOutcome:
        calls.append(claimed.id)
        return ProviderOutcome.succeeded({"provider_message_id": "1"})

    try:
        assert deliver_message(body_of(operation), sends_sms(execute))
    finally:
        opt_outs.set_opted_out(number, False, source="api", changed_by="c")
    stored = records.get(operation.id)
    assert calls == []
    assert stored is not None and stored.status is Status.FAILED and stored.attempts == 0
    assert stored.error is not None and stored.error.code == "recipient_opted_out"


def test_only_the_last_check_of_the_suppression_list_before_sending_reads_it_consistently(
    requests_sent: Requests, aws_env: dict[str, str]
) -> None:
    suppression_table = aws_env["SUPPRESSION_TABLE"]
    requests_sent.clear()
    operation = operations.accept(
        client="c",
        operation=OperationName.OGANGI_SEND_SMS,
        payload=OgangiSms(to=new_number(), text="hi", sender="1"),
    )
    # Accepting reads the list eventually consistent: delivery checks it again before the provider is called.
    assert [read for read in requests_sent.reads if read[0] == suppression_table] == [(suppression_table, False)]
    requests_sent.clear()
    config = sends_sms(lambda _: ProviderOutcome.succeeded({"provider_message_id": "1"}))
    assert deliver_message(body_of(operation), config)
    assert [read for read in requests_sent.reads if read[0] == suppression_table] == [(suppression_table, True)]


def test_a_providers_pause_is_read_at_half_price_since_the_provider_itself_says_so_again(
    requests_sent: Requests, aws_env: dict[str, str]
) -> None:
    operation = queued_send()
    succeeded = ProviderOutcome.succeeded({"provider_message_id": "1"})
    requests_sent.clear()
    assert deliver_message(body_of(operation), sends_sms(lambda _: succeeded, pausable=True))
    limits_table = aws_env["LIMITS_TABLE"]
    assert [read for read in requests_sent.reads if read[0] == limits_table] == [(limits_table, False)]


def test_a_batch_starting_in_a_new_container_reads_the_secret_once(
    requests_sent: Requests, monkeypatch: pytest.MonkeyPatch
) -> None:
    batch = [queued_send() for _ in range(10)]
    # Every delivery asks for the credentials at the same moment, as a batch's calls do in a new container.
    together = threading.Barrier(len(batch))
    credentials: list[str] = []

    def execute(claimed: Operation) -> ProviderOutcome:
        together.wait(10)
        account = accounts.credentials("Ogangi", get_settings().ogangi_secret_id, OgangiCredentials.from_secret)
        credentials.append(account.instance_id)
        return ProviderOutcome.succeeded({"provider_message_id": "1"})

    monkeypatch.setenv("DELIVERY_CONCURRENCY", str(len(batch)))
    monkeypatch.setattr(delivery, "_pool", None)  # a new container: a new pool, sized for the batch
    secrets.clear_cache()
    requests_sent.clear()
    requests_sent.secret_read_seconds = 0.3
    event = {"Records": [{"messageId": f"m{n}", "body": body_of(operation)} for n, operation in enumerate(batch)]}
    assert handle_batch(event, sends_sms(execute)) == {"batchItemFailures": []}
    assert credentials == ["434"] * len(batch)
    assert requests_sent.secret_reads() == 1


def test_threads_waiting_on_a_secret_read_that_fails_share_its_failure(requests_sent: Requests) -> None:
    secrets.clear_cache()
    requests_sent.secret_read_seconds = 0.3
    together = threading.Barrier(5)
    answers: list[str] = []

    def read() -> None:
        together.wait(10)
        try:
            secrets.get_secret("textgate/no-such-secret")
            answers.append("read")
        except secrets.SecretUnavailable as exc:
            answers.append(str(exc))

    threads = [threading.Thread(target=read) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert answers == ["secret textgate/no-such-secret could not be read (ResourceNotFoundException)"] * 5
    assert requests_sent.secret_reads() == 1
