"""Accepting Interact operations."""

from __future__ import annotations

from typing import Any

from textgate.errors import ValidationFailed
from textgate.logic import operations
from textgate.models import Operation
from textgate.payloads import InteractCampaignSms
from textgate.registry import OperationName
from textgate.schemas.interact import CampaignPath, SendCampaignSmsRequest
from textgate.settings import get_settings
from textgate.validation import validate


def accept_campaign_sms(client: str, campaign_id: str, request: SendCampaignSmsRequest) -> Operation:
    payload = campaign_sms_payload(campaign_id, request)
    # No `sms` description: the text is the campaign's, held by Interact.
    return operations.accept(
        client=client,
        operation=OperationName.INTERACT_SEND_CAMPAIGN_SMS,
        payload=payload,
        send_at=request.send_at,
        purpose=request.purpose,
        status_callback=request.status_callback,
    )


def campaign_sms_payload(campaign_id: str, request: SendCampaignSmsRequest) -> InteractCampaignSms:
    """What a campaign SMS stores (the route and a batch's items alike), once this deployment's protocol allows it."""
    errors = deployment_errors(request.model_dump())
    if errors:
        raise ValidationFailed("invalid " + ", ".join(error["field"] for error in errors), errors=errors)
    return InteractCampaignSms(
        campaign_id=campaign_id,
        caller_id=request.caller_id,
        jp_token=request.jp_token,
        sender=request.sender,
        additional_params=request.additional_params,
        send_from_master_account=request.send_from_master_account,
    )


def accept_campaign_document(client: str, document: dict[str, Any]) -> Operation:
    """An event's detail: the body plus the `campaign_id` that HTTP takes from the path."""
    body = dict(document)
    campaign_id, request = parse_request(str(body.pop("campaign_id", "")), body)
    return accept_campaign_sms(client, campaign_id, request)


def deployment_errors(body: Any) -> list[dict[str, str]]:
    """What this deployment's Interact protocol refuses in a body: REST has no sendFromMasterAccount, and its body
    requires jpToken, which only the SOAP operation marks optional."""
    if get_settings().interact_protocol == "soap" or not isinstance(body, dict):
        return []
    errors: list[dict[str, str]] = []
    if body.get("send_from_master_account") is True:
        # Over REST it would go out from the tenant's number.
        message = "is only available when textgate talks to Interact over SOAP (INTERACT_PROTOCOL=soap)"
        errors.append({"field": "send_from_master_account", "message": message})
    if body.get("jp_token") is None:
        errors.append({"field": "jp_token", "message": "Field required (optional only over SOAP)"})
    return errors


def parse_request(campaign_id: str, body: Any) -> tuple[str, SendCampaignSmsRequest]:
    """The campaign id (from the path or the event) and the body, judged together: one 422 names every bad field."""
    errors: list[dict[str, str]] = []
    path: CampaignPath | None = None
    request: SendCampaignSmsRequest | None = None
    try:
        path = validate(CampaignPath, {"campaign_id": campaign_id})
    except ValidationFailed as exc:
        errors.extend(exc.errors)
    try:
        request = validate(SendCampaignSmsRequest, body)
    except ValidationFailed as exc:
        errors.extend(exc.errors)
    named = {error["field"] for error in errors}
    for error in deployment_errors(body):
        if error["field"] not in named:
            errors.append(error)
            request = None
    if path is None or request is None:
        raise ValidationFailed("invalid " + ", ".join(sorted({error["field"] for error in errors})), errors=errors)
    return path.campaign_id, request
