"""POST /v1/ogangi/pins: send a PIN SMS; the operation id is the verification id."""

from typing import Any

from textgate.http_api import ApiRequest, accepted, api_handler, json_body, setup_logging
from textgate.logic.pins import accept_pin
from textgate.schemas.ogangi import SendPinRequest

setup_logging()


@api_handler
def handler(request: ApiRequest) -> dict[str, Any]:
    operation = accept_pin(request.client, json_body(request, SendPinRequest))
    return accepted(operation.public())
