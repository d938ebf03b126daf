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
    return operations.accept(client=client, operation=OperationName.INTERACT_SEND_CAMPAIGN_SMS, payload=payload)


def campaign_sms_payload(campaign_id: str, request: SendCampaignSmsRequest) -> InteractCampaignSms:
    """What a campaign SMS stores (the route and a batch's items alike)."""
    if request.send_from_master_account and get_settings().interact_protocol != "soap":
        # Only the SOAP operation has sendFromMasterAccount: over REST it would go out from the tenant's number.
        message = "is only available when textgate talks to Interact over SOAP (INTERACT_PROTOCOL=soap)"
        raise ValidationFailed(
            "invalid send_from_master_account", errors=[{"field": "send_from_master_account", "message": message}]
        )
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
    if path is None or request is None:
        raise ValidationFailed("invalid " + ", ".join(sorted({error["field"] for error in errors})), errors=errors)
    return path.campaign_id, request
