"""Delivers the ContactAtOnce queue: one SQS batch per invocation, partial batch failures reported."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textgate import log
from textgate.delivery import DeliveryConfig, handle_batch
from textgate.invocation import around_invocation
from textgate.registry import Provider

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

log.setup()
CONFIG = DeliveryConfig.of(Provider.CONTACTATONCE)


@around_invocation()
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return handle_batch(event, CONFIG)
