"""What schemathesis needs to know about textgate that an OpenAPI document cannot say, loaded by the fuzz tier
(SCHEMATHESIS_HOOKS). Each hook states a documented rule; none of them hides an answer."""

from __future__ import annotations

import os
import time
import uuid
from typing import Any

import phonenumbers
import schemathesis
from hypothesis import strategies as st

from textgate import phone
from textgate.schemas.common import PHONE_FORMAT

# Numbers libphonenumber knows to be valid, away from the sandboxes' reserved +1500555… test numbers.
_PREFIXES = ("+1305670", "+1212555", "+4420794", "+3361234", "+97254469", "+5511987")


def _valid(number: str) -> bool:
    return phonenumbers.is_valid_number(phonenumbers.parse(number, None))


# The "phone" format: E.164 numbers that exist (the document's pattern gives only their shape).
schemathesis.openapi.format(
    PHONE_FORMAT,
    st.builds(
        lambda prefix, tail: prefix + tail, st.sampled_from(_PREFIXES), st.text("0123456789", min_size=4, max_size=4)
    )
    .map(lambda number: number if _valid(number) else number[:-4] + "8084")
    .filter(_valid),
)


def _positive(case: schemathesis.Case) -> bool:
    return case.meta is None or not case.meta.generation.mode.is_negative


@schemathesis.hook
def before_call(context: schemathesis.HookContext, case: schemathesis.Case, kwargs: dict[str, Any]) -> None:
    if not _positive(case):
        return
    headers = case.headers if case.headers is not None else {}
    if "Idempotency-Key" in headers:
        # A key names one request: the same key with another body is a 422 by contract, so each generated request
        # gets a key of its own (the idempotency tests cover replays).
        headers["Idempotency-Key"] = uuid.uuid4().hex
    path = case.operation.path
    query = case.query if case.query is not None else {}
    if path == "/v1/sumotext/events":
        # `mobile` or `kind` is required, `keyword` goes with kind=poll, and a cursor is one a page handed out.
        if query.get("keyword") is not None:
            query["kind"] = "poll"
        if query.get("mobile") is None and query.get("kind") is None:
            query["kind"] = "mo"
        query.pop("cursor", None)
    elif path == "/v1/sumotext/callbacks/{kind}":
        # The token is the shared secret of the URL; a hit needs `mobile` (a `dlr`, `sumoid`).
        query["token"] = os.environ["TEXTGATE_FUZZ_CALLBACK_TOKEN"]
        required = "sumoid" if (case.path_parameters or {}).get("kind") == "dlr" else "mobile"
        if not str(query.get(required) or "").strip():
            query[required] = _SPARE.removeprefix("+") if required == "mobile" else "fuzz"
    elif path == "/v1/batches" and isinstance(case.body, dict):
        # `campaign_id` (a campaign id, as its path takes it) goes with Interact's operation alone; a generated
        # item is any object, which its route refuses (in the 202, at its index), so `all_or_nothing` would refuse
        # the whole batch with a 422.
        if case.body.get("operation") == "interact.send_campaign_sms":
            case.body["campaign_id"] = "campaign1"
        else:
            case.body.pop("campaign_id", None)
        case.body.pop("all_or_nothing", None)
    case.query = query or case.query
    _opt_outs_spare_the_fallback(case)
    _phones_are_phones(case)
    _callbacks_are_reachable(case)
    _send_at_is_ahead(case)


def _send_at_is_ahead(case: schemathesis.Case) -> None:
    """`send_at` is 1 minute to 35 days ahead of textgate's clock: a rule about the present, which the document's
    pattern cannot state. A generated one is moved ten minutes ahead (the bounds have tests of their own)."""
    if isinstance(case.body, dict) and case.body.get("send_at") is not None:
        case.body["send_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 600))


# Where a request takes a phone number (the "phone" format).
_PHONE_FIELDS = {
    "/v1/ogangi/sms": ("body", "to"),
    "/v1/ogangi/pins": ("body", "to"),
    "/v1/ogangi/mo": ("body", "mobile"),
    "/v1/contactatonce/conversations": ("body", "consumer_phone"),
    "/v1/interact/campaigns/{campaign_id}/sms": ("body", "caller_id"),
    "/v1/protexting/opt-ins": ("body", "phone_number"),
}


# The number a send falls back to, which no request of the run opts out; and the one an opt-out of it becomes.
_FALLBACK = "+13056708084"
_SPARE = "+13056708085"
# What the run opted out (an opt-out route, a Sumotext hit that may be a STOP): a send to one of them is answered
# 422 recipient_opted_out, rightly, which schemathesis would take for a valid request refused.
_opted_out: set[str] = set()


def _number(value: Any, country: Any = None) -> str | None:
    try:
        return phone.normalise(str(value), country if isinstance(country, str) else None)
    except (phone.InvalidPhoneNumber, AttributeError, TypeError, ValueError):
        return None


def _opt_outs_spare_the_fallback(case: schemathesis.Case) -> None:
    path, method = case.operation.path, case.operation.method.lower()
    query = case.query if case.query is not None else {}
    if path == "/v1/opt-outs/{phone}" and method == "put" and case.path_parameters is not None:
        number = _number(case.path_parameters.get("phone"), query.get("country"))
        if number == _FALLBACK:
            case.path_parameters["phone"] = number = _SPARE
        if number is not None:
            _opted_out.add(number)
    elif path == "/v1/sumotext/callbacks/{kind}" and query.get("mobile") is not None:
        raw = str(query["mobile"]).strip()
        number = _number(raw if raw.startswith("+") else "+" + raw, None) or _number(raw, query.get("country"))
        if number == _FALLBACK:
            query["mobile"] = number = _SPARE
        if number is not None:
            _opted_out.add(number)


def _phones_are_phones(case: schemathesis.Case) -> None:
    """The stateful phase does not draw phone numbers from the "phone" format, and reuses values seen in earlier
    answers (the inbound page's `to`, Ogangi's own number, lands in a send's `to`). A value that is not a number
    by the document's own rule (E.164, or national digits with `country`) is swapped for one, and so is a number
    this run opted out."""
    location = _PHONE_FIELDS.get(case.operation.path)
    if location is None or not isinstance(case.body, dict) or case.operation.method.lower() != "post":
        return
    number = _number(case.body.get(location[1]), case.body.get("country"))
    if number is None or number in _opted_out:
        case.body[location[1]] = _FALLBACK  # E.164: a `country` beside it is not read


# The local stack's allowed host (STATUS_CALLBACK_ALLOWED_HOSTS); nothing listens on the discard port, so its
# callbacks are refused at once and retried in the background, as a dead receiver's would be.
FUZZ_STATUS_CALLBACK = "http://127.0.0.1:9/status"


def _callbacks_are_reachable(case: schemathesis.Case) -> None:
    """A status_callback must name a host that resolves only to public addresses (or the allowed host): a rule
    about DNS that no pattern can say. A generated URL in a valid request is swapped for the allowed host's."""
    if isinstance(case.body, dict) and isinstance(case.body.get("status_callback"), str):
        case.body["status_callback"] = FUZZ_STATUS_CALLBACK
