"""POST /v1/interact/campaigns/{campaign_id}/sms: validate path and body, record, queue, answer 202."""

from typing import Any

from textgate.errors import ValidationFailed
from textgate.http_api import ApiRequest, accepted, api_handler, parse_json, setup_logging, validate
from textgate.logic.interact import accept_campaign_sms
from textgate.schemas.interact import CampaignPath, SendCampaignSmsRequest

setup_logging()


@api_handler
def handler(request: ApiRequest) -> dict[str, Any]:
    data = parse_json(request.body)
    # Path and body are judged together, so one 422 names every bad field.
    errors: list[dict[str, str]] = []
    try:
        path = validate(CampaignPath, {"campaign_id": request.path_params.get("campaign_id", "")})
    except ValidationFailed as exc:
        errors.extend(exc.errors)
    try:
        body = validate(SendCampaignSmsRequest, data)
    except ValidationFailed as exc:
        errors.extend(exc.errors)
    if errors:
        raise ValidationFailed("invalid " + ", ".join(sorted({error["field"] for error in errors})), errors=errors)
    operation = accept_campaign_sms(request.client, path.campaign_id, body)
    return accepted(operation.public())
