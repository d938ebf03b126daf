"""PIN verification state, kept on the send_pin operation's record beside (never inside) the operation.

Only a keyed hash of the PIN is stored. Checks move the state with conditional writes, so five concurrent wrong
guesses cannot become six, and a PIN verifies once.
"""

from __future__ import annotations

from typing import NamedTuple

from botocore.exceptions import ClientError

from textgate import aws
from textgate.dal import conditional_failed
from textgate.settings import get_settings

HASH = "pin_hash"
EXPIRES_AT = "pin_expires_at"
ATTEMPTS_LEFT = "pin_attempts_left"
VERIFIED_AT = "pin_verified_at"


class PinState(NamedTuple):  # not a dataclass: a tenth of the import time, at every cold start
    pin_hash: str
    expires_at: float
    attempts_left: int
    verified_at: float | None


def _key(operation_id: str) -> dict[str, dict[str, str]]:
    return {"id": {"S": operation_id}}


def state(operation_id: str) -> PinState | None:
    item = (
        aws.dynamodb()
        .get_item(
            TableName=get_settings().operations_table,
            Key=_key(operation_id),
            ConsistentRead=True,
            ProjectionExpression="#h, #e, #a, #v",
            ExpressionAttributeNames={"#h": HASH, "#e": EXPIRES_AT, "#a": ATTEMPTS_LEFT, "#v": VERIFIED_AT},
        )
        .get("Item")
    )
    if not item or HASH not in item:
        return None
    return PinState(
        pin_hash=item[HASH]["S"],
        expires_at=float(item[EXPIRES_AT]["N"]),
        attempts_left=int(item[ATTEMPTS_LEFT]["N"]),
        verified_at=float(item[VERIFIED_AT]["N"]) if VERIFIED_AT in item else None,
    )


def _conditional(operation_id: str, expression: str, values: dict[str, dict[str, str]]) -> int | None:
    try:
        answer = aws.dynamodb().update_item(
            TableName=get_settings().operations_table,
            Key=_key(operation_id),
            UpdateExpression=expression,
            ConditionExpression="#a > :zero AND attribute_not_exists(#v) AND #e > :now",
            ExpressionAttributeNames={"#a": ATTEMPTS_LEFT, "#v": VERIFIED_AT, "#e": EXPIRES_AT},
            ExpressionAttributeValues={":zero": {"N": "0"}, **values},
            ReturnValues="ALL_NEW",
        )
    except ClientError as exc:
        if conditional_failed(exc):
            return None
        raise
    return int(answer["Attributes"][ATTEMPTS_LEFT]["N"])


def spend_attempt(operation_id: str, *, now: float) -> int | None:
    """One wrong guess: attempts left afterwards, or None if the PIN is used, expired or out of attempts."""
    return _conditional(operation_id, "SET #a = #a - :one", {":one": {"N": "1"}, ":now": {"N": repr(now)}})


def mark_verified(operation_id: str, *, now: float) -> int | None:
    """The right code: attempts left, or None if the PIN is used, expired or out of attempts."""
    return _conditional(operation_id, "SET #v = :now", {":now": {"N": repr(now)}})
