"""GET /v1/ogangi/mo: list inbound messages (getMOMessages), synchronously."""

from typing import Any

from textgate.http_api import ApiRequest, api_handler, respond, setup_logging
from textgate.logic.inbound import list_inbound
from textgate.schemas.ogangi import ListMoQuery
from textgate.validation import validate

setup_logging()


@api_handler
def handler(request: ApiRequest) -> dict[str, Any]:
    return respond(200, list_inbound(validate(ListMoQuery, request.query)))
