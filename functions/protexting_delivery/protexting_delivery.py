"""Delivers the ProTexting queue: one SQS batch per invocation, partial batch failures reported."""

from typing import Any

from textgate.delivery import DeliveryConfig, handle_batch
from textgate.executors import protexting
from textgate.http_api import setup_logging

setup_logging()
# ProTexting says when its allowance is spent: its whole queue pauses until the reset.
CONFIG = DeliveryConfig(provider="protexting", execute=protexting.execute, pausable=True)


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return handle_batch(event, CONFIG)
