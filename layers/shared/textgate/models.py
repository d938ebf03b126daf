"""The operation that logic passes around, with its resource view (a Sumotext callback hit is in `callback_hits`)."""

from __future__ import annotations

import hashlib
import secrets
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, Field

from textgate import clock
from textgate.registry import OperationName, Provider, spec
from textgate.sms import SmsInfo


class Status(StrEnum):
    SCHEDULED = "scheduled"  # waits for its send_at (the caller's, or the end of quiet hours)
    QUEUED = "queued"
    SENDING = "sending"
    RETRYING = "retrying"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    UNKNOWN = "unknown"
    CANCELED = "canceled"

    @property
    def final(self) -> bool:
        return self in FINAL_STATUSES


FINAL_STATUSES = frozenset({Status.SUCCEEDED, Status.FAILED, Status.UNKNOWN, Status.CANCELED})
TRANSACTIONAL = "transactional"
MARKETING = "marketing"
QUIET_HOURS = "quiet_hours"  # deferred_for: textgate moved the send out of the recipient's night
QUEUE_UNAVAILABLE = "queue_unavailable"  # the error of an operation that could not be queued when accepted
OPERATION_ID_PATTERN = "^op_[0-9a-f]{24}$"  # what new_id makes
BATCH_ID_PATTERN = "^bat_[0-9a-f]{24}$"


class OperationError(BaseModel):
    code: str
    message: str
    retryable: bool = False


class CallbackStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


class StatusCallbackView(BaseModel):
    """How the operation's status callback went; never its URL, which may hold the caller's own secrets."""

    status: CallbackStatus = Field(description="pending until the receiver answers 2xx (delivered) or gives up")
    attempts: int = Field(ge=0)
    last_status_code: int | None = Field(default=None, description="the receiver's last HTTP status, if any")


class StatusCallbackState(BaseModel):
    """An operation's status callback as stored: where it goes and how its delivery stands."""

    url: str
    status: CallbackStatus = CallbackStatus.PENDING
    attempts: int = 0
    last_status_code: int | None = None
    next_attempt_at: float | None = None
    lease_until: float | None = None

    def view(self) -> StatusCallbackView:
        return StatusCallbackView(status=self.status, attempts=self.attempts, last_status_code=self.last_status_code)


Timestamp = Annotated[str, Field(json_schema_extra={"format": "date-time"}, examples=["2026-11-22T10:00:00Z"])]


class OperationView(BaseModel):
    """The operation resource, as GET /v1/operations/{id}, every 202 and every operation.* event show it."""

    id: str = Field(pattern=OPERATION_ID_PATTERN, examples=["op_3f9a1c0e5b7d2a4c6e8f0a1b"])
    operation: OperationName = Field(examples=["ogangi.send_sms"])
    provider: Provider = Field(examples=["ogangi"])
    status: Status = Field(examples=["queued"], description="succeeded, failed, unknown and canceled are final")
    attempts: int = Field(ge=0)
    created_at: Timestamp
    updated_at: Timestamp
    result: dict[str, Any] | None = None
    error: OperationError | None = None
    sms: SmsInfo | None = None
    dead_lettered_at: Timestamp | None = None
    batch_id: str | None = Field(default=None, pattern=BATCH_ID_PATTERN, description="present when it came in a batch")
    send_at: Timestamp | None = Field(default=None, description="when it is (or was) to be sent, if scheduled")
    deferred_for: str | None = Field(
        default=None, examples=[QUIET_HOURS], description="why textgate moved its send_at: quiet_hours"
    )
    status_callback: StatusCallbackView | None = None


# Shown only where they apply.
_OPTIONAL_VIEW_FIELDS = ("dead_lettered_at", "send_at", "deferred_for", "status_callback", "batch_id")


class Operation(BaseModel):
    """One accepted request and everything that became of it. The record stores the operation and the provider
    as strings; here they are the registry's enums (a record naming neither would not be read)."""

    id: str
    operation: OperationName
    provider: Provider
    client: str
    status: Status = Status.QUEUED
    attempts: int = 0
    created_at: float
    updated_at: float
    payload: dict[str, Any] = Field(default_factory=dict)
    result: dict[str, Any] | None = None
    error: OperationError | None = None
    sms: SmsInfo | None = None
    lease_until: float | None = None
    next_attempt_at: float | None = None
    dead_lettered_at: float | None = None
    status_callback: StatusCallbackState | None = None
    batch_id: str | None = None
    send_at: float | None = None  # epoch seconds
    purpose: str = TRANSACTIONAL
    deferred_for: str | None = None

    @property
    def marketing(self) -> bool:
        return self.purpose == MARKETING

    @classmethod
    def new(
        cls,
        *,
        operation: OperationName,
        client: str,
        payload: dict[str, Any],
        sms: SmsInfo | None = None,
        operation_id: str | None = None,
        status_callback: str | None = None,
        batch_id: str | None = None,
        created_at: float | None = None,
        send_at: float | None = None,
        purpose: str = TRANSACTIONAL,
        deferred_for: str | None = None,
    ) -> Operation:
        at = clock.now() if created_at is None else created_at
        return cls(
            status=Status.QUEUED if send_at is None else Status.SCHEDULED,
            send_at=send_at,
            purpose=purpose,
            deferred_for=deferred_for,
            id=operation_id or new_operation_id(),
            operation=operation,
            provider=spec(operation).provider,
            client=client,
            created_at=at,
            updated_at=at,
            payload=payload,
            sms=sms,
            status_callback=StatusCallbackState(url=status_callback) if status_callback else None,
            batch_id=batch_id,
        )

    def view(self) -> OperationView:
        return OperationView(
            id=self.id,
            operation=self.operation,
            provider=self.provider,
            status=self.status,
            attempts=self.attempts,
            created_at=clock.rfc3339(self.created_at),
            updated_at=clock.rfc3339(self.updated_at),
            result=self.result,
            error=self.error,
            sms=self.sms,
            dead_lettered_at=clock.rfc3339(self.dead_lettered_at) if self.dead_lettered_at is not None else None,
            batch_id=self.batch_id,
            send_at=clock.rfc3339(self.send_at) if self.send_at is not None else None,
            deferred_for=self.deferred_for,
            status_callback=self.status_callback.view() if self.status_callback is not None else None,
        )

    def public(self) -> dict[str, Any]:
        """What a caller sees, as the documented OperationView: never the payload's secrets, never internal
        bookkeeping (lease, next attempt), never a status callback's URL. `dead_lettered_at`, `send_at`,
        `deferred_for`, `status_callback` and `batch_id` only where they apply."""
        view = self.view()
        return view.model_dump(
            mode="json", exclude={name for name in _OPTIONAL_VIEW_FIELDS if getattr(view, name) is None} or None
        )


def new_operation_id() -> str:
    return "op_" + secrets.token_hex(12)


def new_batch_id() -> str:
    return "bat_" + secrets.token_hex(12)


def batch_operation_id(batch_id: str, index: int) -> str:
    """The id of a batch's item `index`: derived, so a retry of an interrupted batch finds the operations its
    first attempt created (and a batch's operations can be listed from its id alone)."""
    digest = hashlib.sha256(f"{batch_id}#{index}".encode()).hexdigest()
    return "op_" + digest[:24]
