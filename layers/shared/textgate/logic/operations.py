"""Accepting operations (record first, then queue) and reading them back."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textgate import clock, log, metrics, registry
from textgate.dal import limits, queue, schedules
from textgate.dal import operations as records
from textgate.errors import InternalError, NotCancelable, NotFound, ServiceUnavailable
from textgate.logic import idempotency, recipients, scheduling
from textgate.logic.outcomes import announce, ensure_callback_queued
from textgate.models import QUEUE_UNAVAILABLE, Operation, OperationError, Status
from textgate.payloads import Payload
from textgate.registry import OperationName
from textgate.sms import SmsInfo

logger = log.get_logger(__name__)
# EventBridge Scheduler invokes a target within the minute of its time.
SCHEDULER_PRECISION_SECONDS = 60.0


def accept(
    *,
    client: str,
    operation: OperationName,
    payload: Payload,
    sms: SmsInfo | None = None,
    take_limits: Callable[[str], list[limits.Slot]] | None = None,
    status_callback: str | None = None,
    send_at: str | None = None,
    purpose: str | None = None,
) -> Operation:
    """Protect the recipient, record the operation, then queue it (or schedule it).

    A text to a handset is refused for a number on the suppression list (422), and counts against the
    recipient's daily limit (429); `take_limits` takes the operation's own limits (PINs per hour) once the
    list has allowed it. A request refused at any step counts against no limit.

    A send for later (`send_at`, or marketing inside the recipient's quiet hours) is recorded `scheduled` and
    given a one-time schedule. Its daily-limit slot is taken when it fires, not now: the limit is about the
    texts a handset receives in 24 hours, and a slot taken days ahead would count in the wrong window. The
    suppression list is asked now and again when it fires.

    If the queue refuses, the record ends `failed` and the caller gets a 503: an operation is never left
    `queued` with no message to move it. Under an Idempotency-Key the operation id is the one the key reserved,
    so a retry of a request that already got this far finds its operation instead of creating a second one.
    `status_callback` (validated by the request model) is where the final status will be POSTed."""
    stored = payload.stored()
    plan = scheduling.plan(operation, stored, clock.now(), send_at=send_at, purpose=purpose)
    handset = recipients.texted_handset(operation, stored)
    slots: list[limits.Slot] = []
    if handset is not None:
        recipients.ensure_may_text(handset)
    try:
        if take_limits is not None and handset is not None:
            slots.extend(take_limits(handset.number))
        if handset is not None and plan.send_at is None:
            slots.append(recipients.take_daily_slot(handset.number, clock.now()))
        accepted, created = _record_and_queue(
            client, operation, stored, sms, plan=plan, status_callback=status_callback
        )
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
    client: str,
    operation: OperationName,
    payload: dict[str, Any],
    sms: SmsInfo | None,
    *,
    plan: scheduling.SendPlan,
    status_callback: str | None,
) -> tuple[Operation, bool]:
    """(the operation, whether this call created it)."""
    proposed = Operation.new(
        operation=operation,
        client=client,
        payload=payload,
        sms=sms,
        operation_id=idempotency.reserved_operation_id(),
        send_at=plan.send_at,
        purpose=plan.purpose,
        deferred_for=plan.deferred_for,
        status_callback=status_callback,
    )
    accepted = records.create(proposed)
    if accepted.client != client or accepted.operation != operation:
        raise InternalError("an operation id was reused")  # never hand out another request's record
    token = log.bind(operation_id=accepted.id, operation=operation)
    try:
        if accepted.status is Status.SCHEDULED and accepted.send_at is not None:
            # Creating a schedule that exists is a no-op (it is named after the operation).
            _schedule_or_fail(accepted, accepted.send_at)
        elif accepted is proposed or accepted.status is Status.QUEUED:
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


def _schedule_or_fail(operation: Operation, send_at: float) -> None:
    try:
        schedule(operation, send_at)
        return
    except Exception:
        logger.exception("could not schedule the operation")
    _fail_unqueued(operation)


def schedule(operation: Operation, send_at: float) -> None:
    """Give a scheduled operation its way to the queue at `send_at` (a route's, a batch item's)."""
    wait = send_at - clock.now()
    if wait < SCHEDULER_PRECISION_SECONDS:
        # Quiet hours that end within the minute: Scheduler fires within the minute of its `at()` anyway
        # (and one in the past may be refused), so the queue's own delay carries it; delivery still finds
        # it `scheduled` and asks the recipient again.
        queue.enqueue(operation.provider, operation.id, delay_seconds=wait)
    else:
        schedules.create(operation.id, operation.provider, send_at)


def _enqueue_or_fail(operation: Operation) -> None:
    try:
        queue.enqueue(operation.provider, operation.id)
        return
    except Exception:
        logger.exception("could not queue the operation")
    _fail_unqueued(operation)


def _fail_unqueued(operation: Operation) -> None:
    if fail_unqueued(operation.id) is not None:
        raise ServiceUnavailable("the operation could not be queued; nothing was sent, try again")


def fail_unqueued(operation_id: str) -> Operation | None:
    """End `failed` an operation whose message (or schedule) could not be stored, and announce it: the route's
    and a batch item's way, so no operation waits `queued` for a message that never comes. None when delivery
    already moved it (SQS stored the message after all, only its answer was lost): it is under way, and the
    caller must not be told to try again."""
    failed = records.fail_unsent(
        operation_id,
        now=clock.now(),
        error=OperationError(code=QUEUE_UNAVAILABLE, message="the operation could not be queued", retryable=True),
    )
    if failed is None:
        # Our own write may have gone through with only its answer lost (botocore's retry then found the
        # condition gone): the record says whose end it is.
        latest = records.get(operation_id)
        if latest is None or latest.status is not Status.FAILED or latest.error is None:
            return None
        if latest.error.code != QUEUE_UNAVAILABLE:
            return None
        failed = latest
    announce(failed)
    return failed


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


def _drop_schedule(operation: Operation) -> None:
    if operation.send_at is None:
        return
    try:
        schedules.delete(operation.id)
    except Exception:  # if it fires anyway, delivery finds the operation canceled and drops the message
        logger.exception("could not delete the operation's schedule")


def cancel(client: str, operation_id: str) -> Operation:
    """scheduled|queued|retrying -> canceled, its schedule deleted and its end announced like any other.

    Race-free against delivery: the cancel and the delivery's claim are conditional writes on the same record,
    so exactly one of them wins. Once canceled, a message already on the queue finds a final record and is
    dropped; once claimed, the cancel finds `sending` and answers 409. A daily-limit slot taken at accept is
    not given back: the slot's time is not kept on the record, and a stricter limit never texts anyone."""
    found = get_for_client(client, operation_id)
    canceled = records.cancel(found.id, now=clock.now())
    if canceled is None:
        latest = records.get(found.id) or found
        if latest.status is Status.CANCELED:
            # Canceled before, maybe by this very request (its write went through and only the answer was lost,
            # or its callback could not be queued): make sure of what a cancel leaves behind.
            _drop_schedule(latest)
            ensure_callback_queued(latest)
        raise NotCancelable(
            f"the operation is {latest.status.value}: only scheduled, queued or retrying ones can be canceled"
        )
    _drop_schedule(canceled)
    # The one path by which an operation's end is counted, published and called back (no delivery latency).
    if not announce(canceled):
        # Nothing else will queue it (no message of this operation is left to come back): the caller's retry,
        # which finds it canceled, does.
        raise ServiceUnavailable("the operation is canceled, but its status callback could not be queued; try again")
    logger.info("operation canceled", extra={"operation_id": canceled.id, "operation": canceled.operation})
    return canceled
