"""Interact sandbox: checks campaign SMS calls as Interact would, over REST (Send SMS API v3, plain-text answers)
and over SOAP (the agent service, `/interact/version/2/agent/soap`); it serves both paths, so the stack works
whichever `INTERACT_PROTOCOL` it runs with.

The path is the syntax line's (`…/resources/campaign/sms/{campaignId}`, no `/callerid/` suffix). Wrong or
missing account id, Tenant-Id, Application-Key or Environment-Name: 401 with the seed's JSON (trailing comma
and all) and an Unauthenticated-Reason header. A missing or invalid body field: 400.

Reserved values give the documented answers:
  campaign `missing-campaign` 404 · campaign `no-telephony` 500 telephony not defined · campaign `flaky` places
  the campaign, then answers 500 `exception` (the seed's internal error, which may come after the campaign was
  placed) · jpToken `expired` 403 · callerId +15005550004 acts, then answers after `slow_seconds` ·
  callerId +15005550005 acts, then answers 200 without a messageSid.

SOAP: the envelope must be SOAP 1.1 (`http://schemas.xmlsoap.org/soap/envelope/`, else a VersionMismatch
Fault), its Body one `CampaignSMSRequest` in `http://com/jacada/interact/agent/soap` (else a Client Fault: no
endpoint), its elements in the namespace and in the order of the seed's sample (campaignId, additionalParams,
callerId, from, sendFromMasterAccount, jpToken), each at most once (else a Client Fault: validation error).
Wrong credentials: the seed's Fault `0x7000000`. Every other documented error is an HTTP 200 envelope with the
seed's `GetInteractionUniqueIdResponse` and its text, for the same reserved values as over REST; campaign
`flaky` places the campaign, then answers `exception` (a Server Fault). `jpToken` is optional over SOAP (the
seed's SOAP sample marks it `Optional`); over REST it is required.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, unquote
from xml.etree.ElementTree import Element, ParseError
from xml.sax.saxutils import escape

from defusedxml import ElementTree

from textgate_local.sandboxes.base import RecordedRequest, SandboxAnswer

PATH_PREFIX = "/interact/version/3/account/"
SOAP_PATH = "/interact/version/2/agent/soap"
ENVELOPE_NS = "http://schemas.xmlsoap.org/soap/envelope/"
AGENT_NS = "http://com/jacada/interact/agent/soap"
# The elements of CampaignSMSRequest, in the order of the seed's sample request.
SOAP_FIELDS = ("campaignId", "additionalParams", "callerId", "from", "sendFromMasterAccount", "jpToken")
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
# A sender may also be a short code.
_SENDER = re.compile(r"^\+?[0-9]{3,15}$")
_SEPARATORS = re.compile(r"[ ()\-.]")
TEXT = "text/plain;charset=UTF-8"
SOAP_XML = "text/xml;charset=utf-8"
UNAUTHORIZED_FAULT_CODE = "0x7000000"


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
        if request.path == SOAP_PATH:
            return self._soap(request)
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
        if sender is not None and (not isinstance(sender, str) or not _SENDER.match(_SEPARATORS.sub("", sender))):
            return _invalid("from")
        params = body.get("additionalParams")
        if params is not None and not _query_string(params):
            return _invalid("additionalParams")
        caller = _SEPARATORS.sub("", caller)
        acted = f"sms:{campaign}:{caller}:{token}"
        if campaign == FLAKY_CAMPAIGN:
            return _text(500, "exception", acted=acted)  # placed, then the X-Platform server failed
        refused = _reserved(campaign, token)
        if refused is not None:
            status, words = refused
            return _text(status, words)
        if caller == MALFORMED_CALLER:
            return _text(200, f"Placed campaign {{{campaign}}} in SMS queue messageSid: ", acted=acted)
        if caller == SLOW_CALLER:
            time.sleep(self.slow_seconds)
        # The seed's success text; the braces around the campaign id are in it.
        placed = f"Placed campaign {{{campaign}}} in SMS queue messageSid: SM{uuid.uuid4().hex}"
        return _text(200, placed, acted=acted)

    # -- SOAP ---------------------------------------------------------------------------------------------------

    def _soap(self, request: RecordedRequest) -> SandboxAnswer:
        reason = self._unauthenticated_reason(self.account_id, request)  # no account in the SOAP path
        if reason is not None:
            answer = _fault(UNAUTHORIZED_FAULT_CODE, "Request is unauthorized, missing or wrong credentials")
            answer.headers["Unauthenticated-Reason"] = reason
            return answer
        content_type = (request.header("Content-Type") or "").split(";")[0].strip().lower()
        if content_type != "text/xml":  # SOAP 1.1
            return _text(415, "Unsupported Media Type")
        try:
            root: Element = ElementTree.fromstring(request.body)
        except (ParseError, ValueError) as exc:
            return _fault("SOAP-ENV:Client", f"Could not access envelope: {exc}")
        if root.tag != f"{{{ENVELOPE_NS}}}Envelope":
            return _fault("SOAP-ENV:VersionMismatch", f"Invalid SOAP envelope: {root.tag}")
        body = [child for child in root if child.tag == f"{{{ENVELOPE_NS}}}Body"]
        operations = list(body[0]) if len(body) == 1 else []
        if len(operations) != 1 or operations[0].tag != f"{{{AGENT_NS}}}CampaignSMSRequest":
            named = operations[0].tag if operations else "an empty Body"
            return _fault("SOAP-ENV:Client", f"No endpoint mapping found for {named}")
        fields, problem = _soap_fields(operations[0])
        if problem is not None:
            return _fault("SOAP-ENV:Client", f"Validation error: {problem}")
        return self._soap_campaign_sms(fields)

    def _soap_campaign_sms(self, fields: dict[str, str]) -> SandboxAnswer:
        campaign = fields.get("campaignId", "").strip()
        if not campaign:
            return _soap_error("Missing or invalid parameter campaignId")
        caller = _SEPARATORS.sub("", fields.get("callerId", ""))
        if not _PHONE.match(caller):
            return _soap_error("Missing or invalid parameter callerId")
        sender = _SEPARATORS.sub("", fields.get("from", ""))
        if sender and not _SENDER.match(sender):
            return _soap_error("Missing or invalid parameter from")
        master = fields.get("sendFromMasterAccount", "false").strip()
        if master not in ("true", "false", "1", "0"):  # xsd:boolean
            return _soap_error("Missing or invalid parameter sendFromMasterAccount")
        if "additionalParams" in fields and not _query_string(fields["additionalParams"]):
            return _soap_error("Missing or invalid parameter additionalParams")
        token = fields.get("jpToken", "")  # optional in the seed's SOAP sample
        acted = f"sms:{campaign}:{caller}:{token}" + (":master" if master in ("true", "1") else "")
        if campaign == FLAKY_CAMPAIGN:
            return _fault("SOAP-ENV:Server", "exception", acted)  # placed, then the server failed
        refused = _reserved(campaign, token)
        if refused is not None:
            return _soap_error(refused[1])
        if caller == MALFORMED_CALLER:
            return _soap_answer(
                "CampaignSMSResponse", "message", f"message: Campaign {campaign} was sent to queue", acted
            )
        if caller == SLOW_CALLER:
            time.sleep(self.slow_seconds)
        # The seed's success message.
        sent = f"message: Campaign {campaign} was sent to queue messageSid: SM{uuid.uuid4().hex}"
        return _soap_answer("CampaignSMSResponse", "message", sent, acted)


def _reserved(campaign: str, token: str) -> tuple[int, str] | None:
    """The documented refusals, by reserved value, with REST's status and the text both transports share."""
    if campaign == MISSING_CAMPAIGN:
        return 404, f"Campaign {campaign} was not found"
    if token == EXPIRED_TOKEN:
        return 403, "Token expired"
    if campaign == NO_TELEPHONY_CAMPAIGN:
        return 500, TELEPHONY_NOT_DEFINED
    return None


def _soap_fields(operation: Element) -> tuple[dict[str, str], str | None]:
    """The request's elements by name, or what breaks the schema: an element of another namespace or name, one
    out of the seed's order, one given twice, or one with children."""
    fields: dict[str, str] = {}
    position = -1
    for child in operation:
        namespace, _, name = child.tag[1:].partition("}") if child.tag.startswith("{") else ("", "", child.tag)
        if namespace != AGENT_NS or name not in SOAP_FIELDS:
            return fields, f"unexpected element {child.tag}"
        index = SOAP_FIELDS.index(name)
        if index <= position:
            return fields, f"element {name} is out of order or repeated"
        if len(child):
            return fields, f"element {name} must hold text only"
        position = index
        fields[name] = child.text or ""
    return fields, None


def _soap_envelope(content: str) -> bytes:
    return (
        f'<SOAP-ENV:Envelope xmlns:SOAP-ENV="{ENVELOPE_NS}"><SOAP-ENV:Header/><SOAP-ENV:Body>'
        f"{content}</SOAP-ENV:Body></SOAP-ENV:Envelope>"
    ).encode()


def _soap_answer(element: str, child: str, text: str, acted: str | None = None) -> SandboxAnswer:
    content = f'<ns2:{element} xmlns:ns2="{AGENT_NS}"><ns2:{child}>{escape(text)}</ns2:{child}></ns2:{element}>'
    return SandboxAnswer(200, _soap_envelope(content), {"Content-Type": SOAP_XML}, acted=acted)


def _soap_error(text: str) -> SandboxAnswer:
    # The seed's error answers are HTTP 200 envelopes with a GetInteractionUniqueIdResponse, whatever went wrong.
    return _soap_answer("GetInteractionUniqueIdResponse", "uniqueId", text)


def _fault(code: str, reason: str, acted: str | None = None) -> SandboxAnswer:
    content = (
        f"<SOAP-ENV:Fault><faultcode>{escape(code)}</faultcode>"
        f"<faultstring>{escape(reason)}</faultstring></SOAP-ENV:Fault>"
    )
    # SOAP 1.1 sends a Fault with HTTP 500.
    return SandboxAnswer(500, _soap_envelope(content), {"Content-Type": SOAP_XML}, acted=acted)


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
