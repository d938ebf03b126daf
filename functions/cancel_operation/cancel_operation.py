"""POST /v1/operations/{id}/cancel: take back an operation that no provider has been handed yet."""

from typing import Any

from textgate.http_api import ApiRequest, api_handler, respond, setup_logging
from textgate.logic.operations import cancel

setup_logging()


@api_handler
def handler(request: ApiRequest) -> dict[str, Any]:
    operation = cancel(request.client, request.path_params.get("id", ""))
    return respond(200, operation.public())
