"""Sumotext callbacks: who may call, what is kept of a hit, what STOP and START do; and listing stored hits.

Sumotext does not sign its calls and documents no retries: the token in the URL is the only proof, and a hit
is answered `OK` only once it is stored, so nothing it sends is silently dropped.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import secrets
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

from textgate import clock, log
from textgate.dal import callbacks, events
from textgate.errors import ApiError, BadRequest, Forbidden, NotFound, ServiceUnavailable, ValidationFailed
from textgate.http_api import ApiRequest
from textgate.logic import opt_outs
from textgate.phone import InvalidPhoneNumber, normalise
from textgate.schemas.sumotext import (
    KINDS,
    CallbackEventsPage,
    CallbackEventView,
    CallbackHit,
    EventsQuery,
    FieldValue,
)
from textgate.secrets import SecretUnavailable, get_secret
from textgate.settings import get_settings

logger = log.get_logger(__name__)

Pair = tuple[str, str]

MAX_BODY_BYTES = 64 * 1024
MAX_PARAMETERS = 500
MAX_NAME_CHARS = 128
MAX_VALUE_CHARS = 4096
# What the item holds (fields and params as JSON, where a control character takes six bytes) stays far below
# DynamoDB's 400 KB item limit.
MAX_STORED_BYTES = 128 * 1024
MAX_MOBILE_CHARS = 64
MAX_ID_CHARS = 256  # smsid, sumoid, mtcode and a poll's key become part of a key

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
# Sumotext says "USA"; ISO alpha-2 codes pass through; anything else is read as US, where its short codes are.
_ALPHA3 = {"USA": "US", "CAN": "CA", "MEX": "MX", "PRI": "PR", "GBR": "GB", "AUS": "AU"}
DEFAULT_COUNTRY = "US"


class PayloadTooLarge(ApiError):
    status = 413
    code = "payload_too_large"
    title = "Payload too large"


class UnsupportedMediaType(ApiError):
    status = 415
    code = "unsupported_media_type"
    title = "Unsupported media type"


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


def _is_token(name: str) -> bool:
    return name.strip().lower() == "token"


def query_pairs(request: ApiRequest) -> list[Pair]:
    multi = request.multi_query or {name: [value] for name, value in request.query.items()}
    return [(name, value) for name, values in multi.items() for value in values]


def form_pairs(request: ApiRequest) -> list[Pair]:
    """A form body (application/x-www-form-urlencoded, or no type at all) as (name, value) pairs."""
    if not request.body:
        return []
    media_type = (request.header("content-type") or "").split(";")[0].strip().lower()
    if media_type not in ("", "application/x-www-form-urlencoded"):
        raise UnsupportedMediaType("send the parameters in the query string or as application/x-www-form-urlencoded")
    if len(request.body.encode("utf-8", "replace")) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"the body is larger than {MAX_BODY_BYTES // 1024} KiB")
    try:
        return parse_qsl(request.body, keep_blank_values=True, max_num_fields=MAX_PARAMETERS)
    except ValueError:
        raise PayloadTooLarge(f"more than {MAX_PARAMETERS} parameters") from None


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
    code = (country or "").strip().upper().replace(".", "")
    code = _ALPHA3.get(code, code)
    return code if len(code) == 2 and code.isalpha() else DEFAULT_COUNTRY


def read_mobile(raw: str, country: str | None) -> tuple[str, bool]:
    """(E.164, True), or (the number as given, False) when it cannot be read: a hit is never lost over it."""
    try:
        return normalise(raw, region(country)), True
    except InvalidPhoneNumber:
        return raw, False


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


def hit_id(kind: str, params: Mapping[str, str]) -> str:
    """Repeats of an mo (same smsid) or a dlr (same sumoid and mtcode) get the same id, so they are kept once."""
    if kind == "mo" and "smsid" in params:
        return f"mo#{params['smsid']}"
    if kind == "dlr":
        return f"dlr#{params['sumoid']}#{params.get('mtcode', '')}"
    return "cb_" + secrets.token_hex(12)


def is_deterministic(identifier: str) -> bool:
    return not identifier.startswith("cb_")


def build_hit(kind: str, pairs: list[Pair], *, now: float, source_ip: str, method: str) -> CallbackHit:
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
    mobile, valid = read_mobile(params["mobile"], params.get("country")) if "mobile" in params else (None, None)
    identifier = hit_id(kind, params)
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
    )


def poll_key(keyword: str) -> str:
    return "poll#" + keyword.strip().upper()


def opt_change(hit: CallbackHit) -> bool | None:
    """True: the text opts the number out; False: back in; None: neither."""
    if hit.kind not in _OPT_KINDS:
        return None
    word = hit.params.get("msg", "").strip().upper()
    if word in OPT_OUT_WORDS:
        return True
    if word in OPT_IN_WORDS:
        return False
    return None


# ---------------------------------------------------------------- receiving a callback


def _authenticate(request: ApiRequest) -> None:
    given = request.multi_query.get("token") or ([request.query["token"]] if "token" in request.query else [])
    refused = Forbidden("missing or wrong callback token; nothing was stored")
    # Exactly one token: a URL carrying two is not one Sumotext was given.
    if len(given) != 1 or not given[0]:
        raise refused
    try:
        secret = get_secret(get_settings().sumotext_secret_id)
    except SecretUnavailable:
        logger.exception("callback secret unavailable")
        raise ServiceUnavailable("the callback cannot be checked now; nothing was stored") from None
    if not token_matches(given[0], secret):
        raise refused


def receive(request: ApiRequest) -> CallbackHit | None:
    """Check, store once, apply STOP or START, publish. The stored hit, or None when it was a repeat."""
    _authenticate(request)
    kind = request.path_params.get("kind", "")
    if kind not in KINDS:
        raise NotFound("unknown callback kind; use crm, poll, text4info, mo or dlr")
    pairs = [(name, value) for name, value in query_pairs(request) + form_pairs(request) if not _is_token(name)]
    now = clock.now()
    hit = build_hit(kind, pairs, now=now, source_ip=request.source_ip, method=request.method)
    bound = log.bind(callback_id=hit.id, kind=kind)
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
            opt_outs.set_opted_out(hit.mobile, opt, source="sumotext")
        expires_at = int(now + get_settings().sumotext_retention_days * 86_400)
        if not callbacks.put_new(hit, expires_at=expires_at):
            logger.info("repeated sumotext callback ignored")
            return None
        logger.info("sumotext callback stored", extra={"mobile_valid": hit.mobile_valid})
        events.publish("sumotext.callback", hit.model_dump())
        return hit
    finally:
        log.unbind(bound)


# ---------------------------------------------------------------- listing stored hits


def encode_cursor(index: str, key: Mapping[str, str]) -> str:
    raw = json.dumps({"i": index, "k": dict(key)}, ensure_ascii=False, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _bad_cursor() -> ApiError:
    return ValidationFailed(
        "invalid cursor", errors=[{"field": "cursor", "message": "is not a next_cursor of this query"}]
    )


def decode_cursor(cursor: str, index: str, partition_value: str, since_sk: str | None) -> dict[str, str]:
    """The start key inside a cursor, if it is one this same query handed out."""
    try:
        raw = base64.b64decode(cursor + "=" * (-len(cursor) % 4), altchars=b"-_", validate=True)
        data = json.loads(raw)
    except (binascii.Error, ValueError, RecursionError):
        raise _bad_cursor() from None
    partition = callbacks.INDEXES[index]
    key = data.get("k") if isinstance(data, dict) else None
    if (
        not isinstance(key, dict)
        or data.get("i") != index
        or set(key) != {"id", partition, "received_sk"}
        or not all(isinstance(value, str) and 0 < len(value) <= 2048 for value in key.values())
        or key[partition] != partition_value
        or (since_sk is not None and key["received_sk"] < since_sk)
    ):
        raise _bad_cursor()
    return key


def _plan(query: EventsQuery) -> tuple[str, str, dict[str, str]]:
    """(index, partition value, filters) for the query."""
    if query.keyword is not None:
        if query.kind != "poll":
            message = "needs kind=poll"
            raise ValidationFailed("invalid keyword", errors=[{"field": "keyword", "message": message}])
        return "by_poll_keyword", poll_key(query.keyword), {"mobile": query.mobile} if query.mobile else {}
    if query.mobile is not None:
        return "by_mobile", query.mobile, {"kind": query.kind} if query.kind else {}
    if query.kind is not None:
        return "by_kind", query.kind, {}
    message = "mobile or kind is required"
    raise ValidationFailed(
        message, errors=[{"field": "mobile", "message": message}, {"field": "kind", "message": message}]
    )


def view(hit: CallbackHit) -> CallbackEventView:
    return CallbackEventView(
        id=hit.id, kind=hit.kind, mobile=hit.mobile, received_at=hit.received_at, fields=hit.fields
    )


def list_events(query: EventsQuery) -> CallbackEventsPage:
    index, partition_value, filters = _plan(query)
    since_sk = sort_time(clock.parse_rfc3339(query.since)) if query.since is not None else None
    start = decode_cursor(query.cursor, index, partition_value, since_sk) if query.cursor is not None else None
    try:
        hits, last = callbacks.query(
            index, partition_value, since_sk=since_sk, filters=filters, limit=query.limit, start_key=start
        )
    except callbacks.InvalidStartKey:
        raise _bad_cursor() from None
    return CallbackEventsPage(
        items=[view(hit) for hit in hits], next_cursor=encode_cursor(index, last) if last is not None else None
    )
