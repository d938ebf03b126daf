"""The operations table: each record is one operation's state machine, moved only by conditional writes.

A transition names the state it expects; if another worker got there first, the write fails and the caller
learns it lost the race (`None` / `False`) instead of sending twice or overwriting a final state.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, NamedTuple, cast

from botocore.exceptions import ClientError

from textgate import aws, clock, log
from textgate.dal import UNPROCESSED_ATTEMPTS, backoff, batch_get, conditional_failed
from textgate.models import FINAL_STATUSES, Operation, OperationError, Status, StatusCallbackState
from textgate.settings import get_settings

logger = log.get_logger(__name__)

_JSON_FIELDS = ("payload", "result", "error", "sms")
BATCH_WRITE_SIZE = 25  # BatchWriteItem's most items per call
# `send_at` is epoch seconds, like every time on the record.
_NUMBER_FIELDS = (
    "attempts",
    "created_at",
    "updated_at",
    "lease_until",
    "next_attempt_at",
    "dead_lettered_at",
    "send_at",
)
_OPTIONAL_TEXT_FIELDS = ("deferred_for", "batch_id")


def _table() -> str:
    return get_settings().operations_table


def to_item(operation: Operation) -> dict[str, Any]:
    item: dict[str, Any] = {
        "id": {"S": operation.id},
        "operation": {"S": operation.operation},
        "provider": {"S": operation.provider},
        "client": {"S": operation.client},
        "status": {"S": operation.status.value},
        "purpose": {"S": operation.purpose},
        "expires_at": {"N": str(int(operation.created_at + get_settings().operation_retention_days * 86_400))},
    }
    for name in _NUMBER_FIELDS:
        value = getattr(operation, name)
        if value is not None:
            item[name] = {"N": repr(value)}
    for name in _OPTIONAL_TEXT_FIELDS:
        value = getattr(operation, name)
        if value is not None:
            item[name] = {"S": value}
    for name in _JSON_FIELDS:
        value = getattr(operation, name)
        if value is not None:
            data = value.model_dump() if hasattr(value, "model_dump") else value
            item[name] = {"S": json.dumps(data, ensure_ascii=False)}
    if operation.status_callback is not None:
        item.update(_callback_attributes(operation.status_callback))
    return item


# The status callback's state, as attributes of their own: its delivery moves them by conditional writes.
_CALLBACK_NUMBERS = {
    "attempts": "callback_attempts",
    "last_status_code": "callback_last_status_code",
    "next_attempt_at": "callback_next_at",
    "lease_until": "callback_lease_until",
}


def _callback_attributes(state: StatusCallbackState) -> dict[str, Any]:
    item: dict[str, Any] = {"callback_url": {"S": state.url}, "callback_status": {"S": state.status.value}}
    for field, attribute in _CALLBACK_NUMBERS.items():
        value = getattr(state, field)
        if value is not None:
            item[attribute] = {"N": repr(value)}
    return item


def _callback_state(item: dict[str, Any]) -> StatusCallbackState | None:
    if "callback_url" not in item:
        return None
    data: dict[str, Any] = {"url": item["callback_url"]["S"], "status": item["callback_status"]["S"]}
    for field, attribute in _CALLBACK_NUMBERS.items():
        if attribute in item:
            data[field] = float(item[attribute]["N"])
    return StatusCallbackState.model_validate(data)


def from_item(item: dict[str, Any]) -> Operation:
    data: dict[str, Any] = {
        name: item[name]["S"]
        for name in ("id", "operation", "provider", "client", "status", "purpose", *_OPTIONAL_TEXT_FIELDS)
        if name in item
    }
    for name in _NUMBER_FIELDS:
        if name in item:
            data[name] = float(item[name]["N"])
    for name in _JSON_FIELDS:
        if name in item:
            data[name] = json.loads(item[name]["S"])
    data["status_callback"] = _callback_state(item)
    return Operation.model_validate(data)


def create(operation: Operation) -> Operation:
    """Write a new record; if one with this id exists (an idempotent retry, or a write whose answer was lost
    and retried), answer the stored one instead."""
    try:
        aws.dynamodb().put_item(
            TableName=_table(), Item=to_item(operation), ConditionExpression="attribute_not_exists(id)"
        )
    except ClientError as exc:
        if not conditional_failed(exc):
            raise
        existing = get(operation.id)
        if existing is None:
            raise
        return existing
    return operation


def create_many(operations: Sequence[Operation]) -> list[str]:
    """Write new records with BatchWriteItem, 25 to a call; the ids of those that could not be written.

    BatchWriteItem has no conditions: callers pass only operations they know are not stored yet (a fresh batch,
    or the ones a retry found missing), under the Idempotency-Key's lock. Unprocessed items (throttling) are
    written again with backoff; a chunk the service refuses outright is reported, not raised, because records
    written before it are already real operations."""
    unwritten: list[str] = []
    for start in range(0, len(operations), BATCH_WRITE_SIZE):
        chunk = operations[start : start + BATCH_WRITE_SIZE]
        requests = [{"PutRequest": {"Item": to_item(operation)}} for operation in chunk]
        try:
            left = _write_until_processed(requests)
        except ClientError:
            logger.exception("could not write a chunk of operation records")
            left = requests
        unwritten.extend(request["PutRequest"]["Item"]["id"]["S"] for request in left)
    return unwritten


def _write_until_processed(requests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Write `requests` and again what DynamoDB left unprocessed; what is still left after the last attempt."""
    for attempt in range(UNPROCESSED_ATTEMPTS):
        if attempt:
            clock.sleep(backoff(attempt))
        answer: Any = aws.dynamodb().batch_write_item(RequestItems={_table(): requests})  # type: ignore[dict-item]
        requests = list(answer.get("UnprocessedItems", {}).get(_table(), []))
        if not requests:
            return []
    return requests


def get_many(operation_ids: Sequence[str], *, consistent: bool = True) -> dict[str, Operation]:
    """The stored records among `operation_ids` (BatchGetItem), by id; missing ids are absent."""
    keys = [{"id": {"S": value}} for value in dict.fromkeys(operation_ids)]
    operations = (from_item(item) for item in batch_get(_table(), keys, consistent=consistent))
    return {operation.id: operation for operation in operations}


def statuses(operation_ids: Sequence[str]) -> dict[str, Status]:
    """The status of each stored record among `operation_ids`, eventually consistent (half a read unit each)."""
    keys = [{"id": {"S": value}} for value in dict.fromkeys(operation_ids)]
    items = batch_get(_table(), keys, consistent=False, projection="id, #status", names={"#status": "status"})
    return {item["id"]["S"]: Status(item["status"]["S"]) for item in items}


def get(operation_id: str) -> Operation | None:
    item = aws.dynamodb().get_item(TableName=_table(), Key={"id": {"S": operation_id}}, ConsistentRead=True)
    return from_item(item["Item"]) if "Item" in item else None


def _update(
    operation_id: str,
    *,
    sets: dict[str, Any],
    condition: str,
    values: dict[str, Any],
    add_attempt: int = 0,
    remove: tuple[str, ...] = (),
) -> Operation | None:
    written, _ = _write(
        operation_id, sets=sets, condition=condition, values=values, add_attempt=add_attempt, remove=remove
    )
    return written


def _write(
    operation_id: str,
    *,
    sets: dict[str, Any],
    condition: str,
    values: dict[str, Any],
    add_attempt: int = 0,
    remove: tuple[str, ...] = (),
    old_on_failure: bool = False,
) -> tuple[Operation | None, Operation | None]:
    """(the record written, None) or, when the condition fails, (None, the record as it stood if
    `old_on_failure` asked DynamoDB for it and there is one). One request either way."""
    names: dict[str, str] = {}
    expression_values: dict[str, Any] = dict(values)
    assignments = []
    for index, (name, value) in enumerate(sets.items()):
        names[f"#s{index}"] = name
        expression_values[f":s{index}"] = value
        assignments.append(f"#s{index} = :s{index}")
    if add_attempt:
        names["#attempts"] = "attempts"
        expression_values[":one"] = {"N": str(add_attempt)}
        assignments.append("#attempts = #attempts + :one")
    expression = "SET " + ", ".join(assignments)
    if remove:
        for index, name in enumerate(remove):
            names[f"#r{index}"] = name
        expression += " REMOVE " + ", ".join(f"#r{index}" for index in range(len(remove)))
    if "#status" in condition:
        names["#status"] = "status"
    request: dict[str, Any] = {
        "TableName": _table(),
        "Key": {"id": {"S": operation_id}},
        "UpdateExpression": expression,
        "ConditionExpression": condition,
        "ExpressionAttributeNames": names,
        "ReturnValues": "ALL_NEW",
    }
    if expression_values:
        request["ExpressionAttributeValues"] = expression_values
    if old_on_failure:
        # The failed condition answers with the record itself: no second request to learn why.
        request["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
    try:
        answer = aws.dynamodb().update_item(**request)
    except ClientError as exc:
        if conditional_failed(exc):
            old = cast("dict[str, Any] | None", exc.response.get("Item"))
            return None, from_item(old) if old else None
        raise
    return from_item(answer["Attributes"]), None


def _s(value: str) -> dict[str, str]:
    return {"S": value}


def _n(value: float) -> dict[str, str]:
    return {"N": repr(value)}


class ClaimAnswer(NamedTuple):  # not a dataclass: a tenth of the import time, at every cold start
    claimed: Operation | None  # the record, now `sending` under this claim
    current: Operation | None  # when not claimed: the record as it stood (None: there is no such operation)


def claim_or_current(operation_id: str, *, now: float, lease_seconds: float) -> ClaimAnswer:
    """queued|retrying (and due) -> sending, one attempt more, in one request; when the record is not claimable
    (someone else holds or ended it, or it is not due yet) the same request answers with the record as it is."""
    claimed, current = _write(
        operation_id,
        sets={"status": _s(Status.SENDING), "updated_at": _n(now), "lease_until": _n(now + lease_seconds)},
        add_attempt=1,
        remove=("next_attempt_at",),
        condition="#status IN (:queued, :retrying) AND "
        "(attribute_not_exists(next_attempt_at) OR next_attempt_at <= :now)",
        values={":queued": _s(Status.QUEUED), ":retrying": _s(Status.RETRYING), ":now": _n(now)},
        old_on_failure=True,
    )
    return ClaimAnswer(claimed=claimed, current=current)


def claim(operation_id: str, *, now: float, lease_seconds: float) -> Operation | None:
    """queued|retrying (and due) -> sending, one attempt more. None when someone else holds or ended it."""
    return claim_or_current(operation_id, now=now, lease_seconds=lease_seconds).claimed


def finish(
    operation_id: str,
    *,
    attempt: int,
    status: Status,
    now: float,
    result: dict[str, Any] | None = None,
    error: OperationError | None = None,
    private: dict[str, str | float] | None = None,
    refund_attempt: bool = False,
) -> Operation | None:
    """sending (this attempt) -> a final status. Never moves a record that is already final.
    `private` attributes are stored beside the record and never read into `Operation`. A refunded attempt is
    one that never reached the provider (the claim found a reason not to call it)."""
    if status not in FINAL_STATUSES:
        raise ValueError(f"{status} is not final")
    sets: dict[str, Any] = {"status": _s(status), "updated_at": _n(now)}
    if result is not None:
        sets["result"] = _s(json.dumps(result, ensure_ascii=False))
    if error is not None:
        sets["error"] = _s(error.model_dump_json())
    for name, value in (private or {}).items():
        sets[name] = _s(value) if isinstance(value, str) else _n(value)
    return _update(
        operation_id,
        sets=sets,
        add_attempt=-1 if refund_attempt else 0,
        remove=("lease_until",),
        condition="#status = :sending AND attempts = :attempt",
        values={":sending": _s(Status.SENDING), ":attempt": {"N": str(attempt)}},
    )


def schedule_retry(
    operation_id: str,
    *,
    attempt: int,
    now: float,
    next_attempt_at: float,
    error: OperationError | None,
    refund_attempt: bool = False,
) -> Operation | None:
    """sending (this attempt) -> retrying, due at `next_attempt_at`. A refunded attempt (rate limit) is not
    counted: the provider did not act on it."""
    sets: dict[str, Any] = {
        "status": _s(Status.RETRYING),
        "updated_at": _n(now),
        "next_attempt_at": _n(next_attempt_at),
    }
    if error is not None:
        sets["error"] = _s(error.model_dump_json())
    return _update(
        operation_id,
        sets=sets,
        add_attempt=-1 if refund_attempt else 0,
        remove=("lease_until",),
        condition="#status = :sending AND attempts = :attempt",
        values={":sending": _s(Status.SENDING), ":attempt": {"N": str(attempt)}},
    )


def hold(operation_id: str, *, attempt: int, now: float, until: float) -> Operation | None:
    """sending (this attempt) -> queued, due at `until`, the attempt given back: the claim found it may not be
    sent yet (a marketing text inside the recipient's quiet hours). No provider was handed it."""
    return _update(
        operation_id,
        sets={"status": _s(Status.QUEUED), "updated_at": _n(now), "next_attempt_at": _n(until)},
        add_attempt=-1,
        remove=("lease_until",),
        condition="#status = :sending AND attempts = :attempt",
        values={":sending": _s(Status.SENDING), ":attempt": {"N": str(attempt)}},
    )


def fail_unsent(operation_id: str, *, now: float, error: OperationError) -> Operation | None:
    """scheduled|queued|retrying -> failed, for an operation that was never handed to its provider: its queue
    message or schedule could not be written, or its recipient may no longer be texted."""
    return _update(
        operation_id,
        sets={"status": _s(Status.FAILED), "updated_at": _n(now), "error": _s(error.model_dump_json())},
        condition="#status IN (:scheduled, :queued, :retrying)",
        values={":scheduled": _s(Status.SCHEDULED), ":queued": _s(Status.QUEUED), ":retrying": _s(Status.RETRYING)},
    )


def release_scheduled(operation_id: str, *, now: float) -> Operation | None:
    """scheduled -> queued, when its schedule fired. None when it was canceled or ended meanwhile."""
    return _update(
        operation_id,
        sets={"status": _s(Status.QUEUED), "updated_at": _n(now)},
        condition="#status = :scheduled",
        values={":scheduled": _s(Status.SCHEDULED)},
    )


def cancel(operation_id: str, *, now: float) -> Operation | None:
    """scheduled|queued|retrying -> canceled (final). None when a delivery claimed it first or it ended: the
    claim's own condition (queued|retrying) then never matches a canceled record, so no provider is called."""
    return _update(
        operation_id,
        sets={"status": _s(Status.CANCELED), "updated_at": _n(now)},
        remove=("next_attempt_at",),
        condition="#status IN (:scheduled, :queued, :retrying)",
        values={":scheduled": _s(Status.SCHEDULED), ":queued": _s(Status.QUEUED), ":retrying": _s(Status.RETRYING)},
    )


def expire_lease(operation_id: str, *, now: float, error: OperationError) -> Operation | None:
    """sending past its lease -> unknown: the worker that sent it died, and the provider may have acted."""
    return _update(
        operation_id,
        sets={"status": _s(Status.UNKNOWN), "updated_at": _n(now), "error": _s(error.model_dump_json())},
        remove=("lease_until",),
        condition="#status = :sending AND lease_until < :now",
        values={":sending": _s(Status.SENDING), ":now": _n(now)},
    )


def mark_dead_lettered(operation_id: str, *, now: float) -> Operation | None:
    """Note on the record that its message reached the dead-letter queue (listed by the dead_letters index).

    Conditional: None when there is no such operation or it is marked already (not put back since), so a copy of
    the message, or a batch received again, marks it once."""
    return _update(
        operation_id,
        sets={"dead_lettered_at": _n(now), "updated_at": _n(now), "dead_letter_queue": {"S": "pending"}},
        condition="attribute_exists(id) AND attribute_not_exists(dead_letter_queue)",
        values={},
    )


def dead_lettered(limit: int = 1000) -> list[str]:
    """Ids of the operations whose messages reached a dead-letter queue and were not put back yet."""
    ids: list[str] = []
    request: dict[str, Any] = {
        "TableName": _table(),
        "IndexName": "dead_letters",
        "KeyConditionExpression": "dead_letter_queue = :pending",
        "ExpressionAttributeValues": {":pending": {"S": "pending"}},
        "ProjectionExpression": "id",
    }
    while len(ids) < limit:
        answer = aws.dynamodb().query(**request)
        ids.extend(item["id"]["S"] for item in answer.get("Items", []))
        if "LastEvaluatedKey" not in answer:
            break
        request["ExclusiveStartKey"] = answer["LastEvaluatedKey"]
    return ids[:limit]


def clear_dead_lettered(operation_id: str, *, now: float) -> Operation | None:
    """Put back: off the index; `dead_lettered_at` stays as history."""
    return _update(
        operation_id,
        sets={"updated_at": _n(now)},
        remove=("dead_letter_queue",),
        condition="attribute_exists(dead_letter_queue)",
        values={},
    )
