"""An operation reached a final status: count it, publish it, and queue its status callback.

Every final transition calls `announce` (delivery's outcomes, an operation that could not be queued, and
cancellation): one place, so no final status goes without its callback.
"""

from __future__ import annotations

from textgate import log, metrics
from textgate.dal import events, status_callbacks
from textgate.models import CallbackStatus, Operation

logger = log.get_logger(__name__)


def announce(operation: Operation) -> bool:
    """False when the status callback could not be queued: the caller keeps its own message so that it comes
    back and `ensure_callback_queued` tries again (the event and the metric are best effort, as always)."""
    metrics.outcome(operation.status.value, operation.provider, operation.operation)
    events.publish(f"operation.{operation.status.value}", operation.public())
    return ensure_callback_queued(operation)


def ensure_callback_queued(operation: Operation) -> bool:
    """Queue the first attempt of a final operation's callback unless one was made. A second message for it is
    harmless: an attempt is claimed by a conditional write, so only one of the copies POSTs."""
    state = operation.status_callback
    if not operation.status.final or state is None or state.status is not CallbackStatus.PENDING or state.attempts:
        return True
    try:
        status_callbacks.enqueue(operation.id, 1)
    except Exception:
        logger.exception("could not queue the status callback; it will be queued again")
        return False
    return True
