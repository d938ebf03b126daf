"""Reads the dead-letter queues: marks each operation whose message landed there, and announces it."""

from typing import Any

from textgate.http_api import setup_logging
from textgate.logic.dead_letters import mark

setup_logging()


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    for record in event.get("Records") or []:
        mark(record.get("body", ""))
    # Every message is consumed: the mark on the operation (and the alarm) now carry it.
    return {"batchItemFailures": []}
