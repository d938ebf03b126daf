"""The HTTP edge of the Sumotext callback: what Sumotext sent, read as tolerantly as the URL and body allow.

Sumotext does not call again, so nothing here refuses a hit for its shape: parameters appended to the token
with a second `?` (or `??`, `&?`, or one `?` per parameter) still count; a POST body is read as parameters when it
is a form, a multipart form, a JSON object or urlencoded text under any content type, and kept as raw text
otherwise.
"""

from __future__ import annotations

import json
import re
from email.parser import BytesParser
from email.policy import HTTP
from urllib.parse import parse_qsl

from textgate.http_api import ApiRequest
from textgate.logic.sumotext import MAX_PARAMETERS, MAX_RAW_BODY_BYTES, PARAMETERS
from textgate.schemas.sumotext import CallbackRequest, Pair

MAX_BODY_BYTES = MAX_RAW_BODY_BYTES
# A body with more parameters than this is not read at all (kept raw); up to it, the logic keeps what fits and
# still reads the number and the text, however many other parameters came.
MAX_READ_PARAMETERS = 20 * MAX_PARAMETERS
_FORM_TYPES = frozenset({"", "application/x-www-form-urlencoded"})
# The documented names Sumotext appends, each of which may follow a stray '?' inside a value:
# '…?mobile=1?msg=STOP'. Not the token: a '?token=' inside a value is text (scrubbed before it is stored).
_APPENDED = re.compile(
    r"\?+(?=(?:" + "|".join(re.escape(s) for ss in PARAMETERS.values() for s in ss) + r")=)", re.IGNORECASE
)
# A body of urlencoded text, whatever its content type says: name=value pairs joined by '&', names without
# spaces or markup (so XML, JSON and prose are not taken for a form).
_URLENCODED = re.compile(r"&*[\w.~%+\-\[\]]+=[^&]*(?:&+[\w.~%+\-\[\]]+=[^&]*)*&*")


def is_token(name: str) -> bool:
    """Any spelling of the token's name: none of them is ever stored."""
    return name.strip().lower() == "token"


def query_pairs(request: ApiRequest) -> list[Pair]:
    multi = request.multi_query or {name: [value] for name, value in request.query.items()}
    return [(name, value) for name, values in multi.items() for value in values]


def split_appended(pairs: list[Pair]) -> list[Pair]:
    """Sumotext appends its parameters to the configured URL, so a URL configured as `…?token=T` arrives as
    `…?token=T?mobile=…&msg=…`: the token's value then ends with the first appended parameter. Senders also
    double the `?` (`T??mobile=`, `T&?mobile=`) or put one before every parameter (`T?mobile=…?msg=STOP`)."""
    split: list[Pair] = []
    for raw_name, value in pairs:
        name = raw_name.lstrip("?")
        if name == "token" and "?" in value:
            token, appended = value.split("?", 1)
            split.append((name, token))
            split.extend(split_appended(parse_qsl(appended, keep_blank_values=True, max_num_fields=MAX_PARAMETERS)))
            continue
        first, *others = _APPENDED.split(value)
        split.append((name, first))
        for other in others:
            other_name, _, other_value = other.partition("=")
            split.append((other_name, other_value))
    return split


def _form(body: str) -> list[Pair] | None:
    try:
        return parse_qsl(body, keep_blank_values=True, max_num_fields=MAX_READ_PARAMETERS)
    except ValueError:
        return None  # beyond what is worth reading: kept raw


def _multipart(content_type: str, body: bytes) -> list[Pair] | None:
    """The text fields of a multipart/form-data body; None when it cannot be read as one."""
    message = BytesParser(policy=HTTP).parsebytes(
        b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body
    )
    if not message.is_multipart() or message.defects:
        return None
    pairs: list[Pair] = []
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        if not isinstance(name, str) or not isinstance(payload, bytes):
            return None
        pairs.append((name, payload.decode(part.get_content_charset() or "utf-8", errors="replace")))
    return pairs[: MAX_PARAMETERS + 1]


def _json_value(value: object) -> str:
    if isinstance(value, str):
        return value
    return "" if value is None else json.dumps(value, ensure_ascii=False)


def _json_object(body: str) -> list[Pair] | None:
    """The members of a JSON object as parameters (a list as a repeated parameter); None for any other body."""
    if not body.lstrip().startswith("{"):
        return None
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        return None
    if not isinstance(document, dict):
        return None
    pairs: list[Pair] = []
    for name, value in document.items():
        pairs.extend((name, _json_value(item)) for item in (value if isinstance(value, list) else [value]))
    return pairs if len(pairs) <= MAX_READ_PARAMETERS else None


def _body_pairs(content_type: str, body: str) -> tuple[list[Pair] | None, str | None]:
    """(the body's parameters, None), or (None, why it was kept raw)."""
    media_type = content_type.split(";", maxsplit=1)[0].strip().lower()
    if media_type == "multipart/form-data":
        encoded = body.encode("utf-8", "replace")
        pairs = _multipart(content_type, encoded) if len(encoded) <= MAX_BODY_BYTES else None
    elif media_type in _FORM_TYPES or _URLENCODED.fullmatch(body.strip()):
        pairs = _form(body.strip())
    else:
        pairs = _json_object(body)
    if pairs is None:
        return None, "the body is not a form or a JSON object that can be read: kept raw"
    return pairs, None


def read_callback(request: ApiRequest) -> CallbackRequest:
    """The callback's token(s), parameters (query first, then the body's) and any body that could not be read.

    Only `token` in the query string counts as the token: it is the URL that Sumotext was given. Nothing here
    refuses a hit: what cannot be read is handed on raw, to be judged once the token is checked."""
    query = split_appended(query_pairs(request))
    pairs = list(query)
    raw_body: str | None = None
    truncated = False
    problem: str | None = None
    if request.body:
        body_pairs, problem = _body_pairs(request.header("content-type") or "", request.body)
        if body_pairs is not None:
            pairs += body_pairs
        else:
            encoded = request.body.encode("utf-8", "replace")
            truncated = len(encoded) > MAX_BODY_BYTES
            raw_body = encoded[:MAX_BODY_BYTES].decode("utf-8", "ignore")
    return CallbackRequest(
        kind=request.path_params.get("kind", ""),
        tokens=[value for name, value in query if name == "token"],
        pairs=[(name, value) for name, value in pairs if not is_token(name)],
        raw_body=raw_body,
        raw_body_truncated=truncated,
        source_ip=request.source_ip,
        method=request.method,
        body_problem=problem,
    )
