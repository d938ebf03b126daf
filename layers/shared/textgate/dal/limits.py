"""Sliding-window counters in the limits table (for example: PINs per recipient per hour).

One item per key holds the times of the recent events; a write is conditional on the version it read, so
concurrent callers cannot both take the last slot.
"""

from __future__ import annotations

from botocore.exceptions import ClientError

from textgate import aws
from textgate.dal import conditional_failed
from textgate.settings import get_settings


def take_slot(key: str, *, limit: int, window_seconds: float, now: float, tries: int = 8) -> bool:
    """Record one event for `key` unless `limit` events already happened within the window."""
    table = get_settings().limits_table
    for _ in range(tries):
        item = aws.dynamodb().get_item(TableName=table, Key={"key": {"S": key}}, ConsistentRead=True).get("Item")
        version = int(item["version"]["N"]) if item else 0
        times = item.get("times", {}).get("L", []) if item else []
        recent = [float(entry["N"]) for entry in times if float(entry["N"]) > now - window_seconds]
        if len(recent) >= limit:
            return False
        recent.append(now)
        try:
            aws.dynamodb().put_item(
                TableName=table,
                Item={
                    "key": {"S": key},
                    "times": {"L": [{"N": repr(moment)} for moment in recent]},
                    "version": {"N": str(version + 1)},
                    "expires_at": {"N": str(int(now + window_seconds) + 60)},
                },
                ConditionExpression="attribute_not_exists(#k) OR version = :version",
                ExpressionAttributeNames={"#k": "key"},
                ExpressionAttributeValues={":version": {"N": str(version)}},
            )
        except ClientError as exc:
            if conditional_failed(exc):
                continue  # someone else took a slot meanwhile: read again
            raise
        return True
    return False


def pause(provider: str, *, until: float) -> None:
    """Hold every delivery to `provider` until `until` (its allowance is spent). Only ever extends a pause."""
    try:
        aws.dynamodb().put_item(
            TableName=get_settings().limits_table,
            Item={
                "key": {"S": f"pause#{provider}"},
                "until": {"N": repr(until)},
                "expires_at": {"N": str(int(until) + 60)},
            },
            ConditionExpression="attribute_not_exists(#u) OR #u < :until",
            ExpressionAttributeNames={"#u": "until"},
            ExpressionAttributeValues={":until": {"N": repr(until)}},
        )
    except ClientError as exc:
        if not conditional_failed(exc):
            raise


def paused_until(provider: str) -> float:
    item = (
        aws.dynamodb()
        .get_item(TableName=get_settings().limits_table, Key={"key": {"S": f"pause#{provider}"}}, ConsistentRead=True)
        .get("Item")
    )
    return float(item["until"]["N"]) if item else 0.0
