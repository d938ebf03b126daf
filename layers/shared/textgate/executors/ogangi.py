"""Ogangi operations: from a stored payload to a signed call."""

from __future__ import annotations

from typing import Any

from textgate import executors, phone, secrets
from textgate.executors import NotAttempted
from textgate.models import Operation
from textgate.providers.ogangi import OgangiClient, OgangiCredentials
from textgate.providers.outcome import ProviderOutcome
from textgate.settings import get_settings


def client() -> OgangiClient:
    settings = get_settings()
    credentials = executors.credentials("Ogangi", settings.ogangi_secret_id, OgangiCredentials.from_secret)
    return OgangiClient(settings.ogangi_base_url, credentials, settings.provider_timeouts)


def execute(operation: Operation) -> ProviderOutcome:
    payload = operation.payload
    if operation.operation == "ogangi.send_sms":
        ogangi = client()
        mobile = phone.digits(payload["to"])
        if payload.get("carrier") and not payload.get("flags"):
            return ogangi.send_sms(
                carrier=payload["carrier"], sender=payload["from"], mobile=mobile, text=payload["text"]
            )
        return ogangi.send_mt(
            sender=payload["from"],
            carrier_id=_carrier_id(payload),
            mobile=mobile,
            text=payload["text"],
            flags=payload.get("flags"),
        )
    if operation.operation == "ogangi.send_pin":
        _ensure_pin_key()
        return client().send_pin(
            carrier=payload["carrier"],
            sender=payload["from"],
            mobile=phone.digits(payload["to"]),
            text=payload["text"],
            length=int(payload["length"]),
        )
    if operation.operation == "ogangi.fire_message":
        return client().fire_message(mobile=phone.digits(payload["mobile"]), text=payload["text"])
    raise NotAttempted(f"no Ogangi executor for {operation.operation}")


def _carrier_id(payload: dict[str, Any]) -> str | None:
    """The operator id for sendMT. A payload accepted before `carrier_id` existed carried `carrier` with `flags`
    to mean the operator id; it is sent as it was accepted. New payloads never hold both."""
    if "carrier_id" not in payload and payload.get("flags"):
        legacy: str | None = payload.get("carrier")
        return legacy
    carrier_id: str | None = payload.get("carrier_id")
    return carrier_id


def _ensure_pin_key() -> None:
    """The PIN Ogangi returns must be hashed at once: without the key, do not ask Ogangi to send one."""
    from textgate.logic.pins import hash_key  # noqa: PLC0415 - only PIN sends need it

    try:
        hash_key()
    except (secrets.SecretUnavailable, KeyError) as exc:
        raise NotAttempted(f"the PIN hash key is unavailable ({type(exc).__name__})") from None
