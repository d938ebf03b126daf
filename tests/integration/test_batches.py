"""Batches against moto: each item judged as its route, the good ones recorded and queued in bulk, the bad ones
refused alone (or the whole batch with all_or_nothing), never lost and never twice when a batch is interrupted
and retried under its Idempotency-Key; its counts and pages read back."""

from __future__ import annotations

import itertools
import json
import random
import string
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from integration.conftest import drain_ids
from textgate import aws, clock
from textgate.dal import idempotency as key_store
from textgate.dal import operations as records
from textgate.dal import queue, suppression
from textgate.errors import ApiError, BatchRefused, IdempotencyKeyInUse, NotFound, ValidationFailed
from textgate.logic import batch_reports, batches, idempotency, recipients
from textgate.models import OperationError, Status, batch_operation_id
from textgate.schemas.batches import BatchOperationsQuery, BatchRequest
from textgate.settings import get_settings
from textgate.validation import validate

_numbers = itertools.count(1000)


def new_phone() -> str:
    return f"+1305558{next(_numbers):04d}"


def drain(provider: str = "ogangi") -> list[str]:
    return drain_ids(getattr(get_settings(), f"{provider}_queue_url"))


def daily_count(number: str) -> int:
    item = (
        aws.dynamodb()
        .get_item(TableName=get_settings().limits_table, Key={"key": {"S": recipients.daily_key(number)}})
        .get("Item")
    )
    return len(item["times"]["L"]) if item else 0


def sms_batch(items: list[dict[str, Any]], **extra: Any) -> BatchRequest:
    return validate(BatchRequest, {"operation": "ogangi.send_sms", "items": items, **extra})


def sms(to: str, text: str = "hello") -> dict[str, Any]:
    return {"to": to, "text": text, "from": "19893653744"}


def opt_out(number: str) -> None:
    suppression.change(number, opted_out=True, source="api", changed_by="c", now=clock.now(), recipient_source="s")


@pytest.fixture(autouse=True)
def empty_queue(aws_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(clock, "sleep", lambda _seconds: None)
    drain()
    yield
    drain()


def test_good_items_are_accepted_and_bad_ones_refused_at_their_index() -> None:
    numbers = [new_phone() for _ in range(100)]
    opt_out(numbers[40])
    items = [sms(number, f"hello {index}") for index, number in enumerate(numbers)]
    items[7]["to"] = "+1555"  # cannot exist
    items[83]["text"] = "bell\x07"  # a control character

    answer = batches.accept("c", sms_batch(items))

    assert (answer["accepted"], answer["refused"]) == (97, 3)
    problems = {item["index"]: item["problem"] for item in answer["items"] if "problem" in item}
    assert {index: problem["code"] for index, problem in problems.items()} == {
        7: "validation_error",
        40: "recipient_opted_out",
        83: "validation_error",
    }
    assert problems[7]["errors"][0]["field"] == "to"
    assert problems[83]["errors"][0]["field"] == "text"
    accepted = [item["operation_id"] for item in answer["items"] if "operation_id" in item]
    assert accepted == [batch_operation_id(answer["id"], index) for index in range(100) if index not in problems]
    assert sorted(drain()) == sorted(accepted)
    stored = records.get_many(accepted)
    assert all(
        operation.batch_id == answer["id"] and operation.status is Status.QUEUED for operation in stored.values()
    )
    assert stored[accepted[0]].payload["text"] == "hello 0"
    assert stored[accepted[0]].sms is not None
    assert daily_count(numbers[40]) == 0 and daily_count(numbers[7]) == 0 and daily_count(numbers[83]) == 0
    assert daily_count(numbers[0]) == 1


def test_items_past_a_recipients_daily_limit_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RECIPIENT_DAILY_LIMIT", "200")
    get_settings.cache_clear()
    number = new_phone()

    answer = batches.accept("c", sms_batch([sms(number, f"hello {index}") for index in range(210)]))

    assert (answer["accepted"], answer["refused"]) == (200, 10)
    assert [item["index"] for item in answer["items"] if "problem" in item] == list(range(200, 210))
    assert {item["problem"]["code"] for item in answer["items"] if "problem" in item} == {"recipient_limit_reached"}
    assert daily_count(number) == 200
    assert len(drain()) == 200


def test_all_or_nothing_refuses_the_whole_batch_and_queues_nothing() -> None:
    numbers = [new_phone() for _ in range(5)]
    opt_out(numbers[3])
    items = [sms(number) for number in numbers]
    items[1]["to"] = "not a number"

    with pytest.raises(BatchRefused) as refused:
        batches.accept("c", sms_batch(items, all_or_nothing=True))

    assert refused.value.status == 422
    assert [error["field"] for error in refused.value.errors] == ["items[1].to", "items[3].to"]
    assert refused.value.errors[1]["message"].startswith("recipient_opted_out")
    assert drain() == []
    assert [daily_count(number) for number in numbers] == [0] * 5  # the slots taken were given back


def test_a_whole_batch_of_refusals_names_every_index_within_64_kib() -> None:
    items = [sms("+1555", "x") for _ in range(1000)]
    with pytest.raises(BatchRefused) as refused:
        batches.accept("c", sms_batch(items, all_or_nothing=True))
    document = refused.value.problem()
    assert [error["field"] for error in document["errors"]] == [f"items[{index}]" for index in range(1000)]
    assert len(json.dumps(document, ensure_ascii=False).encode()) < 64 * 1024


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"operation": "ogangi.send_sms", "items": [sms("+13056708084")] * 1001}, "items"),
        ({"operation": "ogangi.send_sms", "items": []}, "items"),
        ({"operation": "ogangi.send_pin", "items": [sms("+13056708084")]}, "operation"),
        ({"operation": "ogangi.send_sms"}, "items"),
    ],
)
def test_batches_out_of_bounds_are_refused(body: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        validate(BatchRequest, body)
    assert field in [error["field"] for error in refused.value.errors]


def test_campaign_id_belongs_to_interact_alone() -> None:
    with pytest.raises(ValidationFailed) as refused:
        batches.accept("c", sms_batch([sms(new_phone())], campaign_id="c1"))
    assert refused.value.errors[0]["field"] == "campaign_id"
    interact = {"operation": "interact.send_campaign_sms", "items": [{"caller_id": new_phone(), "jp_token": "t"}]}
    with pytest.raises(ValidationFailed):
        batches.accept("c", validate(BatchRequest, interact))
    with pytest.raises(ValidationFailed):
        batches.accept("c", validate(BatchRequest, {**interact, "campaign_id": ".."}))


def test_interact_and_protexting_items_become_their_operations() -> None:
    caller = new_phone()
    answer = batches.accept(
        "c",
        validate(
            BatchRequest,
            {
                "operation": "interact.send_campaign_sms",
                "campaign_id": "campaign1",
                "items": [{"caller_id": caller, "jp_token": "t"}, {"caller_id": caller}],
            },
        ),
    )
    assert answer["accepted"] == 1
    assert answer["items"][1]["problem"]["errors"][0]["field"] == "jp_token"
    stored = records.get(answer["items"][0]["operation_id"])
    assert stored is not None and stored.payload["campaign_id"] == "campaign1" and stored.provider == "interact"
    # Another test's Interact messages may share the queue (parallel workers): only this batch's count here.
    mine = {batch_operation_id(answer["id"], index) for index in range(2)}
    assert [operation_id for operation_id in drain("interact") if operation_id in mine] == [stored.id]

    phone = new_phone()
    opt_ins = batches.accept(
        "c",
        validate(
            BatchRequest,
            {
                "operation": "protexting.opt_in",
                "items": [{"phone_number": phone, "group_ids": [1], "cta_message": "hi"}],
            },
        ),
    )
    assert opt_ins["accepted"] == 1
    assert [
        operation_id for operation_id in drain("protexting") if operation_id == batch_operation_id(opt_ins["id"], 0)
    ] == [opt_ins["items"][0]["operation_id"]]
    assert daily_count(phone) == 1


def run_with_key(key: str, body: dict[str, Any], client: str = "c") -> tuple[dict[str, Any], bool]:
    """As the HTTP edge runs a POST with an Idempotency-Key."""

    def run() -> dict[str, Any]:
        try:
            return {"statusCode": 202, "body": batches.accept(client, validate(BatchRequest, body))}
        except ApiError as error:
            return {"statusCode": error.status, "body": error.problem()}

    fingerprint = idempotency.request_hash("POST", "/v1/batches", json.dumps(body))
    return idempotency.run_once(client, key, fingerprint, run)


def test_the_same_batch_twice_under_one_key_is_one_batch() -> None:
    body = {"operation": "ogangi.send_sms", "items": [sms(new_phone()) for _ in range(30)]}
    key = f"batch-{next(_numbers)}"

    first, replayed_first = run_with_key(key, body)
    second, replayed_second = run_with_key(key, body)

    assert (replayed_first, replayed_second) == (False, True)
    assert second == first
    assert len(drain()) == 30


class Died(BaseException):
    """The function dies (a timeout, a crash): nothing after this point runs, nothing is cleaned up."""


@pytest.fixture
def dying(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A dead function releases no key: its claim stays until the lock runs out."""
    monkeypatch.setattr(key_store, "release", lambda _key: None)
    yield


def later(monkeypatch: pytest.MonkeyPatch) -> None:
    start = clock.now()
    monkeypatch.setattr(clock, "now", lambda: start + idempotency.LOCK_SECONDS + 1)


def test_a_batch_that_dies_between_its_records_and_its_messages_is_finished_by_its_retry(
    dying: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    numbers = [new_phone() for _ in range(40)]
    body = {"operation": "ogangi.send_sms", "items": [sms(number) for number in numbers]}
    key = f"batch-{next(_numbers)}"
    sent: list[str] = []
    original = queue.enqueue_many

    def die_half_way(provider: str, operation_ids: list[str]) -> list[str]:
        sent.extend(operation_ids[:10])
        original(provider, operation_ids[:10])
        raise Died

    monkeypatch.setattr(queue, "enqueue_many", die_half_way)
    with pytest.raises(Died):
        run_with_key(key, body)
    monkeypatch.setattr(queue, "enqueue_many", original)

    with pytest.raises(IdempotencyKeyInUse):  # the first attempt's claim is held until its lock runs out
        run_with_key(key, body)

    later(monkeypatch)
    retry, replayed = run_with_key(key, body)

    assert retry["statusCode"] == 202 and not replayed
    ids = [item["operation_id"] for item in retry["body"]["items"]]
    assert ids[:10] == sent
    messages = drain()
    assert set(messages) == set(ids)  # every operation queued; the first ten twice, which delivery acts on once
    assert Counter(messages).most_common(1)[0][1] <= 2
    assert len(records.get_many(ids)) == 40
    assert [daily_count(number) for number in numbers] == [1] * 40  # counted once: the retry found the records


def test_a_batch_that_dies_while_writing_its_records_is_finished_by_its_retry(
    dying: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    numbers = [new_phone() for _ in range(60)]
    body = {"operation": "ogangi.send_sms", "items": [sms(number) for number in numbers]}
    key = f"batch-{next(_numbers)}"
    original = records.create_many

    def die_after_one_chunk(operations: list[Any]) -> list[str]:
        original(operations[:25])
        raise Died

    monkeypatch.setattr(records, "create_many", die_after_one_chunk)
    with pytest.raises(Died):
        run_with_key(key, body)
    monkeypatch.setattr(records, "create_many", original)
    assert drain() == []  # nothing is queued before every record is written

    later(monkeypatch)
    retry, _ = run_with_key(key, body)

    ids = [item["operation_id"] for item in retry["body"]["items"]]
    assert retry["body"]["accepted"] == 60
    assert sorted(drain()) == sorted(ids)
    # The first 25 were found recorded and counted once; the slots the dead attempt took for the other 35 are
    # not known to it, so they stay counted until they leave the window (stricter, never looser).
    assert [daily_count(number) for number in numbers[:25]] == [1] * 25
    assert all(daily_count(number) in (1, 2) for number in numbers[25:])


def test_messages_that_cannot_be_queued_settle_their_operations(monkeypatch: pytest.MonkeyPatch) -> None:
    original = queue.enqueue_many

    def lose_some(provider: str, operation_ids: list[str]) -> list[str]:
        original(provider, operation_ids[2:])
        return operation_ids[:2]

    monkeypatch.setattr(queue, "enqueue_many", lose_some)
    answer = batches.accept("c", sms_batch([sms(new_phone()) for _ in range(5)]))

    assert (answer["accepted"], answer["refused"]) == (3, 2)
    assert [item["problem"]["code"] for item in answer["items"][:2]] == ["service_unavailable"] * 2
    failed = records.get(batch_operation_id(answer["id"], 0))
    assert failed is not None and failed.status is Status.FAILED
    assert len(drain()) == 3
    shown = batch_reports.get("c", answer["id"])
    assert (shown["accepted"], shown["refused"], shown["counts"]) == (3, 2, {"queued": 3})


def test_a_batch_that_queues_nothing_is_a_503(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(queue, "enqueue_many", lambda _provider, operation_ids: list(operation_ids))
    with pytest.raises(ApiError) as failed:
        batches.accept("c", sms_batch([sms(new_phone()) for _ in range(3)]))
    assert failed.value.status == 503


def test_counts_and_pages_newest_first_with_a_status_filter() -> None:
    answer = batches.accept("c", sms_batch([sms(new_phone(), f"n{index}") for index in range(97)]))
    ids = [item["operation_id"] for item in answer["items"]]
    for operation_id in ids[:5]:
        records.fail_unsent(operation_id, now=clock.now(), error=OperationError(code="x", message="x"))

    shown = batch_reports.get("c", answer["id"])
    assert shown["counts"] == {"failed": 5, "queued": 92}
    assert (shown["accepted"], shown["refused"], shown["operation"]) == (97, 0, "ogangi.send_sms")

    seen: list[str] = []
    cursor = None
    while True:
        page = batch_reports.list_operations("c", answer["id"], BatchOperationsQuery(limit=40, cursor=cursor))
        seen.extend(operation["id"] for operation in page["items"])
        assert all(operation["batch_id"] == answer["id"] for operation in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ids[::-1]

    failed = batch_reports.list_operations("c", answer["id"], BatchOperationsQuery(status=Status.FAILED, limit=3))
    assert [operation["id"] for operation in failed["items"]] == ids[4:1:-1]
    rest = batch_reports.list_operations(
        "c", answer["id"], BatchOperationsQuery(status=Status.FAILED, limit=3, cursor=failed["next_cursor"])
    )
    assert [operation["id"] for operation in rest["items"]] == ids[1::-1]
    assert rest["next_cursor"] is None


def test_another_clients_batch_is_not_found() -> None:
    answer = batches.accept("c", sms_batch([sms(new_phone())]))
    with pytest.raises(NotFound):
        batch_reports.get("other", answer["id"])
    with pytest.raises(NotFound):
        batch_reports.list_operations("other", answer["id"], BatchOperationsQuery())
    with pytest.raises(NotFound):
        batch_reports.get("c", "bat_" + "0" * 24)


def test_a_cursor_of_another_batch_is_refused() -> None:
    first = batches.accept("c", sms_batch([sms(new_phone()) for _ in range(3)]))
    second = batches.accept("c", sms_batch([sms(new_phone()) for _ in range(3)]))
    page = batch_reports.list_operations("c", first["id"], BatchOperationsQuery(limit=1))
    for cursor in (page["next_cursor"], "not-a-cursor"):
        with pytest.raises(ValidationFailed):
            batch_reports.list_operations("c", second["id"], BatchOperationsQuery(cursor=cursor))


def test_a_finished_batch_keeps_its_counts_and_is_not_counted_again(monkeypatch: pytest.MonkeyPatch) -> None:
    answer = batches.accept("c", sms_batch([sms(new_phone()) for _ in range(4)]))
    ids = [item["operation_id"] for item in answer["items"]]
    for operation_id in ids[:3]:
        records.fail_unsent(operation_id, now=clock.now(), error=OperationError(code="x", message="x"))
    assert batch_reports.get("c", answer["id"])["counts"] == {"failed": 3, "queued": 1}  # not finished: not kept
    records.fail_unsent(ids[3], now=clock.now(), error=OperationError(code="x", message="x"))
    assert batch_reports.get("c", answer["id"])["counts"] == {"failed": 4}

    def no_counting(_ids: Any) -> Any:
        raise AssertionError("a finished batch's counts are read from its record")

    monkeypatch.setattr(records, "statuses", no_counting)
    assert batch_reports.get("c", answer["id"])["counts"] == {"failed": 4}


def test_a_resumed_all_or_nothing_batch_refuses_alone_what_changed_since(
    dying: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    numbers = [new_phone() for _ in range(30)]
    body = {"operation": "ogangi.send_sms", "items": [sms(number) for number in numbers], "all_or_nothing": True}
    key = f"batch-{next(_numbers)}"
    original = records.create_many

    def die_after_one_chunk(operations: list[Any]) -> list[str]:
        original(operations[:25])
        raise Died

    monkeypatch.setattr(records, "create_many", die_after_one_chunk)
    with pytest.raises(Died):
        run_with_key(key, body)
    monkeypatch.setattr(records, "create_many", original)
    opt_out(numbers[27])  # after the first attempt accepted the whole batch
    later(monkeypatch)

    retry, _ = run_with_key(key, body)

    # The first 25 operations exist (and could have been sent): the batch is not refused after the fact.
    assert retry["statusCode"] == 202
    assert (retry["body"]["accepted"], retry["body"]["refused"]) == (29, 1)
    assert retry["body"]["items"][27]["problem"]["code"] == "recipient_opted_out"
    assert len(drain()) == 29


def test_a_batch_of_a_thousand_refusals_is_replayed_under_its_key() -> None:
    unknown = {f"unknown_field_{n}": "x" for n in range(60)}
    body = {"operation": "ogangi.send_sms", "items": [{**sms("+1555"), **unknown} for _ in range(1000)]}
    key = f"batch-{next(_numbers)}"

    first, _ = run_with_key(key, body)
    second, replayed = run_with_key(key, body)

    assert first["body"]["refused"] == 1000
    problem = first["body"]["items"][999]["problem"]
    assert problem["code"] == "validation_error" and len(problem["errors"]) == batches.ITEM_ERRORS
    assert replayed and second == first  # kept compressed: the answer is well over DynamoDB's 400 KB item
    assert len(json.dumps(first).encode()) > 400 * 1024


def test_a_thousand_refusals_that_do_not_compress_are_still_replayed_under_their_key() -> None:
    """Each item echoes six long random unknown field names (1.8 MB of request): the answer is shortened before
    it is given, so that it fits its key's record and a replay gives exactly it."""
    rng = random.Random(7)

    def noise() -> str:
        return "".join(rng.choice(string.ascii_letters) for _ in range(300))

    body = {
        "operation": "ogangi.send_sms",
        "items": [{**sms("+13056709999", "x"), **{noise(): "x" for _ in range(6)}} for _ in range(1000)],
    }
    key = f"batch-{next(_numbers)}"

    first, _ = run_with_key(key, body)
    second, replayed = run_with_key(key, body)

    assert first["statusCode"] == 202 and first["body"]["refused"] == 1000
    problem = first["body"]["items"][0]["problem"]
    assert problem["code"] == "validation_error" and len(problem["errors"]) <= 1
    assert replayed and second == first


def stored_schedule(operation_id: str) -> dict[str, Any] | None:
    try:
        return dict(aws.scheduler().get_schedule(Name=operation_id, GroupName=get_settings().schedule_group_name))
    except aws.scheduler().exceptions.ResourceNotFoundException:
        return None


def test_items_for_later_are_scheduled_one_schedule_each_and_take_no_slot_yet(monkeypatch: pytest.MonkeyPatch) -> None:
    now = datetime(2026, 12, 7, 15, 0, tzinfo=ZoneInfo("UTC")).timestamp()  # 10:00 in New York
    monkeypatch.setattr(clock, "now", lambda: now)
    numbers = [new_phone() for _ in range(4)]
    items = [sms(number) for number in numbers]
    items[0]["send_at"] = "2026-12-07T17:00:00Z"
    items[1]["send_at"] = "2026-12-07T15:00:30Z"  # under a minute ahead: the route's 422
    items[2]["purpose"] = "marketing"  # 10:00 in Miami: at once

    answer = batches.accept("c", sms_batch(items))

    assert answer["items"][1]["problem"]["errors"][0]["field"] == "send_at"
    later = records.get(answer["items"][0]["operation_id"])
    assert later is not None and later.status is Status.SCHEDULED and later.batch_id == answer["id"]
    assert later.public()["send_at"] == "2026-12-07T17:00:00Z"
    assert stored_schedule(later.id)["ScheduleExpression"] == "at(2026-12-07T17:00:00)"  # type: ignore[index]
    assert daily_count(numbers[0]) == 0  # taken when it fires
    assert sorted(drain()) == sorted(answer["items"][index]["operation_id"] for index in (2, 3))
    assert [daily_count(numbers[index]) for index in (2, 3)] == [1, 1]


def test_marketing_items_wait_for_the_end_of_the_recipients_quiet_hours(monkeypatch: pytest.MonkeyPatch) -> None:
    night = datetime(2026, 12, 7, 22, 30, tzinfo=ZoneInfo("America/New_York")).timestamp()
    monkeypatch.setattr(clock, "now", lambda: night)
    items = [sms(new_phone()) | {"purpose": "marketing"}, sms(new_phone())]

    answer = batches.accept("c", sms_batch(items))

    marketing = records.get(answer["items"][0]["operation_id"])
    assert marketing is not None and marketing.public()["deferred_for"] == "quiet_hours"
    assert marketing.public()["send_at"] == "2026-12-08T13:00:00Z"  # 08:00 in New York
    assert drain() == [answer["items"][1]["operation_id"]]  # the transactional one goes at once
