"""Ogangi / Messangi Mobile Engagement: signed REST paths, URL-safe Base64 values, XML answers.

Every call is a POST with an empty body to `{base}/rest/api/<operation>/<params…>/{publicKey}/{signature}`.
The signature is HMAC-SHA256, keyed with the private key, over the path parameters exactly as they appear in
the URL (after Base64 and percent-encoding), joined with '/', without publicKey and signature. That percent-
encoded values are signed as they travel is an assumption the seed does not settle (docs/providers.md says how a
real account would show the other reading).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import quote
from xml.etree.ElementTree import Element

from textgate import xmlparse
from textgate.providers import answers, transport
from textgate.providers.outcome import ProviderOutcome
from textgate.registry import Provider

PROVIDER = Provider.OGANGI
NULL = "null"  # the literal segment Ogangi reads as an absent optional value

logger = logging.getLogger(__name__)

# sendSMS answers each message with its `<status>` "at the origination moment". The seed gives SENT_TO_CARRIER;
# the others are the SMS statuses of Messangi's public documentation ("SMS Status", docs.messangi.com), where
# ACCEPTD, REJECTD, UNDELIV and EXPIRED are the SMPP delivery states. A message on its way is a success.
MESSAGE_ON_ITS_WAY = frozenset(
    {"SENT_TO_CARRIER", "QUEUE", "QUEUED", "DEQUEUED", "INCOMPLETE", "SENT", "ENROUTE", "ACCEPTD", "DELIVRD"}
)
# A message Ogangi says it did not, and will not, send: a final failure, never retried.
MESSAGE_NOT_SENT = {
    "BLACKLISTED": "recipient_blocked",  # the number is on Ogangi's block list
    "CODE_NOT_ALLOWED": "sender_not_allowed",  # the sender is not active or may not text this number
    "SEGMENTS_EXCEEDED": "message_too_long",
    "INVALID_ROUTING": "invalid_routing",  # the number or its route is invalid
    "EXHAUSTED": "message_not_sent",  # Ogangi's own retries are spent
    "NOT_SENT": "message_not_sent",
    "REJECTD": "message_not_sent",
    "UNDELIV": "message_not_sent",
    "EXPIRED": "message_not_sent",
}
# The fields of an inbound message (getMOMessages' MOMessage); `timezone` as sendSMS's generic message has it.
MO_FIELDS = ("text", "from", "to", "encoding", "keyword", "carrier", "sendDate", "timezone")


@dataclass(frozen=True)
class OgangiCredentials:
    instance_id: str
    public_key: str
    private_key: str = field(repr=False)

    @classmethod
    def from_secret(cls, secret: dict[str, Any]) -> OgangiCredentials:
        return cls(
            instance_id=str(secret["instance_id"]),
            public_key=str(secret["public_key"]),
            private_key=str(secret["private_key"]),
        )


def b64(value: str) -> str:
    """URL-safe Base64 with '=' padding over UTF-8, as Java's Base64.getUrlEncoder() writes it."""
    return base64.urlsafe_b64encode(value.encode("utf-8")).decode("ascii")


def segment(value: str) -> str:
    """A plain path value as it appears in the URL (Base64 output is already URL-safe)."""
    return quote(value, safe="")


def sign(private_key: str, params: list[str]) -> str:
    message = "/".join(params).encode("utf-8")
    return hmac.new(private_key.encode("utf-8"), message, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class OgangiAnswer:
    status: str
    description: str
    result: Element | None
    # The raw content of each inbound message, cut out of the answer before it was parsed (getMOMessages).
    messages: tuple[str, ...] = ()


class MessageNotSent(Exception):
    """Ogangi completed the call but says the message was not sent."""

    def __init__(self, code: str, words: str) -> None:
        super().__init__(words)
        self.code = code
        self.words = words


type ResultReader = Callable[[OgangiAnswer], tuple[dict[str, Any], dict[str, Any]]]
type AnswerParser = Callable[[str], OgangiAnswer]


class OgangiClient:
    def __init__(self, base_url: str, credentials: OgangiCredentials, timeout: tuple[float, float]) -> None:
        self._base_url = base_url.rstrip("/")
        self._credentials = credentials
        self._timeout = timeout

    def signed_url(self, operation_path: str, params: list[str]) -> str:
        """`params` are already in URL form; instanceId is put first here."""
        in_url = [segment(self._credentials.instance_id), *params]
        signature = sign(self._credentials.private_key, in_url)
        path = "/".join([*in_url, segment(self._credentials.public_key), signature])
        return f"{self._base_url}/rest/api/{operation_path}/{path}"

    # -- the documented operations ------------------------------------------------------------------------

    def send_sms(self, *, carrier: str, sender: str, mobile: str, text: str) -> ProviderOutcome:
        """tools/sendSMS: carrier before from; mobileNumber and text in Base64."""
        url = self.signed_url("tools/sendSMS", [segment(carrier), segment(sender), b64(mobile), b64(text)])
        return self._outcome(url, read_sms_result)

    def send_mt(
        self, *, sender: str, carrier_id: str | None, mobile: str, text: str, flags: str | None = None
    ) -> ProviderOutcome:
        """sendMT: from before carrier; its carrier is the operator's id, 'null' lets Ogangi choose; only text in
        Base64."""
        params = [segment(sender), segment(carrier_id) if carrier_id else NULL, segment(mobile), b64(text)]
        if flags is not None:
            params.append(segment(flags))
        return self._outcome(self.signed_url("sendMT", params), _status_result)

    def send_pin(self, *, carrier: str, sender: str, mobile: str, text: str, length: int) -> ProviderOutcome:
        """tools/sendSMSPinMobileNumberConfirm: the generated PIN comes back in `private`, never in `result`."""
        url = self.signed_url(
            "tools/sendSMSPinMobileNumberConfirm",
            [segment(carrier), segment(sender), segment(mobile), b64(text), segment(str(length))],
        )
        return self._outcome(url, _pin_result)

    def fire_message(self, *, mobile: str, text: str) -> ProviderOutcome:
        url = self.signed_url("fireMessage", [segment(mobile), b64(text)])
        return self._outcome(url, _fire_result)

    def get_mo_messages(self, *, page: int, per_page: int, filter_text: str | None) -> ProviderOutcome:
        url = self.signed_url(
            "tools/getMOMessages",
            [str(page), str(per_page), segment(filter_text) if filter_text else NULL],
        )
        return self._outcome(url, read_mo_list_result, parse_mo_answer)

    # -- answers ------------------------------------------------------------------------------------------

    def _outcome(self, url: str, read_result: ResultReader, parse: AnswerParser | None = None) -> ProviderOutcome:
        try:
            answer = transport.call(PROVIDER, "POST", url, timeout=self._timeout, data=b"")
        except transport.TransportError as exc:
            return transport.failure_outcome("Ogangi", exc)
        # A gateway's page may echo the signed URL: its keys never reach a caller.
        outcome = interpret(answer, read_result, parse)
        return outcome.without(self._credentials.private_key, self._credentials.public_key)


def interpret(
    answer: transport.HttpAnswer, read_result: ResultReader, parse: AnswerParser | None = None
) -> ProviderOutcome:
    status = answer.status
    if not 200 <= status < 300:
        return _error_answer(answer)
    try:
        parsed = (parse or parse_answer)(answer.text)
    except xmlparse.XmlError:
        return answers.undocumented("Ogangi", answer, "not Ogangi's XML answer")
    if parsed.status == "OK":
        try:
            result, private = read_result(parsed)
        except MessageNotSent as refused:
            return ProviderOutcome.rejected(refused.code, refused.words, http_status=status)
        except (ValueError, AttributeError):
            return answers.undocumented("Ogangi", answer, "an OK answer without its result")
        return ProviderOutcome.succeeded(result, http_status=status, private=private)
    return _refusal(parsed, status)


def _refusal(parsed: OgangiAnswer, status: int) -> ProviderOutcome:
    words = answers.tidy(parsed.description or parsed.status)
    if parsed.status == "BAD_SIGNATURE":
        return ProviderOutcome.rejected("bad_signature", words, http_status=status)
    if parsed.status == "ERROR":
        # An internal error on Ogangi's side (PROVIDERS.md): it does not show that nothing was sent, so the
        # message may be on its way. Never retried: a second call could text the handset twice.
        return ProviderOutcome.unknown("provider_internal_error", f"Ogangi answered ERROR: {words}", http_status=status)
    return ProviderOutcome.rejected("provider_rejected", f"{answers.tidy(parsed.status)}: {words}", http_status=status)


def _error_answer(answer: transport.HttpAnswer) -> ProviderOutcome:
    """A 4xx or 500 that carries Ogangi's own XML status answer is that answer; anything else (a gateway's 502,
    503 or 504, an HTML page, no body) is not Ogangi's documented answer."""
    if 400 <= answer.status <= 500 and answer.status != 429:
        try:
            parsed = parse_answer(answer.text)
        except xmlparse.XmlError:
            parsed = None
        if parsed is not None and parsed.status != "OK" and not answers.is_html(answer):
            return _refusal(parsed, answer.status)
    return answers.undocumented("Ogangi", answer)


def parse_answer(text: str) -> OgangiAnswer:
    root = xmlparse.parse_lenient(text)
    status = xmlparse.text_of(root, "status")
    if not status:
        raise xmlparse.XmlError("no <status> in the answer")
    result = root.find("result")
    return OgangiAnswer(status=status, description=xmlparse.text_of(root, "description") or "", result=result)


def parse_mo_answer(text: str) -> OgangiAnswer:
    """getMOMessages: the inbound messages are cut out first and read one by one, so that one the provider wrote
    badly (a character XML cannot carry, a broken element) spoils only itself, not the page."""
    rest, messages = xmlparse.cut_elements(text, "MOMessage", parents=("MessageList", "MOMessageList", "result"))
    return replace(parse_answer(rest), messages=tuple(messages))


def _status_result(answer: OgangiAnswer) -> tuple[dict[str, Any], dict[str, Any]]:
    return {"provider_status": answer.status, "description": answer.description}, {}


def read_sms_result(answer: OgangiAnswer) -> tuple[dict[str, Any], dict[str, Any]]:
    """sendSMS's messages, each with its status: a failure when every message is one Ogangi did not send."""
    messages = [
        element
        for element in (answer.result.iter() if answer.result is not None else ())
        if xmlparse.local_name(element.tag) == "message"
    ]
    if not messages:
        raise ValueError("no <message> in the sendSMS result")
    statuses = [(xmlparse.text_of(message, "status") or "").upper() for message in messages]
    if all(status in MESSAGE_NOT_SENT for status in statuses):
        first = messages[0]
        words = xmlparse.text_of(first, "statusDescription") or ""
        raise MessageNotSent(
            MESSAGE_NOT_SENT[statuses[0]],
            f"Ogangi did not send the message: {statuses[0]}" + (f" ({words})" if words else ""),
        )
    message = messages[0]

    def field_text(name: str) -> str | None:
        return xmlparse.text_of(message, name)

    message_id = field_text("id")
    if not message_id:
        raise ValueError("no message id")
    status = field_text("status")
    recognised = status is None or status.upper() in MESSAGE_ON_ITS_WAY or status.upper() in MESSAGE_NOT_SENT
    if not recognised:
        # Ogangi completed the call and gave the message an id; a word we do not know is kept, never guessed.
        logger.warning("Ogangi answered sendSMS with an unrecognised message status", extra={"provider_status": status})
    result: dict[str, Any] = {
        # Kept as text: Ogangi ids can be large negative numbers that lose digits as floats.
        "provider_message_id": message_id,
        "provider_status": status,
        "provider_status_recognised": recognised,
        "status_description": field_text("statusDescription"),
        # The seed's sample writes <carrier>; its field table names it message.carrierName: either is read.
        "carrier": field_text("carrier") or field_text("carrierName"),
        "encoding": field_text("encoding"),
        "date": field_text("date"),
        "timezone": field_text("timezone"),
    }
    if len(messages) > 1:
        result["messages"] = [
            {"provider_message_id": xmlparse.text_of(each, "id"), "provider_status": xmlparse.text_of(each, "status")}
            for each in messages
        ]
    return result, {}


def _pin_result(answer: OgangiAnswer) -> tuple[dict[str, Any], dict[str, Any]]:
    pin = xmlparse.text_of(answer.result, "pin")
    if not pin:
        raise ValueError("no <pin> in the result")
    return {"provider_status": answer.status, "description": answer.description}, {"pin": pin}


def _fire_result(answer: OgangiAnswer) -> tuple[dict[str, Any], dict[str, Any]]:
    result: dict[str, Any] = {"provider_status": answer.status, "description": answer.description}
    mo = xmlparse.find_local(answer.result, "mo") if answer.result is not None else None
    if mo is not None:
        result["instance_id"] = xmlparse.text_of(mo, "instanceId")
        result["text"] = xmlparse.text_of(mo, "text")
    return result, {}


def read_mo_list_result(answer: OgangiAnswer) -> tuple[dict[str, Any], dict[str, Any]]:
    """Every inbound message is listed with what could be read; `readable` says whether it was read whole."""
    listing = xmlparse.find_local(answer.result, "MOMessageList") if answer.result is not None else None
    items = []
    for content in answer.messages:
        values, readable = xmlparse.read_fields(content, MO_FIELDS)
        items.append(
            {
                "text": values["text"],
                "from": values["from"],
                "to": values["to"],
                "encoding": values["encoding"],
                "keyword": values["keyword"],
                "carrier": values["carrier"],
                "sent_at": values["sendDate"],
                "timezone": values["timezone"],
                "readable": readable,
            }
        )
    total_text = (xmlparse.text_of(listing, "records") if listing is not None else None) or ""
    return {
        "total": int(total_text) if total_text.isdigit() else len(items),
        "items": items,
        "unreadable": sum(1 for item in items if not item["readable"]),
    }, {}
