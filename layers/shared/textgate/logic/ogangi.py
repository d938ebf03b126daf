"""Accepting Ogangi operations."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textgate import sms
from textgate.errors import ValidationFailed
from textgate.logic import operations
from textgate.models import Operation
from textgate.payloads import OgangiFireMessage, OgangiSms
from textgate.registry import OperationName
from textgate.settings import get_settings

if TYPE_CHECKING:  # the handlers validate with them; delivery, which imports this module, never does
    from textgate.schemas.ogangi import FireMessageRequest, SendSmsRequest


def sender(requested: str | None) -> str:
    sender = requested or get_settings().ogangi_from
    if not sender:
        raise ValidationFailed(
            "invalid from", errors=[{"field": "from", "message": "is required: no default sender is configured"}]
        )
    # Ogangi's short and long codes are digits without '+', like every number on its wire.
    return sender.removeprefix("+")


def sms_payload(request: SendSmsRequest) -> tuple[OgangiSms, sms.SmsInfo]:
    """What a send stores, and its text's description (the route and a batch's items alike)."""
    payload = OgangiSms(
        to=request.to,
        text=request.text,
        sender=sender(request.sender),
        carrier=request.carrier,
        carrier_id=request.carrier_id,
        flags=request.flags,
    )
    return payload, sms.describe(request.text)


def accept_sms(client: str, request: SendSmsRequest) -> Operation:
    payload, described = sms_payload(request)
    return operations.accept(
        client=client,
        operation=OperationName.OGANGI_SEND_SMS,
        payload=payload,
        sms=described,
        send_at=request.send_at,
        purpose=request.purpose,
        status_callback=request.status_callback,
    )


def accept_fire_message(client: str, request: FireMessageRequest) -> Operation:
    """Inject an inbound message. The campaign it triggers answers the handset, so it is a text to `mobile`."""
    payload = OgangiFireMessage(mobile=request.mobile, text=request.text)
    return operations.accept(
        client=client,
        operation=OperationName.OGANGI_FIRE_MESSAGE,
        payload=payload,
        sms=sms.describe(request.text),
        send_at=request.send_at,
        purpose=request.purpose,
        status_callback=request.status_callback,
    )
