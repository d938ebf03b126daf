"""The suppression list: numbers (E.164) that asked not to be texted."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, NamedTuple

from botocore.exceptions import ClientError

from textgate import aws
from textgate.dal import batch_get, conditional_failed
from textgate.settings import get_settings


class SuppressionEntry(NamedTuple):  # not a dataclass: a tenth of the import time, at every cold start
    phone: str
    opted_out: bool
    source: str
    changed_by: str | None  # the client, or sumotext; None on records written before it was kept
    updated_at: float


class OwnedByRecipient(Exception):
    """The number was opted out by its recipient (a STOP): only the recipient can take it back."""


def _table() -> str:
    return get_settings().suppression_table


def get(phone: str, *, consistent: bool = True) -> SuppressionEntry | None:
    """`consistent=False` reads at half the price, and may miss a change made in the last second or so: only
    for a check that a consistent one repeats before anything is sent."""
    item = aws.dynamodb().get_item(TableName=_table(), Key={"phone": {"S": phone}}, ConsistentRead=consistent)
    if "Item" not in item:
        return None
    return _entry(item["Item"])


def is_opted_out(phone: str, *, consistent: bool = True) -> bool:
    entry = get(phone, consistent=consistent)
    return entry is not None and entry.opted_out


def opted_out_among(phones: Iterable[str], *, consistent: bool = True) -> set[str]:
    """The numbers of `phones` that are opted out, read with BatchGetItem: a batch's recipients in a round trip
    per hundred instead of one each. `consistent=False` as for `get`."""
    keys = [{"phone": {"S": phone}} for phone in dict.fromkeys(phones)]
    items = batch_get(_table(), keys, consistent=consistent, projection="phone, opted_out")
    return {str(item["phone"]["S"]) for item in items if item.get("opted_out", {}).get("BOOL")}


def change(
    phone: str, *, opted_out: bool, source: str, changed_by: str, now: float, recipient_source: str
) -> SuppressionEntry | None:
    """Write only what changes the list; None when the number is already in that state (or, opting in, was
    never listed). Conditional, so of two copies of the same STOP only one is a change.

    A STOP from the recipient (`source == recipient_source`) takes over an opt-out a client made, so that it
    is the recipient's from then on; an opt-in by anyone but the recipient raises `OwnedByRecipient` when the
    recipient made the opt-out."""
    values: dict[str, Any] = {":was": {"BOOL": not opted_out}}
    if opted_out:
        condition = "attribute_not_exists(phone) OR opted_out = :was"
        if source == recipient_source:
            condition += " OR #source <> :recipient"
    else:
        condition = "opted_out = :was"
        if source != recipient_source:
            condition += " AND #source <> :recipient"
    request: dict[str, Any] = {
        "TableName": _table(),
        "Item": {
            "phone": {"S": phone},
            "opted_out": {"BOOL": opted_out},
            "source": {"S": source},
            "changed_by": {"S": changed_by},
            "updated_at": {"N": repr(now)},
        },
        "ConditionExpression": condition,
        "ExpressionAttributeValues": values,
    }
    if "#source" in condition:
        request["ExpressionAttributeNames"] = {"#source": "source"}
        values[":recipient"] = {"S": recipient_source}
    try:
        aws.dynamodb().put_item(**request)
    except ClientError as exc:
        if not conditional_failed(exc):
            raise
        if not opted_out and source != recipient_source:
            current = get(phone)
            if current is not None and current.opted_out and current.source == recipient_source:
                raise OwnedByRecipient(phone) from None
        return None
    return SuppressionEntry(phone=phone, opted_out=opted_out, source=source, changed_by=changed_by, updated_at=now)


def _entry(item: dict[str, Any]) -> SuppressionEntry:
    return SuppressionEntry(
        phone=item["phone"]["S"],
        opted_out=item["opted_out"]["BOOL"],
        source=item["source"]["S"],
        changed_by=item["changed_by"]["S"] if "changed_by" in item else None,
        updated_at=float(item["updated_at"]["N"]),
    )
