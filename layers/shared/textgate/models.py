"""The operation resource and the outcome of a provider call: the models that logic passes around."""

from __future__ import annotations

import secrets
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field

from textgate import clock
from textgate.sms import SmsInfo


class Status(StrEnum):
    QUEUED = "queued"
    SENDING = "sending"
    RETRYING = "retrying"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    UNKNOWN = "unknown"

    @property
    def final(self) -> bool:
        return self in FINAL_STATUSES


FINAL_STATUSES = frozenset({Status.SUCCEEDED, Status.FAILED, Status.UNKNOWN})
OPERATION_ID_PATTERN = "^op_[0-9a-f]{24}$"  # what new_id makes


class OperationError(BaseModel):
    code: str
    message: str
    retryable: bool = False


class Operation(BaseModel):
    """One accepted request and everything that became of it."""

    id: str
    operation: str
    provider: str
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

    @classmethod
    def new(
        cls,
        *,
        operation: str,
        provider: str,
        client: str,
        payload: dict[str, Any],
        sms: SmsInfo | None = None,
        operation_id: str | None = None,
    ) -> Operation:
        at = clock.now()
        return cls(
            id=operation_id or new_operation_id(),
            operation=operation,
            provider=provider,
            client=client,
            created_at=at,
            updated_at=at,
            payload=payload,
            sms=sms,
        )

    def public(self) -> dict[str, Any]:
        """What a caller sees: never the payload's secrets, never internal bookkeeping."""
        view: dict[str, Any] = {
            "id": self.id,
            "operation": self.operation,
            "provider": self.provider,
            "status": self.status.value,
            "attempts": self.attempts,
            "created_at": clock.rfc3339(self.created_at),
            "updated_at": clock.rfc3339(self.updated_at),
            "result": self.result,
            "error": self.error.model_dump() if self.error else None,
        }
        view["sms"] = self.sms.model_dump() if self.sms is not None else None
        if self.dead_lettered_at is not None:
            view["dead_lettered_at"] = clock.rfc3339(self.dead_lettered_at)
        return view


def new_operation_id() -> str:
    return "op_" + secrets.token_hex(12)
