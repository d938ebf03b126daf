"""Accepting operations (record first, then queue) and reading them back."""

from __future__ import annotations

from typing import Any

from textgate import clock, log
from textgate.dal import operations as records
from textgate.dal import queue
from textgate.errors import NotFound, ServiceUnavailable
from textgate.models import Operation, OperationError
from textgate.sms import SmsInfo

logger = log.get_logger(__name__)


def accept(
    *, client: str, operation: str, provider: str, payload: dict[str, Any], sms: SmsInfo | None = None
) -> Operation:
    """Record the operation, then queue it. If the queue refuses, the record ends `failed` and the caller
    gets a 503: an operation is never left `queued` with no message to move it."""
    accepted = Operation.new(operation=operation, provider=provider, client=client, payload=payload, sms=sms)
    records.create(accepted)
    token = log.bind(operation_id=accepted.id, operation=operation)
    try:
        queue.enqueue(provider, accepted.id)
    except Exception:
        logger.exception("could not queue the operation")
        records.fail_unsent(
            accepted.id,
            now=clock.now(),
            error=OperationError(code="queue_unavailable", message="the operation could not be queued", retryable=True),
        )
        raise ServiceUnavailable("the operation could not be queued; nothing was sent, try again") from None
    finally:
        log.unbind(token)
    logger.info("operation accepted", extra={"operation_id": accepted.id, "operation": operation})
    return accepted


def get_for_client(client: str, operation_id: str) -> Operation:
    """Another client's operation answers exactly as a missing one does."""
    found = records.get(operation_id) if operation_id.startswith("op_") else None
    if found is None or found.client != client:
        raise NotFound(f"no operation {operation_id}")
    return found
