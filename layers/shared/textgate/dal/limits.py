"""Sliding-window counters in the limits table (texts per recipient per day, PINs per client and recipient per
hour), and provider pauses.

One item per counter holds the times of the recent events. Taking a slot is one conditional update while the
list has room, so concurrent callers can never take more slots than the limit; only a full list is read,
pruned of times outside the window and written back conditional on the version it read.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

from botocore.exceptions import ClientError

from textgate import aws
from textgate.dal import conditional_failed
from textgate.settings import get_settings


@dataclass(frozen=True)
class Slot:
    """One event counted under `key` at `moment` (give it back with `release_slot`)."""

    key: str
    moment: float


@dataclass(frozen=True)
class Refused:
    """The limit is reached; the oldest counted event leaves the window in `retry_after` seconds."""

    retry_after: float

    @property
    def retry_after_header(self) -> str:
        """Retry-After in whole seconds, never 0 (an answer to retry at once would be a lie)."""
        return str(max(1, math.ceil(self.retry_after)))


def key(kind: str, *parts: str) -> str:
    """A counter's key: JSON keeps the parts apart, so no two different counters share a key."""
    return json.dumps([kind, *parts], ensure_ascii=False, separators=(",", ":"))


def _n(value: float) -> dict[str, str]:
    return {"N": repr(value)}


def take_slot(key: str, *, limit: int, window_seconds: float, now: float) -> Slot | Refused:
    """Count one event for `key` unless `limit` events already happened within the window."""
    table = get_settings().limits_table
    expires = {"N": str(int(now + window_seconds) + 60)}
    while True:
        try:
            aws.dynamodb().update_item(
                TableName=table,
                Key={"key": {"S": key}},
                UpdateExpression="SET times = list_append(if_not_exists(times, :empty), :now), "
                "version = if_not_exists(version, :zero) + :one, expires_at = :expires",
                ConditionExpression="attribute_not_exists(times) OR size(times) < :limit",
                ExpressionAttributeValues={
                    ":empty": {"L": []},
                    ":now": {"L": [_n(now)]},
                    ":zero": {"N": "0"},
                    ":one": {"N": "1"},
                    ":expires": expires,
                    ":limit": {"N": str(limit)},
                },
            )
            return Slot(key, now)
        except ClientError as exc:
            if not conditional_failed(exc):
                raise
        # The list is full: drop the times that left the window, if any, and try again.
        item = aws.dynamodb().get_item(TableName=table, Key={"key": {"S": key}}, ConsistentRead=True).get("Item")
        if item is None:
            continue  # it expired meanwhile
        times = [float(entry["N"]) for entry in item.get("times", {}).get("L", [])]
        recent = [moment for moment in times if moment > now - window_seconds]
        if len(recent) >= limit:
            return Refused(retry_after=min(recent) + window_seconds - now)
        if not _replace_times(table, key, item["version"]["N"], recent):
            continue  # another caller changed it first: start again


def release_slot(slot: Slot) -> None:
    """Take back one counted event (its request was refused after all). Best effort: a missed release only
    makes the limit stricter for a while."""
    table = get_settings().limits_table
    for _ in range(5):
        item = aws.dynamodb().get_item(TableName=table, Key={"key": {"S": slot.key}}, ConsistentRead=True).get("Item")
        times = [float(entry["N"]) for entry in (item or {}).get("times", {}).get("L", [])]
        if item is None or slot.moment not in times:
            return
        times.remove(slot.moment)
        if _replace_times(table, slot.key, item["version"]["N"], times):
            return


def _replace_times(table: str, counter: str, version: str, times: list[float]) -> bool:
    """Write `times` over the item read, unless someone wrote it since."""
    try:
        aws.dynamodb().update_item(
            TableName=table,
            Key={"key": {"S": counter}},
            UpdateExpression="SET times = :times, version = version + :one",
            ConditionExpression="version = :version",
            ExpressionAttributeValues={
                ":times": {"L": [_n(moment) for moment in times]},
                ":one": {"N": "1"},
                ":version": {"N": version},
            },
        )
    except ClientError as exc:
        if conditional_failed(exc):
            return False
        raise
    return True


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
    """Eventually consistent (half the price of a delivery's look): a pause this read misses only costs a call the
    provider answers with its rate limit again, which delays the send without spending an attempt."""
    item = (
        aws.dynamodb()
        .get_item(TableName=get_settings().limits_table, Key={"key": {"S": f"pause#{provider}"}}, ConsistentRead=False)
        .get("Item")
    )
    return float(item["until"]["N"]) if item else 0.0
