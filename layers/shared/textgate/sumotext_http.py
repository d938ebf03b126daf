"""The HTTP edge of the Sumotext callback: what Sumotext sent, read as tolerantly as the URL and body allow.

Sumotext does not call again, so nothing here refuses a hit for its shape: a token followed by parameters that
were appended with a second `?` still yields those parameters, and a POST body that is not a form is kept as
raw text. Only sizes that no callback reaches are refused.
"""

from __future__ import annotations

from email.parser import BytesParser
from email.policy import HTTP
from urllib.parse import parse_qsl

from textgate.errors import PayloadTooLarge
from textgate.http_api import ApiRequest
from textgate.logic.sumotext import MAX_PARAMETERS
from textgate.schemas.sumotext import CallbackRequest, Pair

MAX_BODY_BYTES = 64 * 1024
_FORM_TYPES = frozenset({"", "application/x-www-form-urlencoded"})


def is_token(name: str) -> bool:
    """Any spelling of the token's name: none of them is ever stored."""
    return name.strip().lower() == "token"


def query_pairs(request: ApiRequest) -> list[Pair]:
    multi = request.multi_query or {name: [value] for name, value in request.query.items()}
    return [(name, value) for name, values in multi.items() for value in values]


def split_appended(pairs: list[Pair]) -> list[Pair]:
    """Sumotext appends its parameters to the configured URL, so a URL configured as `…?token=T` arrives as
    `…?token=T?mobile=…&msg=…`: the token's value then ends with the first appended parameter."""
    split: list[Pair] = []
    for name, value in pairs:
        if name == "token" and "?" in value:
            token, appended = value.split("?", 1)
            split.append((name, token))
            split.extend(parse_qsl(appended, keep_blank_values=True, max_num_fields=MAX_PARAMETERS))
        else:
            split.append((name, value))
    return split


def _form(body: str) -> list[Pair]:
    try:
        return parse_qsl(body, keep_blank_values=True, max_num_fields=MAX_PARAMETERS)
    except ValueError:
        raise PayloadTooLarge(f"more than {MAX_PARAMETERS} parameters") from None


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


def read_callback(request: ApiRequest) -> CallbackRequest:
    """The callback's token(s), parameters (query first, then the form) and any body that is not a form.

    Only `token` in the query string counts as the token: it is the URL that Sumotext was given."""
    query = split_appended(query_pairs(request))
    pairs = list(query)
    raw_body: str | None = None
    truncated = False
    if request.body:
        content_type = request.header("content-type") or ""
        media_type = content_type.split(";")[0].strip().lower()
        encoded = request.body.encode("utf-8", "replace")
        form: list[Pair] | None = None
        if media_type in _FORM_TYPES:
            if len(encoded) > MAX_BODY_BYTES:
                raise PayloadTooLarge(f"the form is larger than {MAX_BODY_BYTES // 1024} KiB")
            form = _form(request.body)
        elif media_type == "multipart/form-data" and len(encoded) <= MAX_BODY_BYTES:
            form = _multipart(content_type, encoded)
        if form is not None:
            pairs += form
        else:
            # Not a form (JSON, XML, text, …): kept as it came, up to 64 KiB, rather than refused.
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
    )
