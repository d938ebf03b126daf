"""ProTexting sandbox: checks Opt In Contact calls as ProTexting would and answers in its Yii2-style JSON.

Every answer carries X-Rate-Limit-Limit, -Remaining and -Reset (seconds until the allowance is full again);
with `enforce_rate_limit` it counts requests per window and answers 429 once the allowance is spent.

An opt-in texts the handset as seed 003 says: the call to action (CTAMessage, or the account's own) goes to a
contact that is not yet opted in or is opted out, whatever SendCTAMessage says, and with SendCTAMessage 1 to every
contact. The texts each number was sent are kept in `messages`. A contact is opted in once an opt-in created it
(`OptedOut` 0, as the seed's example answer shows).

Reserved PhoneNumber values give the documented answers:
  15005550001 a contact on file with opt-out status: 201, and the CTA goes out (the seed's "opt-out status"
  case; an opted-out contact is not refused) · 15005550002 422 code 2 (forbidden words) · 15005550006 422 code 5
  (not enough credit) · 15005550007 422 code 1000 (globally opted out) · 15005550010 422 code 6 (API app not
  activated) · 15005550011 422 code 7 (invalid IP) · 15005550012 422 code 8 (same content within 10 seconds) ·
  15005550013 422 code 301 and 15005550014 422 code 302 (sender blocked) · 15005550015 422 code 1001 (globally
  blocked) · 15005550008 422 list shape · 15005550009 201 `{"message": …}` · 15005550003 HTTP 503 ·
  15005550004 acts, then answers after `slow_seconds` · 15005550005 acts, then answers a malformed body.
"""

from __future__ import annotations

import json
import math
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from textgate_local.sandboxes.base import RecordedRequest, SandboxAnswer

PATH = "/v1/contacts-opt-in/create"

OPTED_OUT_CONTACT_NUMBER = "15005550001"
FORBIDDEN_WORDS_NUMBER = "15005550002"
HTTP_503_NUMBER = "15005550003"
SLOW_NUMBER = "15005550004"
MALFORMED_NUMBER = "15005550005"
NO_CREDIT_NUMBER = "15005550006"
GLOBALLY_OPTED_OUT_NUMBER = "15005550007"
VALIDATION_NUMBER = "15005550008"
MESSAGE_SHAPE_NUMBER = "15005550009"
APP_NOT_ACTIVATED_NUMBER = "15005550010"
INVALID_IP_NUMBER = "15005550011"
SAME_CONTENT_NUMBER = "15005550012"
SENDER_BLOCKED_NUMBER = "15005550013"
SENDER_BLOCKED_CARRIER_NUMBER = "15005550014"
GLOBALLY_BLOCKED_NUMBER = "15005550015"

# reserved number -> (ProTexting error code, its message)
BUSINESS_ERRORS: dict[str, tuple[int, str]] = {
    FORBIDDEN_WORDS_NUMBER: (2, "The message contains forbidden words."),
    NO_CREDIT_NUMBER: (5, "You do not have enough credit."),
    APP_NOT_ACTIVATED_NUMBER: (6, "Your API application is not activated."),
    INVALID_IP_NUMBER: (7, "Your IP address is not allowed."),
    SAME_CONTENT_NUMBER: (8, "The same content was sent to this number within 10 seconds."),
    SENDER_BLOCKED_NUMBER: (301, "The sender is blocked."),
    SENDER_BLOCKED_CARRIER_NUMBER: (302, "The sender is blocked by the carrier."),
    GLOBALLY_OPTED_OUT_NUMBER: (1000, "The number is globally opted out."),
    GLOBALLY_BLOCKED_NUMBER: (1001, "The number is globally blocked."),
}
VALIDATION_MESSAGE = "Phone Number is not a valid mobile number."
CREATED_MESSAGE = "The opt-in request was accepted."
# The account's own call to action, sent when the request gives no CTAMessage.
DEFAULT_CTA = "Reply YES to join our list. Msg&data rates may apply. Reply STOP to end."
UNAUTHORIZED_MESSAGE = "Your request was made with invalid credentials."
JSON_TYPE = "application/json; charset=UTF-8"


@dataclass
class ProTextingSandbox:
    access_token: str = "sandbox-access-token"
    rate_limit: int = 60
    window_seconds: float = 60.0
    enforce_rate_limit: bool = True
    slow_seconds: float = 30.0
    name: str = "protexting"
    contacts: dict[str, dict[str, Any]] = field(default_factory=dict)
    # What reached each handset (PhoneNumber digits): {"kind": "cta", "text": …}.
    messages: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _window_start: float = field(default=0.0, repr=False)
    _used: int = field(default=0, repr=False)

    # -- the rate limit -----------------------------------------------------------------------------------

    def _take(self) -> bool:
        """Count one request against the window; False when the allowance is already spent."""
        if not self.enforce_rate_limit:
            return True
        with self._lock:
            now = time.monotonic()
            if self._used == 0 or now - self._window_start >= self.window_seconds:
                self._window_start, self._used = now, 0
            if self._used >= self.rate_limit:
                return False
            self._used += 1
            return True

    def _limit_headers(self) -> dict[str, str]:
        with self._lock:
            elapsed = time.monotonic() - self._window_start
            used = self._used if self.enforce_rate_limit and elapsed < self.window_seconds else 0
            reset = math.ceil(self.window_seconds - elapsed) if used else 0
        return {
            "X-Rate-Limit-Limit": str(self.rate_limit),
            "X-Rate-Limit-Remaining": str(max(0, self.rate_limit - used)),
            "X-Rate-Limit-Reset": str(reset),
        }

    def rate_limited(self, request: RecordedRequest) -> SandboxAnswer:
        with self._lock:
            elapsed = time.monotonic() - self._window_start
            reset = math.ceil(self.window_seconds - elapsed) if elapsed < self.window_seconds else 0
        headers = {
            "X-Rate-Limit-Limit": str(self.rate_limit),
            "X-Rate-Limit-Remaining": "0",
            # Without a window under way (an injected fault), a whole window is the honest wait.
            "X-Rate-Limit-Reset": str(reset or math.ceil(self.window_seconds)),
        }
        return _json(429, _error("Too Many Requests", "Rate limit exceeded.", 0, 429), headers)

    # -- the operation ------------------------------------------------------------------------------------

    def handle(self, request: RecordedRequest) -> SandboxAnswer:
        if request.method != "POST":
            answer = _json(
                405,
                _error(
                    "Method Not Allowed",
                    "Method Not Allowed. This URL can only handle the following request methods: POST.",
                    0,
                    405,
                ),
            )
            answer.headers["Allow"] = "POST"
            return self._with_limits(answer)
        if request.path != PATH:
            return self._with_limits(_json(404, _error("Not Found", "Page not found.", 0, 404)))
        if request.query.get("access_token") != [self.access_token]:
            return self._with_limits(_json(401, _error("Unauthorized", UNAUTHORIZED_MESSAGE, 0, 401)))
        if not self._take():
            return self.rate_limited(request)
        return self._with_limits(self._opt_in(request))

    def _with_limits(self, answer: SandboxAnswer) -> SandboxAnswer:
        answer.headers.update(self._limit_headers())
        return answer

    def _opt_in(self, request: RecordedRequest) -> SandboxAnswer:
        if "application/json" not in (request.header("Accept") or ""):
            # JSON and XML are what it can write; this sandbox writes JSON only.
            return _json(406, _error("Not Acceptable", "None of your requested content types is supported.", 0, 406))
        data: Any = {}
        if (request.header("Content-Type") or "").split(";")[0].strip() == "application/json":
            try:
                data = json.loads(request.body.decode("utf-8"))
            except (ValueError, UnicodeDecodeError):
                return _json(400, _error("Bad Request", "Invalid JSON data in request body: Syntax error.", 0, 400))
        # Any other Content-Type leaves the body unparsed, so every required field reads as blank.
        problems = _validate(data if isinstance(data, dict) else {})
        if problems:
            return _json(422, problems)
        number, group_ids = data["PhoneNumber"], data["GroupIds"]
        acted = f"optin:{number}:{','.join(str(group) for group in group_ids)}:{data.get('CTAMessage') or ''}"
        if number in BUSINESS_ERRORS:
            code, message = BUSINESS_ERRORS[number]
            return _json(422, _error("Unprocessable entity", message, code, 422))
        if number == VALIDATION_NUMBER:
            return _json(422, [{"field": "PhoneNumber", "message": VALIDATION_MESSAGE}])
        if number == HTTP_503_NUMBER:
            return SandboxAnswer(503, b"Service Unavailable", {"Content-Type": "text/plain"})
        contact = self._subscribe(number, group_ids, data)
        if number == MESSAGE_SHAPE_NUMBER:
            return _json(201, {"message": CREATED_MESSAGE}, acted=acted)
        if number == MALFORMED_NUMBER:
            return SandboxAnswer(201, b'{"Id": 1, "Number": ', {"Content-Type": JSON_TYPE}, acted=acted)
        if number == SLOW_NUMBER:
            time.sleep(self.slow_seconds)
        return _json(201, contact, acted=acted)

    def _subscribe(self, number: str, group_ids: list[int], data: dict[str, Any]) -> dict[str, Any]:
        """The contact, created or joined to the groups; the call to action goes out as the seed says."""
        stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())
        with self._lock:
            contact = self.contacts.get(number)
            opted_in = contact is not None and contact["OptedOut"] == 0
            # SendCTAMessage 1: always. 0 or absent: only to a contact NOT opted in OR with opt-out status.
            if data.get("SendCTAMessage") == 1 or not opted_in:
                text = data.get("CTAMessage") or DEFAULT_CTA
                self.messages.setdefault(number, []).append({"kind": "cta", "text": text})
            if contact is None:
                contact = {
                    "Id": len(self.contacts) + 1,
                    "Number": number,
                    "OptedOut": 1 if number == OPTED_OUT_CONTACT_NUMBER else 0,
                    "FirstName": "",
                    "LastName": "",
                    "BirthDay": "0000-00-00",
                    "Email": "",
                    "Zip": "",
                    "City": "",
                    "DateCreated": stamp,
                    "DateUpdated": stamp,
                    "GroupIds": [],
                    "CustomFieldIds": [],
                }
                self.contacts[number] = contact
            contact["GroupIds"] = sorted({*contact["GroupIds"], *group_ids})
            contact["DateUpdated"] = stamp
            return dict(contact)


def _validate(data: dict[str, Any]) -> list[dict[str, str]]:
    problems = []
    number = data.get("PhoneNumber")
    if number is None or number == "":
        problems.append({"field": "PhoneNumber", "message": "Phone Number cannot be blank."})
    elif not (isinstance(number, str) and number.isascii() and number.isdigit() and 10 <= len(number) <= 15):
        problems.append({"field": "PhoneNumber", "message": VALIDATION_MESSAGE})
    groups = data.get("GroupIds")
    if groups is None or groups == []:
        problems.append({"field": "GroupIds", "message": "Group Ids cannot be blank."})
    elif not (isinstance(groups, list) and all(type(group) is int and group > 0 for group in groups)):
        problems.append({"field": "GroupIds", "message": "Group Ids must be a list of group ids."})
    for name in ("CTAMessage", "ConfirmMessage"):
        if name in data and not isinstance(data[name], str):
            problems.append({"field": name, "message": f"{name} must be a string."})
    if "SendCTAMessage" in data and not (type(data["SendCTAMessage"]) is int and data["SendCTAMessage"] in (0, 1)):
        problems.append({"field": "SendCTAMessage", "message": "SendCTAMessage must be either 0 or 1."})
    return problems


def _error(name: str, message: str, code: int, status: int) -> dict[str, Any]:
    return {"name": name, "message": message, "code": code, "status": status}


def _json(status: int, body: Any, headers: dict[str, str] | None = None, *, acted: str | None = None) -> SandboxAnswer:
    encoded = json.dumps(body, ensure_ascii=False).encode("utf-8")
    return SandboxAnswer(status, encoded, {"Content-Type": JSON_TYPE, **(headers or {})}, acted=acted)
