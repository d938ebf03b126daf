"""Sumotext callbacks: who may call, what is kept of a hit, what STOP and START do; and listing stored hits.

Sumotext does not sign its calls and documents no retries: the token in the URL is the only proof, and a hit
is answered `OK` only once it is stored, so nothing it sends is silently dropped.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import unicodedata
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from textgate import clock, log, metrics
from textgate.dal import callbacks, events
from textgate.errors import (
    ApiError,
    BadRequest,
    Forbidden,
    NotFound,
    PayloadTooLarge,
    ServiceUnavailable,
    ValidationFailed,
)
from textgate.logic import opt_outs
from textgate.models import CallbackHit, FieldValue
from textgate.phone import InvalidPhoneNumber, normalise
from textgate.schemas.sumotext import (
    KINDS,
    CallbackEventsPage,
    CallbackEventView,
    CallbackRequest,
    EventsQuery,
    Pair,
)
from textgate.secrets import SecretUnavailable, get_secret
from textgate.settings import get_settings

logger = log.get_logger(__name__)

MAX_PARAMETERS = 500
MAX_NAME_CHARS = 128
MAX_VALUE_CHARS = 4096
# What the item holds (fields and params as JSON, where a control character takes six bytes) stays far below
# DynamoDB's 400 KB item limit.
MAX_STORED_BYTES = 128 * 1024
MAX_MOBILE_CHARS = 64
MAX_ID_CHARS = 256  # smsid, sumoid, mtcode and a poll's key are kept in keys

OPT_OUT_WORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"})
OPT_IN_WORDS = frozenset({"START", "UNSTOP", "YES"})
_OPT_KINDS = frozenset({"mo", "text4info"})

# The documented parameters, each with the spellings Sumotext's documents use (matched ignoring case).
PARAMETERS: dict[str, tuple[str, ...]] = {
    "mobile": ("mobile",),
    "country": ("country",),
    "shortcode": ("shortcode", "short code", "short_code"),
    "key": ("key",),
    "carrier": ("carrier", "carrierid"),
    "reply": ("reply",),
    "label": ("label",),
    "lead": ("lead",),
    "msg": ("msg",),
    "smsid": ("smsid",),
    "sumoid": ("sumoid",),
    "mtcode": ("mtcode",),
    "mtdescription": ("mtdescription",),
}
# Sumotext's short codes are American: a number without a readable country is read as US.
DEFAULT_COUNTRY = "US"
# Not ISO, but what people (and some senders) write for the United Kingdom.
_COUNTRY_ALIASES = {"UK": "GB"}


# ---------------------------------------------------------------- reading a callback (pure)


def token_matches(given: str, secret: Mapping[str, Any]) -> bool:
    """The current token or the previous one (so the URL can be rotated without losing hits); an empty one never
    matches. Both are always compared, in constant time, as bytes (compare_digest refuses non-ASCII text)."""
    supplied = given.encode("utf-8", "replace")
    matched = False
    for name in ("token", "previous_token"):
        expected = secret.get(name)
        if isinstance(expected, str) and expected:
            matched |= hmac.compare_digest(supplied, expected.encode("utf-8"))
    return matched and bool(given)


def _clean(text: str) -> str:
    # A JSON event can carry lone surrogates, which DynamoDB (UTF-8) would refuse.
    return text.encode("utf-8", "replace").decode("utf-8")


def check_sizes(pairs: list[Pair]) -> None:
    if len(pairs) > MAX_PARAMETERS:
        raise PayloadTooLarge(f"more than {MAX_PARAMETERS} parameters")
    for name, value in pairs:
        if len(name) > MAX_NAME_CHARS:
            raise PayloadTooLarge(f"a parameter name is longer than {MAX_NAME_CHARS} characters")
        if len(value) > MAX_VALUE_CHARS:
            raise PayloadTooLarge(f"the value of {name[:40]!r} is longer than {MAX_VALUE_CHARS} characters")


def group(pairs: list[Pair]) -> dict[str, FieldValue]:
    """The raw field map: one value as a string, a repeated parameter as the list of its values in order."""
    grouped: dict[str, list[str]] = {}
    for name, value in pairs:
        grouped.setdefault(_clean(name), []).append(_clean(value))
    return {name: values[0] if len(values) == 1 else values for name, values in grouped.items()}


def documented(fields: Mapping[str, FieldValue]) -> dict[str, str]:
    """The documented parameters under one spelling each: the first non-empty value (trimmed) of any spelling."""
    by_lower: dict[str, list[str]] = {}
    for name, values in fields.items():
        by_lower.setdefault(name.strip().lower(), []).extend([values] if isinstance(values, str) else values)
    found: dict[str, str] = {}
    for canonical, spellings in PARAMETERS.items():
        for spelling in spellings:
            value = next((text.strip() for text in by_lower.get(spelling, []) if text.strip()), None)
            if value is not None:
                found[canonical] = value
                break
    return found


def region(country: str | None) -> str:
    """ISO alpha-2 of what Sumotext gives as the country: alpha-2, alpha-3 (USA), a numeric code or UK."""
    import iso3166  # noqa: PLC0415 - only callbacks that carry a country need the table

    code = (country or "").strip().upper().replace(".", "")
    code = _COUNTRY_ALIASES.get(code, code)
    found = iso3166.countries.get(code, None) if code else None
    return found.alpha2 if found is not None else DEFAULT_COUNTRY


def read_mobile(raw: str, country: str | None) -> tuple[str, bool]:
    """(E.164, True), or (the number as given, False) when it cannot be read: a hit is never lost over it.

    A '+' sent unencoded in a query string arrives as a space: ' 12125551212' is tried as +12125551212 first."""
    text = raw.strip()
    candidates = ["+" + text] if raw.startswith(" ") and text[:1].isdigit() else []
    for candidate in [*candidates, text]:
        try:
            return normalise(candidate, region(country)), True
        except InvalidPhoneNumber:
            continue
    return text, False


def sort_time(epoch: float) -> str:
    """Microseconds, so hits of the same second still list newest first."""
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _required(params: Mapping[str, str], name: str, limit: int) -> str:
    value = params.get(name)
    if value is None:
        raise BadRequest(f"{name} is required", errors=[{"field": name, "message": "is required"}])
    return _short(name, value, limit)


def _short(name: str, value: str, limit: int) -> str:
    if len(value) > limit:
        message = f"is longer than {limit} characters"
        raise BadRequest(f"{name} {message}", errors=[{"field": name, "message": message}])
    return value


def _digest(*parts: str) -> str:
    # JSON keeps the parts apart ('a#b', 'c' and 'a', 'b#c' differ), the hash keeps the key short.
    return hashlib.sha256(json.dumps(parts, ensure_ascii=False).encode()).hexdigest()


def hit_id(kind: str, params: Mapping[str, str], mobile: str | None) -> str:
    """A repeat of an mo (same mobile and smsid) or a dlr (same sumoid and mtcode) gets the same id, so it is
    kept once; no two different hits share one."""
    if kind == "mo" and "smsid" in params and mobile is not None:
        return "mo_" + _digest(mobile, params["smsid"])
    if kind == "dlr":
        return "dlr_" + _digest(params["sumoid"], params.get("mtcode", ""))
    return "cb_" + secrets.token_hex(12)


def is_deterministic(identifier: str) -> bool:
    return not identifier.startswith("cb_")


def build_hit(
    kind: str,
    pairs: list[Pair],
    *,
    now: float,
    source_ip: str,
    method: str,
    raw_body: str | None = None,
    raw_body_truncated: bool = False,
) -> CallbackHit:
    check_sizes(pairs)
    fields = group(pairs)
    params = documented(fields)
    if kind == "dlr":
        _required(params, "sumoid", MAX_ID_CHARS)
    else:
        _required(params, "mobile", MAX_MOBILE_CHARS)
    for name in ("mobile", "smsid", "sumoid", "mtcode", "key"):
        if name in params:
            _short(name, params[name], MAX_MOBILE_CHARS if name == "mobile" else MAX_ID_CHARS)
    stored = len(json.dumps(fields, ensure_ascii=False).encode()) + len(json.dumps(params, ensure_ascii=False).encode())
    if stored > MAX_STORED_BYTES:
        raise PayloadTooLarge(f"the parameters take more than {MAX_STORED_BYTES // 1024} KiB")
    mobile: str | None = None
    valid: bool | None = None
    if "mobile" in params:
        mobile, valid = read_mobile(_first_raw(fields, "mobile"), params.get("country"))
    identifier = hit_id(kind, params, mobile)
    return CallbackHit(
        id=identifier,
        kind=kind,
        mobile=mobile,
        mobile_valid=valid,
        received_at=clock.rfc3339(now),
        received_sk=f"{sort_time(now)}#{identifier}",
        source_ip=source_ip,
        method=method,
        fields=fields,
        params=params,
        poll_key=poll_key(params["key"]) if kind == "poll" and "key" in params else None,
        raw_body=_clean(raw_body) if raw_body is not None else None,
        raw_body_truncated=raw_body_truncated,
    )


def _first_raw(fields: Mapping[str, FieldValue], canonical: str) -> str:
    """The first non-blank value of a documented parameter as it came (untrimmed: a leading space may be a '+')."""
    spellings = PARAMETERS[canonical]
    for name, values in fields.items():
        if name.strip().lower() in spellings:
            for value in [values] if isinstance(values, str) else values:
                if value.strip():
                    return value
    return ""


def poll_key(keyword: str) -> str:
    return "poll#" + keyword.strip().upper()


def command_word(text: str) -> str:
    """The word a handset texted, as compared with STOP and START: fullwidth and other compatibility forms
    folded (NFKC), invisible format characters (zero-width spaces, joiners, marks) dropped, case ignored."""
    folded = unicodedata.normalize("NFKC", text)
    return "".join(char for char in folded if unicodedata.category(char) != "Cf").strip().upper()


def opt_change(hit: CallbackHit) -> bool | None:
    """True: the text opts the number out; False: back in; None: neither."""
    if hit.kind not in _OPT_KINDS:
        return None
    word = command_word(hit.params.get("msg", ""))
    if word in OPT_OUT_WORDS:
        return True
    if word in OPT_IN_WORDS:
        return False
    return None


# ---------------------------------------------------------------- receiving a callback


def _authenticate(tokens: list[str]) -> None:
    refused = Forbidden("missing or wrong callback token; nothing was stored")
    # Exactly one token: a URL carrying two is not one Sumotext was given.
    if len(tokens) != 1 or not tokens[0]:
        raise refused
    try:
        secret = get_secret(get_settings().sumotext_secret_id)
    except SecretUnavailable:
        logger.exception("callback secret unavailable")
        raise ServiceUnavailable("the callback cannot be checked now; nothing was stored") from None
    if not token_matches(tokens[0], secret):
        raise refused


def receive(callback: CallbackRequest) -> CallbackHit | None:
    """Check, store once, apply STOP or START, publish. The stored hit, or None when it was a repeat."""
    _authenticate(callback.tokens)
    if callback.kind not in KINDS:
        raise NotFound("unknown callback kind; use crm, poll, text4info, mo or dlr")
    now = clock.now()
    hit = build_hit(
        callback.kind,
        callback.pairs,
        now=now,
        source_ip=callback.source_ip,
        method=callback.method,
        raw_body=callback.raw_body,
        raw_body_truncated=callback.raw_body_truncated,
    )
    bound = log.bind(callback_id=hit.id, kind=hit.kind)
    try:
        opt = opt_change(hit)
        if opt is not None and not hit.mobile_valid:
            logger.warning("opt-out word from a number that cannot be read; the list is unchanged")
        elif opt is not None and hit.mobile is not None:
            # The list changes before the hit is stored: if storing fails, Sumotext's answer is an error and
            # the number is still out. A repeat of an mo already stored must not undo a later START.
            if is_deterministic(hit.id) and callbacks.exists(hit.id):
                logger.info("repeated sumotext callback ignored")
                return None
            opt_outs.set_opted_out(hit.mobile, opt, source=opt_outs.RECIPIENT, changed_by=opt_outs.RECIPIENT)
        expires_at = int(now + get_settings().sumotext_retention_days * 86_400)
        if not callbacks.put_new(hit, expires_at=expires_at):
            logger.info("repeated sumotext callback ignored")
            return None
        logger.info("sumotext callback stored", extra={"mobile_valid": hit.mobile_valid})
        metrics.callback_stored(hit.kind)
        events.publish("sumotext.callback", hit.model_dump())
        return hit
    finally:
        log.unbind(bound)


# ---------------------------------------------------------------- listing stored hits


def _bad_cursor() -> ApiError:
    return ValidationFailed(
        "invalid cursor", errors=[{"field": "cursor", "message": "is not a next_cursor of this query"}]
    )


def plan(query: EventsQuery) -> callbacks.QueryPlan:
    if query.keyword is not None and query.kind != "poll":
        message = "needs kind=poll"
        raise ValidationFailed("invalid keyword", errors=[{"field": "keyword", "message": message}])
    if query.mobile is None and query.kind is None:
        message = "mobile or kind is required"
        raise ValidationFailed(
            message, errors=[{"field": "mobile", "message": message}, {"field": "kind", "message": message}]
        )
    keyword = poll_key(query.keyword) if query.keyword is not None else None
    return callbacks.plan(mobile=query.mobile, kind=query.kind, poll_key=keyword)


def view(hit: CallbackHit) -> CallbackEventView:
    return CallbackEventView(
        id=hit.id,
        kind=hit.kind,
        mobile=hit.mobile,
        received_at=hit.received_at,
        fields=hit.fields,
        raw_body=hit.raw_body,
    )


def list_events(query: EventsQuery) -> CallbackEventsPage:
    planned = plan(query)
    since_sk = sort_time(clock.parse_rfc3339(query.since)) if query.since is not None else None
    try:
        hits, cursor = callbacks.query(planned, since_sk=since_sk, limit=query.limit, cursor=query.cursor)
    except callbacks.InvalidCursor:
        raise _bad_cursor() from None
    return CallbackEventsPage(items=[view(hit) for hit in hits], next_cursor=cursor)
