"""GET /v1/batches/{id}: a batch and its operations counted by status, for the client that created it."""

from typing import Any

from textgate.http_api import ApiRequest, api_handler, respond, setup_logging
from textgate.logic import batch_reports

setup_logging()


@api_handler
def handler(request: ApiRequest) -> dict[str, Any]:
    return respond(200, batch_reports.get(request.client, request.path_params.get("id", "")))
