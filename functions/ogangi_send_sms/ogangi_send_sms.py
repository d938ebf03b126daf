"""POST /v1/ogangi/sms: validate, record, queue, answer 202."""

from typing import Any

from textgate.http_api import ApiRequest, accepted, api_handler, json_body, setup_logging
from textgate.logic.ogangi import accept_sms
from textgate.schemas.ogangi import SendSmsRequest

setup_logging()


@api_handler
def handler(request: ApiRequest) -> dict[str, Any]:
    operation = accept_sms(request.client, json_body(request, SendSmsRequest))
    return accepted(operation.public())
