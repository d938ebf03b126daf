"""GET /v1/operations/{id}: one operation, for the client that created it."""

from typing import Any

from textgate.http_api import ApiRequest, api_handler, respond, setup_logging
from textgate.logic.operations import get_for_client

setup_logging()


@api_handler
def handler(request: ApiRequest) -> dict[str, Any]:
    operation = get_for_client(request.client, request.path_params.get("id", ""))
    return respond(200, operation.public())
