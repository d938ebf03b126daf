"""Starts operations from events on the project's bus (DetailType = the operation, Detail = the body)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textgate import log
from textgate.invocation import around_invocation
from textgate.logic.triggers import handle

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

log.setup()


# The event's own id follows the operation it starts through the logs.
@around_invocation(correlation_id=lambda event: event.get("id"))
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return handle(event)
