"""Dead letters: a message that still reaches a dead-letter queue marks its operation, and redrive puts the
operations back on their queues. Redrive is idempotent: the state machine never sends a final operation again,
and a second redrive finds nothing left to put back."""

from __future__ import annotations

from dataclasses import dataclass, field

from textgate import clock, log, metrics
from textgate.dal import events, queue
from textgate.dal import operations as records

logger = log.get_logger(__name__)


def mark(body: str) -> bool:
    """Mark the operation a dead-lettered message names; False when it names none."""
    operation_id = queue.operation_id_of(body)
    if operation_id is None:
        logger.error("a dead-lettered message names no operation; dropped")
        return False
    marked = records.mark_dead_lettered(operation_id, now=clock.now())
    if marked is None:
        logger.error("a dead-lettered message names an unknown operation", extra={"operation_id": operation_id})
        return False
    logger.error("operation dead-lettered", extra={"operation_id": operation_id, "status": marked.status.value})
    metrics.outcome("dead_lettered", marked.provider, marked.operation)
    events.publish("operation.dead_lettered", marked.public())
    return True


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
            report.already_final.append(operation_id)
        else:
            # Queue first, then clear the mark: a crash between the two only leaves a harmless second message.
            queue.enqueue(operation.provider, operation_id)
            report.requeued.append(operation_id)
        records.clear_dead_lettered(operation_id, now=clock.now())
    return report
