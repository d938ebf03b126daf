"""Delivers status callbacks: one SQS batch per invocation, each callback a signed POST, partial failures reported.

Its own queue, function and dead-letter queue: a slow or dead receiver delays no send."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textgate import log
from textgate.invocation import around_invocation
from textgate.logic.status_callbacks import handle_batch

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

log.setup()


@around_invocation()
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return handle_batch(event)
