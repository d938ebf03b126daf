"""GET /v1/batches/{id}/operations: a page of a batch's operations, newest first, optionally of one status."""

from typing import Any

from textgate.http_api import ApiRequest, api_handler, respond, setup_logging
from textgate.logic import batch_reports
from textgate.schemas.batches import BatchOperationsQuery
from textgate.validation import validate

setup_logging()


@api_handler
def handler(request: ApiRequest) -> dict[str, Any]:
    query = validate(BatchOperationsQuery, request.query)
    return respond(200, batch_reports.list_operations(request.client, request.path_params.get("id", ""), query))
