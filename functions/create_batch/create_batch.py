"""POST /v1/batches: judge each item as its route, record and queue the good ones in bulk, answer 202."""

from typing import Any

from textgate.http_api import ApiRequest, api_handler, json_body, respond, setup_logging
from textgate.logic import batches
from textgate.schemas.batches import BatchRequest

setup_logging()


@api_handler
def handler(request: ApiRequest) -> dict[str, Any]:
    batch = batches.accept(request.client, json_body(request, BatchRequest))
    return respond(202, batch, {"Location": f"/v1/batches/{batch['id']}"})
