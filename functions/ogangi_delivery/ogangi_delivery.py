"""Delivers the Ogangi queue: one SQS batch per invocation, partial batch failures reported."""

from typing import Any

from textgate.delivery import DeliveryConfig, handle_batch
from textgate.executors import ogangi
from textgate.http_api import setup_logging
from textgate.logic.pins import protect

setup_logging()
# Only send_pin returns private fields (the generated PIN): they are stored as a keyed hash.
CONFIG = DeliveryConfig(provider="ogangi", execute=ogangi.execute, protect=protect)


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return handle_batch(event, CONFIG)
