"""Reading batches: a batch counted by status, and its operations a page at a time. Apart from accepting them
(`logic.batches`), so the functions that only read a batch import none of the accepting machinery."""

from __future__ import annotations

import base64
import binascii
import json
from collections import Counter
from typing import TYPE_CHECKING, Any

from textgate import clock, log
from textgate.dal import batches as batch_records
from textgate.dal import operations as records
from textgate.errors import NotFound, ValidationFailed
from textgate.models import batch_operation_id

if TYPE_CHECKING:  # the function validates with it
    from textgate.schemas.batches import BatchOperationsQuery

logger = log.get_logger(__name__)


def _batch_for_client(client: str, batch_id: str) -> batch_records.BatchRecord:
    """Another client's batch answers exactly as a missing one does."""
    found = batch_records.get(batch_id) if batch_id.startswith("bat_") else None
    if found is None or found.client != client:
        raise NotFound(f"no batch {batch_id}")
    return found


def get(client: str, batch_id: str) -> dict[str, Any]:
    """The batch with its operations counted by status (read from the operations, eventually consistent)."""
    batch = _batch_for_client(client, batch_id)
    counts = batch.final_counts
    if counts is None:
        ids = [batch_operation_id(batch.id, index) for index in batch.operation_indexes()]
        statuses = records.statuses(ids).values()
        counts = dict(Counter(status.value for status in statuses))
        if len(statuses) == len(ids) and all(status.final for status in statuses):
            try:
                batch_records.keep_final_counts(batch.id, counts)
            except Exception:  # only a saving: the next read counts again
                logger.exception("could not keep a finished batch's counts")
    return {
        "id": batch.id,
        "operation": batch.operation,
        "accepted": batch.accepted,
        "refused": len(batch.refused),
        "created_at": clock.rfc3339(batch.created_at),
        "counts": dict(sorted(counts.items())),
    }


def list_operations(client: str, batch_id: str, query: BatchOperationsQuery) -> dict[str, Any]:
    """A page of the batch's operations, newest first (the last items were created last), optionally of one
    status. The cursor is opaque: the position to continue below."""
    batch = _batch_for_client(client, batch_id)
    indexes = batch.operation_indexes()[::-1]
    start = _position(query.cursor, batch.id) if query.cursor else 0
    page: list[dict[str, Any]] = []
    position = start
    while position < len(indexes) and len(page) < query.limit:
        # Without a filter a page reads exactly its operations; with one, chunks of 100 until the page is full.
        chunk = indexes[position : position + (query.limit - len(page) if query.status is None else 100)]
        found = records.get_many([batch_operation_id(batch.id, index) for index in chunk], consistent=False)
        for offset, index in enumerate(chunk):
            operation = found.get(batch_operation_id(batch.id, index))
            if operation is not None and (query.status is None or operation.status is query.status):
                page.append(operation.public())
                if len(page) == query.limit:
                    position += offset + 1
                    break
        else:
            position += len(chunk)
    more = position < len(indexes)
    return {"items": page, "next_cursor": _cursor(position, batch.id) if more else None}


def _cursor(position: int, batch_id: str) -> str:
    raw = json.dumps({"b": batch_id, "p": position}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _position(cursor: str, batch_id: str) -> int:
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        position = data["p"]
        if data["b"] != batch_id or not isinstance(position, int) or position < 0:
            raise ValueError
    except (ValueError, TypeError, KeyError, binascii.Error):
        raise ValidationFailed(
            "invalid cursor", errors=[{"field": "cursor", "message": "is not a next_cursor of this batch"}]
        ) from None
    return position
