"""Uniphore (Jacada) Interact, Send SMS API version 3: a JSON POST, answers in plain text.

POST `{base}/interact/version/3/account/{accountId}/resources/campaign/sms/{campaignId}` with the headers
Tenant-Id, Application-Key and (when the account has one) Environment-Name. The campaign holds the text; the
call names the customer (`callerId`) and the interaction (`jpToken`).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import quote, urlencode

from textgate import clock
from textgate.providers import answers, transport
from textgate.providers.outcome import ProviderOutcome
from textgate.registry import Provider

PROVIDER = Provider.INTERACT

# The sid follows "messageSid:"; a bare search for "SM…" would take the "SMS" of "in SMS queue".
_MESSAGE_SID = re.compile(r"messageSid:\s*(SM[0-9A-Za-z]+)")
_CAMPAIGN_NOT_FOUND = re.compile(r"^Campaign .* was not found$", re.DOTALL)
_TELEPHONY_NOT_DEFINED = "Telephony provider is not defined"
_INVALID_PARAMETER = "missing or invalid parameter"
# The seed's 500 general error is the word `exception` ("in XML format" in its SOAP table): alone, or as the
# only text of an XML document.
_EXCEPTION = re.compile(r"^\s*(<\?xml[^>]*\?>\s*)?(<[A-Za-z_][^<>]*>\s*)*exception\s*(</[^<>]+>\s*)*$", re.I)
# The seed's 401 body has a trailing comma, so it is not JSON: its message is found with a pattern instead.
_JSON_MESSAGE = re.compile(r'"message"\s*:\s*"((?:[^"\\]|\\.)*)"')


@dataclass(frozen=True)
class InteractCredentials:
    account_id: str
    tenant_id: str
    application_key: str = field(repr=False)
    environment_name: str = ""  # empty: the Environment-Name header is left out

    @classmethod
    def from_secret(cls, secret: dict[str, Any]) -> InteractCredentials:
        def required(name: str) -> str:
            value = secret.get(name)
            if value is None or str(value) == "":
                raise KeyError(name)
            return str(value)

        return cls(
            account_id=required("account_id"),
            tenant_id=required("tenant_id"),
            application_key=required("application_key"),
            environment_name=str(secret.get("environment_name") or ""),
        )


def account_headers(credentials: InteractCredentials) -> dict[str, str]:
    """The headers that name the account, the same over REST and SOAP (Environment-Name only when it has one)."""
    headers = {"Tenant-Id": credentials.tenant_id, "Application-Key": credentials.application_key}
    if credentials.environment_name:
        headers["Environment-Name"] = credentials.environment_name
    return headers


def query_string(params: dict[str, str] | str) -> str:
    """additionalParams as Interact reads it: `var1=value1&var2=value2`; a string is the caller's own."""
    return params if isinstance(params, str) else urlencode(params)


def retry_after_seconds(value: str | None) -> float | None:
    """Retry-After as delta-seconds or an HTTP-date; None when absent or unreadable."""
    if value is None:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - clock.now()) if when.tzinfo is not None else None


class InteractClient:
    def __init__(self, base_url: str, credentials: InteractCredentials, timeout: tuple[float, float]) -> None:
        self._base_url = base_url.rstrip("/")
        self._credentials = credentials
        self._timeout = timeout

    def campaign_sms_url(self, campaign_id: str) -> str:
        # The syntax line, not the seed's sample request: the sample adds `/callerid/{CallerId}`, which neither
        # the syntax line nor the URI field table has, and the caller id already travels in the body.
        account = quote(self._credentials.account_id, safe="")
        campaign = quote(campaign_id, safe="")  # one path segment, even with '/' or spaces in the id
        return f"{self._base_url}/interact/version/3/account/{account}/resources/campaign/sms/{campaign}"

    def headers(self) -> dict[str, str]:
        return {**account_headers(self._credentials), "Content-Type": "application/json"}

    def send_campaign_sms(
        self,
        *,
        campaign_id: str,
        caller_id: str,
        jp_token: str,
        sender: str | None = None,
        additional_params: dict[str, str] | str | None = None,
    ) -> ProviderOutcome:
        body: dict[str, str] = {"callerId": caller_id, "jpToken": jp_token}
        if sender is not None:
            body["from"] = sender
        if additional_params is not None:
            body["additionalParams"] = query_string(additional_params)
        data = json.dumps(body, ensure_ascii=False).encode("utf-8")
        try:
            answer = transport.call(
                PROVIDER,
                "POST",
                self.campaign_sms_url(campaign_id),
                timeout=self._timeout,
                headers=self.headers(),
                data=data,
            )
        except transport.TransportError as exc:
            return transport.failure_outcome("Interact", exc)
        return interpret(answer).without(self._credentials.application_key)


def interpret(answer: transport.HttpAnswer) -> ProviderOutcome:
    """Its documented answers by status and text; any other answer follows the shared rule."""
    status = answer.status
    words = answers.words(answer)
    if 200 <= status < 300:
        found = _MESSAGE_SID.search(answer.text)
        if found is None:
            # It took the request and did not say what became of it: the SMS may be on its way.
            return answers.undocumented("Interact", answer, "no messageSid")
        return ProviderOutcome.succeeded(
            {"message_sid": found.group(1), "provider_status": "placed", "description": words}, http_status=status
        )
    if status == 400 and words.startswith(_INVALID_PARAMETER):
        return ProviderOutcome.rejected("invalid_parameter", words, http_status=status)
    if status == 401:
        return ProviderOutcome.rejected("unauthorized", _unauthorized(answer), http_status=status)
    if status == 403 and "token expired" in words.lower():
        return ProviderOutcome.rejected("token_expired", words, http_status=status)
    if status == 404 and _CAMPAIGN_NOT_FOUND.match(words):
        return ProviderOutcome.rejected("campaign_not_found", words, http_status=status)
    if status == 429:
        wait = retry_after_seconds(answer.header("Retry-After"))
        if wait is not None:
            return ProviderOutcome.rate_limited(wait, f"Interact asked to wait {wait:.0f} seconds", http_status=status)
    if status == 500 and _TELEPHONY_NOT_DEFINED in words:
        # The account's telephony settings are missing or expired: no retry fixes that, an administrator does.
        return ProviderOutcome.rejected("telephony_not_configured", words, http_status=status)
    if status == 500 and _is_exception(answer):
        # The documented general error, "internal error from the X-Platform Server": it does not show that the
        # campaign was not placed, so it is never retried.
        return ProviderOutcome.unknown(
            "provider_internal_error", f"Interact answered HTTP 500: {words}", http_status=status
        )
    # A 400 or 403 in other words, a 404 from a wrong base URL, a gateway's 502 or 504, an HTML page, …
    return answers.undocumented("Interact", answer)


def _is_exception(answer: transport.HttpAnswer) -> bool:
    """The seed's general error: the word `exception`, as plain text or in XML (`<…>exception</…>`)."""
    if answers.is_html(answer):
        return False
    return _EXCEPTION.match(answer.text) is not None


def _unauthorized(answer: transport.HttpAnswer) -> str:
    message = "Request is unauthorized"
    found = _JSON_MESSAGE.search(answer.text)
    if found is not None:
        try:
            message = json.loads(f'"{found.group(1)}"')
        except ValueError:
            message = found.group(1)
    reason = answer.header("Unauthenticated-Reason")
    if reason:
        message = f"{message} (Unauthenticated-Reason: {reason})"
    return answers.tidy(message)


# -- shared with the SOAP variant (providers/interact_soap.py) -------------------------------------------------


def message_sid(text: str) -> str | None:
    """The `SM…` sid of a success text, REST's "Placed campaign …" or SOAP's "… was sent to queue …"."""
    found = _MESSAGE_SID.search(text)
    return None if found is None else found.group(1)


def documented_error(words: str, *, http_status: int | None) -> ProviderOutcome | None:
    """The outcome of one of Interact's documented error texts, whatever the status; None for any other text.
    Over SOAP every error is an HTTP 200 envelope and only the text says what went wrong."""
    lowered = words.lower()
    if _CAMPAIGN_NOT_FOUND.match(words):
        return ProviderOutcome.rejected("campaign_not_found", words, http_status=http_status)
    if _TELEPHONY_NOT_DEFINED in words:
        # The account's telephony settings are missing or expired: no retry fixes that, an administrator does.
        return ProviderOutcome.rejected("telephony_not_configured", words, http_status=http_status)
    if "token expired" in lowered:
        return ProviderOutcome.rejected("token_expired", words, http_status=http_status)
    if lowered.startswith(_INVALID_PARAMETER):
        return ProviderOutcome.rejected("invalid_parameter", words, http_status=http_status)
    if lowered == "exception":
        # The documented general error: an internal error at Interact, which may come after it placed the
        # campaign. Never retried.
        return ProviderOutcome.unknown(
            "provider_internal_error", f"Interact answered: {words}", http_status=http_status
        )
    return None


def words(text: str) -> str:
    """The provider's own words, trimmed to what an error message keeps."""
    return answers.tidy(text)
