"""Reads the dead-letter queues: marks each operation whose message landed there, and announces it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textgate import log
from textgate.invocation import around_invocation
from textgate.logic.dead_letters import mark

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

log.setup()


@around_invocation()
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    for record in event.get("Records") or []:
        mark(record.get("body", ""))
    # Every message is consumed: the mark on the operation (and the alarm) now carry it.
    return {"batchItemFailures": []}
