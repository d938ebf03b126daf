"""The suppression list: numbers (E.164) that asked not to be texted."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from textgate import aws
from textgate.dal import conditional_failed
from textgate.settings import get_settings


@dataclass(frozen=True)
class SuppressionEntry:
    phone: str
    opted_out: bool
    source: str
    updated_at: float


def _table() -> str:
    return get_settings().suppression_table


def get(phone: str) -> SuppressionEntry | None:
    item = aws.dynamodb().get_item(TableName=_table(), Key={"phone": {"S": phone}}, ConsistentRead=True)
    if "Item" not in item:
        return None
    return _entry(item["Item"])


def is_opted_out(phone: str) -> bool:
    entry = get(phone)
    return entry is not None and entry.opted_out


def change(phone: str, *, opted_out: bool, source: str, now: float) -> SuppressionEntry | None:
    """Write only what changes the list; None when the number is already in that state (or, opting in, was
    never listed). Conditional, so of two copies of the same STOP only one is a change."""
    condition = "attribute_not_exists(phone) OR opted_out = :was" if opted_out else "opted_out = :was"
    try:
        aws.dynamodb().put_item(
            TableName=_table(),
            Item={
                "phone": {"S": phone},
                "opted_out": {"BOOL": opted_out},
                "source": {"S": source},
                "updated_at": {"N": repr(now)},
            },
            ConditionExpression=condition,
            ExpressionAttributeValues={":was": {"BOOL": not opted_out}},
        )
    except ClientError as exc:
        if conditional_failed(exc):
            return None
        raise
    return SuppressionEntry(phone=phone, opted_out=opted_out, source=source, updated_at=now)


def _entry(item: dict[str, Any]) -> SuppressionEntry:
    return SuppressionEntry(
        phone=item["phone"]["S"],
        opted_out=item["opted_out"]["BOOL"],
        source=item["source"]["S"],
        updated_at=float(item["updated_at"]["N"]),
    )
