"""Batch records: one small item per batch, kept in the operations table beside its operations (id `bat_…`).

A batch's operations are not listed in it: their ids derive from the batch id and their index
(`models.batch_operation_id`), so the record keeps only which indexes were refused. Counts and pages are read from
the operations themselves (see docs/cost.md: nothing is written per transition to keep them); once every
operation is final the counts are kept on the record, since they cannot change any more.
"""

from __future__ import annotations

import json
from typing import Any, NamedTuple

from textgate import aws
from textgate.settings import get_settings


class BatchRecord(NamedTuple):  # not a dataclass: a tenth of the import time, at every cold start
    id: str
    client: str
    operation: str
    created_at: float
    size: int  # items in the request
    refused: tuple[int, ...]  # indexes of the items that did not become operations, ascending
    final_counts: dict[str, int] | None = None  # kept once every operation is final: they never change again

    @property
    def accepted(self) -> int:
        return self.size - len(self.refused)

    def operation_indexes(self) -> list[int]:
        """The indexes that became operations, ascending."""
        refused = set(self.refused)
        return [index for index in range(self.size) if index not in refused]


def _table() -> str:
    return get_settings().operations_table


def put(batch: BatchRecord) -> None:
    """Write (or, when a retry finishes an interrupted batch, rewrite) the batch's record."""
    settings = get_settings()
    aws.dynamodb().put_item(
        TableName=_table(),
        Item={
            "id": {"S": batch.id},
            "client": {"S": batch.client},
            "operation": {"S": batch.operation},
            "created_at": {"N": repr(batch.created_at)},
            "size": {"N": str(batch.size)},
            "refused": {"S": json.dumps(list(batch.refused), separators=(",", ":"))},
            "expires_at": {"N": str(int(batch.created_at + settings.operation_retention_days * 86_400))},
        },
    )


def keep_final_counts(batch_id: str, counts: dict[str, int]) -> None:
    """Remember the counts of a batch whose operations are all final, so later reads need not count them."""
    aws.dynamodb().update_item(
        TableName=_table(),
        Key={"id": {"S": batch_id}},
        UpdateExpression="SET final_counts = :counts",
        ConditionExpression="attribute_exists(id)",
        ExpressionAttributeValues={":counts": {"S": json.dumps(counts, separators=(",", ":"))}},
    )


def get(batch_id: str) -> BatchRecord | None:
    answer: Any = aws.dynamodb().get_item(TableName=_table(), Key={"id": {"S": batch_id}}, ConsistentRead=True)
    item = answer.get("Item")
    if item is None or "size" not in item:
        return None
    return BatchRecord(
        id=item["id"]["S"],
        client=item["client"]["S"],
        operation=item["operation"]["S"],
        created_at=float(item["created_at"]["N"]),
        size=int(item["size"]["N"]),
        refused=tuple(json.loads(item["refused"]["S"])),
        final_counts=json.loads(item["final_counts"]["S"]) if "final_counts" in item else None,
    )
