"""Ogangi sandbox: checks the signed path as Ogangi would and answers in its root-less XML.

Reserved recipients (international digits) give the documented failures:
  15005550001 BAD_SIGNATURE · 15005550002 acts, then answers ERROR (an internal error after the message went out,
  which is what a real ERROR may hide) · 15005550003 HTTP 503 · 15005550004 answers too late ·
  15005550005 malformed XML · 15005550020 sendSMS's message BLACKLISTED · 15005550021 sendSMS's message in a
  status no document names · 15005550022 sendSMS's message names its carrier in `<carrierName>` (the seed's field
  table) rather than `<carrier>` (its sample).
getMOMessages with the filter `malformed` answers the seed's own sample, which is not well-formed; with the filter
`unreadable`, a page where one message holds a character XML cannot carry and another a broken element. Inbound
messages are in the seed's shape: `sendDate` is the instance's local time (`time_zone`) without a zone or offset,
and no `<timezone>` element (the seed's MOMessage has none).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

from textgate_local.sandboxes.base import RecordedRequest, SandboxAnswer

BAD_SIGNATURE_NUMBER = "15005550001"
ERROR_NUMBER = "15005550002"
HTTP_503_NUMBER = "15005550003"
SLOW_NUMBER = "15005550004"
MALFORMED_NUMBER = "15005550005"
BLACKLISTED_NUMBER = "15005550020"
NEW_STATUS_NUMBER = "15005550021"
NEW_STATUS = "HELD_FOR_REVIEW"
CARRIER_NAME_NUMBER = "15005550022"
# The instance's time zone, in which it writes an inbound message's sendDate (the local stack tells textgate
# through OGANGI_TIME_ZONE, as an operator of a real account would).
MO_TIME_ZONE = "America/Caracas"

# The seed's getMOMessages sample, byte for byte: its last <MOMessageList> should have been a closing tag.
SEED_MO_SAMPLE = (
    "<input>getMOMessages</input> <status>OK</status> <description>Completed</description> <result> "
    "<MOMessageList> <records>17</records> <MessageList> <MOMessage> <text>Test</text> <from>58123456789</from> "
    "<to>19893143924</to> <encoding>UTF-8</encoding> <keyword>^OGANGI.*</keyword> <carrier>Movistar</carrier> "
    "<sendDate>2014-10-13 10:30:51.922</sendDate> </MOMessage> </MessageList> <MOMessageList> </result>"
)
# A page as a provider may write it on a bad day: the seed's message, one holding a character XML cannot carry
# (BEL), one with a broken element (`</txet>`) and a bare `&`, and a last good one.
UNREADABLE_MO_SAMPLE = (
    "<input>getMOMessages</input> <status>OK</status> <description>Completed</description> <result> "
    "<MOMessageList> <records>4</records> <MessageList> <MOMessage> <text>Test</text> <from>58123456789</from> "
    "<to>19893143924</to> <encoding>UTF-8</encoding> <keyword>^OGANGI.*</keyword> <carrier>Movistar</carrier> "
    "<sendDate>2014-10-13 10:30:51.922</sendDate> </MOMessage> <MOMessage> <text>bell \x07 rings</text> "
    "<from>58123456789</from> <to>19893143924</to> <sendDate>2014-10-13 10:31:00.000</sendDate> </MOMessage> "
    "<MOMessage> <text>Hello</txet> <from>58123456789</from> <to>19893143924</to> <carrier>AT&T</carrier> "
    "</MOMessage> <MOMessage> <text>after</text> <from>58123456789</from> <to>19893143924</to> </MOMessage> "
    "</MessageList> </MOMessageList> </result>"
)

# operation path -> (number of path values before publicKey/signature, including instanceId)
_OPERATIONS = {
    "tools/sendSMS": (5,),
    "sendMT": (5, 6),
    "tools/sendSMSPinMobileNumberConfirm": (6,),
    "fireMessage": (3,),
    "tools/getMOMessages": (4,),
}


@dataclass
class OgangiSandbox:
    instance_id: str = "434"
    public_key: str = "sandbox-public-key"
    private_key: str = "sandbox-private-key"
    slow_seconds: float = 30.0
    time_zone: str = MO_TIME_ZONE
    name: str = "ogangi"
    pins: dict[str, str] = field(default_factory=dict)
    inbound: list[dict[str, str]] = field(default_factory=list)
    # What was sent to each number (international digits): method, carrier name or id, flags, from and text.
    messages: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def rate_limited(self, request: RecordedRequest) -> SandboxAnswer:
        return SandboxAnswer(429, b"Too Many Requests", {"Content-Type": "text/plain"})

    def handle(self, request: RecordedRequest) -> SandboxAnswer:
        if request.method != "POST":
            return SandboxAnswer(405, b"Method Not Allowed", {"Allow": "POST"})
        if not request.path.startswith("/rest/api/"):
            return SandboxAnswer(404, b"Not Found")
        rest = request.path[len("/rest/api/") :]
        for operation, counts in _OPERATIONS.items():
            if rest.startswith(operation + "/"):
                segments = rest[len(operation) + 1 :].split("/")
                if len(segments) - 2 not in counts:
                    return _xml(operation, "ERROR", f"expected {counts} values, got {len(segments) - 2}")
                return self._signed(operation, segments)
        return SandboxAnswer(404, b"Not Found")

    def _signed(self, operation: str, segments: list[str]) -> SandboxAnswer:
        values, public_key, signature = segments[:-2], segments[-2], segments[-1]
        expected = hmac.new(self.private_key.encode(), "/".join(values).encode(), hashlib.sha256).hexdigest()
        method = operation.rsplit("/", 1)[-1]
        if (
            unquote(values[0]) != self.instance_id
            or unquote(public_key) != self.public_key
            or not (hmac.compare_digest(expected, signature))
        ):
            return _xml(method, "BAD_SIGNATURE", "Invalid signature, access denied")
        try:
            answer: SandboxAnswer = getattr(self, "_" + method)(values[1:])
            return answer
        except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
            return _xml(method, "ERROR", f"bad parameter: {exc}")

    # -- operations ---------------------------------------------------------------------------------------

    def _sendSMS(self, values: list[str]) -> SandboxAnswer:  # noqa: N802 - Ogangi's method name
        carrier, sender, mobile, text = unquote(values[0]), unquote(values[1]), _b64(values[2]), _b64(values[3])

        def send() -> None:
            self._sent(mobile, method="sendSMS", carrier=carrier, sender=sender, text=text)

        failure = self._reserved("sendSMS", mobile, send)
        if failure is not None:
            return failure
        message_id = str(-random.randint(10**17, 9 * 10**18))
        status, description = "SENT_TO_CARRIER", "Sent to Carrier"
        if mobile == BLACKLISTED_NUMBER:
            status, description = "BLACKLISTED", "Number in black list"
        else:
            if mobile == NEW_STATUS_NUMBER:
                status, description = NEW_STATUS, "Held for review"
            send()
        carrier_tag = "carrierName" if mobile == CARRIER_NAME_NUMBER else "carrier"
        result = (
            "<result> <messages> <message> "
            f"<id>{message_id}</id> <{carrier_tag}>{escape(carrier)}</{carrier_tag}> <from>{escape(sender)}</from> "
            f"<to>{escape(mobile)}</to> <text>{escape(text)}</text> <status>{status}</status> "
            f"<statusDescription>{description}</statusDescription> <encoding>UTF-8</encoding> "
            f"<date>{time.strftime('%Y-%m-%dT%H:%M:%S.000-00:00', time.gmtime())}</date> "
            "<timezone>UTC</timezone> <clientId>sandbox</clientId> </message> </messages> </result>"
        )
        acted = f"sendSMS:{mobile}:{text}" if mobile != BLACKLISTED_NUMBER else None
        return _xml("sendSMS", "OK", "Completed", result, acted=acted)

    def _sendMT(self, values: list[str]) -> SandboxAnswer:  # noqa: N802
        sender, carrier_id, mobile, text = unquote(values[0]), unquote(values[1]), unquote(values[2]), _b64(values[3])
        flags = unquote(values[4]) if len(values) > 4 else None

        def send() -> None:
            carrier = None if carrier_id == "null" else carrier_id
            self._sent(mobile, method="sendMT", carrier_id=carrier, flags=flags, sender=sender, text=text)

        failure = self._reserved("sendMT", mobile, send)
        if failure is not None:
            return failure
        send()
        return _xml("sendMT", "OK", "Completed", acted=f"sendMT:{mobile}:{text}")

    def _sendSMSPinMobileNumberConfirm(self, values: list[str]) -> SandboxAnswer:  # noqa: N802
        mobile, text, length = unquote(values[2]), _b64(values[3]), int(unquote(values[4]))
        method = "sendSMSPinMobileNumberConfirm"
        failure = self._reserved(method, mobile, lambda: self._sent(mobile, method=method, text=text))
        if failure is not None:
            return failure
        if not 1 <= length <= 12:
            return _xml(method, "ERROR", "invalid length")
        pin = "".join(random.choice("0123456789") for _ in range(length))
        with self._lock:
            self.pins[mobile] = pin
        result = f"<result> <PinSMSConfirmation> <pin>{pin}</pin> </PinSMSConfirmation> </result>"
        return _xml(method, "OK", "Completed", result, acted=f"{method}:{mobile}:{text}")

    def _fireMessage(self, values: list[str]) -> SandboxAnswer:  # noqa: N802
        mobile, text = unquote(values[0]), _b64(values[1])

        def fire() -> None:
            with self._lock:
                self.inbound.append({"text": text, "from": mobile, "to": "19893143924", "at": self._local_now()})

        failure = self._reserved("fireMessage", mobile, fire)
        if failure is not None:
            return failure
        fire()
        result = (
            f"<result> <mo> <instanceId>{escape(self.instance_id)}</instanceId> "
            f"<mobileNumber>{escape(mobile)}</mobileNumber> <text>{escape(text)}</text> </mo> </result>"
        )
        return _xml("fireMessage", "OK", "Completed", result, acted=f"fireMessage:{mobile}:{text}")

    def _getMOMessages(self, values: list[str]) -> SandboxAnswer:  # noqa: N802
        page, per_page, parameters = int(values[0]), int(values[1]), unquote(values[2])
        if parameters == "malformed":
            return SandboxAnswer(200, SEED_MO_SAMPLE.encode(), {"Content-Type": "application/xml"})
        if parameters == "unreadable":
            return SandboxAnswer(200, UNREADABLE_MO_SAMPLE.encode(), {"Content-Type": "application/xml"})
        with self._lock:
            found = [m for m in self.inbound if parameters == "null" or parameters in m["text"]]
        chosen = found[(page - 1) * per_page : page * per_page]
        items = "".join(
            f"<MOMessage> <text>{escape(m['text'])}</text> <from>{escape(m['from'])}</from> "
            f"<to>{escape(m['to'])}</to> <encoding>UTF-8</encoding> <keyword>{escape(m['text'].split(' ')[0])}"
            f"</keyword> <carrier>Movistar</carrier> <sendDate>{m['at']}</sendDate> </MOMessage> "
            for m in chosen
        )
        result = (
            f"<result> <MOMessageList> <records>{len(found)}</records> <MessageList> {items}</MessageList> "
            "</MOMessageList> </result>"
        )
        return _xml("getMOMessages", "OK", "Completed", result)

    def _sent(self, mobile: str, **message: Any) -> None:
        entry = {"method": None, "carrier": None, "carrier_id": None, "flags": None, **message}
        with self._lock:
            self.messages.setdefault(mobile, []).append(entry)

    def _local_now(self) -> str:
        """Now, as the seed writes an inbound message's sendDate: the instance's local time, without a zone."""
        return datetime.now(UTC).astimezone(ZoneInfo(self.time_zone)).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]

    def _reserved(self, method: str, mobile: str, act: Callable[[], None]) -> SandboxAnswer | None:
        """The answer of a reserved number, or None; `act` does what the call does, for the answers that come
        after the provider acted."""
        if mobile == BAD_SIGNATURE_NUMBER:
            return _xml(method, "BAD_SIGNATURE", "Invalid signature, access denied")
        if mobile == ERROR_NUMBER:
            # An internal error after the message went out: nothing in ERROR says it did not.
            act()
            return _xml(method, "ERROR", "Internal error", acted=f"{method}:{mobile}:error")
        if mobile == HTTP_503_NUMBER:
            return SandboxAnswer(503, b"Service Unavailable", {"Content-Type": "text/plain"})
        if mobile == SLOW_NUMBER:
            time.sleep(self.slow_seconds)
            return _xml(method, "OK", "Completed", acted=f"{method}:{mobile}:slow")
        if mobile == MALFORMED_NUMBER:
            return SandboxAnswer(
                200, b"<input>oops<status>", {"Content-Type": "application/xml"}, acted=f"{method}:{mobile}:malformed"
            )
        return None


def _b64(value: str) -> str:
    """Strict URL-safe Base64 with padding, as Ogangi expects it."""
    if any(char in value for char in "+/") or len(value) % 4:
        raise ValueError("not URL-safe Base64 with padding")
    return base64.urlsafe_b64decode(value.encode("ascii")).decode("utf-8")


def _xml(method: str, status: str, description: str, result: str = "", *, acted: str | None = None) -> SandboxAnswer:
    body = (
        f"<input>{method}</input> <status>{status}</status> <description>{escape(description)}</description> {result}"
    ).strip()
    return SandboxAnswer(200, body.encode("utf-8"), {"Content-Type": "application/xml; charset=utf-8"}, acted=acted)
