"""Delivers the Interact queue: one SQS batch per invocation, partial batch failures reported."""

from typing import Any

from textgate.delivery import DeliveryConfig, handle_batch
from textgate.executors import interact
from textgate.http_api import setup_logging

setup_logging()
CONFIG = DeliveryConfig(provider="interact", execute=interact.execute)


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return handle_batch(event, CONFIG)
