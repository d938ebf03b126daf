"""API Gateway REST proxy events in, proxy answers out; validation at the edge with field-level errors.

Handlers stay thin: `@api_handler` turns domain errors into problem+json, anything unexpected into a plain
500 (the exception goes to the log, never to the caller). It runs the route inside `textgate.invocation`'s
`around_invocation`: the API Gateway request id is the correlation id of every line logged, and the invocation's
metrics are written when it ends. `operation_handler` is `api_handler` for a route that starts an operation: each
refusal counts as `OperationRefused` with its problem code as the reason.
"""

from __future__ import annotations

import base64
import functools
import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NamedTuple

from pydantic import BaseModel

from textgate import log, metrics
from textgate.errors import ApiError, InternalError, InvalidJson, UnsupportedMediaType
from textgate.validation import validate

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from textgate.registry import OperationName

logger = log.get_logger(__name__)

LambdaHandler = Callable[[dict[str, Any], "LambdaContext"], dict[str, Any]]
Route = Callable[["ApiRequest"], dict[str, Any]]


class ApiRequest(NamedTuple):  # not a dataclass: a tenth of the import time, at every cold start
    method: str
    path: str
    path_params: dict[str, str]
    query: dict[str, str]
    multi_query: dict[str, list[str]]
    headers: dict[str, str]  # names lower-cased
    body: str | None
    client: str
    source_ip: str
    request_id: str
    body_is_utf8: bool = True  # false: the body came base64-encoded and is not UTF-8 (shown with U+FFFD)
    resource: str = ""  # the route's template, /v1/opt-outs/{phone}

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


def parse_event(event: dict[str, Any]) -> ApiRequest:
    context = event.get("requestContext") or {}
    identity = context.get("identity") or {}
    body = event.get("body")
    body_is_utf8 = True
    if body is not None and event.get("isBase64Encoded"):
        raw = base64.b64decode(body)
        try:
            body = raw.decode("utf-8")
        except UnicodeDecodeError:
            body, body_is_utf8 = raw.decode("utf-8", errors="replace"), False
    multi = event.get("multiValueQueryStringParameters") or {}
    return ApiRequest(
        method=(event.get("httpMethod") or "GET").upper(),
        path=event.get("path") or "/",
        path_params=dict(event.get("pathParameters") or {}),
        query=dict(event.get("queryStringParameters") or {}),
        multi_query={key: list(values) for key, values in multi.items()},
        headers={key.lower(): value for key, value in (event.get("headers") or {}).items()},
        body=body,
        client=str(identity.get("apiKeyId") or ""),
        source_ip=str(identity.get("sourceIp") or ""),
        request_id=str(context.get("requestId") or ""),
        body_is_utf8=body_is_utf8,
        resource=str(event.get("resource") or ""),
    )


def parse_json(text: str | None) -> Any:
    if text is None or not text.strip():
        raise InvalidJson("the request has no body; send a JSON object")
    try:
        # NaN, Infinity and -Infinity are Python's extension, not JSON (RFC 8259): refused like any other.
        return json.loads(text, parse_constant=_not_json)
    except (ValueError, RecursionError):
        raise InvalidJson("the body is not valid JSON") from None


def _not_json(constant: str) -> Any:
    raise ValueError(f"{constant} is not JSON")


def is_json_media_type(content_type: str | None) -> bool:
    """application/json or application/*+json, in UTF-8. No Content-Type at all counts as JSON, as it does for
    API Gateway (it picks the application/json template then): clients that leave it out are not refused."""
    if content_type is None or not content_type.strip():
        return True
    media, *parameters = (part.strip().lower() for part in content_type.split(";"))
    if media != "application/json" and not (media.startswith("application/") and media.endswith("+json")):
        return False
    for parameter in parameters:
        name, _, value = parameter.partition("=")
        if name.strip() == "charset" and value.strip().strip('"') not in ("utf-8", "utf8"):
            return False
    return True


def json_document(request: ApiRequest) -> Any:
    """The body of a JSON route: 415 for another media type, 400 for a body that is not UTF-8 JSON."""
    if not is_json_media_type(request.header("Content-Type")):
        raise UnsupportedMediaType("send the body as application/json (UTF-8)")
    if not request.body_is_utf8:
        raise InvalidJson("the body is not UTF-8")
    return parse_json(request.body)


def json_body[M: BaseModel](request: ApiRequest, model: type[M]) -> M:
    return validate(model, json_document(request))


def respond(status: int, body: Any, headers: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json", **(headers or {})},
        "body": json.dumps(body, ensure_ascii=False, separators=(",", ":")),
    }


def respond_text(status: int, text: str, content_type: str = "text/plain; charset=utf-8") -> dict[str, Any]:
    return {"statusCode": status, "headers": {"Content-Type": content_type}, "body": text}


def problem(error: ApiError) -> dict[str, Any]:
    return {
        "statusCode": error.status,
        "headers": {"Content-Type": "application/problem+json", **error.headers},
        "body": json.dumps(error.problem(), ensure_ascii=False, separators=(",", ":")),
    }


def request_id(event: dict[str, Any]) -> str | None:
    """The API Gateway request id: the correlation id of an API invocation."""
    return (event.get("requestContext") or {}).get("requestId") or None


def api_handler(
    function: Route,
    *,
    fingerprint_key: Callable[[], bytes] | None = None,
    operation: OperationName | None = None,
    keeps_answers: bool = True,
) -> LambdaHandler:
    """Wrap a route's logic: parse the event, bind the request id to the logs, map errors to answers.
    `fingerprint_key` keys the idempotency fingerprint of bodies that hold a secret (a PIN to check);
    `operation` names the operation the route starts, for the refusal metric; `keeps_answers=False` is for a
    route whose answer is a secret, which must not be kept for replays: it honours Idempotency-Key itself."""

    # Here, not at the top: a function that only uses `respond` (health) does not import Powertools.
    from textgate.invocation import around_invocation  # noqa: PLC0415

    def refuse(code: str) -> None:
        if operation is not None:
            metrics.refused(operation, code)

    @around_invocation(correlation_id=request_id)
    @functools.wraps(function)
    def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        request = parse_event(event)
        # The route's template (/v1/opt-outs/{phone}), never the raw path: paths can hold phone numbers.
        route = event.get("resource") or request.path
        token = log.bind(request_id=request.request_id, route=f"{request.method} {route}")
        try:
            # Only API clients have keys of their own (the Sumotext callback has no client).
            idempotent = keeps_answers and request.header("Idempotency-Key") is not None
            if request.method == "POST" and request.client and idempotent:
                return _idempotent(request, function, fingerprint_key, refuse)
            return function(request)
        except ApiError as error:
            refuse(error.code)
            if error.status >= 500:
                logger.error("request failed: %s", error.code)
            return problem(error)
        except Exception:
            logger.exception("unexpected error")
            refuse(InternalError.code)
            return problem(InternalError("the request could not be completed; it is safe to retry"))
        finally:
            log.unbind(token)

    return handler


def keyed_api_handler(fingerprint_key: Callable[[], bytes]) -> Callable[[Route], LambdaHandler]:
    """`api_handler` for routes whose body is a secret: its idempotency fingerprint is an HMAC, not a hash."""
    return functools.partial(api_handler, fingerprint_key=fingerprint_key)


def operation_handler(operation: OperationName) -> Callable[[Route], LambdaHandler]:
    """`api_handler` for a route that starts `operation` (ogangi.send_sms, …)."""
    return functools.partial(api_handler, operation=operation)


def _idempotent(
    request: ApiRequest,
    function: Route,
    fingerprint_key: Callable[[], bytes] | None,
    refuse: Callable[[str], None],
) -> dict[str, Any]:
    from textgate.logic import idempotency  # noqa: PLC0415 - only POSTs with a key need it

    def run() -> dict[str, Any]:
        try:
            return function(request)
        except ApiError as error:
            refuse(error.code)  # a replayed refusal is not counted again
            return problem(error)

    key = request.header(idempotency.HEADER) or ""
    fingerprint = idempotency.request_hash(
        request.method, request.path, request.body, key=fingerprint_key() if fingerprint_key else None
    )
    response, replayed = idempotency.run_once(request.client, key, fingerprint, run)
    if replayed:
        response = {**response, "headers": {**response.get("headers", {}), "Idempotent-Replayed": "true"}}
    return response


def accepted(operation: dict[str, Any]) -> dict[str, Any]:
    """202 for an async operation, with where to watch it."""
    return respond(202, operation, {"Location": f"/v1/operations/{operation['id']}"})


def setup_logging() -> None:
    """Called once at import of each API function module (see log.setup)."""
    log.setup()
