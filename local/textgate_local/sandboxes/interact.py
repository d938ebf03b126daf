"""Interact sandbox: checks Send SMS API v3 calls as Interact would and answers in its plain text.

The path is the syntax line's (`…/resources/campaign/sms/{campaignId}`, no `/callerid/` suffix). Wrong or
missing account id, Tenant-Id, Application-Key or Environment-Name: 401 with the seed's JSON (trailing comma
and all) and an Unauthenticated-Reason header. A missing or invalid body field: 400.

Reserved values give the documented answers:
  campaign `missing-campaign` 404 · campaign `no-telephony` 500 telephony not defined · campaign `flaky` 500
  `exception` · jpToken `expired` 403 · callerId +15005550004 acts, then answers after `slow_seconds` ·
  callerId +15005550005 acts, then answers 200 without a messageSid.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, unquote

from textgate_local.sandboxes.base import RecordedRequest, SandboxAnswer

PATH_PREFIX = "/interact/version/3/account/"
MISSING_CAMPAIGN = "missing-campaign"
NO_TELEPHONY_CAMPAIGN = "no-telephony"
FLAKY_CAMPAIGN = "flaky"
EXPIRED_TOKEN = "expired"
SLOW_CALLER = "+15005550004"
MALFORMED_CALLER = "+15005550005"

# The seed's 401 body, byte for byte: its trailing comma makes it not quite JSON.
UNAUTHORIZED_BODY = (
    b'{ "code":"0x7000000", "message": "Request is unauthorized, missing or wrong credentials", '
    b'"moreInfoUrl":"http://support.uniphore.com", }'
)
TELEPHONY_NOT_DEFINED = (
    "Your Telephony provider is not defined, please contact Uniphore Support and read the following +link+"
)
# The seed writes callerId with spaces ("+972 54 4696388"): Interact reads a number with separators.
_PHONE = re.compile(r"^\+?[0-9]{6,15}$")
_SEPARATORS = re.compile(r"[ ()\-.]")
TEXT = "text/plain;charset=UTF-8"


@dataclass
class InteractSandbox:
    account_id: str = "12345678"
    tenant_id: str = "sandbox-tenant"
    application_key: str = "sandbox-application-key"
    environment_name: str = ""  # empty: the account has none, and a request must not name one
    slow_seconds: float = 30.0
    retry_after: str | None = "2"  # the Retry-After of a 429; None leaves the header out
    name: str = "interact"

    def rate_limited(self, request: RecordedRequest) -> SandboxAnswer:
        headers = {"Content-Type": TEXT}
        if self.retry_after is not None:
            headers["Retry-After"] = self.retry_after
        return SandboxAnswer(429, b"Too Many Requests", headers)

    def handle(self, request: RecordedRequest) -> SandboxAnswer:
        if request.method != "POST":
            return SandboxAnswer(405, b"Method Not Allowed", {"Allow": "POST", "Content-Type": TEXT})
        parts = request.path[len(PATH_PREFIX) :].split("/") if request.path.startswith(PATH_PREFIX) else []
        if len(parts) != 5 or parts[1:4] != ["resources", "campaign", "sms"] or not parts[4]:
            return _text(404, "Not Found")
        refused = self._unauthenticated(unquote(parts[0]), request)
        if refused is not None:
            return refused
        content_type = (request.header("Content-Type") or "").split(";")[0].strip().lower()
        if content_type != "application/json":
            return _text(415, "Unsupported Media Type")
        return self._campaign_sms(unquote(parts[4]), request.body)

    def _unauthenticated(self, account_id: str, request: RecordedRequest) -> SandboxAnswer | None:
        reason = self._unauthenticated_reason(account_id, request)
        if reason is None:
            return None
        return SandboxAnswer(
            401, UNAUTHORIZED_BODY, {"Content-Type": "application/json", "Unauthenticated-Reason": reason}
        )

    def _unauthenticated_reason(self, account_id: str, request: RecordedRequest) -> str | None:
        if account_id != self.account_id:
            return "Unknown account"
        for header, expected in (("Tenant-Id", self.tenant_id), ("Application-Key", self.application_key)):
            given = request.header(header)
            if given is None:
                return f"Missing {header} header"
            if given != expected:
                # Echoes what it was given, as some gateways do: the client must not repeat a key it sent.
                return f"Invalid {header} {given}"
        environment = request.header("Environment-Name")
        if environment != (self.environment_name or None):
            return "Missing Environment-Name header" if environment is None else "Unknown environment"
        return None

    def _campaign_sms(self, campaign: str, raw: bytes) -> SandboxAnswer:
        try:
            body: Any = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return _invalid("body")
        if not isinstance(body, dict):
            return _invalid("body")
        caller = body.get("callerId")
        if not isinstance(caller, str) or not _PHONE.match(_SEPARATORS.sub("", caller)):
            return _invalid("callerId")
        token = body.get("jpToken")
        if not isinstance(token, str) or not token.strip():
            return _invalid("jpToken")
        sender = body.get("from")
        if sender is not None and (not isinstance(sender, str) or not _PHONE.match(_SEPARATORS.sub("", sender))):
            return _invalid("from")
        params = body.get("additionalParams")
        if params is not None and not _query_string(params):
            return _invalid("additionalParams")
        caller = _SEPARATORS.sub("", caller)
        if campaign == MISSING_CAMPAIGN:
            return _text(404, f"Campaign {campaign} was not found")
        if token == EXPIRED_TOKEN:
            return _text(403, "Token expired")
        if campaign == NO_TELEPHONY_CAMPAIGN:
            return _text(500, TELEPHONY_NOT_DEFINED)
        if campaign == FLAKY_CAMPAIGN:
            return _text(500, "exception")
        acted = f"sms:{campaign}:{caller}:{token}"
        if caller == MALFORMED_CALLER:
            return _text(200, f"Placed campaign {{{campaign}}} in SMS queue messageSid: ", acted=acted)
        if caller == SLOW_CALLER:
            time.sleep(self.slow_seconds)
        # The seed's success text; the braces around the campaign id are in it.
        placed = f"Placed campaign {{{campaign}}} in SMS queue messageSid: SM{uuid.uuid4().hex}"
        return _text(200, placed, acted=acted)


def _query_string(value: object) -> bool:
    if not isinstance(value, str) or not value:
        return False
    try:
        parse_qsl(value, keep_blank_values=True, strict_parsing=True)
    except ValueError:
        return False
    return True


def _invalid(parameter: str) -> SandboxAnswer:
    return _text(400, f"missing or invalid parameter {parameter}")


def _text(status: int, text: str, *, acted: str | None = None) -> SandboxAnswer:
    return SandboxAnswer(status, text.encode("utf-8"), {"Content-Type": TEXT}, acted=acted)
