"""POST /v1/ogangi/pins/{id}/check: is this the PIN we sent?"""

from typing import Any

from textgate.http_api import ApiRequest, api_handler, json_body, respond, setup_logging
from textgate.logic.pins import check
from textgate.schemas.ogangi import CheckPinRequest

setup_logging()


@api_handler
def handler(request: ApiRequest) -> dict[str, Any]:
    body = json_body(request, CheckPinRequest)
    return respond(200, check(request.client, request.path_params.get("id", ""), body.code))
