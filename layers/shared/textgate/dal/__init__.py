"""Data access: the only code that talks to DynamoDB, SQS and EventBridge."""

from __future__ import annotations

from botocore.exceptions import ClientError


def conditional_failed(exc: ClientError) -> bool:
    """A write whose ConditionExpression did not hold: someone else got there first (or it was already done)."""
    return exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"
