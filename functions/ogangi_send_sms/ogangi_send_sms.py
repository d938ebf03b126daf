"""POST /v1/ogangi/sms: validate, record, queue, answer 202."""

from typing import Any

from textgate.http_api import ApiRequest, accepted, json_body, operation_handler, setup_logging
from textgate.logic.ogangi import accept_sms
from textgate.registry import OperationName
from textgate.schemas.ogangi import SendSmsRequest

setup_logging()


@operation_handler(OperationName.OGANGI_SEND_SMS)
def handler(request: ApiRequest) -> dict[str, Any]:
    operation = accept_sms(request.client, json_body(request, SendSmsRequest))
    return accepted(operation.public())
