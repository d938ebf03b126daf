"""Accepting ProTexting operations."""

from __future__ import annotations

from textgate.logic import operations
from textgate.models import Operation
from textgate.payloads import ProTextingOptIn
from textgate.registry import OperationName
from textgate.schemas.protexting import OptInRequest


def accept_opt_in(client: str, request: OptInRequest) -> Operation:
    # Every opt-in may text the number (ProTexting sends its call to action to a contact not yet opted in, even
    # with SendCTAMessage 0 or absent: seed 003), so it is refused for an opted-out number and counts toward the
    # daily limit like any send (see recipients.handset).
    return operations.accept(
        client=client,
        operation=OperationName.PROTEXTING_OPT_IN,
        payload=opt_in_payload(request),
        send_at=request.send_at,
        purpose=request.purpose,
        status_callback=request.status_callback,
    )


def opt_in_payload(request: OptInRequest) -> ProTextingOptIn:
    """What an opt-in stores (the route and a batch's items alike)."""
    return ProTextingOptIn(
        phone_number=request.phone_number,
        group_ids=request.group_ids,
        cta_message=request.cta_message,
        confirm_message=request.confirm_message,
        send_cta_message=request.send_cta_message,
    )
