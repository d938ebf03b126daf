"""ProTexting operations: from a stored payload to one JSON call."""

from __future__ import annotations

from textgate import executors, payloads, phone
from textgate.executors import NotAttempted
from textgate.models import Operation
from textgate.payloads import ProTextingOptIn
from textgate.providers.outcome import ProviderOutcome
from textgate.providers.protexting import ProTextingClient, ProTextingCredentials
from textgate.settings import get_settings


def client() -> ProTextingClient:
    settings = get_settings()
    credentials = executors.credentials("ProTexting", settings.protexting_secret_id, ProTextingCredentials.from_secret)
    return ProTextingClient(settings.protexting_base_url, credentials, settings.provider_timeouts)


def execute(operation: Operation) -> ProviderOutcome:
    if operation.operation == "protexting.opt_in":
        opt_in = payloads.read(ProTextingOptIn, operation.payload)
        return client().opt_in(
            phone_number=phone.digits(opt_in.phone_number),
            group_ids=opt_in.group_ids,
            cta_message=opt_in.cta_message,
            confirm_message=opt_in.confirm_message,
            send_cta_message=opt_in.send_cta_message,
        )
    raise NotAttempted(f"no ProTexting executor for {operation.operation}")
