"""Delivering status callbacks: one signed POST per attempt, on a queue and function of their own.

Per message (operation id, attempt n):
- a callback already delivered or given up, or an attempt already made, is acknowledged and dropped;
- early (its time is further than SQS can delay a message): queued again for the rest of the wait;
- otherwise attempt n is claimed by a conditional write and exactly one worker POSTs it.
A 2xx is delivered; a 410 stops at once; anything else is retried on SCHEDULE, then given up (`failed`,
`webhook.failed` on the bus). The URL is checked again before every attempt and the POST goes to the address
that were checked. The body is the operation as it ended, the same on every attempt; so is `webhook-id`.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from textgate import clock, invocation, log, metrics, webhook_signing, webhook_transport, webhook_url
from textgate.dal import events
from textgate.dal import status_callbacks as store
from textgate.logic import webhook_secrets
from textgate.models import CallbackStatus, Operation
from textgate.settings import get_settings

logger = log.get_logger(__name__)

# Seconds before each retry: 7 retries after the first attempt (STATUS_CALLBACK_RETRY_SCALE shortens them).
SCHEDULE = (5.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0, 36000.0)
MAX_ATTEMPTS = len(SCHEDULE) + 1
TIMEOUT_SECONDS = 10.0
# Longer than the function may run (its timeout): a live worker never loses its claim.
LEASE_SECONDS = 60.0
MAX_BODY_BYTES = 256 * 1024
GONE = 410

_pool: ThreadPoolExecutor | None = None


def handle_batch(event: dict[str, Any]) -> dict[str, Any]:
    records_in = event.get("Records") or []
    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(max_workers=10, thread_name_prefix="callback")
    calls = [invocation.run_in_copy(_safe_deliver) for _ in records_in]
    results = list(_pool.map(lambda call, record: call(record), calls, records_in))
    failures = [
        {"itemIdentifier": record["messageId"]} for record, done in zip(records_in, results, strict=True) if not done
    ]
    return {"batchItemFailures": failures}


def _safe_deliver(record: dict[str, Any]) -> bool:
    try:
        received = int((record.get("attributes") or {}).get("ApproximateReceiveCount") or 1)
        return deliver_message(record.get("body", ""), redelivered=received > 1)
    except Exception:
        logger.exception("status callback failed; the message will be received again")
        return False


def deliver_message(body: str, *, redelivered: bool = False) -> bool:
    """True when the message may be deleted: the callback is settled or its next attempt is queued.
    `redelivered`: SQS gives this very message again (it was not deleted: its next step may be missing)."""
    message = store.read_message(body)
    if message is None:
        logger.error("message names no status callback; it will reach the dead-letter queue")
        return False
    token = log.bind(operation_id=message.operation_id, correlation_id=message.operation_id)
    try:
        return _deliver(message, redelivered=redelivered)
    finally:
        log.unbind(token)


def _deliver(message: store.Message, *, redelivered: bool) -> bool:
    now = clock.now()
    # The claim is the first and, when it wins, the only request: a failed condition answers with the record.
    claimed, current = store.claim_or_current(
        message.operation_id, message.attempt, now=now, lease_seconds=LEASE_SECONDS
    )
    if claimed is not None and claimed.status_callback is not None:
        answer = _post(claimed, claimed.status_callback.url)
        return _after(claimed, message.attempt, answer.status_code, answer.error)
    state = current.status_callback if current is not None else None
    if current is None or state is None:
        logger.error("message names an operation without a status callback to make")
        return True
    if state.status is not CallbackStatus.PENDING:
        return True
    if state.attempts >= message.attempt:
        if state.attempts > message.attempt:
            return True  # a copy of a message whose attempt is done
        if state.lease_until is not None and state.lease_until < now:
            # The worker that claimed this attempt stopped before it could say how it went.
            return _after(current, message.attempt, None, "interrupted")
        if redelivered and state.lease_until is None and state.next_attempt_at is not None:
            # This message came back after its attempt was settled: queueing the next one may have failed.
            # (A mere copy of it, received once, queues nothing: copies never multiply.)
            return _queue(current.id, message.attempt + 1, state.next_attempt_at - now)
        return True  # another worker holds this attempt
    if state.attempts != message.attempt - 1:
        return True
    if state.next_attempt_at is not None and state.next_attempt_at > now:
        # Early: SQS delays a message 15 minutes at most, so longer waits are made of several.
        return _queue(current.id, message.attempt, state.next_attempt_at - now)
    return True  # due and unclaimed, yet the claim failed: a live lease of a worker still on the previous attempt


def _post(operation: Operation, url: str) -> webhook_transport.Answer:
    settings = get_settings()
    try:
        destination = webhook_url.parse(url, settings.status_callback_allowed_hosts)
        addresses = webhook_url.public_addresses(destination)
    except webhook_url.RefusedUrl as refused:
        logger.warning("status callback refused before sending: %s", refused)
        return webhook_transport.Answer(None, "refused_address", 0.0)
    message_id = webhook_id(operation)
    body = event_body(operation)
    timestamp = int(clock.now())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "textgate-status-callback/1",
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": webhook_signing.signature(
            webhook_secrets.signing_keys(operation.client), message_id, timestamp, body
        ),
    }
    answer = webhook_transport.post(destination, addresses, body, headers, TIMEOUT_SECONDS)
    metrics.callback_latency(answer.milliseconds)
    return answer


def webhook_id(operation: Operation) -> str:
    """One id per event: an operation ends once, so its id names the event (the same on every retry)."""
    return "evt_" + operation.id.removeprefix("op_")


def event_body(operation: Operation) -> bytes:
    """The event as the operation ended, without `status_callback` (this very delivery, still under way)."""
    data = operation.public()
    data.pop("status_callback", None)
    event = {"type": f"operation.{operation.status.value}", "timestamp": clock.rfc3339(operation.updated_at)}
    body = json.dumps({**event, "data": data}, ensure_ascii=False, separators=(",", ":")).encode()
    if len(body) > MAX_BODY_BYTES:
        # Only a provider's answer can be that large: the receiver reads it with GET /v1/operations/{id}.
        body = json.dumps({**event, "data": {**data, "result": None}}, ensure_ascii=False).encode()
    return body


def _after(operation: Operation, attempt: int, status_code: int | None, error: str | None) -> bool:
    logger.info(
        "status callback answered",
        extra={"attempt": attempt, "http_status": status_code, "code": error},
    )
    if status_code is not None and 200 <= status_code < 300:
        if store.settle(operation.id, attempt, status=CallbackStatus.DELIVERED, last_status_code=status_code):
            metrics.callback_delivered()
        return True
    if status_code == GONE or attempt >= MAX_ATTEMPTS:
        settled = store.settle(operation.id, attempt, status=CallbackStatus.FAILED, last_status_code=status_code)
        if settled is not None:
            metrics.callback_failed()
            reason = "gone" if status_code == GONE else "retries_exhausted"
            events.publish(
                "webhook.failed",
                {
                    "operation_id": operation.id,
                    "operation": operation.operation,
                    "status": operation.status.value,
                    "reason": reason,
                    "attempts": attempt,
                    "last_status_code": status_code,
                },
            )
        return True
    wait = SCHEDULE[attempt - 1] * get_settings().status_callback_retry_scale
    settled = store.settle(
        operation.id,
        attempt,
        status=CallbackStatus.PENDING,
        last_status_code=status_code,
        next_attempt_at=clock.now() + wait,
    )
    if settled is None:
        return True  # settled by another worker (its lease ran out under us): its message carries on
    return _queue(operation.id, attempt + 1, wait)


def _queue(operation_id: str, attempt: int, delay: float) -> bool:
    try:
        store.enqueue(operation_id, attempt, delay_seconds=delay)
    except Exception:
        logger.exception("could not queue the next status callback attempt; this message will come back instead")
        return False
    return True
