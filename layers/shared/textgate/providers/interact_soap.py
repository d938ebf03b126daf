"""Uniphore (Jacada) Interact's campaign SMS over SOAP: the same operation as the REST API, another transport.

POST `{base}/interact/version/2/agent/soap` (the service of the seed's WSDL, `…/agent/soap/agent.wsdl`) with the
REST API's three headers (Tenant-Id, Application-Key and, when the account has one, Environment-Name) and a SOAP
1.1 `CampaignSMSRequest` written as the seed's sample request writes it: the same namespaces and prefixes, the same
element names in the same order. No account id travels: the tenant header names the account.

Interact answers every documented error as an HTTP 200 envelope whose text says what went wrong (inside a
`GetInteractionUniqueIdResponse`, as the seed shows), and bad credentials as a SOAP Fault with code `0x7000000`.
The texts mean what they mean over REST, so both clients read them with `interact.documented_error`.
"""

from __future__ import annotations

import re
from xml.etree.ElementTree import Element, ParseError, SubElement, tostring

from defusedxml import ElementTree

from textgate.providers import answers, interact, transport
from textgate.providers.interact import InteractCredentials
from textgate.providers.outcome import ProviderOutcome
from textgate.registry import Provider

PROVIDER = Provider.INTERACT
SOAP_PATH = "/interact/version/2/agent/soap"
ENVELOPE_NS = "http://schemas.xmlsoap.org/soap/envelope/"
AGENT_NS = "http://com/jacada/interact/agent/soap"
UNAUTHORIZED_FAULT = "0x7000000"
# Characters XML 1.0 cannot carry at all: such a request could not even be written.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def envelope(
    *,
    campaign_id: str,
    caller_id: str,
    jp_token: str | None = None,
    sender: str | None = None,
    additional_params: dict[str, str] | str | None = None,
    send_from_master_account: bool = False,
) -> bytes:
    """The seed's sample request with these values: `soapenv`/`soap` prefixes, the elements in its order, and the
    optional ones (additionalParams, from, jpToken: the seed's sample marks each `Optional`) left out when there
    is nothing to say."""
    # Prefixed names with their own xmlns attributes rather than ElementTree's registered prefixes: the
    # registry is process-wide, and the seed's prefixes are written exactly as the seed writes them.
    root = Element("soapenv:Envelope", {"xmlns:soapenv": ENVELOPE_NS, "xmlns:soap": AGENT_NS})
    SubElement(root, "soapenv:Header")
    request = SubElement(SubElement(root, "soapenv:Body"), "soap:CampaignSMSRequest")
    fields: list[tuple[str, str | None]] = [
        ("campaignId", campaign_id),
        ("additionalParams", None if additional_params is None else interact.query_string(additional_params)),
        ("callerId", caller_id),
        ("from", sender),
        ("sendFromMasterAccount", "true" if send_from_master_account else "false"),
        ("jpToken", jp_token),
    ]
    for name, value in fields:
        if value is not None:
            SubElement(request, f"soap:{name}").text = value
    written: bytes = tostring(root, encoding="utf-8", xml_declaration=False)
    return written


class InteractSoapClient:
    def __init__(self, base_url: str, credentials: InteractCredentials, timeout: tuple[float, float]) -> None:
        self._base_url = base_url.rstrip("/")
        self._credentials = credentials
        self._timeout = timeout

    @property
    def url(self) -> str:
        return self._base_url + SOAP_PATH

    def headers(self) -> dict[str, str]:
        return {
            **interact.account_headers(self._credentials),
            "Content-Type": "text/xml; charset=utf-8",
            "SOAPAction": '""',  # SOAP 1.1 wants the header; the WSDL's operation needs no action to be found
        }

    def send_campaign_sms(
        self,
        *,
        campaign_id: str,
        caller_id: str,
        jp_token: str | None = None,
        sender: str | None = None,
        additional_params: dict[str, str] | str | None = None,
        send_from_master_account: bool = False,
    ) -> ProviderOutcome:
        values = [campaign_id, caller_id, jp_token or "", sender or "", interact.query_string(additional_params or "")]
        if any(_NOT_XML.search(value) for value in values):
            return ProviderOutcome.rejected(
                "invalid_request", "the request holds characters that XML cannot carry; nothing was sent"
            )
        data = envelope(
            campaign_id=campaign_id,
            caller_id=caller_id,
            jp_token=jp_token,
            sender=sender,
            additional_params=additional_params,
            send_from_master_account=send_from_master_account,
        )
        try:
            answer = transport.call(
                PROVIDER, "POST", self.url, timeout=self._timeout, headers=self.headers(), data=data
            )
        except transport.TransportError as exc:
            return transport.failure_outcome("Interact", exc)
        return interpret(answer).without(self._credentials.application_key)


def interpret(answer: transport.HttpAnswer) -> ProviderOutcome:
    """One SOAP answer as a verdict: the envelope speaks first, whatever the HTTP status; without an envelope the
    status decides, as it would for any other provider."""
    status = answer.status
    content = _body_content(answer.body)
    if content is None:
        return _not_an_envelope(answer)
    name = _local(content.tag)
    if name == "Fault":
        return _fault(content, answer)
    text = interact.words(" ".join("".join(content.itertext()).split()))
    if name == "CampaignSMSResponse":
        sid = interact.message_sid(text)
        if sid is not None:
            return ProviderOutcome.succeeded(
                {"message_sid": sid, "provider_status": "placed", "description": text}, http_status=status
            )
    documented = interact.documented_error(text, http_status=status)
    if documented is not None:
        return documented
    if name == "CampaignSMSResponse":
        # It took the request and did not say what became of it: the SMS may be on its way.
        return ProviderOutcome.unknown(
            "provider_malformed_answer", f"Interact's answer has no messageSid: {text}", http_status=status
        )
    # Any other answer element with words of its own: an error the seed does not list. Interact says it did
    # not place the campaign, so the operation fails in its words.
    return ProviderOutcome.rejected(
        "provider_rejected", f"Interact answered {name}: {text or '(no text)'}", http_status=status
    )


def _body_content(body: bytes) -> Element | None:
    """The first element inside the SOAP 1.1 Body, or None when the answer is not such an envelope."""
    try:
        root: Element = ElementTree.fromstring(body)
    except (ParseError, ValueError):  # not XML, or XML that defusedxml refuses (entities, DTDs)
        return None
    if root.tag != f"{{{ENVELOPE_NS}}}Envelope":
        return None
    soap_body = root.find(f"{{{ENVELOPE_NS}}}Body")
    if soap_body is None or len(soap_body) == 0:
        return None
    return soap_body[0]


def _fault(fault: Element, answer: transport.HttpAnswer) -> ProviderOutcome:
    # SOAP 1.1 fault children are unqualified; some servers qualify them, so they are found by local name.
    parts = {_local(child.tag): " ".join("".join(child.itertext()).split()) for child in fault}
    code, reason = parts.get("faultcode", ""), interact.words(parts.get("faultstring", ""))
    status = answer.status
    if code == UNAUTHORIZED_FAULT or "unauthorized" in reason.lower():
        message = reason or "Request is unauthorized"
        header = answer.header("Unauthenticated-Reason")
        if header:
            message = f"{message} (Unauthenticated-Reason: {interact.words(header)})"
        return ProviderOutcome.rejected("unauthorized", message, http_status=status)
    documented = interact.documented_error(reason, http_status=status)
    if documented is not None:
        return documented
    if code.rpartition(":")[2] == "Client":
        # The request itself was refused (not a valid CampaignSMSRequest): nothing was placed.
        return ProviderOutcome.rejected(
            "provider_rejected", f"Interact refused the request: {code}: {reason}", http_status=status
        )
    # A server fault the seed does not document: it does not say whether the campaign was placed.
    return ProviderOutcome.unknown(
        "provider_fault", f"Interact answered a SOAP Fault {code}: {reason}", http_status=status
    )


def _not_an_envelope(answer: transport.HttpAnswer) -> ProviderOutcome:
    if answer.status == 429:
        wait = interact.retry_after_seconds(answer.header("Retry-After"))
        if wait is not None:
            return ProviderOutcome.rate_limited(
                wait, f"Interact asked to wait {wait:.0f} seconds", http_status=answer.status
            )
    if answer.status == 401:
        return ProviderOutcome.rejected(
            "unauthorized", f"Interact answered HTTP 401: {answers.words(answer)}", http_status=answer.status
        )
    # A 2xx that is not an envelope, a gateway's 502 or 504, an HTML page, a 404 from a wrong URL: the rule
    # every provider shares (503 retried, other 5xx unknown, 4xx failed).
    return answers.undocumented("Interact", answer, "not a SOAP envelope")


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]
