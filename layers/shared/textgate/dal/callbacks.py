"""The callbacks table: one item per Sumotext hit, written once, listed newest first through its indexes.

Listing is planned here (which index, which filter) and continued with opaque cursors that only the query
that handed them out accepts.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from textgate import aws
from textgate.callback_hits import CallbackHit
from textgate.dal import conditional_failed
from textgate.settings import get_settings

# index -> its partition key attribute; every index sorts on received_sk
INDEXES = {"by_mobile": "mobile", "by_kind": "kind", "by_poll_keyword": "poll_key"}
# A filtered query may skip many items: read more per call, and never more than this many calls per page.
_FILTERED_READ = 100
_MAX_READS = 10


class InvalidStartKey(ValueError):
    """DynamoDB refused the start key of a query (a cursor that does not belong to it)."""


class InvalidCursor(ValueError):
    """A cursor that this query did not hand out."""


@dataclass(frozen=True)
class QueryPlan:
    index: str
    partition_value: str
    filters: dict[str, str] = field(default_factory=dict)


def plan(*, mobile: str | None, kind: str | None, poll_key: str | None) -> QueryPlan:
    """The narrowest index for the query, and what is left to filter. Needs `mobile`, `kind` or `poll_key`."""
    if poll_key is not None:
        return QueryPlan("by_poll_keyword", poll_key, {"mobile": mobile} if mobile else {})
    if mobile is not None:
        return QueryPlan("by_mobile", mobile, {"kind": kind} if kind else {})
    if kind is not None:
        return QueryPlan("by_kind", kind)
    raise ValueError("a query needs mobile, kind or a poll key")


def encode_cursor(index: str, key: Mapping[str, str]) -> str:
    raw = json.dumps({"i": index, "k": dict(key)}, ensure_ascii=False, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_cursor(cursor: str, query: QueryPlan, since_sk: str | None) -> dict[str, str]:
    """The start key inside a cursor, if it is one this same query handed out."""
    try:
        raw = base64.b64decode(cursor + "=" * (-len(cursor) % 4), altchars=b"-_", validate=True)
        data = json.loads(raw)
    except (binascii.Error, ValueError, RecursionError):
        raise InvalidCursor(cursor) from None
    partition = INDEXES[query.index]
    key = data.get("k") if isinstance(data, dict) else None
    if (
        not isinstance(key, dict)
        or data.get("i") != query.index
        or set(key) != {"id", partition, "received_sk"}
        or not all(isinstance(value, str) and 0 < len(value) <= 2048 for value in key.values())
        or key[partition] != query.partition_value
        or (since_sk is not None and key["received_sk"] < since_sk)
    ):
        raise InvalidCursor(cursor)
    return key


def _table() -> str:
    return get_settings().callbacks_table


def to_item(hit: CallbackHit, *, expires_at: int) -> dict[str, Any]:
    item: dict[str, Any] = {
        "id": {"S": hit.id},
        "kind": {"S": hit.kind},
        "received_at": {"S": hit.received_at},
        "received_sk": {"S": hit.received_sk},
        "source_ip": {"S": hit.source_ip},
        "method": {"S": hit.method},
        "fields": {"S": json.dumps(hit.fields, ensure_ascii=False)},
        "params": {"S": json.dumps(hit.params, ensure_ascii=False)},
        "expires_at": {"N": str(expires_at)},
    }
    if hit.raw_body is not None:
        item["raw_body"] = {"S": hit.raw_body}
        item["raw_body_truncated"] = {"BOOL": hit.raw_body_truncated}
    if hit.problem is not None:
        item["problem"] = {"S": hit.problem}
    # Index keys cannot be empty strings: a hit without a mobile (or a poll key) is left out of that index.
    if hit.mobile:
        item["mobile"] = {"S": hit.mobile}
    if hit.mobile_valid is not None:
        item["mobile_valid"] = {"BOOL": hit.mobile_valid}
    if hit.poll_key:
        item["poll_key"] = {"S": hit.poll_key}
    return item


def from_item(item: dict[str, Any]) -> CallbackHit:
    return CallbackHit(
        id=item["id"]["S"],
        kind=item["kind"]["S"],
        mobile=item["mobile"]["S"] if "mobile" in item else None,
        mobile_valid=item["mobile_valid"]["BOOL"] if "mobile_valid" in item else None,
        received_at=item["received_at"]["S"],
        received_sk=item["received_sk"]["S"],
        source_ip=item["source_ip"]["S"],
        method=item["method"]["S"],
        fields=json.loads(item["fields"]["S"]),
        params=json.loads(item["params"]["S"]),
        poll_key=item["poll_key"]["S"] if "poll_key" in item else None,
        raw_body=item["raw_body"]["S"] if "raw_body" in item else None,
        raw_body_truncated=item["raw_body_truncated"]["BOOL"] if "raw_body_truncated" in item else False,
        problem=item["problem"]["S"] if "problem" in item else None,
    )


def put_new(hit: CallbackHit, *, expires_at: int) -> bool:
    """Store the hit unless one with its id is there already (a repeat, even at the same moment): False then."""
    try:
        aws.dynamodb().put_item(
            TableName=_table(),
            Item=to_item(hit, expires_at=expires_at),
            ConditionExpression="attribute_not_exists(id)",
        )
    except ClientError as exc:
        if conditional_failed(exc):
            return False
        raise
    return True


def exists(hit_id: str) -> bool:
    answer = aws.dynamodb().get_item(
        TableName=_table(), Key={"id": {"S": hit_id}}, ConsistentRead=True, ProjectionExpression="id"
    )
    return "Item" in answer


def page_key(index: str, hit: CallbackHit) -> dict[str, str]:
    """The start key that continues a query of `index` after `hit`: the table key and the index keys."""
    partition = INDEXES[index]
    value = {"mobile": hit.mobile, "kind": hit.kind, "poll_key": hit.poll_key}[partition]
    return {"id": hit.id, partition: value or "", "received_sk": hit.received_sk}


def query(
    planned: QueryPlan, *, since_sk: str | None, limit: int, cursor: str | None
) -> tuple[list[CallbackHit], str | None]:
    """Up to `limit` hits, newest first, and the cursor to continue from (None at the end)."""
    start_key = decode_cursor(cursor, planned, since_sk) if cursor is not None else None
    try:
        hits, last = _query(
            planned.index,
            planned.partition_value,
            since_sk=since_sk,
            filters=planned.filters,
            limit=limit,
            start_key=start_key,
        )
    except InvalidStartKey:
        raise InvalidCursor(cursor or "") from None
    return hits, encode_cursor(planned.index, last) if last is not None else None


def _query(
    index: str,
    partition_value: str,
    *,
    since_sk: str | None,
    filters: dict[str, str],
    limit: int,
    start_key: dict[str, str] | None,
) -> tuple[list[CallbackHit], dict[str, str] | None]:
    """Up to `limit` hits of one index partition, newest first, and the key to continue from (None at the end).

    It reads one item beyond the page, so a full last page does not leave a cursor to an empty one.
    """
    names = {"#p": INDEXES[index]}
    values: dict[str, Any] = {":p": {"S": partition_value}}
    condition = "#p = :p"
    if since_sk is not None:
        condition += " AND #sk >= :since"
        names["#sk"] = "received_sk"
        values[":since"] = {"S": since_sk}
    request: dict[str, Any] = {
        "TableName": _table(),
        "IndexName": index,
        "KeyConditionExpression": condition,
        "ScanIndexForward": False,
    }
    if filters:
        clauses = []
        for position, (name, value) in enumerate(sorted(filters.items())):
            names[f"#f{position}"] = name
            values[f":f{position}"] = {"S": value}
            clauses.append(f"#f{position} = :f{position}")
        request["FilterExpression"] = " AND ".join(clauses)
    request["ExpressionAttributeNames"] = names
    request["ExpressionAttributeValues"] = values

    found: list[dict[str, Any]] = []
    key: dict[str, Any] | None = {name: {"S": value} for name, value in start_key.items()} if start_key else None
    for _ in range(_MAX_READS):
        wanted = limit + 1 - len(found)
        request["Limit"] = max(wanted, _FILTERED_READ) if filters else wanted
        if key is not None:
            request["ExclusiveStartKey"] = key
        try:
            answer = aws.dynamodb().query(**request)
        except ClientError as exc:
            if key is not None and exc.response.get("Error", {}).get("Code") == "ValidationException":
                raise InvalidStartKey("the start key does not belong to this query") from None
            raise
        found.extend(answer.get("Items", []))
        key = answer.get("LastEvaluatedKey")
        if len(found) > limit:
            page = [from_item(item) for item in found[:limit]]
            return page, page_key(index, page[-1])
        if key is None:
            return [from_item(item) for item in found], None
    # Read budget spent on a sparse filter: hand back what there is and where the reading stopped.
    return [from_item(item) for item in found], {name: value["S"] for name, value in (key or {}).items()} or None
