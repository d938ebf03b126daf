"""Delivers the ProTexting queue: one SQS batch per invocation, partial batch failures reported."""

from typing import Any

from textgate.delivery import DeliveryConfig, handle_batch
from textgate.executors import protexting
from textgate.http_api import setup_logging

setup_logging()
CONFIG = DeliveryConfig(provider="protexting", execute=protexting.execute)


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return handle_batch(event, CONFIG)
