"""Accepting operations (record first, then queue) and reading them back."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textgate import clock, log, metrics, registry
from textgate.dal import events, limits, queue
from textgate.dal import operations as records
from textgate.errors import InternalError, NotFound, ServiceUnavailable
from textgate.logic import idempotency, recipients
from textgate.models import Operation, OperationError, Status
from textgate.payloads import Payload
from textgate.registry import OperationName
from textgate.sms import SmsInfo

logger = log.get_logger(__name__)


def accept(
    *,
    client: str,
    operation: OperationName,
    payload: Payload,
    sms: SmsInfo | None = None,
    take_limits: Callable[[str], list[limits.Slot]] | None = None,
) -> Operation:
    """Protect the recipient, record the operation, then queue it.

    A text to a handset is refused for a number on the suppression list (422), and counts against the
    recipient's daily limit (429); `take_limits` takes the operation's own limits (PINs per hour) once the
    list has allowed it. A request refused at any step counts against no limit.

    If the queue refuses, the record ends `failed` and the caller gets a 503: an operation is never left
    `queued` with no message to move it. Under an Idempotency-Key the operation id is the one the key reserved,
    so a retry of a request that already got this far finds its operation instead of creating a second one."""
    stored = payload.stored()
    handset = recipients.texted_handset(operation, stored)
    slots: list[limits.Slot] = []
    if handset is not None:
        recipients.ensure_may_text(handset)
    try:
        if take_limits is not None and handset is not None:
            slots.extend(take_limits(handset.number))
        if handset is not None:
            slots.append(recipients.take_daily_slot(handset.number, clock.now()))
        accepted, created = _record_and_queue(client, operation, stored, sms)
    except Exception:
        _release(slots)
        raise
    if created:
        metrics.accepted(operation)
    else:
        _release(slots)  # the operation was accepted before (a retry under the same key): count it once
    logger.info("operation accepted", extra={"operation_id": accepted.id, "operation": operation})
    return accepted


def _record_and_queue(
    client: str, operation: OperationName, payload: dict[str, Any], sms: SmsInfo | None
) -> tuple[Operation, bool]:
    """(the operation, whether this call created it)."""
    proposed = Operation.new(
        operation=operation,
        client=client,
        payload=payload,
        sms=sms,
        operation_id=idempotency.reserved_operation_id(),
    )
    accepted = records.create(proposed)
    if accepted.client != client or accepted.operation != operation:
        raise InternalError("an operation id was reused")  # never hand out another request's record
    token = log.bind(operation_id=accepted.id, operation=operation)
    try:
        if accepted is proposed or accepted.status is Status.QUEUED:
            # A second message for an operation already queued is harmless: delivery acts on it once.
            _enqueue_or_fail(accepted)
    finally:
        log.unbind(token)
    return accepted, accepted is proposed


def _release(slots: list[limits.Slot]) -> None:
    for slot in slots:
        try:
            limits.release_slot(slot)
        except Exception:  # the answer to the caller matters more; a missed release only delays their next send
            logger.exception("could not give back a limit slot")


def _enqueue_or_fail(operation: Operation) -> None:
    try:
        queue.enqueue(operation.provider, operation.id)
        return
    except Exception:
        logger.exception("could not queue the operation")
    failed = records.fail_unsent(
        operation.id,
        now=clock.now(),
        error=OperationError(code="queue_unavailable", message="the operation could not be queued", retryable=True),
    )
    if failed is None:
        # SQS stored the message after all (only its answer was lost) and delivery already moved the record:
        # the operation is under way, so the caller must not be told to try again.
        return
    metrics.outcome("failed", failed.provider, failed.operation)
    events.publish("operation.failed", failed.public())
    raise ServiceUnavailable("the operation could not be queued; nothing was sent, try again")


def accept_document(client: str, operation: OperationName, document: dict[str, Any]) -> Operation:
    """Start `operation` from a JSON document (an EventBridge trigger's detail, one request of a batch), exactly as
    its HTTP route would: its row's `accept_document`, else its request model validates the document and its
    acceptor takes it. Only this operation's models and logic are imported, the first time it is started."""
    from textgate.validation import validate  # noqa: PLC0415 - not for delivery, which imports this module

    row = registry.spec(operation)
    if row.accept_document is not None:
        from_document: Operation = registry.load(row.accept_document)(client, document)
        return from_document
    accepted: Operation = registry.load(row.accept)(client, validate(registry.load(row.request), document))
    return accepted


def get_for_client(client: str, operation_id: str) -> Operation:
    """Another client's operation answers exactly as a missing one does."""
    found = records.get(operation_id) if operation_id.startswith("op_") else None
    if found is None or found.client != client:
        raise NotFound(f"no operation {operation_id}")
    return found
