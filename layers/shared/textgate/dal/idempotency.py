"""Idempotency records: one per (client, key), claimed with a conditional write, kept for 24 hours."""

from __future__ import annotations

import gzip
import json
from typing import Any, NamedTuple

from botocore.exceptions import ClientError

from textgate import aws
from textgate.dal import conditional_failed
from textgate.settings import get_settings

COMPRESS_OVER = 16 * 1024  # characters of answer kept as they are; longer ones are kept compressed
IN_PROGRESS = "in_progress"
COMPLETED = "completed"


class IdempotencyRecord(NamedTuple):  # not a dataclass: a tenth of the import time, at every cold start
    key: str
    request_hash: str
    state: str
    locked_until: float
    expires_at: float
    response: dict[str, Any] | None


def _table() -> str:
    return get_settings().idempotency_table


def _record(item: dict[str, Any]) -> IdempotencyRecord:
    return IdempotencyRecord(
        key=item["key"]["S"],
        request_hash=item["request_hash"]["S"],
        state=item["state"]["S"],
        locked_until=float(item.get("locked_until", {"N": "0"})["N"]),
        expires_at=float(item["expires_at"]["N"]),
        response=_response(item),
    )


def _response(item: dict[str, Any]) -> dict[str, Any] | None:
    if "response_gzip" in item:
        stored: dict[str, Any] = json.loads(gzip.decompress(item["response_gzip"]["B"]))
        return stored
    return json.loads(item["response"]["S"]) if "response" in item else None


def try_claim(key: str, request_hash: str, operation_id: str, *, now: float, lock_seconds: float) -> str | None:
    """Claim the key for this request: the operation id it reserves, or None when a live record holds it.

    A fresh claim reserves `operation_id`. Taking over an abandoned claim (same request, lock run out) keeps the
    id the first attempt reserved, so if that attempt had already created its operation, the retry finds it
    instead of starting a second one.
    """
    try:
        aws.dynamodb().put_item(
            TableName=_table(),
            Item={
                "key": {"S": key},
                "request_hash": {"S": request_hash},
                "state": {"S": IN_PROGRESS},
                "operation_id": {"S": operation_id},
                "locked_until": {"N": repr(now + lock_seconds)},
                "expires_at": {"N": str(int(now + get_settings().idempotency_ttl_seconds))},
            },
            # An expired record (TTL deletion is lazy) is as good as none.
            ConditionExpression="attribute_not_exists(#k) OR expires_at < :now",
            ExpressionAttributeNames={"#k": "key"},
            ExpressionAttributeValues={":now": {"N": repr(now)}},
        )
        return operation_id
    except ClientError as exc:
        if not conditional_failed(exc):
            raise
    try:
        answer = aws.dynamodb().update_item(
            TableName=_table(),
            Key={"key": {"S": key}},
            UpdateExpression="SET locked_until = :until",
            ConditionExpression="#state = :in_progress AND locked_until < :now AND request_hash = :hash",
            ExpressionAttributeNames={"#state": "state"},
            ExpressionAttributeValues={
                ":until": {"N": repr(now + lock_seconds)},
                ":now": {"N": repr(now)},
                ":in_progress": {"S": IN_PROGRESS},
                ":hash": {"S": request_hash},
            },
            ReturnValues="ALL_NEW",
        )
    except ClientError as exc:
        if conditional_failed(exc):
            return None
        raise
    reserved = answer["Attributes"].get("operation_id", {}).get("S")
    return reserved or operation_id


def get(key: str) -> IdempotencyRecord | None:
    item = aws.dynamodb().get_item(TableName=_table(), Key={"key": {"S": key}}, ConsistentRead=True)
    return _record(item["Item"]) if "Item" in item else None


def complete(key: str, response: dict[str, Any]) -> None:
    """Keep the answer. A large one (a batch's) is kept compressed: DynamoDB's items stop at 400 KB, and a
    batch's thousand answers repeat themselves."""
    text = json.dumps(response, ensure_ascii=False)
    value: dict[str, Any] = {"S": text}
    name = "response"
    if len(text) > COMPRESS_OVER:
        name, value = "response_gzip", {"B": gzip.compress(text.encode(), mtime=0)}
    aws.dynamodb().update_item(
        TableName=_table(),
        Key={"key": {"S": key}},
        UpdateExpression="SET #state = :completed, #response = :response REMOVE locked_until",
        ExpressionAttributeNames={"#state": "state", "#response": name},
        ExpressionAttributeValues={":completed": {"S": COMPLETED}, ":response": value},
    )


def release(key: str) -> None:
    """Forget a claim whose request failed on our side, so the caller may try again with the same key."""
    aws.dynamodb().delete_item(
        TableName=_table(),
        Key={"key": {"S": key}},
        ConditionExpression="#state = :in_progress",
        ExpressionAttributeNames={"#state": "state"},
        ExpressionAttributeValues={":in_progress": {"S": IN_PROGRESS}},
    )
