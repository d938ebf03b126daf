"""POST /v1/contactatonce/conversations: validate, record, queue, answer 202."""

from typing import Any

from textgate.http_api import ApiRequest, accepted, json_body, operation_handler, setup_logging
from textgate.logic.contactatonce import accept_conversation
from textgate.registry import OperationName
from textgate.schemas.contactatonce import InitiateConversationRequest

setup_logging()


@operation_handler(OperationName.CONTACTATONCE_INITIATE_CONVERSATION)
def handler(request: ApiRequest) -> dict[str, Any]:
    operation = accept_conversation(request.client, json_body(request, InitiateConversationRequest))
    return accepted(operation.public())
