"""GET /v1/openapi.json: the OpenAPI 3 document of the whole API.

Like health, it reads nothing but the document the layer ships, writes nothing and has nothing to count: it does
without the API wrapper and so without Powertools, whose import (with jmespath) would be a large part of this
small function's cold start."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textgate.http_api import respond
from textgate.openapi_served import served_document

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext


def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return respond(200, served_document())
