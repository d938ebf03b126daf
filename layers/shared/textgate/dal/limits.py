"""Sliding-window counters in the limits table (texts per recipient per day, PINs per client and recipient per
hour), and provider pauses.

One item per counter holds the times of the recent events. Taking a slot is one conditional update while the
list has room, so concurrent callers can never take more slots than the limit; only a full list is read,
pruned of times outside the window and written back conditional on the version it read.
"""

from __future__ import annotations

import json
import math
from typing import Any, NamedTuple

from botocore.exceptions import ClientError

from textgate import aws
from textgate.dal import conditional_failed
from textgate.settings import get_settings


class Slot(NamedTuple):  # not a dataclass: a tenth of the import time, at every cold start
    """One event counted under `key` at `moment` (give it back with `release_slot`)."""

    key: str
    moment: float


class Refused(NamedTuple):  # not a dataclass: a tenth of the import time, at every cold start
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


class Slots(NamedTuple):  # not a dataclass: a tenth of the import time, at every cold start
    """`taken` events counted under `key` at `moment`, in one write; `refused` says why the rest were not."""

    key: str
    moment: float
    taken: int
    refused: Refused | None = None


def take_slots(key: str, count: int, *, limit: int, window_seconds: float, now: float) -> Slots:
    """Count up to `count` events for `key` at once, as many as the limit leaves room for (a batch's items to one
    number; `take_slot` is one of them). In as few writes: one conditional update appending `count` times while
    the list has room for all of them; otherwise the list is read, pruned and written back with as many as fit,
    conditional on the version read, so concurrent callers can never count more than the limit together."""
    if count < 1:
        return Slots(key, now, 0)
    table = get_settings().limits_table
    while True:
        if count <= limit:
            try:
                aws.dynamodb().update_item(
                    TableName=table,
                    Key={"key": {"S": key}},
                    UpdateExpression="SET times = list_append(if_not_exists(times, :empty), :now), "
                    "version = if_not_exists(version, :zero) + :one, expires_at = :expires",
                    ConditionExpression="attribute_not_exists(times) OR size(times) <= :room",
                    ExpressionAttributeValues={
                        ":empty": {"L": []},
                        ":now": {"L": [_n(now)] * count},
                        ":zero": {"N": "0"},
                        ":one": {"N": "1"},
                        ":expires": {"N": str(int(now + window_seconds) + 60)},
                        ":room": {"N": str(limit - count)},
                    },
                )
                return Slots(key, now, count)
            except ClientError as exc:
                if not conditional_failed(exc):
                    raise
        item = aws.dynamodb().get_item(TableName=table, Key={"key": {"S": key}}, ConsistentRead=True).get("Item")
        times = [float(entry["N"]) for entry in (item or {}).get("times", {}).get("L", [])]
        recent = [moment for moment in times if moment > now - window_seconds]
        room = max(0, limit - len(recent))
        taken = min(count, room)
        # When the full list leaves no room, the oldest time says when one place frees; when it does leave some
        # (fewer than asked), the rest can be retried as soon as the next time leaves the window.
        refused = None
        if taken < count:
            kept = sorted(recent + [now] * taken)
            refused = Refused(retry_after=kept[len(kept) - limit] + window_seconds - now if kept else window_seconds)
        if taken == 0:
            return Slots(key, now, 0, refused)
        written = (
            _replace_times(table, key, item["version"]["N"], recent + [now] * taken, expires=now + window_seconds)
            if item is not None
            else _create_times(table, key, [now] * taken, expires=now + window_seconds)
        )
        if written:
            return Slots(key, now, taken, refused)


def take_slot(key: str, *, limit: int, window_seconds: float, now: float) -> Slot | Refused:
    """Count one event for `key` unless `limit` events already happened within the window."""
    taken = take_slots(key, 1, limit=limit, window_seconds=window_seconds, now=now)
    if taken.taken:
        return Slot(key, taken.moment)
    return taken.refused or Refused(retry_after=window_seconds)


def release_slots(slots: Slots) -> None:
    """Take back `slots` (their items were refused or not recorded after all). Best effort, like `release_slot`."""
    if slots.taken < 1:
        return
    table = get_settings().limits_table
    for _ in range(5):
        item = aws.dynamodb().get_item(TableName=table, Key={"key": {"S": slots.key}}, ConsistentRead=True).get("Item")
        times = [float(entry["N"]) for entry in (item or {}).get("times", {}).get("L", [])]
        if item is None or slots.moment not in times:
            return
        for _ in range(min(slots.taken, times.count(slots.moment))):
            times.remove(slots.moment)
        if _replace_times(table, slots.key, item["version"]["N"], times):
            return


def release_slot(slot: Slot) -> None:
    """Take back one counted event (its request was refused after all). Best effort: a missed release only
    makes the limit stricter for a while."""
    release_slots(Slots(slot.key, slot.moment, 1))


def _replace_times(table: str, counter: str, version: str, times: list[float], *, expires: float | None = None) -> bool:
    """Write `times` over the item read, unless someone wrote it since."""
    values: dict[str, Any] = {
        ":times": {"L": [_n(moment) for moment in times]},
        ":one": {"N": "1"},
        ":version": {"N": version},
    }
    expression = "SET times = :times, version = version + :one"
    if expires is not None:
        expression += ", expires_at = :expires"
        values[":expires"] = {"N": str(int(expires) + 60)}
    try:
        aws.dynamodb().update_item(
            TableName=table,
            Key={"key": {"S": counter}},
            UpdateExpression=expression,
            ConditionExpression="version = :version",
            ExpressionAttributeValues=values,
        )
    except ClientError as exc:
        if conditional_failed(exc):
            return False
        raise
    return True


def _create_times(table: str, counter: str, times: list[float], *, expires: float) -> bool:
    """Create the counter with `times`, unless someone created it since it was read missing."""
    try:
        aws.dynamodb().put_item(
            TableName=table,
            Item={
                "key": {"S": counter},
                "times": {"L": [_n(moment) for moment in times]},
                "version": {"N": "1"},
                "expires_at": {"N": str(int(expires) + 60)},
            },
            ConditionExpression="attribute_not_exists(#k)",
            ExpressionAttributeNames={"#k": "key"},
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
