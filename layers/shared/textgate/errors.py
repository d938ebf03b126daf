"""Domain errors that end as problem+json answers. Their text is written for the caller: no internals."""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

# An error answer names at most this many fields and stays under this size, whatever the request held
# (600,000 unknown keys once made a 43 MB answer, over Lambda's 6 MB limit).
MAX_ERRORS = 50
MAX_PROBLEM_BYTES = 64 * 1024
_MAX_FIELD = 100
_MAX_MESSAGE = 200
_MAX_DETAIL = 1000


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


class Problem(BaseModel):
    """Every error answer (application/problem+json)."""

    # Built at the first error answer, not at every cold start: most requests never need it.
    model_config = ConfigDict(defer_build=True)

    type: str
    title: str
    status: int
    detail: str
    code: str = Field(examples=["validation_error"])
    errors: list[dict[str, str]] = Field(default_factory=list)


class ApiError(Exception):
    status: int = 500
    code: str = "internal_error"
    title: str = "Internal error"
    max_errors: int = MAX_ERRORS

    def __init__(
        self,
        detail: str | None = None,
        *,
        errors: list[dict[str, str]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail or self.title)
        self.detail = clip(detail or self.title, _MAX_DETAIL)
        self.errors = [
            {"field": clip(error["field"], _MAX_FIELD), "message": clip(error["message"], _MAX_MESSAGE)}
            for error in (errors or [])[: self.max_errors]
        ]
        self.headers = headers or {}

    def problem(self) -> dict[str, Any]:
        """The answer, as the documented Problem."""
        document = Problem(
            type=f"https://textgate.dev/problems/{self.code.replace('_', '-')}",
            title=self.title,
            status=self.status,
            detail=self.detail,
            code=self.code,
            errors=self.errors,
        ).model_dump()
        # Clipped names can still grow when escaped (a control character is six bytes of JSON): shed entries
        # until the answer fits.
        while self.errors and len(json.dumps(document, ensure_ascii=False).encode()) > MAX_PROBLEM_BYTES:
            document["errors"] = self.errors = self.errors[: len(self.errors) // 2]
        return document


def _error(status: int, code: str, title: str) -> type[ApiError]:
    return type(
        "".join(part.title() for part in code.split("_")),
        (ApiError,),
        {"status": status, "code": code, "title": title},
    )


InvalidJson = _error(400, "invalid_json", "Body is not JSON")
BadRequest = _error(400, "bad_request", "Bad request")
Forbidden = _error(403, "forbidden", "Forbidden")
NotFound = _error(404, "not_found", "Not found")
MethodNotAllowed = _error(405, "method_not_allowed", "Method not allowed")
IdempotencyKeyInUse = _error(409, "idempotency_key_in_use", "Idempotency key in use")
VerificationPending = _error(409, "verification_pending", "Verification pending")
OptedOutByRecipient = _error(409, "opted_out_by_recipient", "Opted out by the recipient")
NotCancelable = _error(409, "not_cancelable", "Not cancelable")
VerificationExpired = _error(410, "verification_expired", "Verification expired")
VerificationUsed = _error(410, "verification_used", "Verification used")
PayloadTooLarge = _error(413, "payload_too_large", "Payload too large")
UnsupportedMediaType = _error(415, "unsupported_media_type", "Unsupported media type")
ValidationFailed = _error(422, "validation_error", "Validation failed")
IdempotencyKeyReused = _error(422, "idempotency_key_reused", "Idempotency key reused")
RecipientOptedOut = _error(422, "recipient_opted_out", "Recipient opted out")
TooManyAttempts = _error(429, "too_many_attempts", "Too many attempts")
TooManyRequests = _error(429, "too_many_requests", "Too many requests")
RecipientLimitReached = _error(429, "recipient_limit_reached", "Recipient limit reached")


class BatchRefused(ApiError):
    """A batch with `all_or_nothing` and a refused item: one entry per refused item, up to a whole batch's."""

    status = 422
    code = "batch_refused"
    title = "Batch refused"
    max_errors = 1000


InternalError = _error(500, "internal_error", "Internal error")
ProviderUnavailable = _error(502, "provider_unavailable", "Provider unavailable")
ServiceUnavailable = _error(503, "service_unavailable", "Service unavailable")
ProviderTimeout = _error(504, "provider_timeout", "Provider timeout")
