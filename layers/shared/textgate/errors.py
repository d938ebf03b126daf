"""Domain errors that end as problem+json answers. Their text is written for the caller: no internals."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    status: int = 500
    code: str = "internal_error"
    title: str = "Internal error"

    def __init__(
        self,
        detail: str | None = None,
        *,
        errors: list[dict[str, str]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.errors = errors or []
        self.headers = headers or {}

    def problem(self) -> dict[str, Any]:
        return {
            "type": f"https://textgate.dev/problems/{self.code.replace('_', '-')}",
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            "code": self.code,
            "errors": self.errors,
        }


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
IdempotencyKeyInUse = _error(409, "idempotency_key_in_use", "Idempotency key in use")
VerificationPending = _error(409, "verification_pending", "Verification pending")
OptedOutByRecipient = _error(409, "opted_out_by_recipient", "Opted out by the recipient")
VerificationExpired = _error(410, "verification_expired", "Verification expired")
VerificationUsed = _error(410, "verification_used", "Verification used")
PayloadTooLarge = _error(413, "payload_too_large", "Payload too large")
ValidationFailed = _error(422, "validation_error", "Validation failed")
IdempotencyKeyReused = _error(422, "idempotency_key_reused", "Idempotency key reused")
RecipientOptedOut = _error(422, "recipient_opted_out", "Recipient opted out")
TooManyAttempts = _error(429, "too_many_attempts", "Too many attempts")
TooManyRequests = _error(429, "too_many_requests", "Too many requests")
RecipientLimitReached = _error(429, "recipient_limit_reached", "Recipient limit reached")
InternalError = _error(500, "internal_error", "Internal error")
ProviderUnavailable = _error(502, "provider_unavailable", "Provider unavailable")
ServiceUnavailable = _error(503, "service_unavailable", "Service unavailable")
ProviderTimeout = _error(504, "provider_timeout", "Provider timeout")
