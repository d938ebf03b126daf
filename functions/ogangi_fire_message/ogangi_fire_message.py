"""POST /v1/ogangi/mo: inject an inbound message (fireMessage)."""

from typing import Any

from textgate.http_api import ApiRequest, accepted, json_body, operation_handler, setup_logging
from textgate.logic.ogangi import accept_fire_message
from textgate.registry import OperationName
from textgate.schemas.ogangi import FireMessageRequest

setup_logging()


@operation_handler(OperationName.OGANGI_FIRE_MESSAGE)
def handler(request: ApiRequest) -> dict[str, Any]:
    operation = accept_fire_message(request.client, json_body(request, FireMessageRequest))
    return accepted(operation.public())
