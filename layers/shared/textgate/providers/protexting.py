"""ProTexting: JSON over HTTPS, the access token in the query string, Yii2-style answers.

Opt In Contact is a POST to `{base}/v1/contacts-opt-in/create?access_token={token}`. The URL holds the token,
so no message, exception or log line here ever includes the URL, and any provider text that echoes the token
is scrubbed before it leaves this module.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import Any

from textgate.providers import answers, transport
from textgate.providers.outcome import ProviderOutcome
from textgate.registry import Provider

PROVIDER = Provider.PROTEXTING
OPT_IN_PATH = "/v1/contacts-opt-in/create"
HEADERS = {"Accept": "application/json", "Content-Type": "application/json"}
DEFAULT_RESET_SECONDS = 60.0  # the seed's allowance is per minute
# A garbled header must not park operations for days: anything longer is treated as unreadable.
MAX_RESET_SECONDS = 3600.0

# 422 `{"name", "message", "code", "status"}`: the provider's business refusals, each final.
BUSINESS_ERRORS: dict[int, tuple[str, str]] = {
    1: ("recipient_opted_out", "the contact has opted out"),
    2: ("forbidden_words", "the message contains forbidden words"),
    5: ("insufficient_credit", "the account has not enough credit"),
    6: ("app_not_activated", "the API application is not activated"),
    7: ("ip_not_allowed", "requests from this IP address are not allowed"),
    # The provider saw this very content within 10 seconds, so an earlier copy of this request (a caller's
    # second submission, or a send whose answer was lost) may already have texted the handset. Retrying after
    # the 10 seconds would text it again, and we cannot tell whether that copy succeeded: final, not retried.
    8: ("duplicate_content", "the same content was sent within 10 seconds"),
    301: ("sender_blocked", "the sender is blocked"),
    302: ("sender_blocked", "the sender is blocked"),
    # Opted out everywhere is opted out: the same code as 1, so the number joins our suppression list too.
    1000: ("recipient_opted_out", "the number is globally opted out"),
    1001: ("globally_blocked", "the number is globally blocked"),
}


@dataclass(frozen=True)
class ProTextingCredentials:
    access_token: str = field(repr=False)

    @classmethod
    def from_secret(cls, secret: dict[str, Any]) -> ProTextingCredentials:
        token = str(secret["access_token"])
        if not token:
            raise ValueError("the ProTexting secret holds an empty access_token")
        return cls(access_token=token)


@dataclass(frozen=True)
class RateLimit:
    """The X-Rate-Limit-* headers; `reset` is seconds until the allowance is full again, not a timestamp."""

    limit: int | None
    remaining: int | None
    reset: int | None

    @classmethod
    def of(cls, answer: transport.HttpAnswer) -> RateLimit:
        return cls(
            limit=_count(answer.header("X-Rate-Limit-Limit")),
            remaining=_count(answer.header("X-Rate-Limit-Remaining")),
            reset=_count(answer.header("X-Rate-Limit-Reset")),
        )

    @property
    def wait_seconds(self) -> float:
        if self.reset is None or self.reset > MAX_RESET_SECONDS:
            return DEFAULT_RESET_SECONDS
        return float(self.reset)

    def shown(self) -> dict[str, int]:
        figures = {"limit": self.limit, "remaining": self.remaining, "reset": self.reset}
        return {name: value for name, value in figures.items() if value is not None}


def _count(value: str | None) -> int | None:
    text = (value or "").strip()
    return int(text) if text.isdigit() and text.isascii() else None


class ProTextingClient:
    def __init__(self, base_url: str, credentials: ProTextingCredentials, timeout: tuple[float, float]) -> None:
        self._base_url = base_url.rstrip("/")
        self._credentials = credentials
        self._timeout = timeout

    def opt_in(
        self,
        *,
        phone_number: str,
        group_ids: list[int],
        cta_message: str | None = None,
        confirm_message: str | None = None,
        send_cta_message: bool | None = None,
    ) -> ProviderOutcome:
        """`phone_number` is international digits without '+'. Optional fields are sent only when given:
        without SendCTAMessage the provider sends the CTA only to contacts not yet opted in."""
        body: dict[str, Any] = {"PhoneNumber": phone_number, "GroupIds": group_ids}
        if cta_message is not None:
            body["CTAMessage"] = cta_message
        if confirm_message is not None:
            body["ConfirmMessage"] = confirm_message
        if send_cta_message is not None:
            body["SendCTAMessage"] = 1 if send_cta_message else 0
        return self._post(OPT_IN_PATH, body)

    def _post(self, path: str, body: dict[str, Any]) -> ProviderOutcome:
        data = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        try:
            # The token goes in `params`: the URL string built here never holds it.
            answer = transport.call(
                PROVIDER,
                "POST",
                self._base_url + path,
                timeout=self._timeout,
                params={"access_token": self._credentials.access_token},
                headers=HEADERS,
                data=data,
            )
        except transport.TransportError as exc:
            return transport.failure_outcome("ProTexting", exc)
        return interpret(answer).without(self._credentials.access_token)


def interpret(answer: transport.HttpAnswer) -> ProviderOutcome:
    limits = RateLimit.of(answer)
    outcome = _verdict(answer, limits)
    if limits.remaining == 0:
        # The allowance is spent whatever this call's verdict: pause the queue until it refills.
        outcome = replace(outcome, pause_for=limits.wait_seconds)
    return outcome


def _verdict(answer: transport.HttpAnswer, limits: RateLimit) -> ProviderOutcome:
    status = answer.status
    data = _json(answer.body)
    if 200 <= status < 300:
        return _created(answer, data, limits)
    words = _message(data)
    if status == 401:
        return ProviderOutcome.rejected(
            "unauthorized", words or "ProTexting refused the access token", http_status=status
        )
    if status == 429:
        return ProviderOutcome.rate_limited(
            limits.wait_seconds, words or "ProTexting's rate limit is spent", http_status=status
        )
    if status == 422:
        return _refusal(data)
    # Any other answer (a 5xx, an HTML page from a proxy, another 4xx) follows the shared rule.
    return answers.undocumented("ProTexting", answer)


def _created(answer: transport.HttpAnswer, data: Any, limits: RateLimit) -> ProviderOutcome:
    status = answer.status
    # The seed's XML sample wraps the contact in an <item>, as a one-element list would be: accept that too.
    if isinstance(data, list) and len(data) == 1:
        data = data[0]
    result: dict[str, Any]
    if isinstance(data, dict) and "Id" in data:
        result = {"contact": data, "provider_status": "created"}
    elif isinstance(data, dict) and isinstance(data.get("message"), str):
        result = {"provider_status": "created", "description": data["message"]}
    else:
        # It answered success, so it may have acted: never retried.
        return answers.undocumented("ProTexting", answer, "neither a contact nor a message")
    if limits.shown():
        result["rate_limit"] = limits.shown()
    return ProviderOutcome.succeeded(result, http_status=status)


def _refusal(data: Any) -> ProviderOutcome:
    if isinstance(data, list) and data:
        problems = [
            f"{item.get('field') or 'request'}: {item.get('message') or 'is invalid'}"
            for item in data
            if isinstance(item, dict)
        ]
        return ProviderOutcome.rejected(
            "provider_validation_error",
            answers.tidy("; ".join(problems)) or "ProTexting refused the data",
            http_status=422,
        )
    code = data.get("code") if isinstance(data, dict) else None
    words = _message(data)
    if isinstance(code, int) and code in BUSINESS_ERRORS:
        error_code, default = BUSINESS_ERRORS[code]
        return ProviderOutcome.rejected(error_code, words or default, http_status=422)
    detail = f" (code {code})" if isinstance(code, int) else ""
    return ProviderOutcome.rejected(
        "provider_rejected",
        f"ProTexting refused the request{detail}: {words or 'no reason given'}",
        http_status=422,
    )


def _json(body: bytes) -> Any:
    try:
        return json.loads(body.decode("utf-8"))
    except (ValueError, RecursionError):
        return None


def _message(data: Any) -> str | None:
    message = data.get("message") if isinstance(data, dict) else None
    return (answers.tidy(message) or None) if isinstance(message, str) else None
