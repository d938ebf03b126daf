"""Reads the dead-letter queues: marks each operation whose message landed there, and announces it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textgate import log
from textgate.invocation import around_invocation
from textgate.logic.dead_letters import read_batch

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

log.setup()


@around_invocation()
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # A message whose operation is marked goes (the mark and the alarm now carry it); one that cannot be marked
    # stays on its dead-letter queue for a person, under its queue's alarm.
    kept = read_batch(event.get("Records") or [])
    return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in kept]}
