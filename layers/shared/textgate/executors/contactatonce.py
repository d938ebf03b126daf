"""ContactAtOnce operations: from a stored payload to one XML call in the payload's region."""

from __future__ import annotations

from textgate import executors, payloads
from textgate.executors import NotAttempted
from textgate.models import Operation
from textgate.payloads import ContactAtOnceConversation
from textgate.providers.contactatonce import ContactAtOnceClient, ContactAtOnceCredentials, Conversation
from textgate.providers.outcome import ProviderOutcome
from textgate.settings import get_settings


def client() -> ContactAtOnceClient:
    settings = get_settings()
    credentials = executors.credentials(
        "ContactAtOnce", settings.contactatonce_secret_id, ContactAtOnceCredentials.from_secret
    )
    try:
        return ContactAtOnceClient.from_settings(credentials, settings)
    except ValueError as exc:
        # A misconfigured root element: nothing was sent, and a fixed setting lets a retry go through.
        raise NotAttempted(f"ContactAtOnce settings unusable ({exc})") from None


def initiate_conversation(operation: Operation) -> ProviderOutcome:
    stored = payloads.read(ContactAtOnceConversation, operation.payload)
    # The stored payload is the conversation plus where to send it: one copy of the fields, not two.
    conversation = Conversation(**stored.model_dump(exclude={"region"}))
    return client().initiate_conversation(conversation, region=stored.region)
