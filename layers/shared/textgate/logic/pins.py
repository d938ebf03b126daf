"""PIN verification: Ogangi generates and sends the PIN; we keep only its keyed hash and judge the checks.

A PIN expires 10 minutes after it was sent, allows 5 wrong checks, verifies once; at most 5 PINs per client and
recipient per hour. No answer and no log line ever holds the PIN.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import TYPE_CHECKING, Any

from textgate import clock, metrics, secrets, sms
from textgate.dal import limits, pins
from textgate.errors import (
    NotFound,
    TooManyAttempts,
    TooManyRequests,
    VerificationExpired,
    VerificationPending,
    VerificationUsed,
)
from textgate.logic import operations
from textgate.logic.ogangi import sender
from textgate.models import Operation, Status
from textgate.payloads import OgangiPin
from textgate.registry import OperationName
from textgate.settings import get_settings

if TYPE_CHECKING:  # the handlers use them; delivery, which imports this module for `protect`, never does
    from textgate.schemas.ogangi import PinCheckResult, SendPinRequest

PIN_TTL_SECONDS = 600
MAX_WRONG_CHECKS = 5
MAX_PINS_PER_HOUR = 5


def hash_key() -> bytes:
    return str(secrets.get_secret(get_settings().pin_key_secret_id)["key"]).encode()


def pin_hash(operation_id: str, pin: str) -> str:
    # Bound to the operation id, so one hash says nothing about another verification's PIN.
    return hmac.new(hash_key(), f"{operation_id}:{pin}".encode(), hashlib.sha256).hexdigest()


def accept_pin(client: str, request: SendPinRequest) -> Operation:
    from_ = sender(request.sender)  # a refused request must not use up one of the recipient's PINs
    payload = OgangiPin(to=request.to, carrier=request.carrier, text=request.text, length=request.length, sender=from_)
    return operations.accept(
        client=client,
        operation=OperationName.OGANGI_SEND_PIN,
        payload=payload,
        sms=sms.describe(request.text),
        take_limits=lambda number: [take_pin_slot(client, number)],
    )


def take_pin_slot(client: str, number: str) -> limits.Slot:
    """One of the client's PINs to this recipient this hour: per client, so one client cannot use up the
    allowance of another's verifications."""
    taken = limits.take_slot(
        limits.key("pin", client, number), limit=MAX_PINS_PER_HOUR, window_seconds=3600, now=clock.now()
    )
    if isinstance(taken, limits.Refused):
        wait = taken.retry_after_header
        raise TooManyRequests(
            f"at most {MAX_PINS_PER_HOUR} PINs per client and recipient per hour; try again in {wait} seconds",
            headers={"Retry-After": wait},
        )
    return taken


def protect(operation: Operation, private: dict[str, Any]) -> dict[str, str | float]:
    """What delivery stores when Ogangi returns the PIN it generated: its keyed hash and the check state."""
    return {
        pins.HASH: pin_hash(operation.id, str(private["pin"])),
        pins.EXPIRES_AT: clock.now() + PIN_TTL_SECONDS,
        pins.ATTEMPTS_LEFT: MAX_WRONG_CHECKS,
    }


# The PinChecked result of each refusal of a check.
_REFUSED_RESULTS: dict[type[Exception], str] = {
    VerificationPending: "pending",
    VerificationExpired: "expired",
    VerificationUsed: "used",
    TooManyAttempts: "too_many_attempts",
}


def check(client: str, verification_id: str, code: str) -> PinCheckResult:
    """Judge a code; every answer but "no such verification" counts as PinChecked by its result."""
    try:
        answer = _judge(client, verification_id, code)
    except (VerificationPending, VerificationExpired, VerificationUsed, TooManyAttempts) as refused:
        metrics.pin_checked(_REFUSED_RESULTS[type(refused)])
        raise
    metrics.pin_checked("verified" if answer.verified else "wrong_code")
    return answer


def _judge(client: str, verification_id: str, code: str) -> PinCheckResult:
    from textgate.schemas.ogangi import PinCheckResult  # noqa: PLC0415 - see TYPE_CHECKING above

    operation = operations.get_for_client(client, verification_id)
    if operation.operation is not OperationName.OGANGI_SEND_PIN:
        raise NotFound(f"no verification {verification_id}")
    if not operation.status.final:
        raise VerificationPending("the PIN has not been sent yet; check again shortly")
    state = pins.state(verification_id) if operation.status is Status.SUCCEEDED else None
    if state is None:
        raise VerificationExpired("the PIN was never delivered; send a new one")
    now = clock.now()
    if state.verified_at is not None:
        raise VerificationUsed("this PIN was already verified")
    if now >= state.expires_at:
        raise VerificationExpired("the PIN expired; send a new one")
    if state.attempts_left <= 0:
        raise TooManyAttempts("too many wrong codes; send a new PIN")
    right = hmac.compare_digest(state.pin_hash, pin_hash(verification_id, code))
    left = pins.mark_verified(verification_id, now=now) if right else pins.spend_attempt(verification_id, now=now)
    if left is None:
        # Another check got there first: judge again on what it left.
        return _judge(client, verification_id, code)
    return PinCheckResult(id=verification_id, verified=right, attempts_left=left)
