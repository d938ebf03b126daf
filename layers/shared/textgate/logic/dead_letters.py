"""Dead letters: a message that still reaches a dead-letter queue marks its operation, and redrive puts the
operations back on their queues. Redrive is idempotent: the state machine never sends a final operation again,
and a second redrive finds nothing left to put back."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from textgate import clock, log, metrics
from textgate.dal import events, queue
from textgate.dal import operations as records
from textgate.logic.outcomes import ensure_callback_queued

logger = log.get_logger(__name__)


class Reading(Enum):
    """What reading one dead-lettered message did."""

    MARKED = "marked"  # newly marked, counted and announced: the message may go
    ALREADY_MARKED = "already_marked"  # a copy, or a batch received again: nothing more to do, the message may go
    UNMARKABLE = "unmarkable"  # names no operation, or one that does not exist: it stays on its queue for a person
    NOT_ANNOUNCED = "not_announced"  # the bus did not take the event: unmarked again, the message stays for a retry


def mark(body: str) -> Reading:
    """Mark the operation a dead-lettered message names, then count and announce it: once per operation."""
    operation_id = queue.operation_id_of(body)
    if operation_id is None:
        logger.error("a dead-lettered message names no operation; it stays on its dead-letter queue")
        return Reading.UNMARKABLE
    marked = records.mark_dead_lettered(operation_id, now=clock.now())
    if marked is None:
        if records.get(operation_id) is None:
            logger.error(
                "a dead-lettered message names an unknown operation; it stays on its dead-letter queue",
                extra={"operation_id": operation_id},
            )
            return Reading.UNMARKABLE
        logger.info("operation already marked dead-lettered", extra={"operation_id": operation_id})
        return Reading.ALREADY_MARKED
    logger.error("operation dead-lettered", extra={"operation_id": operation_id, "status": marked.status.value})
    if not events.publish("operation.dead_lettered", marked.public()):
        # Unmarked again, so the message, received again, marks and announces it then.
        records.clear_dead_lettered(operation_id, now=clock.now())
        return Reading.NOT_ANNOUNCED
    metrics.outcome("dead_lettered", marked.provider, marked.operation)
    return Reading.MARKED


def read_batch(messages: Sequence[Mapping[str, Any]]) -> list[str]:
    """The ids of the SQS messages to keep (the batch's item failures): those not marked and announced, and those
    whose reading failed. The others are deleted; a failure never sends the batch back whole."""
    kept = []
    for message in messages:
        try:
            reading = mark(str(message.get("body", "")))
        except Exception:
            logger.exception("could not read a dead-lettered message; it will be received again")
            reading = Reading.UNMARKABLE
        if reading not in (Reading.MARKED, Reading.ALREADY_MARKED):
            kept.append(str(message["messageId"]))
    return kept


@dataclass
class RedriveReport:
    requeued: list[str] = field(default_factory=list)
    already_final: list[str] = field(default_factory=list)


def redrive(limit: int = 1000) -> RedriveReport:
    report = RedriveReport()
    for operation_id in records.dead_lettered(limit):
        operation = records.get(operation_id)
        if operation is None:
            continue
        if operation.status.final:
            # Its message went on failing because its status callback could not be queued: queue it now.
            if not ensure_callback_queued(operation):
                continue  # still marked: the next redrive tries again
            report.already_final.append(operation_id)
        else:
            # Queue first, then clear the mark: a crash between the two only leaves a harmless second message.
            queue.enqueue(operation.provider, operation_id)
            report.requeued.append(operation_id)
        records.clear_dead_lettered(operation_id, now=clock.now())
    return report
