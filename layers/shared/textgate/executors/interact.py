"""Interact operations: from a stored payload to one Send SMS API v3 call."""

from __future__ import annotations

from textgate import executors
from textgate.executors import NotAttempted
from textgate.models import Operation
from textgate.providers.interact import InteractClient, InteractCredentials
from textgate.providers.outcome import ProviderOutcome
from textgate.settings import get_settings


def client() -> InteractClient:
    settings = get_settings()
    credentials = executors.credentials("Interact", settings.interact_secret_id, InteractCredentials.from_secret)
    return InteractClient(settings.interact_base_url, credentials, settings.provider_timeouts)


def execute(operation: Operation) -> ProviderOutcome:
    payload = operation.payload
    if operation.operation == "interact.send_campaign_sms":
        # callerId goes out in E.164 as stored: Interact reads '+' numbers (its own sample has one).
        return client().send_campaign_sms(
            campaign_id=payload["campaign_id"],
            caller_id=payload["caller_id"],
            jp_token=payload["jp_token"],
            sender=payload.get("from"),
            additional_params=payload.get("additional_params"),
        )
    raise NotAttempted(f"no Interact executor for {operation.operation}")
