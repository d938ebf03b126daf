"""GET /v1/openapi.json: the OpenAPI 3 document of the whole API."""

from typing import Any

from textgate.http_api import ApiRequest, api_handler, respond, setup_logging
from textgate.openapi_served import served_document

setup_logging()


@api_handler
def handler(request: ApiRequest) -> dict[str, Any]:
    return respond(200, served_document())
