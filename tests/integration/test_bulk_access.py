"""Data access for batches against moto: records with BatchWriteItem, messages with SendMessageBatch, many
daily-limit slots in one write, suppression read in bulk. DynamoDB and SQS answer part of a batch call on a bad
day (unprocessed items, failed entries); those parts are simulated by holding entries back from the real call."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from integration.conftest import drain_ids as drain
from textgate import aws, clock
from textgate.dal import limits, queue, suppression
from textgate.dal import operations as records
from textgate.models import Operation, Status, batch_operation_id, new_batch_id
from textgate.registry import OperationName, Provider
from textgate.settings import get_settings

_numbers = itertools.count(5000)


def new_phone() -> str:
    return f"+1305557{next(_numbers):04d}"


def new_operations(count: int, batch_id: str) -> list[Operation]:
    return [
        Operation.new(
            operation=OperationName.OGANGI_SEND_SMS,
            client="c",
            payload={"to": new_phone(), "text": f"hello {index}", "sender": "1"},
            operation_id=batch_operation_id(batch_id, index),
            batch_id=batch_id,
        )
        for index in range(count)
    ]


@pytest.fixture(autouse=True)
def no_waiting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(clock, "sleep", lambda _seconds: None)


@pytest.fixture
def calls(aws_env: dict[str, str]) -> Iterator[list[str]]:
    """The names of the AWS calls made, in order."""
    made: list[str] = []

    def count(model: Any, **_: Any) -> None:
        made.append(model.name)

    clients = [aws.dynamodb(), aws.sqs()]
    for client in clients:
        client.meta.events.register("before-call", count, unique_id="bulk-count")
    yield made
    for client in clients:
        client.meta.events.unregister("before-call", unique_id="bulk-count")


class HoldBack:
    """Sends only the first half of a batch call's entries to moto and answers the rest as DynamoDB's unprocessed
    items or SQS's failed entries, for the first `times` calls."""

    def __init__(self, times: int, *, sender_fault: bool = False, keep_one: bool = False) -> None:
        self.times = times
        self.sender_fault = sender_fault
        self.keep_one = keep_one  # pass only one entry to moto (a call needs at least one)
        self.held: list[Any] = []

    def kept(self, entries: list[Any]) -> int:
        return 1 if self.keep_one else len(entries) - len(entries) // 2

    def params(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        self.held = []
        if self.times <= 0:
            return
        self.times -= 1
        if model.name == "BatchWriteItem":
            [(table, requests)] = params["RequestItems"].items()
            keep = self.kept(requests)
            self.held = [(table, requests[keep:])]
            params["RequestItems"] = {table: requests[:keep]}
        elif model.name == "SendMessageBatch":
            keep = self.kept(params["Entries"])
            self.held = params["Entries"][keep:]
            params["Entries"] = params["Entries"][:keep]

    def answer(self, parsed: dict[str, Any], model: Any, **_: Any) -> None:
        if not self.held:
            return
        if model.name == "BatchWriteItem":
            [(table, requests)] = self.held
            parsed.setdefault("UnprocessedItems", {})[table] = requests
        elif model.name == "SendMessageBatch":
            parsed.setdefault("Failed", []).extend(
                {"Id": entry["Id"], "SenderFault": self.sender_fault, "Code": "InternalError"} for entry in self.held
            )


@pytest.fixture
def hold_back(aws_env: dict[str, str]) -> Iterator[Any]:
    installed: list[HoldBack] = []

    def install(times: int, *, sender_fault: bool = False, keep_one: bool = False) -> HoldBack:
        holder = HoldBack(times, sender_fault=sender_fault, keep_one=keep_one)
        for client in (aws.dynamodb(), aws.sqs()):
            client.meta.events.register("before-parameter-build", holder.params, unique_id="hold-params")
            client.meta.events.register("after-call", holder.answer, unique_id="hold-answer")
        installed.append(holder)
        return holder

    yield install
    for client in (aws.dynamodb(), aws.sqs()):
        client.meta.events.unregister("before-parameter-build", unique_id="hold-params")
        client.meta.events.unregister("after-call", unique_id="hold-answer")


def test_records_are_written_25_to_a_call_and_read_back_100_to_a_call(calls: list[str]) -> None:
    batch_id = new_batch_id()
    operations = new_operations(60, batch_id)

    assert records.create_many(operations) == []
    assert calls.count("BatchWriteItem") == 3

    found = records.get_many([operation.id for operation in operations])
    assert calls.count("BatchGetItem") == 1
    assert set(found) == {operation.id for operation in operations}
    stored = found[operations[7].id]
    assert stored.batch_id == batch_id
    assert stored.status is Status.QUEUED
    assert stored.payload == operations[7].payload
    assert stored.public()["batch_id"] == batch_id


def test_unprocessed_records_are_written_again_until_all_are_stored(hold_back: Any, calls: list[str]) -> None:
    operations = new_operations(25, new_batch_id())
    hold_back(3)  # DynamoDB processes half of what it is sent, three times in a row

    assert records.create_many(operations) == []
    assert calls.count("BatchWriteItem") == 4
    assert len(records.get_many([operation.id for operation in operations])) == 25


def test_records_never_written_are_reported_not_raised(hold_back: Any) -> None:
    operations = new_operations(10, new_batch_id())
    hold_back(records.UNPROCESSED_ATTEMPTS, keep_one=True)  # DynamoDB writes one item a call, six times

    unwritten = records.create_many(operations)

    stored = records.get_many([operation.id for operation in operations])
    assert len(unwritten) == 4
    assert set(unwritten).isdisjoint(stored)
    assert set(unwritten) | set(stored) == {operation.id for operation in operations}


def test_a_record_without_a_batch_shows_no_batch_id() -> None:
    operation = new_operations(1, new_batch_id())[0].model_copy(update={"batch_id": None})
    assert "batch_id" not in operation.public()


def test_messages_are_sent_ten_to_a_call(aws_env: dict[str, str], calls: list[str]) -> None:
    url = get_settings().ogangi_queue_url
    drain(url)
    ids = [f"op_{index:024x}" for index in range(23)]

    assert queue.enqueue_many(Provider.OGANGI, ids) == []

    assert calls.count("SendMessageBatch") == 3
    assert sorted(drain(url)) == sorted(ids)


def test_failed_entries_are_sent_again(hold_back: Any, calls: list[str]) -> None:
    url = get_settings().ogangi_queue_url
    drain(url)
    ids = [f"op_{index:024x}" for index in range(10)]
    hold_back(2)

    assert queue.enqueue_many(Provider.OGANGI, ids) == []
    assert calls.count("SendMessageBatch") == 3
    assert sorted(drain(url)) == sorted(ids)


def test_entries_refused_as_the_senders_fault_are_reported(hold_back: Any) -> None:
    url = get_settings().ogangi_queue_url
    drain(url)
    ids = [f"op_{index:024x}" for index in range(10)]
    hold_back(1, sender_fault=True)

    failed = queue.enqueue_many(Provider.OGANGI, ids)

    assert sorted(failed) == ids[5:]
    assert sorted(drain(url)) == ids[:5]


def times_of(key: str) -> list[float]:
    item = aws.dynamodb().get_item(TableName=get_settings().limits_table, Key={"key": {"S": key}}).get("Item")
    return [float(entry["N"]) for entry in item["times"]["L"]] if item else []


def test_many_slots_are_taken_in_one_write_and_never_beyond_the_limit(calls: list[str]) -> None:
    key = limits.key("daily", new_phone())
    now = clock.now()

    first = limits.take_slots(key, 3, limit=5, window_seconds=60, now=now)
    assert (first.taken, first.refused) == (3, None)
    assert calls.count("UpdateItem") == 1

    second = limits.take_slots(key, 4, limit=5, window_seconds=60, now=now + 1)
    assert second.taken == 2
    assert second.refused is not None
    assert second.refused.retry_after == pytest.approx(59)  # when the first three leave the window

    third = limits.take_slots(key, 1, limit=5, window_seconds=60, now=now + 2)
    assert third.taken == 0
    assert third.refused is not None
    assert len(times_of(key)) == 5


def test_more_items_than_the_limit_take_the_limit(aws_env: dict[str, str]) -> None:
    key = limits.key("daily", new_phone())
    taken = limits.take_slots(key, 210, limit=200, window_seconds=86_400, now=clock.now())
    assert taken.taken == 200
    assert taken.refused is not None
    assert len(times_of(key)) == 200


def test_times_that_left_the_window_make_room(aws_env: dict[str, str]) -> None:
    key = limits.key("daily", new_phone())
    now = clock.now()
    limits.take_slots(key, 5, limit=5, window_seconds=60, now=now - 120)

    taken = limits.take_slots(key, 4, limit=5, window_seconds=60, now=now)

    assert (taken.taken, taken.refused) == (4, None)
    assert times_of(key) == [now] * 4


def test_concurrent_batches_to_one_number_never_pass_the_limit(aws_env: dict[str, str]) -> None:
    key = limits.key("daily", new_phone())
    now = clock.now()

    with ThreadPoolExecutor(8) as pool:
        taken = list(
            pool.map(lambda n: limits.take_slots(key, 3, limit=10, window_seconds=60, now=now + n / 100), range(8))
        )

    assert sum(slots.taken for slots in taken) == 10
    assert len(times_of(key)) == 10


def test_released_slots_are_given_back(aws_env: dict[str, str]) -> None:
    key = limits.key("daily", new_phone())
    now = clock.now()
    kept = limits.take_slots(key, 2, limit=10, window_seconds=60, now=now)
    given_back = limits.take_slots(key, 3, limit=10, window_seconds=60, now=now + 1)

    limits.release_slots(given_back)

    assert times_of(key) == [now] * kept.taken


def test_opted_out_numbers_are_read_in_bulk(calls: list[str]) -> None:
    numbers = [new_phone() for _ in range(150)]
    for phone in numbers[::50]:
        suppression.change(phone, opted_out=True, source="api", changed_by="c", now=clock.now(), recipient_source="s")
    suppression.change(numbers[1], opted_out=True, source="api", changed_by="c", now=clock.now(), recipient_source="s")
    suppression.change(numbers[1], opted_out=False, source="api", changed_by="c", now=clock.now(), recipient_source="s")
    calls.clear()

    assert suppression.opted_out_among(numbers) == {numbers[0], numbers[50], numbers[100]}
    assert calls == ["BatchGetItem", "BatchGetItem"]
