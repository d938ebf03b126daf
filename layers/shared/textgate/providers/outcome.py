"""What became of one provider call, in the terms the delivery state machine acts on."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any
from urllib.parse import quote, quote_plus

REDACTED = "[redacted]"
CUT = "…"  # ends a provider text that was shortened
# A shortened text that ends in the first characters of a secret is blanked from there, down to this many.
_MIN_CUT_PREFIX = 3


class Verdict(StrEnum):
    SUCCEEDED = "succeeded"  # the provider accepted it
    REJECTED = "rejected"  # a documented refusal: final, never retried
    TRANSIENT = "transient"  # the provider did not act: safe to try again later
    RATE_LIMITED = "rate_limited"  # not acted on, try after `retry_after`; costs no attempt
    UNKNOWN = "unknown"  # the request went out and no usable answer came back: never retried


@dataclass(frozen=True)
class ProviderOutcome:
    verdict: Verdict
    result: dict[str, Any] | None = None
    code: str | None = None
    message: str | None = None
    http_status: int | None = None
    retry_after: float | None = None
    # The provider's own word that no further call should be made for this many seconds (its allowance is
    # spent), whatever this call's verdict: delivery pauses the whole provider queue for that long.
    pause_for: float | None = None
    # Kept on the operation record but never shown (for example the keyed hash of a generated PIN).
    private: dict[str, Any] = field(default_factory=dict)

    def without(self, *secrets: str) -> ProviderOutcome:
        """The same outcome with each secret blanked out of everything a caller may see: provider text reaches
        callers, and a provider that echoes a credential (or a URL that holds one) must not pass it on."""
        forms = sorted(
            {form for secret in secrets if secret for form in (secret, quote(secret, safe=""), quote_plus(secret))},
            key=len,
            reverse=True,
        )
        if not forms:
            return self
        return replace(self, message=_scrub(self.message, forms), result=_scrub(self.result, forms))

    @classmethod
    def succeeded(
        cls, result: dict[str, Any], *, http_status: int | None = None, private: dict[str, Any] | None = None
    ) -> ProviderOutcome:
        return cls(Verdict.SUCCEEDED, result=result, http_status=http_status, private=private or {})

    @classmethod
    def rejected(cls, code: str, message: str, *, http_status: int | None = None) -> ProviderOutcome:
        return cls(Verdict.REJECTED, code=code, message=message, http_status=http_status)

    @classmethod
    def transient(cls, code: str, message: str, *, http_status: int | None = None) -> ProviderOutcome:
        return cls(Verdict.TRANSIENT, code=code, message=message, http_status=http_status)

    @classmethod
    def unknown(cls, code: str, message: str, *, http_status: int | None = None) -> ProviderOutcome:
        return cls(Verdict.UNKNOWN, code=code, message=message, http_status=http_status)

    @classmethod
    def rate_limited(cls, retry_after: float, message: str, *, http_status: int | None = 429) -> ProviderOutcome:
        return cls(
            Verdict.RATE_LIMITED, code="rate_limited", message=message, http_status=http_status, retry_after=retry_after
        )


def _scrub[T](value: T, forms: list[str]) -> T:
    if isinstance(value, str):
        return _scrub_text(value, forms)  # type: ignore[return-value]
    if isinstance(value, dict):
        return {key: _scrub(item, forms) for key, item in value.items()}  # type: ignore[return-value]
    if isinstance(value, list):
        return [_scrub(item, forms) for item in value]  # type: ignore[return-value]
    return value


def _scrub_text(text: str, forms: list[str]) -> str:
    for form in forms:
        text = text.replace(form, REDACTED)
    if not text.endswith(CUT):
        return text
    # Shortened in the middle of a secret: the part left is still part of it.
    kept = text[: -len(CUT)]
    for form in forms:
        for size in range(min(len(form) - 1, len(kept)), _MIN_CUT_PREFIX - 1, -1):
            if kept.endswith(form[:size]):
                return kept[:-size] + REDACTED + CUT
    return text
