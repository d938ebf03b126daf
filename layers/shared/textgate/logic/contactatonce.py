"""Accepting ContactAtOnce operations."""

from __future__ import annotations

from textgate.logic import operations
from textgate.models import Operation
from textgate.payloads import ContactAtOnceConversation
from textgate.registry import OperationName
from textgate.schemas.contactatonce import InitiateConversationRequest


def accept_conversation(client: str, request: InitiateConversationRequest) -> Operation:
    # No suppression check: ContactAtOnce sends no SMS; it opens a conversation the consumer asked for.
    payload = ContactAtOnceConversation.model_validate(request.model_dump(exclude={"country", "send_at", "purpose"}))
    return operations.accept(
        client=client,
        operation=OperationName.CONTACTATONCE_INITIATE_CONVERSATION,
        payload=payload,
        send_at=request.send_at,
        purpose=request.purpose,
    )
