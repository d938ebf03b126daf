"""The callbacks table: one item per Sumotext hit, written once, listed newest first through its indexes."""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

from textgate import aws
from textgate.dal import conditional_failed
from textgate.schemas.sumotext import CallbackHit
from textgate.settings import get_settings

# index -> its partition key attribute; every index sorts on received_sk
INDEXES = {"by_mobile": "mobile", "by_kind": "kind", "by_poll_keyword": "poll_key"}
# A filtered query may skip many items: read more per call, and never more than this many calls per page.
_FILTERED_READ = 100
_MAX_READS = 10


class InvalidStartKey(ValueError):
    """DynamoDB refused the start key of a query (a cursor that does not belong to it)."""


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
