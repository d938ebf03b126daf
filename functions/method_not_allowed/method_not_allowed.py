"""Any other method on a path of the API: 405 with the methods the path takes (RFC 9110), instead of the
"missing authentication token" that API Gateway gives a method it has no route for. No idempotency: nothing
is done, so nothing is kept under an Idempotency-Key."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textgate.errors import MethodNotAllowed
from textgate.http_api import parse_event, problem

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext


def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # The route table builds every request model: only a 405 that is really answered pays for it.
    from textgate.openapi import allowed_methods  # noqa: PLC0415

    request = parse_event(event)
    allowed = ", ".join(allowed_methods(request.resource))
    return problem(MethodNotAllowed(f"this path takes {allowed}", headers={"Allow": allowed}))
