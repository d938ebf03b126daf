"""POST /v1/ogangi/pins/{id}/check: is this the PIN we sent?"""

from typing import Any

from textgate.http_api import ApiRequest, json_body, keyed_api_handler, respond, setup_logging
from textgate.logic.pins import check, hash_key
from textgate.schemas.ogangi import CheckPinRequest

setup_logging()


# The body is the code being checked: its idempotency fingerprint is keyed, like the PIN's own hash.
@keyed_api_handler(hash_key)
def handler(request: ApiRequest) -> dict[str, Any]:
    body = json_body(request, CheckPinRequest)
    return respond(200, check(request.client, request.path_params.get("id", ""), body.code).model_dump())
