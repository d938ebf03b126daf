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
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, quote_plus, urlencode

from textgate import clock, log, metrics
from textgate.callback_hits import CallbackHit, FieldValue
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
MAX_RAW_BODY_BYTES = 64 * 1024  # what is kept of a body (or of parameters) that could not be read

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
# What stands for the callback token wherever a sender echoed it into what is stored.
TOKEN_REDACTED = "[token]"  # noqa: S105 - a placeholder, not a secret
MIN_SCRUBBED_TOKEN_CHARS = 8  # the deployed token has 40

# Unicode's Default_Ignorable_Code_Point, written out from DerivedCoreProperties.txt: the characters a renderer
# shows as nothing. Python's unicodedata does not expose the derived property, and the `regex` module that does
# would cost about 17 ms of cold start and 3.5 MB of layer for this one lookup; tests/unit checks the table against
# regex's \p{Default_Ignorable_Code_Point} over every code point.
DEFAULT_IGNORABLE_RANGES: tuple[tuple[int, int], ...] = (
    (0x00AD, 0x00AD),  # soft hyphen
    (0x034F, 0x034F),  # combining grapheme joiner
    (0x061C, 0x061C),  # Arabic letter mark
    (0x115F, 0x1160),  # Hangul choseong and jungseong fillers
    (0x17B4, 0x17B5),  # Khmer inherent vowels
    (0x180B, 0x180F),  # Mongolian free variation selectors and vowel separator
    (0x200B, 0x200F),  # zero-width space, joiners, direction marks
    (0x202A, 0x202E),  # bidirectional embeddings and overrides
    (0x2060, 0x206F),  # word joiner, invisible operators, isolates, deprecated format characters
    (0x3164, 0x3164),  # Hangul filler
    (0xFE00, 0xFE0F),  # variation selectors
    (0xFEFF, 0xFEFF),  # zero-width no-break space (BOM)
    (0xFFA0, 0xFFA0),  # halfwidth Hangul filler
    (0xFFF0, 0xFFF8),  # unassigned, reserved as ignorable
    (0x1BCA0, 0x1BCA3),  # shorthand format controls
    (0x1D173, 0x1D17A),  # musical symbol beams and phrases
    (0xE0000, 0xE0FFF),  # tags, variation selectors supplement and their reserved block
)


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
    """A repeat of a message (an mo, or a text4info that carries an smsid: the same number, smsid and text) or of
    a dlr (same sumoid and mtcode) gets the same id, so it is kept once; no two different hits share one. The text
    is part of a message's identity: a STOP that reuses the smsid of an earlier "hello" is another message."""
    if kind in _OPT_KINDS and "smsid" in params and mobile is not None:
        return f"{kind}_" + _digest(mobile, params["smsid"], params.get("msg", ""))
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
    problem: str | None = None,
) -> CallbackHit:
    """The hit as stored; a 400 or 413 when its parameters cannot be read as documented (see unread_hit)."""
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
    if _stored_bytes(fields, params) > MAX_STORED_BYTES:
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
        problem=problem,
    )


def _stored_bytes(fields: Mapping[str, FieldValue], params: Mapping[str, str]) -> int:
    return len(json.dumps(fields, ensure_ascii=False).encode()) + len(json.dumps(params, ensure_ascii=False).encode())


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


def is_invisible(char: str) -> bool:
    """A Default_Ignorable_Code_Point or any other format character (Cf): nothing a reader sees."""
    code = ord(char)
    if any(low <= code <= high for low, high in DEFAULT_IGNORABLE_RANGES):
        return True
    return unicodedata.category(char) == "Cf"


def _visible(text: str) -> str:
    return "".join(char for char in text if char.isascii() or not is_invisible(char))


def command_word(text: str) -> str:
    """The word a handset texted, as compared with STOP and START: fullwidth and other compatibility forms
    folded (NFKC), invisible characters (zero-width spaces, joiners, variation selectors, fillers) dropped
    before and after folding, case ignored."""
    return _visible(unicodedata.normalize("NFKC", _visible(text))).strip().upper()


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


def _authenticate(tokens: list[str]) -> list[str]:
    """The tokens of the secret (current and previous) when the one given matches one of them."""
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
    return [value for value in (secret.get("token"), secret.get("previous_token")) if isinstance(value, str) and value]


def scrub_tokens(text: str, tokens: list[str]) -> str:
    """The text with every spelling a sender may have echoed of the callback tokens (as they are, URL-encoded,
    JSON-escaped) replaced: a stored hit is read by every client, the token by none."""
    for token in tokens:
        if len(token) < MIN_SCRUBBED_TOKEN_CHARS:
            continue  # a toy token of a local stack: replacing it everywhere would garble numbers and texts
        for spelling in {token, quote(token, safe=""), quote_plus(token), json.dumps(token)[1:-1]}:
            text = text.replace(spelling, TOKEN_REDACTED)
    return text


def _scrubbed(callback: CallbackRequest, tokens: list[str]) -> CallbackRequest:
    pairs = [(scrub_tokens(name, tokens), scrub_tokens(value, tokens)) for name, value in callback.pairs]
    raw_body = scrub_tokens(callback.raw_body, tokens) if callback.raw_body is not None else None
    return replace(callback, pairs=pairs, raw_body=raw_body)


def unread_hit(callback: CallbackRequest, problem: str, *, now: float) -> CallbackHit:
    """A hit whose parameters cannot be read as documented (no mobile, an id too long to be a key, too big to
    store as fields): kept as it came under a random id and flagged. Its number and text are still read when they
    can be, so a STOP beside an over-long smsid or a huge custom field still counts.

    Sumotext does not call again, so a hit with the right token is never refused for its content."""
    fields = group(callback.pairs)
    params = documented(fields)
    mobile: str | None = None
    valid: bool | None = None
    if len(params.get("mobile", "")) in range(1, MAX_MOBILE_CHARS + 1):
        mobile, valid = read_mobile(_first_raw(fields, "mobile"), params.get("country"))
    raw_body = callback.raw_body
    try:
        check_sizes(callback.pairs)
        if _stored_bytes(fields, params) > MAX_STORED_BYTES:
            raise PayloadTooLarge("too big")
    except PayloadTooLarge:
        # Too big to keep as fields: the parameters as a query string, in front of any raw body, cut to 64 KiB;
        # the documented ones still as params (so a STOP beside them counts) when they are not the big ones.
        fields = {}
        raw_body = urlencode(callback.pairs) + ("\n\n" + raw_body if raw_body is not None else "")
        if _stored_bytes({}, params) > MAX_STORED_BYTES // 2:
            params = {}
    encoded = raw_body.encode("utf-8", "replace") if raw_body is not None else b""
    truncated = callback.raw_body_truncated or len(encoded) > MAX_RAW_BODY_BYTES
    identifier = "cb_" + secrets.token_hex(12)
    return CallbackHit(
        id=identifier,
        kind=callback.kind,
        mobile=mobile,
        mobile_valid=valid,
        received_at=clock.rfc3339(now),
        received_sk=f"{sort_time(now)}#{identifier}",
        source_ip=callback.source_ip,
        method=callback.method,
        fields=fields,
        params=params,
        raw_body=encoded[:MAX_RAW_BODY_BYTES].decode("utf-8", "ignore") if raw_body is not None else None,
        raw_body_truncated=truncated,
        problem=problem,
    )


def receive(callback: CallbackRequest) -> CallbackHit | None:
    """Check, store once, apply STOP or START, publish. The stored hit, or None when it was a repeat."""
    tokens = _authenticate(callback.tokens)
    if callback.kind not in KINDS:
        raise NotFound("unknown callback kind; use crm, poll, text4info, mo or dlr")
    callback = _scrubbed(callback, tokens)
    now = clock.now()
    try:
        hit = build_hit(
            callback.kind,
            callback.pairs,
            now=now,
            source_ip=callback.source_ip,
            method=callback.method,
            raw_body=callback.raw_body,
            raw_body_truncated=callback.raw_body_truncated,
            problem=callback.body_problem,
        )
    except (BadRequest, PayloadTooLarge) as unreadable:
        problem = "; ".join(filter(None, [unreadable.detail, callback.body_problem]))
        hit = unread_hit(callback, problem, now=now)
    bound = log.bind(callback_id=hit.id, kind=hit.kind)
    try:
        if hit.problem is not None:
            logger.warning("sumotext callback kept unread", extra={"problem": hit.problem})
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
        problem=hit.problem,
    )


def list_events(query: EventsQuery) -> CallbackEventsPage:
    planned = plan(query)
    since_sk = sort_time(clock.parse_rfc3339(query.since)) if query.since is not None else None
    try:
        hits, cursor = callbacks.query(planned, since_sk=since_sk, limit=query.limit, cursor=query.cursor)
    except callbacks.InvalidCursor:
        raise _bad_cursor() from None
    return CallbackEventsPage(items=[view(hit) for hit in hits], next_cursor=cursor)
