"""Interact operations: from a stored payload to one Send SMS call, over REST (API v3) or SOAP (agent v2)."""

from __future__ import annotations

from textgate import executors, payloads
from textgate.models import Operation
from textgate.payloads import InteractCampaignSms
from textgate.providers.interact import InteractClient, InteractCredentials
from textgate.providers.interact_soap import InteractSoapClient
from textgate.providers.outcome import ProviderOutcome
from textgate.settings import get_settings


def client() -> InteractClient:
    settings = get_settings()
    credentials = executors.credentials("Interact", settings.interact_secret_id, InteractCredentials.from_secret)
    return InteractClient(settings.interact_base_url, credentials, settings.provider_timeouts)


def soap_client() -> InteractSoapClient:
    settings = get_settings()
    credentials = executors.credentials("Interact", settings.interact_secret_id, InteractCredentials.from_secret)
    return InteractSoapClient(settings.interact_base_url, credentials, settings.provider_timeouts)


def send_campaign_sms(operation: Operation) -> ProviderOutcome:
    campaign = payloads.read(InteractCampaignSms, operation.payload)
    master = campaign.send_from_master_account
    # callerId goes out in E.164 as stored: Interact reads '+' numbers (its own samples have one).
    if get_settings().interact_protocol == "soap":
        return soap_client().send_campaign_sms(
            campaign_id=campaign.campaign_id,
            caller_id=campaign.caller_id,
            jp_token=campaign.jp_token,
            sender=campaign.sender,
            additional_params=campaign.additional_params,
            send_from_master_account=master,
        )
    if master:
        # Accepted over SOAP, delivered after the deployment switched to REST: REST cannot say it, and
        # sending from the tenant's number instead is not what the caller asked for.
        return ProviderOutcome.rejected(
            "invalid_request", "send_from_master_account needs Interact over SOAP (INTERACT_PROTOCOL=soap)"
        )
    if campaign.jp_token is None:
        # Accepted over SOAP without a token, delivered after the switch to REST, whose body requires one.
        return ProviderOutcome.rejected(
            "invalid_request", "jp_token is required when textgate talks to Interact over REST"
        )
    return client().send_campaign_sms(
        campaign_id=campaign.campaign_id,
        caller_id=campaign.caller_id,
        jp_token=campaign.jp_token,
        sender=campaign.sender,
        additional_params=campaign.additional_params,
    )
