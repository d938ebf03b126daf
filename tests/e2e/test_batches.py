"""Batches through the local stack: one request, each item its own operation, the bad items refused alone, every
good one delivered exactly once, counted and paged back."""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from e2e.conftest import OTHER_KEY, Stack, assert_never_reached_ogangi, start_stack, stop_stack
from textgate.schemas.batches import BatchOperationsPage, BatchSummary, BatchView


def numbers(count: int) -> list[str]:
    """Valid US numbers no other test texts (the suite's other numbers are the sandboxes' and 555 ones)."""
    start = random.randrange(1_000_000 - count)
    return [f"+1786{start + index:07d}" for index in range(count)]


def acted(stack: Stack, marker: str) -> list[str]:
    return [entry for entry in stack.sandbox("ogangi")["acted"] if marker in entry]


def wait_for_counts(stack: Stack, batch_id: str, expected: dict[str, int], timeout: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        shown: dict[str, Any] = stack.call("GET", f"/v1/batches/{batch_id}").json()
        if shown["counts"] == expected or time.monotonic() > deadline:
            return shown
        time.sleep(0.5)


def all_pages(stack: Stack, batch_id: str, **params: Any) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []
    cursor = None
    while True:
        answer = stack.call(
            "GET", f"/v1/batches/{batch_id}/operations", params={**params, **({"cursor": cursor} if cursor else {})}
        )
        assert answer.status_code == 200, answer.text
        page = BatchOperationsPage.model_validate(answer.json())
        seen.extend(answer.json()["items"])
        cursor = page.next_cursor
        if cursor is None:
            return seen


def test_a_batch_of_100_refuses_its_three_bad_items_and_delivers_the_97_others_once(stack: Stack) -> None:
    marker = uuid.uuid4().hex[:10]
    recipients = numbers(100)
    assert stack.call("PUT", f"/v1/opt-outs/{recipients[41].replace('+', '%2B')}").status_code == 200
    items: list[dict[str, Any]] = [
        {"to": number, "text": f"{marker} {index}"} for index, number in enumerate(recipients)
    ]
    items[12]["to"] = "+1555"  # cannot exist
    items[77]["text"] = f"{marker} bell\x07"

    answer = stack.call("POST", "/v1/batches", json={"operation": "ogangi.send_sms", "items": items})

    assert answer.status_code == 202, answer.text
    batch = BatchView.model_validate(answer.json())
    assert answer.headers["Location"] == f"/v1/batches/{batch.id}"
    assert (batch.accepted, batch.refused) == (97, 3)
    refused = {item.index: item.problem.code for item in batch.items if item.problem is not None}
    assert refused == {12: "validation_error", 41: "recipient_opted_out", 77: "validation_error"}
    operation_ids = [item.operation_id for item in batch.items if item.operation_id is not None]
    assert len(operation_ids) == 97

    shown = wait_for_counts(stack, batch.id, {"succeeded": 97})
    assert BatchSummary.model_validate(shown).counts == {"succeeded": 97}
    assert len(acted(stack, marker)) == 97  # exactly one provider call per accepted item
    one = stack.call("GET", f"/v1/operations/{operation_ids[0]}").json()
    assert one["batch_id"] == batch.id and one["status"] == "succeeded"

    paged = all_pages(stack, batch.id, limit=30)
    assert [operation["id"] for operation in paged] == operation_ids[::-1]  # newest first: the last item first
    assert all(operation["batch_id"] == batch.id for operation in paged)
    assert all_pages(stack, batch.id, status="failed") == []
    assert len(all_pages(stack, batch.id, status="succeeded", limit=100)) == 97


def test_the_same_batch_twice_under_one_key_is_one_batch_and_one_call_per_item(stack: Stack) -> None:
    marker = uuid.uuid4().hex[:10]
    body = {
        "operation": "ogangi.send_sms",
        "items": [{"to": n, "text": f"{marker} {i}"} for i, n in enumerate(numbers(20))],
    }
    headers = {"Idempotency-Key": f"batch-{marker}"}

    first = stack.call("POST", "/v1/batches", json=body, headers=headers)
    second = stack.call("POST", "/v1/batches", json=body, headers=headers)

    assert first.status_code == second.status_code == 202
    assert second.headers["Idempotent-Replayed"] == "true"
    assert second.json() == first.json()
    wait_for_counts(stack, first.json()["id"], {"succeeded": 20})
    calls = acted(stack, marker)
    assert len(calls) == 20 and len(set(calls)) == 20


def test_all_or_nothing_refuses_the_batch_and_queues_nothing(stack: Stack) -> None:
    marker = uuid.uuid4().hex[:10]
    items = [{"to": n, "text": marker} for n in numbers(5)]
    items[2]["to"] = "not a number"

    answer = stack.call(
        "POST", "/v1/batches", json={"operation": "ogangi.send_sms", "items": items, "all_or_nothing": True}
    )

    assert answer.status_code == 422
    assert answer.headers["Content-Type"] == "application/problem+json"
    problem = answer.json()
    assert problem["code"] == "batch_refused"
    assert [error["field"] for error in problem["errors"]] == ["items[2].to"]
    assert_never_reached_ogangi(stack, marker)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"operation": "ogangi.send_sms", "items": [{"to": "+13056708084", "text": "x"}] * 1001}, "items"),
        ({"operation": "ogangi.send_sms", "items": []}, "items"),
        (
            {"operation": "ogangi.send_pin", "items": [{"to": "+13056708084", "carrier": "Movistar", "text": "c"}]},
            "operation",
        ),
    ],
    ids=["1001 items", "none", "PINs"],
)
def test_batches_out_of_bounds_are_422(stack: Stack, body: dict[str, Any], field: str) -> None:
    answer = stack.call("POST", "/v1/batches", json=body)
    assert answer.status_code == 422
    assert answer.json()["code"] == "validation_error"
    assert field in [error["field"] for error in answer.json()["errors"]]


def test_another_clients_batch_is_not_found(stack: Stack) -> None:
    batch = stack.call(
        "POST", "/v1/batches", json={"operation": "ogangi.send_sms", "items": [{"to": numbers(1)[0], "text": "x"}]}
    ).json()
    assert stack.call("GET", f"/v1/batches/{batch['id']}", key=OTHER_KEY).status_code == 404
    assert stack.call("GET", f"/v1/batches/{batch['id']}/operations", key=OTHER_KEY).status_code == 404
    assert stack.call("GET", f"/v1/batches/{batch['id']}").status_code == 200


@pytest.fixture(scope="module")
def stack_limited_to_200(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    process, running = start_stack({"RECIPIENT_DAILY_LIMIT": "200"}, tmp=Path(tmp_path_factory.mktemp("limit200")))
    try:
        yield running
    finally:
        stop_stack(process)


def test_210_items_to_one_number_accept_the_daily_limit_of_200(stack_limited_to_200: Stack) -> None:
    stack = stack_limited_to_200
    marker = uuid.uuid4().hex[:10]
    [number] = numbers(1)
    items = [{"to": number, "text": f"{marker} {index}"} for index in range(210)]

    answer = stack.call("POST", "/v1/batches", json={"operation": "ogangi.send_sms", "items": items})

    assert answer.status_code == 202, answer.text
    batch = answer.json()
    assert (batch["accepted"], batch["refused"]) == (200, 10)
    refused = [item for item in batch["items"] if "problem" in item]
    assert [item["index"] for item in refused] == list(range(200, 210))
    assert {item["problem"]["code"] for item in refused} == {"recipient_limit_reached"}
    wait_for_counts(stack, batch["id"], {"succeeded": 200})
    assert len(acted(stack, marker)) == 200
