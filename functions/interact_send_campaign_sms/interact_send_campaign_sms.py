"""POST /v1/interact/campaigns/{campaign_id}/sms: validate path and body, record, queue, answer 202."""

from typing import Any

from textgate.http_api import ApiRequest, accepted, json_document, operation_handler, setup_logging
from textgate.logic.interact import accept_campaign_sms, parse_request
from textgate.registry import OperationName

setup_logging()


@operation_handler(OperationName.INTERACT_SEND_CAMPAIGN_SMS)
def handler(request: ApiRequest) -> dict[str, Any]:
    campaign_id, body = parse_request(request.path_params.get("campaign_id", ""), json_document(request))
    operation = accept_campaign_sms(request.client, campaign_id, body)
    return accepted(operation.public())
