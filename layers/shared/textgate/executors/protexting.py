"""ProTexting operations: from a stored payload to one JSON call."""

from __future__ import annotations

from textgate import executors, payloads, phone
from textgate.models import Operation
from textgate.payloads import ProTextingOptIn
from textgate.providers.outcome import ProviderOutcome
from textgate.providers.protexting import ProTextingClient, ProTextingCredentials
from textgate.settings import get_settings


def client() -> ProTextingClient:
    settings = get_settings()
    credentials = executors.credentials("ProTexting", settings.protexting_secret_id, ProTextingCredentials.from_secret)
    return ProTextingClient(settings.protexting_base_url, credentials, settings.provider_timeouts)


def opt_in(operation: Operation) -> ProviderOutcome:
    stored = payloads.read(ProTextingOptIn, operation.payload)
    return client().opt_in(
        phone_number=phone.digits(stored.phone_number),
        group_ids=stored.group_ids,
        cta_message=stored.cta_message,
        confirm_message=stored.confirm_message,
        send_cta_message=stored.send_cta_message,
    )
