"""Ogangi operations: from a stored payload to a signed call. One function per operation (the registry names it)."""

from __future__ import annotations

from textgate import payloads, phone, secrets
from textgate.executors import NotAttempted
from textgate.models import Operation
from textgate.payloads import OgangiFireMessage, OgangiPin, OgangiSms
from textgate.providers import accounts
from textgate.providers.ogangi import OgangiClient
from textgate.providers.outcome import ProviderOutcome


def client() -> OgangiClient:
    return accounts.ogangi()


def send_sms(operation: Operation) -> ProviderOutcome:
    sms = payloads.read(OgangiSms, operation.payload)
    mobile = phone.digits(sms.to)
    if sms.carrier:
        return client().send_sms(carrier=sms.carrier, sender=sms.sender, mobile=mobile, text=sms.text)
    return client().send_mt(sender=sms.sender, carrier_id=sms.carrier_id, mobile=mobile, text=sms.text, flags=sms.flags)


def send_pin(operation: Operation) -> ProviderOutcome:
    pin = payloads.read(OgangiPin, operation.payload)
    _ensure_pin_key()
    return client().send_pin(
        carrier=pin.carrier, sender=pin.sender, mobile=phone.digits(pin.to), text=pin.text, length=pin.length
    )


def fire_message(operation: Operation) -> ProviderOutcome:
    fired = payloads.read(OgangiFireMessage, operation.payload)
    return client().fire_message(mobile=phone.digits(fired.mobile), text=fired.text)


def _ensure_pin_key() -> None:
    """The PIN Ogangi returns must be hashed at once: without the key, do not ask Ogangi to send one."""
    from textgate.logic.pins import hash_key  # noqa: PLC0415 - only PIN sends need it

    try:
        hash_key()
    except (secrets.SecretUnavailable, KeyError) as exc:
        raise NotAttempted(f"the PIN hash key is unavailable ({type(exc).__name__})") from None
