"""Delivery: SQS batches in, provider calls out, every operation moved by conditional writes.

Per message, the claim comes first (queued|retrying and due -> sending, one conditional write that answers with
the record whether it wins or not), and exactly one worker calls the provider. When the claim fails:
- a final operation is acknowledged and never sent again;
- `sending` past its lease means a worker died mid-call: it ends `unknown` (the provider may have acted);
- one not due yet is put back on the queue for its time;
- a `scheduled` one is a schedule that fired: its recipient is asked again (suppression list, daily limit), it
  becomes `queued` and is claimed like any other.
A claimed marketing send that reaches delivery inside the recipient's quiet hours is given back (`queued`, its
attempt refunded) and waits on the queue until they end: no provider is handed it at night.

Retries and rate-limit pauses put a new, delayed message on the queue and acknowledge the old one, so SQS's
receive count (and with it the dead-letter queue) only ever counts crashes and poison messages.
Calls within a batch run concurrently; a failed message is reported back alone (partial batch failure). Each
call runs in its own copy of the invocation's context: it logs with the invocation's keys plus its own operation
id (the correlation id of its lines), and its metrics join the invocation's batch.

Each provider's function delivers its own queue with `DeliveryConfig.of(Provider.X)`: the executor (and, for a
PIN, the protector) of each of the provider's operations, as their rows in `textgate.registry` name them.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from textgate import clock, invocation, log, metrics, operation_context, registry, retry
from textgate.dal import limits, queue
from textgate.dal import operations as records
from textgate.errors import RecipientLimitReached
from textgate.executors import NotAttempted
from textgate.logic import outcomes, scheduling
from textgate.logic.outcomes import ensure_callback_queued
from textgate.logic.recipients import handset, opted_out_now, take_daily_slot, texted_handset
from textgate.models import Operation, OperationError, Status
from textgate.payloads import Unreadable
from textgate.providers.outcome import ProviderOutcome, Verdict
from textgate.registry import OperationName, Provider
from textgate.settings import get_settings

logger = log.get_logger(__name__)

Executor = Callable[[Operation], ProviderOutcome]
Protect = Callable[[Operation, dict[str, Any]], dict[str, str | float]]
# Longer than a delivery function may run (its timeout): a live worker never loses its claim.
LEASE_SECONDS = 120.0
# A schedule that fires this much before its send_at is early (clocks differ): its message waits for the time.
_EARLY_SECONDS = 1.0

_pool: ThreadPoolExecutor | None = None


@dataclass(frozen=True)
class DeliveryConfig:
    """What one provider's delivery function sends: its operations' executors, from the registry."""

    provider: Provider
    executors: dict[OperationName, Executor]
    # Per operation: turns private outcome fields into what may be stored (for example a PIN into its keyed hash).
    protectors: dict[OperationName, Protect] = field(default_factory=dict)
    # Whether the provider announces a spent allowance (pause_for): only then is the pause worth a read.
    pausable: bool = False

    @classmethod
    def of(cls, provider: Provider, *, pausable: bool = False) -> DeliveryConfig:
        """The provider's operations, as the registry names them, resolved now: at the function's import (its
        init), as its executors were always imported, and never another provider's modules."""
        rows = registry.of_provider(provider)
        return cls(
            provider=provider,
            executors={row.name: registry.load(row.execute) for row in rows},
            protectors={row.name: registry.load(row.protect) for row in rows if row.protect is not None},
            pausable=pausable,
        )


def handle_batch(event: dict[str, Any], config: DeliveryConfig) -> dict[str, Any]:
    records_in = event.get("Records") or []
    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(max_workers=get_settings().delivery_concurrency, thread_name_prefix="delivery")
    # One copy of the context per message: a context cannot be entered by two threads at once.
    calls = [invocation.run_in_copy(_safe_deliver) for _ in records_in]
    results = list(_pool.map(lambda call, record: call(record, config), calls, records_in))
    failures = [
        {"itemIdentifier": record["messageId"]}
        for record, delivered in zip(records_in, results, strict=True)
        if not delivered
    ]
    return {"batchItemFailures": failures}


def _safe_deliver(record: dict[str, Any], config: DeliveryConfig) -> bool:
    try:
        return deliver_message(record.get("body", ""), config)
    except Exception:
        logger.exception("delivery failed; the message will be received again")
        return False


def deliver_message(body: str, config: DeliveryConfig) -> bool:
    """True when the message may be deleted: the operation is final or its next step is queued."""
    operation_id = queue.operation_id_of(body)
    if operation_id is None:
        logger.error("message names no operation; it will reach the dead-letter queue")
        return False
    token = log.bind(operation_id=operation_id, correlation_id=operation_id)
    try:
        return _deliver(operation_id, config)
    finally:
        log.unbind(token)


def _deliver(operation_id: str, config: DeliveryConfig) -> bool:
    now = clock.now()
    resume_at = limits.paused_until(config.provider) if config.pausable else 0.0
    if resume_at > now:
        # The provider said its allowance is spent: wait, without spending an attempt.
        metrics.provider_paused(config.provider)
        return _requeue(operation_id, config.provider, resume_at - now)
    # The claim is the first and, when it wins, the only read: the conditional write answers with the record,
    # and when its condition fails, with the record as it stood.
    answer = records.claim_or_current(operation_id, now=now, lease_seconds=LEASE_SECONDS)
    claimed = answer.claimed
    if claimed is None:
        return _not_claimed(operation_id, answer.current, now, config)
    if claimed.marketing:
        allowed = scheduling.not_before(claimed.operation, claimed.payload, claimed.purpose, now)
        if allowed is None or allowed > now:
            return _hold_for_quiet_hours(claimed, allowed, now, config)
    if opted_out_now(claimed.operation, claimed.payload):
        # Nothing is sent, so the attempt the claim counted is given back.
        ended = records.finish(
            operation_id,
            attempt=claimed.attempts,
            status=Status.FAILED,
            now=now,
            error=OperationError(code="recipient_opted_out", message="the recipient opted out after this was queued"),
            refund_attempt=True,
        )
        return _announce(ended, operation_id)
    # At DEBUG: the line after the answer says it all once; a call that never ended shows as `sending`.
    logger.debug("calling the provider", extra={"attempt": claimed.attempts, "operation": claimed.operation})
    outcome = _call(config, claimed)
    settled = _settle(claimed, outcome, config)
    if outcome.pause_for:
        _pause(config.provider, outcome.pause_for)
    return settled


def _not_claimed(operation_id: str, current: Operation | None, now: float, config: DeliveryConfig) -> bool:
    """The claim's condition failed: act on the record as the failed write saw it."""
    if current is None:
        logger.error("message names an operation that does not exist")
        return False
    if current.status.final:
        return ensure_callback_queued(current)  # its callback's first message may not have been queued
    if current.status is Status.SCHEDULED:
        if current.send_at is not None and current.send_at - now > _EARLY_SECONDS:
            return _requeue(operation_id, config.provider, current.send_at - now)
        if _fire(current, now) is None:
            # It ended here or meanwhile: its callback is queued, or this message comes back until it is.
            latest = records.get(operation_id)
            return latest is None or ensure_callback_queued(latest)
        return _deliver(operation_id, config)  # queued now: claimed like any queued send
    if current.status is Status.SENDING:
        if current.lease_until is not None and current.lease_until < now:
            ended = records.expire_lease(
                operation_id,
                now=now,
                error=OperationError(
                    code="delivery_interrupted",
                    message="the delivery worker stopped while the provider was being called; "
                    "it may or may not have acted",
                ),
            )
            return _announce(ended, operation_id)
        return False  # another worker holds it; look again when this message comes back
    # Not due yet (a copy of a message whose delayed successor is queued, or SQS a little ahead): its time.
    return _requeue(operation_id, config.provider, (current.next_attempt_at or now) - now)


def _fire(operation: Operation, now: float) -> Operation | None:
    """A schedule fired. The recipient is asked again, then the record moves scheduled -> queued. The daily-limit
    slot of a scheduled send is taken now, when it is texted; given back if the operation was canceled in
    between. None when it ended here or meanwhile."""
    if opted_out_now(operation.operation, operation.payload):
        _end_unsent(
            operation.id,
            now,
            OperationError(code="recipient_opted_out", message="the recipient opted out before its send_at"),
        )
        return None
    found = texted_handset(operation.operation, operation.payload)
    slot: limits.Slot | None = None
    if found is not None:
        try:
            slot = take_daily_slot(found.number, now)
        except RecipientLimitReached as refused:
            _end_unsent(operation.id, now, OperationError(code="recipient_limit_reached", message=refused.detail))
            return None
    released = records.release_scheduled(operation.id, now=now)
    if released is not None:
        return released
    if slot is not None:
        try:
            limits.release_slot(slot)
        except Exception:  # a missed release only makes the limit stricter for a while
            logger.exception("could not give back a limit slot")
    latest = records.get(operation.id)  # canceled, or another copy of this message got here first
    return latest if latest is not None and not latest.status.final else None


def _end_unsent(operation_id: str, now: float, error: OperationError) -> bool:
    """Fail an operation that no provider was handed (its recipient may not be texted); the message is done."""
    ended = records.fail_unsent(operation_id, now=now, error=error)
    return _announce(ended, operation_id)


def _hold_for_quiet_hours(claimed: Operation, allowed: float | None, now: float, config: DeliveryConfig) -> bool:
    """A marketing send claimed inside the recipient's quiet hours: not handed to the provider. It goes back to
    `queued` (its attempt refunded), due when they end; never, for a number whose zones are never all outside
    them, ends it `failed` unsent."""
    if allowed is None:
        ended = records.finish(
            claimed.id,
            attempt=claimed.attempts,
            status=Status.FAILED,
            now=now,
            error=OperationError(
                code="quiet_hours", message="the recipient's time zones are never all outside quiet hours"
            ),
            refund_attempt=True,
        )
        return _announce(ended, claimed.id)
    held = records.hold(claimed.id, attempt=claimed.attempts, now=now, until=allowed)
    if held is None:
        latest = records.get(claimed.id)
        if latest is None or latest.status.final:
            return True
    return _requeue(claimed.id, config.provider, allowed - now)


def _pause(provider: Provider, seconds: float) -> None:
    """Best effort: a missed pause costs at most a rate-limited answer, which delays without failing."""
    try:
        limits.pause(provider, until=clock.now() + seconds)
    except Exception:
        logger.exception("could not record the provider's pause")


def _call(config: DeliveryConfig, operation: Operation) -> ProviderOutcome:
    execute = config.executors.get(operation.operation)
    if execute is None:
        # On another provider's queue (a record this function cannot send): nothing was sent.
        return ProviderOutcome.transient("not_attempted", f"no {config.provider} executor for {operation.operation}")
    try:
        with operation_context.working_on(operation.operation):
            return execute(operation)
    except NotAttempted as exc:
        return ProviderOutcome.transient("not_attempted", str(exc))
    except Unreadable as exc:
        # Nothing was sent, and a payload that cannot be read now never will be.
        return ProviderOutcome.rejected("invalid_payload", str(exc))
    except Exception:
        logger.exception("the provider call raised")
        # We cannot tell whether the request left: never risk a second send.
        return ProviderOutcome.unknown("delivery_error", "the delivery failed unexpectedly during the call")


def _settle(operation: Operation, outcome: ProviderOutcome, config: DeliveryConfig) -> bool:
    settings = get_settings()
    now = clock.now()
    attempt = operation.attempts
    logger.info(
        "provider answered",
        extra={
            "attempt": attempt,
            "operation": operation.operation,
            "verdict": outcome.verdict.value,
            "code": outcome.code,
            "http_status": outcome.http_status,
        },
    )
    if outcome.verdict is Verdict.SUCCEEDED:
        protect = config.protectors.get(operation.operation)
        private = protect(operation, outcome.private) if protect is not None and outcome.private else {}
        ended = records.finish(
            operation.id,
            attempt=attempt,
            status=Status.SUCCEEDED,
            now=now,
            result=outcome.result or {},
            private=private,
        )
    elif outcome.verdict is Verdict.REJECTED:
        _learn_opt_out(operation, outcome)
        ended = records.finish(
            operation.id, attempt=attempt, status=Status.FAILED, now=now, error=_error(outcome, retryable=False)
        )
    elif outcome.verdict is Verdict.UNKNOWN:
        ended = records.finish(
            operation.id, attempt=attempt, status=Status.UNKNOWN, now=now, error=_error(outcome, retryable=False)
        )
    elif outcome.verdict is Verdict.RATE_LIMITED:
        metrics.provider_paused(config.provider)
        wait = max(1.0, outcome.retry_after or settings.retry_base_seconds)
        return _retry_later(operation, outcome, now, wait, refund=True, config=config)
    elif attempt >= settings.max_attempts:
        ended = records.finish(
            operation.id,
            attempt=attempt,
            status=Status.FAILED,
            now=now,
            error=OperationError(
                code="retries_exhausted",
                message=f"gave up after {attempt} attempts; last answer: {outcome.message or outcome.code}",
                retryable=False,
            ),
        )
    else:
        wait = retry.backoff_seconds(attempt, base=settings.retry_base_seconds, cap=settings.retry_max_seconds)
        return _retry_later(operation, outcome, now, wait, refund=False, config=config)
    return _announce(ended, operation.id)


def _learn_opt_out(operation: Operation, outcome: ProviderOutcome) -> None:
    """A provider that says the handset opted out is heard: the number joins our suppression list."""
    found = handset(operation.operation, operation.payload) if outcome.code == "recipient_opted_out" else None
    if found is None:
        return
    # Only this answer needs the opt-out logic (and the request schemas it brings): not every cold start.
    from textgate.logic.opt_outs import record_opt_out  # noqa: PLC0415

    try:
        record_opt_out(found.number, source=operation.provider)
    except Exception:  # the operation's own outcome must still be recorded
        logger.exception("could not add the number to the suppression list")


def _retry_later(
    operation: Operation, outcome: ProviderOutcome, now: float, wait: float, *, refund: bool, config: DeliveryConfig
) -> bool:
    due = now + wait
    if operation.marketing:
        # A retry that would fall in the recipient's night waits for the morning (never: as late as it may).
        due = scheduling.not_before(operation.operation, operation.payload, operation.purpose, due) or due
        wait = due - now
    scheduled = records.schedule_retry(
        operation.id,
        attempt=operation.attempts,
        now=now,
        next_attempt_at=due,
        error=_error(outcome, retryable=True),
        refund_attempt=refund,
    )
    if scheduled is None:
        # Either another worker ended it, or our own write went through and only its answer was lost (botocore
        # retried it and the retry found the condition gone). Only a final record may go without a message.
        latest = records.get(operation.id)
        if latest is None or latest.status.final:
            return True
    elif not refund:
        metrics.outcome("retried", operation.provider, operation.operation)
    return _requeue(operation.id, config.provider, wait)


def _requeue(operation_id: str, provider: Provider, delay: float) -> bool:
    try:
        queue.enqueue(provider, operation_id, delay_seconds=delay)
    except Exception:
        logger.exception("could not queue the next attempt; this message will come back instead")
        return False
    return True


def _error(outcome: ProviderOutcome, *, retryable: bool) -> OperationError:
    return OperationError(
        code=outcome.code or outcome.verdict.value, message=outcome.message or "", retryable=retryable
    )


def _announce(ended: Operation | None, operation_id: str) -> bool:
    """Announce the end this message's conditional write made. None: another worker ended it, or our own write
    went through and only its answer was lost (botocore retried it and the retry found the condition gone), so
    nothing was announced here: a final record's callback is queued all the same (at most once: see
    `ensure_callback_queued`)."""
    if ended is not None:
        return announce(ended)
    latest = records.get(operation_id)
    if latest is None or not latest.status.final:
        logger.warning("the operation moved under us; leaving it as it is", extra={"operation_id": operation_id})
        return True
    return ensure_callback_queued(latest)


def announce(operation: Operation) -> bool:
    """An operation ended (delivered, failed, or canceled by its caller): `outcomes.announce` counts and publishes
    it and queues its status callback (False: not queued, so the message that ended it must come back). A
    canceled one was never delivered: it has no delivery latency."""
    if operation.status is not Status.CANCELED:
        metrics.operation_latency(operation.provider, _waited_seconds(operation) * 1000)
    return outcomes.announce(operation)


def _waited_seconds(operation: Operation) -> float:
    """From accepted to final, by the record's own clock readings; a scheduled operation counts from `send_at`,
    since waiting for its time is what was asked."""
    started: float | None = getattr(operation, "send_at", None)
    return operation.updated_at - (started if started is not None else operation.created_at)
