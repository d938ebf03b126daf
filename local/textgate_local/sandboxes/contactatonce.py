"""ContactAtOnce! Mobile Text Connect sandbox: checks the XML request as the WCF service would, answers WCF-style.

Its answers put Status and Description in a namespace of their own, so a client that looks them up by plain name
fails here as it would against the real service. Wrong credentials answer Failure "Authentication failed".

Reserved consumer numbers (calling code 1, national digits):
  5005550001 Failure "Merchant not found" · 5005550002 Failure with a nil Description ·
  5005550003 HTTP 503 · 5005550004 acts, answers after `slow_seconds` · 5005550005 acts, malformed answer ·
  5005550006 Failure with an empty Description · 5005550007 Failure "Service error" with HTTP 500 and
  5005550008 Failure "Bad request" with HTTP 400 (a WCF service may send its answer with an error status; the
  XML still says Failure, so nothing was started).
"""

from __future__ import annotations

import hmac
import time
from dataclasses import dataclass
from xml.etree.ElementTree import Element, ParseError
from xml.sax.saxutils import escape

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from textgate_local.sandboxes.base import RecordedRequest, SandboxAnswer

PATH = "/MobileTextConnectRestService.svc/InitiateMobileTextConversation"
# The real answer's root and namespace are not public: these are the sandbox's own, WCF data-contract style.
ANSWER_ROOT = "InitiateMobileTextConversationResponse"
ANSWER_NAMESPACE = "http://schemas.datacontract.org/2004/07/ContactAtOnce.MobileTextConnect"
XSI = "http://www.w3.org/2001/XMLSchema-instance"

MERCHANT_NOT_FOUND_NUMBER = "5005550001"
NIL_DESCRIPTION_NUMBER = "5005550002"
HTTP_503_NUMBER = "5005550003"
SLOW_NUMBER = "5005550004"
MALFORMED_NUMBER = "5005550005"
EMPTY_DESCRIPTION_NUMBER = "5005550006"
FAILURE_500_NUMBER = "5005550007"
FAILURE_400_NUMBER = "5005550008"

ORDER = (
    "ProviderId",
    "UserName",
    "Password",
    "MerchantId",
    "AdvertiserId",
    "PlacementId",
    "ListingDetails",
    "ConsumerPhoneNumber",
    "ConsumerPhoneNumberCountryCode",
    "ConsumerFirstName",
    "ConsumerLastName",
    "ConsumerQuestion",
)
REQUIRED = ("ProviderId", "UserName", "Password", "ConsumerPhoneNumber", "ConsumerPhoneNumberCountryCode")
INTEGERS = ("ProviderId", "MerchantId", "PlacementId")


@dataclass
class ContactAtOnceSandbox:
    provider_id: str = "1001"
    username: str = "sandbox-user"
    password: str = "sandbox-password"
    root_element: str = "InitiateMobileTextConversation"
    namespace: str = ""
    slow_seconds: float = 30.0
    name: str = "contactatonce"

    def rate_limited(self, request: RecordedRequest) -> SandboxAnswer:
        return SandboxAnswer(429, b"Too Many Requests", {"Content-Type": "text/plain"})

    def handle(self, request: RecordedRequest) -> SandboxAnswer:
        if request.method != "POST":
            return SandboxAnswer(405, b"Method Not Allowed", {"Allow": "POST"})
        if request.path != PATH:
            return SandboxAnswer(404, b"Endpoint not found.", {"Content-Type": "text/plain"})
        if not _is_xml_utf8(request.header("Content-Type") or ""):
            return _request_error(415, "Content-Type must be application/xml; charset=utf-8")
        try:
            root = fromstring(request.body)
        except (ParseError, DefusedXmlException, ValueError) as exc:
            return _request_error(400, f"the body is not well-formed XML ({exc})")
        expected_root = f"{{{self.namespace}}}{self.root_element}" if self.namespace else self.root_element
        if root.tag != expected_root:
            return _request_error(400, f"expected root element {expected_root}, got {root.tag}")
        fields, problem = self._fields(root)
        if problem is not None:
            return _answer("Failure", problem)
        if not (
            int(fields["ProviderId"]) == int(self.provider_id)
            and hmac.compare_digest(fields["UserName"].encode(), self.username.encode())
            and hmac.compare_digest(fields["Password"].encode(), self.password.encode())
        ):
            return _answer("Failure", "Authentication failed: invalid ProviderId, UserName or Password")
        phone = f"+{fields['ConsumerPhoneNumberCountryCode']}{fields['ConsumerPhoneNumber']}"
        acted = f"initiate:{phone}:{fields.get('ConsumerQuestion', '')}"
        if fields["ConsumerPhoneNumberCountryCode"] == "1":
            reserved = self._reserved(fields["ConsumerPhoneNumber"], acted)
            if reserved is not None:
                return reserved
        return _answer("Success", None, acted=acted)

    def _fields(self, root: Element) -> tuple[dict[str, str], str | None]:
        """The request's values by element name, or what is wrong with them (as a Failure description)."""
        prefix = f"{{{self.namespace}}}" if self.namespace else ""
        fields: dict[str, str] = {}
        last = -1
        for child in root:
            name = child.tag[len(prefix) :]
            if not child.tag.startswith(prefix) or name not in ORDER:
                return fields, f"Unexpected element {child.tag}"
            if name in fields:
                return fields, f"{name} is given twice"
            if ORDER.index(name) < last:
                return fields, f"{name} is out of order: it comes before {ORDER[last]}"
            last = ORDER.index(name)
            fields[name] = child.text or ""
        missing = [name for name in REQUIRED if not fields.get(name)]
        if missing:
            return fields, f"{', '.join(missing)} required"
        if ("MerchantId" in fields) == ("AdvertiserId" in fields):
            return fields, "Either MerchantId or AdvertiserId must be provided, but not both"
        for name in INTEGERS:
            if name in fields and not _digits(fields[name]):
                return fields, f"{name} must be an integer"
        for name in ("ConsumerPhoneNumber", "ConsumerPhoneNumberCountryCode"):
            if not _digits(fields[name]):
                return fields, f"{name} must be digits"
        return fields, None

    def _reserved(self, national: str, acted: str) -> SandboxAnswer | None:
        if national == MERCHANT_NOT_FOUND_NUMBER:
            return _answer("Failure", "Merchant not found")
        if national == NIL_DESCRIPTION_NUMBER:
            return _answer("Failure", None)
        if national == EMPTY_DESCRIPTION_NUMBER:
            return _answer("Failure", "")
        if national == FAILURE_500_NUMBER:
            return _answer("Failure", "Service error", http=500)
        if national == FAILURE_400_NUMBER:
            return _answer("Failure", "Bad request", http=400)
        if national == HTTP_503_NUMBER:
            return SandboxAnswer(503, b"Service Unavailable", {"Content-Type": "text/plain"})
        if national == SLOW_NUMBER:
            time.sleep(self.slow_seconds)
            return _answer("Success", None, acted=acted)
        if national == MALFORMED_NUMBER:
            return SandboxAnswer(
                200,
                f"<{ANSWER_ROOT}><Status>Succ".encode(),
                {"Content-Type": "application/xml; charset=utf-8"},
                acted=acted,
            )
        return None


def _digits(value: str) -> bool:
    return value.isascii() and value.isdigit()


def _is_xml_utf8(content_type: str) -> bool:
    media_type, *parameters = [part.strip().lower() for part in content_type.split(";")]
    return media_type == "application/xml" and parameters == ["charset=utf-8"]


def _request_error(status: int, reason: str) -> SandboxAnswer:
    return SandboxAnswer(status, f"Request Error: {reason}".encode(), {"Content-Type": "text/plain; charset=utf-8"})


def _answer(status: str, description: str | None, *, acted: str | None = None, http: int = 200) -> SandboxAnswer:
    """`description` None is written as xsi:nil, as WCF writes a null string."""
    described = (
        '<Description i:nil="true"/>' if description is None else f"<Description>{escape(description)}</Description>"
    )
    body = (
        '<?xml version="1.0" encoding="utf-8"?>'
        f'<{ANSWER_ROOT} xmlns="{ANSWER_NAMESPACE}" xmlns:i="{XSI}">'
        f"<Status>{status}</Status>{described}</{ANSWER_ROOT}>"
    )
    return SandboxAnswer(http, body.encode("utf-8"), {"Content-Type": "application/xml; charset=utf-8"}, acted=acted)
