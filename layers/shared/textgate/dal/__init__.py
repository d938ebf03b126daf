"""Data access: the only code that talks to DynamoDB, SQS and EventBridge."""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

from botocore.exceptions import ClientError

from textgate import aws, clock

# How often a batch call's unprocessed part (DynamoDB's unprocessed items, SQS's failed entries) is sent again.
UNPROCESSED_ATTEMPTS = 6


def conditional_failed(exc: ClientError) -> bool:
    """A write whose ConditionExpression did not hold: someone else got there first (or it was already done)."""
    return exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


def backoff(attempt: int) -> float:
    """Seconds before sending a batch call's unprocessed part again: exponential with full jitter, as AWS advises."""
    return random.uniform(0, min(1.0, 0.05 * 2**attempt))  # jitter, not a secret


def batch_get(
    table: str,
    keys: Sequence[dict[str, Any]],
    *,
    consistent: bool,
    projection: str | None = None,
    names: dict[str, str] | None = None,
) -> list[dict[str, Any]]:
    """The items stored under `keys` (BatchGetItem, 100 keys to a call; unprocessed keys read again with backoff).
    Missing items are simply absent."""
    found: list[dict[str, Any]] = []
    for start in range(0, len(keys), 100):
        request: Any = {"Keys": list(keys[start : start + 100]), "ConsistentRead": consistent}
        if projection is not None:
            request["ProjectionExpression"] = projection
        if names:
            request["ExpressionAttributeNames"] = names
        for attempt in range(UNPROCESSED_ATTEMPTS * 2):
            if attempt:
                clock.sleep(backoff(attempt))
            answer: Any = aws.dynamodb().batch_get_item(RequestItems={table: request})
            found.extend(answer.get("Responses", {}).get(table, []))
            left = answer.get("UnprocessedKeys", {}).get(table)
            if not left or not left.get("Keys"):
                break
            request["Keys"] = left["Keys"]
        else:
            raise RuntimeError("DynamoDB left reads unprocessed")
    return found
