"""ContactAtOnce! Mobile Text Connect: one XML POST starts a consumer-initiated conversation (no SMS is sent).

POST `{region base}/MobileTextConnectRestService.svc/InitiateMobileTextConversation` with an XML body whose
children are the documented parameters in the documented order. The service is WCF and its root element and
namespace are not public, so both come from settings. The answer holds `Status` (Success or Failure) and a
nullable `Description`, read by local name whatever the root and namespace.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from xml.etree.ElementTree import Element
from xml.sax.saxutils import escape, quoteattr

from textgate import phone, xmlparse
from textgate.providers import answers, transport
from textgate.providers.outcome import ProviderOutcome
from textgate.registry import Provider
from textgate.settings import Settings

PROVIDER = Provider.CONTACTATONCE
PATH = "/MobileTextConnectRestService.svc/InitiateMobileTextConversation"
CONTENT_TYPE = "application/xml; charset=utf-8"
DEFAULT_ROOT = "InitiateMobileTextConversation"

# Characters XML 1.0 cannot carry at all, not even as character references (and lone surrogates, which UTF-8
# cannot encode).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
# No ':' : the namespace, when there is one, is the default namespace of the root.
_ELEMENT_NAME = re.compile(r"^[A-Za-z_][\w.\-]*$")
# Left out when they have no value (MerchantId and AdvertiserId: exactly one is sent).
_OPTIONAL = frozenset(
    {
        "MerchantId",
        "AdvertiserId",
        "PlacementId",
        "ListingDetails",
        "ConsumerFirstName",
        "ConsumerLastName",
        "ConsumerQuestion",
    }
)
# Parsers turn a raw CR (or CRLF) into LF; a character reference keeps the caller's text byte-exact.
_TEXT_ENTITIES = {"\r": "&#13;"}


def xml_can_carry(value: str) -> bool:
    return _NOT_XML.search(value) is None


def consumer_phone_fields(e164: str) -> tuple[str, str]:
    """(ConsumerPhoneNumber, ConsumerPhoneNumberCountryCode): national digits and calling code digits.

    An assumption (PROVIDERS.md): the seed only says "country code". Kept here so it changes in one place.
    """
    calling_code, national = phone.split(e164)
    return national, calling_code


@dataclass(frozen=True)
class ContactAtOnceCredentials:
    provider_id: str
    username: str
    password: str = field(repr=False)

    @classmethod
    def from_secret(cls, secret: dict[str, Any]) -> ContactAtOnceCredentials:
        return cls(
            provider_id=str(secret["provider_id"]),
            username=str(secret["username"]),
            password=str(secret["password"]),
        )


@dataclass(frozen=True)
class Conversation:
    consumer_phone: str  # E.164
    merchant_id: int | None = None
    advertiser_id: str | None = None
    placement_id: int | None = None
    listing_details: str | None = None
    consumer_first_name: str | None = None
    consumer_last_name: str | None = None
    consumer_question: str | None = None


class ContactAtOnceClient:
    def __init__(
        self,
        credentials: ContactAtOnceCredentials,
        *,
        base_urls: Mapping[str, str],
        timeout: tuple[float, float],
        root_element: str = DEFAULT_ROOT,
        namespace: str = "",
    ) -> None:
        if not _ELEMENT_NAME.match(root_element):
            raise ValueError(f"not a usable XML element name for the root: {root_element!r}")
        self._credentials = credentials
        self._base_urls = {region: url.rstrip("/") for region, url in base_urls.items()}
        self._timeout = timeout
        self._root = root_element
        self._namespace = namespace

    @classmethod
    def from_settings(cls, credentials: ContactAtOnceCredentials, settings: Settings) -> ContactAtOnceClient:
        return cls(
            credentials,
            base_urls={
                "na": settings.contactatonce_base_url_na,
                "au": settings.contactatonce_base_url_au,
                "eu": settings.contactatonce_base_url_eu,
            },
            timeout=settings.provider_timeouts,
            root_element=settings.contactatonce_root_element,
            namespace=settings.contactatonce_namespace,
        )

    def endpoint(self, region: str) -> str | None:
        base = self._base_urls.get(region)
        return f"{base}{PATH}" if base else None

    def _elements(self, conversation: Conversation) -> list[tuple[str, str]]:
        """The children of the root, in the documented order; an optional element without a value is left out."""
        national, calling_code = consumer_phone_fields(conversation.consumer_phone)
        ordered: list[tuple[str, object]] = [
            ("ProviderId", self._credentials.provider_id),
            ("UserName", self._credentials.username),
            ("Password", self._credentials.password),
            ("MerchantId", conversation.merchant_id),
            ("AdvertiserId", conversation.advertiser_id),
            ("PlacementId", conversation.placement_id),
            ("ListingDetails", conversation.listing_details),
            ("ConsumerPhoneNumber", national),
            ("ConsumerPhoneNumberCountryCode", calling_code),
            ("ConsumerFirstName", conversation.consumer_first_name),
            ("ConsumerLastName", conversation.consumer_last_name),
            ("ConsumerQuestion", conversation.consumer_question),
        ]
        return [(name, str(value)) for name, value in ordered if name not in _OPTIONAL or _given(value)]

    def _body(self, elements: list[tuple[str, str]]) -> bytes:
        namespace = f" xmlns={quoteattr(self._namespace)}" if self._namespace else ""
        children = "".join(f"<{name}>{escape(value, _TEXT_ENTITIES)}</{name}>" for name, value in elements)
        text = f'<?xml version="1.0" encoding="utf-8"?><{self._root}{namespace}>{children}</{self._root}>'
        return text.encode("utf-8")

    def initiate_conversation(self, conversation: Conversation, *, region: str = "na") -> ProviderOutcome:
        url = self.endpoint(region)
        if url is None:
            return ProviderOutcome.rejected("invalid_request", f"no ContactAtOnce region {region!r}")
        if _given(conversation.merchant_id) == _given(conversation.advertiser_id):
            return ProviderOutcome.rejected("invalid_request", "exactly one of merchant_id and advertiser_id")
        elements = self._elements(conversation)
        # Checked before sending: such a body is not XML, and the element name is enough to say why.
        unfit = [name for name, value in elements if not xml_can_carry(value)]
        if unfit:
            return ProviderOutcome.rejected(
                "invalid_request", f"{', '.join(unfit)} holds characters that XML cannot carry"
            )
        try:
            answer = transport.call(
                PROVIDER,
                "POST",
                url,
                timeout=self._timeout,
                data=self._body(elements),
                headers={"Content-Type": CONTENT_TYPE, "Accept": "application/xml"},
            )
        except transport.TransportError as exc:
            return transport.failure_outcome("ContactAtOnce", exc)
        return interpret(answer).without(self._credentials.password)


def interpret(answer: transport.HttpAnswer) -> ProviderOutcome:
    """Its documented answer is XML with a Status; any other answer follows the shared rule.

    `Failure` means "could not be completed" whatever the HTTP status it comes with (PROVIDERS.md): a 4xx or 5xx
    carrying it is the same final refusal, in its Description's words. `Success` counts only with a 2xx."""
    status = answer.status
    root = None if answers.is_html(answer) else _xml(answer.text)
    provider_status = xmlparse.text_of(root, "Status") if root is not None else None
    said = (provider_status or "").strip().casefold()
    if said == "failure" and root is not None:
        # Failure covers authentication errors too: the documented final answer, never retried.
        return ProviderOutcome.rejected(
            "provider_rejected",
            answers.tidy(xmlparse.text_of(root, "Description") or "")
            or "ContactAtOnce refused the conversation without a description",
            http_status=status,
        )
    if not 200 <= status < 300:
        return answers.undocumented("ContactAtOnce", answer)
    if root is None:
        return answers.undocumented("ContactAtOnce", answer, "not XML")
    if said == "success":
        described = xmlparse.text_of(root, "Description") or None
        return ProviderOutcome.succeeded({"provider_status": "Success", "description": described}, http_status=status)
    # The request went out and the answer says neither: whether a conversation started cannot be told.
    return answers.undocumented(
        "ContactAtOnce", answer, f"no usable Status: {answers.tidy(provider_status or 'none', 64)}"
    )


def _xml(text: str) -> Element | None:
    try:
        return xmlparse.parse(text)
    except xmlparse.XmlError:
        return None


def _given(value: object) -> bool:
    return value is not None and value != ""
