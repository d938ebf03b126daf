"""Delivers the Ogangi queue: one SQS batch per invocation, partial batch failures reported."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textgate import log
from textgate.delivery import DeliveryConfig, handle_batch
from textgate.executors import ogangi
from textgate.invocation import lambda_handler
from textgate.logic.pins import protect

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

log.setup()
# Only send_pin returns private fields (the generated PIN): they are stored as a keyed hash.
CONFIG = DeliveryConfig(provider="ogangi", execute=ogangi.execute, protect=protect)


@lambda_handler()
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return handle_batch(event, CONFIG)
