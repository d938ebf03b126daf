"""Status callbacks: their queue, and the callback's state on the operation record, moved by conditional writes.

A queue message names the operation and the attempt it is for. Claiming attempt n needs the record to have made
n - 1 attempts, to be due and to hold no live lease: two copies of one message never POST twice, and a message
for an attempt already made is simply dropped.
"""

from __future__ import annotations

import json
import math
from typing import Any, NamedTuple, cast

from botocore.exceptions import ClientError

from textgate import aws
from textgate.dal import conditional_failed
from textgate.dal.operations import from_item
from textgate.models import CallbackStatus, Operation
from textgate.settings import get_settings

MAX_DELAY_SECONDS = 900  # SQS's ceiling for DelaySeconds: longer waits come back early and wait again


class Message(NamedTuple):  # not a dataclass: a tenth of the import time, at every cold start
    operation_id: str
    attempt: int


def enqueue(operation_id: str, attempt: int, *, delay_seconds: float = 0) -> None:
    # Rounded up: a message must never arrive before the time it waits for.
    delay = max(0, min(MAX_DELAY_SECONDS, math.ceil(delay_seconds)))
    aws.sqs().send_message(
        QueueUrl=get_settings().status_callback_queue_url,
        MessageBody=json.dumps({"operation_id": operation_id, "attempt": attempt}),
        DelaySeconds=delay,
    )


def read_message(body: str) -> Message | None:
    try:
        data = json.loads(body)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    operation_id, attempt = data.get("operation_id"), data.get("attempt")
    if not isinstance(operation_id, str) or not operation_id or type(attempt) is not int or attempt < 1:
        return None
    return Message(operation_id, attempt)


def _write(
    operation_id: str, expression: str, condition: str, values: dict[str, Any]
) -> tuple[Operation | None, Operation | None]:
    """(the record as written, None) or, when the condition failed, (None, the record as it stood, if any)."""
    try:
        answer = aws.dynamodb().update_item(
            TableName=get_settings().operations_table,
            Key={"id": {"S": operation_id}},
            UpdateExpression=expression,
            ConditionExpression=condition,
            ExpressionAttributeValues=values,
            ReturnValues="ALL_NEW",
            # The failed condition answers with the record itself: no read to learn why.
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
    except ClientError as exc:
        if conditional_failed(exc):
            old = cast("dict[str, Any] | None", exc.response.get("Item"))
            return None, from_item(old) if old else None
        raise
    return from_item(answer["Attributes"]), None


def _n(value: float) -> dict[str, str]:
    return {"N": repr(value)}


def claim_or_current(
    operation_id: str, attempt: int, *, now: float, lease_seconds: float
) -> tuple[Operation | None, Operation | None]:
    """pending with attempt - 1 made, due, no live lease -> attempt n under a lease, in one request: (the claimed
    record, None), or (None, the record as it stood) when it is not this message's to make."""
    return _write(
        operation_id,
        "SET callback_attempts = :attempt, callback_lease_until = :lease REMOVE callback_next_at",
        "callback_status = :pending AND callback_attempts = :previous "
        "AND (attribute_not_exists(callback_next_at) OR callback_next_at <= :now) "
        "AND (attribute_not_exists(callback_lease_until) OR callback_lease_until < :now)",
        {
            ":pending": {"S": CallbackStatus.PENDING.value},
            ":previous": _n(attempt - 1),
            ":attempt": _n(attempt),
            ":now": _n(now),
            ":lease": _n(now + lease_seconds),
        },
    )


def settle(
    operation_id: str,
    attempt: int,
    *,
    status: CallbackStatus,
    last_status_code: int | None,
    next_attempt_at: float | None = None,
) -> Operation | None:
    """Attempt n's outcome: delivered, failed, or pending again until `next_attempt_at`."""
    sets = ["callback_status = :status"]
    removes = ["callback_lease_until"]
    values: dict[str, Any] = {
        ":status": {"S": status.value},
        ":pending": {"S": CallbackStatus.PENDING.value},
        ":attempt": _n(attempt),
    }
    if last_status_code is not None:
        sets.append("callback_last_status_code = :code")
        values[":code"] = _n(last_status_code)
    else:
        removes.append("callback_last_status_code")
    if next_attempt_at is not None:
        sets.append("callback_next_at = :next")
        values[":next"] = _n(next_attempt_at)
    settled, _ = _write(
        operation_id,
        "SET " + ", ".join(sets) + " REMOVE " + ", ".join(removes),
        "callback_status = :pending AND callback_attempts = :attempt",
        values,
    )
    return settled
