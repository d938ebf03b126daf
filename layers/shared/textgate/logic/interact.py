"""Accepting Interact operations."""

from __future__ import annotations

from textgate.logic import operations
from textgate.logic.suppression import ensure_not_opted_out
from textgate.models import Operation
from textgate.schemas.interact import SendCampaignSmsRequest

PROVIDER = "interact"


def accept_campaign_sms(client: str, campaign_id: str, request: SendCampaignSmsRequest) -> Operation:
    # The campaign texts the caller: an opted-out number is refused like any other recipient.
    ensure_not_opted_out(request.caller_id, "caller_id")
    payload = {
        "campaign_id": campaign_id,
        "caller_id": request.caller_id,
        "jp_token": request.jp_token,
        "from": request.sender,
        "additional_params": request.additional_params,
    }
    # No `sms` description: the text is the campaign's, held by Interact.
    return operations.accept(client=client, operation="interact.send_campaign_sms", provider=PROVIDER, payload=payload)
