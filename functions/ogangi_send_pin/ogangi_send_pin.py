"""POST /v1/ogangi/pins: send a PIN SMS; the operation id is the verification id."""

from typing import Any

from textgate.http_api import ApiRequest, accepted, json_body, operation_handler, setup_logging
from textgate.logic.pins import accept_pin
from textgate.registry import OperationName
from textgate.schemas.ogangi import SendPinRequest

setup_logging()


@operation_handler(OperationName.OGANGI_SEND_PIN)
def handler(request: ApiRequest) -> dict[str, Any]:
    operation = accept_pin(request.client, json_body(request, SendPinRequest))
    return accepted(operation.public())
