"""GET /v1/health: liveness, no API key, no I/O."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textgate.http_api import respond

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext


def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return respond(200, {"status": "ok"})
