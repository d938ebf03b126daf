"""Ogangi / Messangi Mobile Engagement: signed REST paths, URL-safe Base64 values, XML answers.

Every call is a POST with an empty body to `{base}/rest/api/<operation>/<params…>/{publicKey}/{signature}`.
The signature is HMAC-SHA256, keyed with the private key, over the path parameters exactly as they appear in
the URL (after Base64 and percent-encoding), joined with '/', without publicKey and signature.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote
from xml.etree.ElementTree import Element

from textgate import xmlparse
from textgate.providers import answers, transport
from textgate.providers.outcome import ProviderOutcome

PROVIDER = "ogangi"
NULL = "null"  # the literal segment Ogangi reads as an absent optional value


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
        return self._outcome(url, _sms_result)

    def send_mt(
        self, *, sender: str, carrier: str | None, mobile: str, text: str, flags: str | None = None
    ) -> ProviderOutcome:
        """sendMT: from before carrier; carrier 'null' lets Ogangi choose; only text in Base64."""
        params = [segment(sender), segment(carrier) if carrier else NULL, segment(mobile), b64(text)]
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
        return self._outcome(url, _mo_list_result)

    # -- answers ------------------------------------------------------------------------------------------

    def _outcome(self, url: str, read_result: Any) -> ProviderOutcome:
        try:
            answer = transport.call(PROVIDER, "POST", url, timeout=self._timeout, data=b"")
        except transport.TransportError as exc:
            return transport.failure_outcome("Ogangi", exc)
        # A gateway's page may echo the signed URL: its keys never reach a caller.
        return interpret(answer, read_result).without(self._credentials.private_key, self._credentials.public_key)


def interpret(answer: transport.HttpAnswer, read_result: Any) -> ProviderOutcome:
    status = answer.status
    if not 200 <= status < 300:
        return _error_answer(answer)
    try:
        parsed = parse_answer(answer.text)
    except xmlparse.XmlError:
        return answers.undocumented("Ogangi", answer, "not Ogangi's XML answer")
    if parsed.status == "OK":
        try:
            result, private = read_result(parsed)
        except (ValueError, AttributeError):
            return answers.undocumented("Ogangi", answer, "an OK answer without its result")
        return ProviderOutcome.succeeded(result, http_status=status, private=private)
    return _refusal(parsed, status)


def _refusal(parsed: OgangiAnswer, status: int) -> ProviderOutcome:
    words = answers.tidy(parsed.description or parsed.status)
    if parsed.status == "BAD_SIGNATURE":
        return ProviderOutcome.rejected("bad_signature", words, http_status=status)
    if parsed.status == "ERROR":
        # An internal error on Ogangi's side: it says it did not complete the call, so it may be tried again.
        return ProviderOutcome.transient("provider_error", words, http_status=status)
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


def _status_result(answer: OgangiAnswer) -> tuple[dict[str, Any], dict[str, Any]]:
    return {"provider_status": answer.status, "description": answer.description}, {}


def _sms_result(answer: OgangiAnswer) -> tuple[dict[str, Any], dict[str, Any]]:
    message = xmlparse.find_local(answer.result, "message") if answer.result is not None else None
    if message is None:
        raise ValueError("no <message> in the sendSMS result")

    def field_text(name: str) -> str | None:
        return xmlparse.text_of(message, name)

    message_id = field_text("id")
    if not message_id:
        raise ValueError("no message id")
    return {
        # Kept as text: Ogangi ids can be large negative numbers that lose digits as floats.
        "provider_message_id": message_id,
        "provider_status": field_text("status"),
        "status_description": field_text("statusDescription"),
        "carrier": field_text("carrier"),
        "encoding": field_text("encoding"),
        "date": field_text("date"),
    }, {}


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


def _mo_list_result(answer: OgangiAnswer) -> tuple[dict[str, Any], dict[str, Any]]:
    listing = xmlparse.find_local(answer.result, "MOMessageList") if answer.result is not None else None
    if listing is None:
        return {"total": 0, "items": []}, {}
    total_text = xmlparse.text_of(listing, "records") or "0"
    items = []
    for element in listing.iter():
        if xmlparse.local_name(element.tag) != "MOMessage":
            continue
        items.append(
            {
                "text": xmlparse.text_of(element, "text"),
                "from": xmlparse.text_of(element, "from"),
                "to": xmlparse.text_of(element, "to"),
                "encoding": xmlparse.text_of(element, "encoding"),
                "keyword": xmlparse.text_of(element, "keyword"),
                "carrier": xmlparse.text_of(element, "carrier"),
                "sent_at": xmlparse.text_of(element, "sendDate"),
            }
        )
    return {"total": int(total_text) if total_text.isdigit() else len(items), "items": items}, {}
