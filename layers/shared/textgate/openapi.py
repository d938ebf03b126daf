"""The OpenAPI 3 document, built from one route table and the same pydantic models that validate requests: bodies,
query strings and path parameters alike, so their types, bounds, enums and patterns cannot drift. The route that
starts an operation takes its request model and tag from the operation's row in `textgate.registry`."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from pydantic import BaseModel

from textgate import registry
from textgate.errors import Problem
from textgate.models import OperationView
from textgate.registry import OperationName
from textgate.schemas import batches, common, interact, ogangi, sumotext, webhooks


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    summary: str
    operation_id: str
    tag: str
    request: type[BaseModel] | None = None
    response: type[BaseModel] | None = OperationView
    status: int = 202
    api_key: bool = True
    errors: tuple[int, ...] = (400, 403, 422)
    query: type[BaseModel] | None = None
    path_model: type[BaseModel] | None = None
    # Operations that take this answer's `id` as their {id} (every 202 links to operations.get).
    links: tuple[str, ...] = ()
    example: dict[str, Any] | None = None
    text_response: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


def _operation_route(name: OperationName, path: str, summary: str, **options: Any) -> Route:
    """The POST that starts an asynchronous operation: its request model and tag are its registry row's."""
    row = registry.spec(name)
    return Route("post", path, summary, name, row.provider, registry.load(row.request), **options)


ROUTES: list[Route] = [
    _operation_route(
        OperationName.OGANGI_SEND_SMS,
        "/v1/ogangi/sms",
        "Send an SMS through Ogangi (sendSMS with a carrier name, else sendMT with an optional carrier_id and flags)",
        example={"to": "+13056708084", "text": "Hello", "carrier": "Movistar"},
    ),
    _operation_route(
        OperationName.OGANGI_SEND_PIN,
        "/v1/ogangi/pins",
        "Send a PIN SMS through Ogangi; the operation id is the verification id",
        errors=(400, 403, 422, 429),
        links=("ogangi.check_pin",),
        example={"to": "+13056708084", "carrier": "Movistar", "text": "Your code", "length": 6},
    ),
    Route(
        "post",
        "/v1/ogangi/pins/{id}/check",
        "Check a PIN (5 wrong checks, 10 minutes, verifies once)",
        "ogangi.check_pin",
        "ogangi",
        ogangi.CheckPinRequest,
        response=ogangi.PinCheckResult,
        path_model=common.OperationPath,
        status=200,
        errors=(400, 403, 404, 409, 410, 422, 429),
        example={"code": "846547"},
    ),
    _operation_route(
        OperationName.OGANGI_FIRE_MESSAGE,
        "/v1/ogangi/mo",
        "Inject an inbound message (fireMessage)",
        example={"mobile": "+13056708084", "text": "JOIN"},
    ),
    Route(
        "get",
        "/v1/ogangi/mo",
        "List inbound messages (getMOMessages), synchronously",
        "ogangi.list_mo",
        "ogangi",
        query=ogangi.ListMoQuery,
        response=ogangi.InboundPage,
        status=200,
        errors=(403, 422, 502, 504),
    ),
    _operation_route(
        OperationName.CONTACTATONCE_INITIATE_CONVERSATION,
        "/v1/contactatonce/conversations",
        "Start a ContactAtOnce Mobile Text Connect conversation (no SMS is sent)",
        example={
            "merchant_id": 123,
            "consumer_phone": "+13056708084",
            "consumer_question": "Is it still available?",
            "region": "na",
        },
    ),
    _operation_route(
        OperationName.INTERACT_SEND_CAMPAIGN_SMS,
        "/v1/interact/campaigns/{campaign_id}/sms",
        "Send a campaign's SMS to a caller through Interact (Send SMS API v3)",
        path_model=interact.CampaignPath,
        example={
            "caller_id": "+972544696388",
            "jp_token": "Aejhib7",
            "from": "+12125551234",
            "additional_params": {"var1": "value1"},
        },
    ),
    _operation_route(
        OperationName.PROTEXTING_OPT_IN,
        "/v1/protexting/opt-ins",
        "Opt a contact in to ProTexting groups (Opt In Contact)",
        example={
            "phone_number": "+13056708084",
            "group_ids": [1],
            "cta_message": "Reply YES to get our offers",
            "send_cta_message": True,
        },
    ),
    Route(
        "get",
        "/v1/sumotext/callbacks/{kind}",
        "Sumotext calls this with a hit (crm, poll, text4info, mo, dlr); the token is the shared secret. A hit "
        "with the right token is never refused for what it holds: what cannot be read is kept and flagged",
        "sumotext.callback",
        "sumotext",
        query=sumotext.CallbackQuery,
        path_model=sumotext.CallbackPath,
        response=None,
        status=200,
        api_key=False,
        errors=(403, 404, 413),
        text_response=True,
    ),
    Route(
        "post",
        "/v1/sumotext/callbacks/{kind}",
        "Sumotext calls this with a hit in the body; the query string may carry parameters too. A form, a JSON "
        "object or urlencoded text (any content type) is read as parameters; any other body is kept as raw text",
        "sumotext.callback_form",
        "sumotext",
        query=sumotext.CallbackQuery,
        path_model=sumotext.CallbackPath,
        response=None,
        status=200,
        api_key=False,
        errors=(403, 404, 413),
        text_response=True,
        extra={
            "requestBody": {
                "required": False,
                "content": {
                    "application/x-www-form-urlencoded": {
                        "schema": {"type": "object", "additionalProperties": {"type": "string"}}
                    },
                    "application/json": {"schema": {"type": "object"}},
                    "text/plain": {"schema": {"type": "string"}},
                },
            }
        },
    ),
    Route(
        "get",
        "/v1/sumotext/events",
        "Stored Sumotext hits by mobile, kind or poll keyword, newest first",
        "sumotext.events",
        "sumotext",
        query=sumotext.EventsQuery,
        response=sumotext.CallbackEventsPage,
        status=200,
        errors=(403, 422),
    ),
    Route(
        "get",
        "/v1/opt-outs/{phone}",
        "Whether a number is on the suppression list",
        "opt_outs.get",
        "opt-outs",
        query=sumotext.OptOutQuery,
        path_model=sumotext.OptOutPath,
        response=sumotext.OptOutView,
        status=200,
        errors=(403, 422),
    ),
    Route(
        "put",
        "/v1/opt-outs/{phone}",
        "Opt a number out (source api)",
        "opt_outs.put",
        "opt-outs",
        query=sumotext.OptOutQuery,
        path_model=sumotext.OptOutPath,
        response=sumotext.OptOutView,
        status=200,
        errors=(403, 422),
    ),
    Route(
        "delete",
        "/v1/opt-outs/{phone}",
        "Opt a number back in",
        "opt_outs.delete",
        "opt-outs",
        query=sumotext.OptOutQuery,
        path_model=sumotext.OptOutPath,
        response=sumotext.OptOutView,
        status=200,
        errors=(403, 409, 422),
    ),
    Route(
        "post",
        "/v1/batches",
        "Many sends of one operation in one request: each item validated as its route, each its own operation",
        "batches.create",
        "batches",
        batches.BatchRequest,
        response=batches.BatchView,
        errors=(400, 403, 422),
        links=("batches.get", "batches.operations"),
        example={
            "operation": "ogangi.send_sms",
            "items": [{"to": "+13056708084", "text": "Hello"}, {"to": "+12121234567", "text": "Hello"}],
        },
    ),
    Route(
        "get",
        "/v1/batches/{id}",
        "A batch and its operations counted by status",
        "batches.get",
        "batches",
        path_model=batches.BatchPath,
        response=batches.BatchSummary,
        status=200,
        errors=(403, 404),
    ),
    Route(
        "get",
        "/v1/batches/{id}/operations",
        "A batch's operations, newest first, optionally of one status",
        "batches.operations",
        "batches",
        path_model=batches.BatchPath,
        query=batches.BatchOperationsQuery,
        response=batches.BatchOperationsPage,
        status=200,
        errors=(403, 404, 422),
    ),
    Route(
        "get",
        "/v1/operations/{id}",
        "One operation and what became of it",
        "operations.get",
        "operations",
        path_model=common.OperationPath,
        status=200,
        errors=(403, 404),
    ),
    Route(
        "get",
        "/v1/webhook-secret",
        "This client's status-callback signing secret (made on first use)",
        "webhook_secret.get",
        "status-callbacks",
        response=webhooks.WebhookSecret,
        status=200,
        errors=(403,),
    ),
    Route(
        "post",
        "/v1/webhook-secret/rotate",
        "Make a new signing secret; the previous one keeps signing beside it for 24 hours",
        "webhook_secret.rotate",
        "status-callbacks",
        response=webhooks.WebhookSecret,
        status=200,
        errors=(403, 422),
    ),
    Route(
        "post",
        "/v1/operations/{id}/cancel",
        "Cancel an operation that is scheduled, queued or retrying (409 not_cancelable once a provider has it)",
        "operations.cancel",
        "operations",
        path_model=common.OperationPath,
        status=200,
        errors=(403, 404, 409, 422),
    ),
    Route(
        "get", "/v1/health", "Liveness", "health", "meta", response=common.Health, status=200, api_key=False, errors=()
    ),
    Route("get", "/v1/openapi.json", "This document", "openapi", "meta", response=None, status=200, errors=(403,)),
]


_ERROR_TEXT = {
    400: "Body is not JSON, or not UTF-8",
    403: "Missing or unknown API key (API Gateway's own answer)",
    404: "Not found",
    409: "Conflict (idempotency key in use, verification pending, opted out by the recipient)",
    410: "Gone",
    413: "Payload too large",
    414: "URL too long (API Gateway's own answer)",
    415: "Content-Type is not JSON (a body without one is read as JSON)",
    422: "Validation failed (at most 50 fields named), or a business rule refused the request",
    429: "Too many requests (PINs), or the recipient's daily limit reached (with Retry-After)",
    502: "Provider unavailable",
    503: "Service unavailable",
    504: "Provider timeout",
}
# The Sumotext callback has no API key: its refusals are its own, and say so.
_CALLBACK_ERROR_TEXT = {
    403: "Wrong or missing token: nothing stored",
    404: "Unknown kind",
    413: "The request is larger than API Gateway's payload limit (10 MB)",
}


def _schema_ref(model: type[BaseModel], schemas: dict[str, Any]) -> dict[str, str]:
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}", by_alias=True)
    for name, definition in schema.pop("$defs", {}).items():
        schemas[name] = definition
    schemas[model.__name__] = schema
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def _without_null(schema: dict[str, Any]) -> dict[str, Any]:
    """A parameter is absent or a string: `X | None` of a model is just X here."""
    choices = [choice for choice in schema.get("anyOf", []) if choice != {"type": "null"}]
    if len(choices) == 1:
        merged = {key: value for key, value in schema.items() if key != "anyOf"}
        schema = {**choices[0], **merged}
    if schema.get("default", ...) is None:
        del schema["default"]
    return schema


def _model_parameters(model: type[BaseModel], location: str) -> list[dict[str, Any]]:
    """One parameter per field of the model that validates them, with the field's own schema."""
    document = model.model_json_schema(by_alias=True)
    definitions = document.get("$defs", {})
    parameters = []
    for name, field_schema in document["properties"].items():
        schema = _without_null(dict(field_schema))
        reference = schema.pop("$ref", None)
        if reference is not None:  # an enum, defined once for the model
            schema = {**definitions[reference.rsplit("/", 1)[-1]], **schema}
        schema.pop("title", None)
        description = schema.pop("description", "")
        required = location == "path" or name in document.get("required", [])
        parameters.append(
            {"name": name, "in": location, "required": required, "schema": schema, "description": description}
        )
    return parameters


def _parameters(route: Route) -> list[dict[str, Any]]:
    names = [part[1:-1] for part in route.path.split("/") if part.startswith("{")]
    parameters = _model_parameters(route.path_model, "path") if route.path_model is not None else []
    if sorted(parameter["name"] for parameter in parameters) != sorted(names):
        raise ValueError(f"{route.path}: the path model must describe exactly {names}")
    if route.query is not None:
        parameters += _model_parameters(route.query, "query")
    if route.method == "post" and route.api_key:
        parameters.append(
            {
                "name": "Idempotency-Key",
                "in": "header",
                "required": False,
                "schema": {"type": "string", "minLength": 1, "maxLength": 255},
                "description": "Replays the first answer for 24 hours instead of acting twice",
            }
        )
    return parameters


def allowed_methods(path: str) -> list[str]:
    """The methods a path of the API takes, for the Allow header of a 405."""
    return sorted({route.method.upper() for route in ROUTES if route.path == path})


def _error_answer(route: Route, status: int, problem_ref: dict[str, str], message_ref: dict[str, str]) -> Any:
    if (status == 403 and route.api_key) or status == 414:
        # API Gateway answers a missing or unknown key, and a URL over its limit, itself: no function runs.
        return {"description": _ERROR_TEXT[status], "content": {"application/json": {"schema": message_ref}}}
    text = _CALLBACK_ERROR_TEXT if route.operation_id.startswith("sumotext.callback") else _ERROR_TEXT
    return {"description": text[status], "content": {"application/problem+json": {"schema": problem_ref}}}


def _interact_protocol() -> str:
    from textgate.settings import get_settings  # noqa: PLC0415 - the document is built once, settings may be absent

    try:
        return get_settings().interact_protocol
    except Exception:  # noqa: BLE001 - without settings (a unit test, a tool), the default
        return "rest"


PROTOCOLS = ("rest", "soap")


def shipped_name(protocol: str) -> str:
    """The file the layer's build writes the document of one Interact protocol to, beside this module."""
    return f"openapi-{protocol}.json"


def document() -> dict[str, Any]:
    """The document of this deployment (its Interact protocol decides what `send_from_master_account` takes)."""
    return document_for(_interact_protocol())


@lru_cache(maxsize=2)
def document_for(protocol: str) -> dict[str, Any]:
    schemas: dict[str, Any] = {}
    problem_ref = _schema_ref(Problem, schemas)
    message_ref = _schema_ref(common.GatewayMessage, schemas)
    paths: dict[str, Any] = {}
    for route in ROUTES:
        operation: dict[str, Any] = {
            "summary": route.summary,
            "operationId": route.operation_id,
            "tags": [route.tag],
            "parameters": _parameters(route),
            "responses": {},
        }
        if not route.api_key:
            operation["security"] = []
        if route.request is not None:
            body_schema: dict[str, Any] = {"schema": _schema_ref(route.request, schemas)}
            if route.example is not None:
                body_schema["example"] = route.example
            operation["requestBody"] = {"required": True, "content": {"application/json": body_schema}}
        success: dict[str, Any] = {"description": "OK" if route.status == 200 else "Accepted"}
        if route.text_response:
            success["content"] = {"text/plain": {"schema": {"type": "string", "enum": ["OK"]}}}
        elif route.response is not None:
            success["content"] = {"application/json": {"schema": _schema_ref(route.response, schemas)}}
        else:
            success["content"] = {"application/json": {"schema": {"type": "object"}}}
        starts_operation = route.status == 202 and route.response is OperationView
        if route.status == 202:
            where = "the operation" if starts_operation else "the batch"
            success["headers"] = {"Location": {"schema": {"type": "string"}, "description": where}}
        links = ("operations.get",) * starts_operation + route.links
        if links:
            success["links"] = {
                target: {"operationId": target, "parameters": {"id": "$response.body#/id"}} for target in links
            }
        operation["responses"][str(route.status)] = success
        errors = set(route.errors)
        if route.api_key:
            errors.add(403)
        if route.request is not None:
            errors |= {400, 415, 422}
        if route.query is not None:
            errors.add(414)  # the query string can be longer than the URL API Gateway takes
        # (a batch refuses such items one by one, in its 202)
        started = registry.parse(route.operation_id)
        if started is not None and registry.spec(started).texts_handset:
            errors.add(429)  # a text to a recipient over RECIPIENT_DAILY_LIMIT
        if route.method == "post" and route.api_key:
            # Every keyed POST takes an Idempotency-Key (409 while its first request runs) and may be refused
            # with a 503 when the operation could not be queued.
            errors |= {409, 503}
            success.setdefault("headers", {})["Idempotent-Replayed"] = {
                "schema": {"type": "string", "enum": ["true"]},
                "description": "present when this is the replayed answer of an earlier request with the same key",
            }
        for status in sorted(errors):
            operation["responses"][str(status)] = _error_answer(route, status, problem_ref, message_ref)
        operation.update(route.extra)
        paths.setdefault(route.path, {})[route.method] = operation
    if protocol != "soap":
        # This deployment talks REST to Interact: sending from the master account is SOAP's alone (true is a 422).
        campaign_sms = schemas["SendCampaignSmsRequest"]
        campaign_sms["properties"]["send_from_master_account"]["const"] = False
        # … and REST's body requires jpToken (a string, never null), which the SOAP operation marks optional.
        campaign_sms["required"] = sorted({*campaign_sms.get("required", []), "jp_token"})
        token = campaign_sms["properties"]["jp_token"]
        [text] = [option for option in token.pop("anyOf") if option.get("type") == "string"]
        token.pop("default", None)
        token.update(text)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "textgate",
            "version": "1.0.0",
            "description": (
                "One API over ContactAtOnce, Ogangi, Uniphore Interact, ProTexting and Sumotext. "
                "Any other method on a path is a 405 that lists the path's methods in Allow."
            ),
        },
        "paths": paths,
        "webhooks": _webhooks(schemas),
        "components": {
            "schemas": schemas,
            "securitySchemes": {"apiKey": {"type": "apiKey", "in": "header", "name": "x-api-key"}},
        },
        "security": [{"apiKey": []}],
    }


# The Standard Webhooks headers of every status callback.
_WEBHOOK_HEADERS = (
    ("webhook-id", "the event's id: the same on every retry of it; deduplicate on it"),
    ("webhook-timestamp", "Unix seconds of this attempt; refuse one more than 5 minutes away from your clock"),
    (
        "webhook-signature",
        "v1, + Base64 of HMAC-SHA256 over {webhook-id}.{webhook-timestamp}.{body} with the secret of "
        "GET /v1/webhook-secret; two, space-separated, while a rotated secret is still valid",
    ),
)


def _webhooks(schemas: dict[str, Any]) -> dict[str, Any]:
    """The status callback (OpenAPI 3.1 webhooks): what textgate sends to a request's `status_callback`."""
    return {
        "statusCallback": {
            "post": {
                "summary": "An operation reached a final status (succeeded, failed, unknown, canceled)",
                "description": (
                    "Signed as the Standard Webhooks specification says: verify with any Standard Webhooks "
                    "library. A 2xx within 10 seconds is delivered; 410 stops at once; anything else (a redirect, "
                    "which is never followed, included) is retried at 5 s, 5 min, 30 min, 2 h, 5 h, 10 h and 10 h."
                ),
                "operationId": "status_callback",
                "tags": ["status-callbacks"],
                "parameters": [
                    {"name": name, "in": "header", "required": True, "schema": {"type": "string"}, "description": text}
                    for name, text in _WEBHOOK_HEADERS
                ],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": _schema_ref(webhooks.StatusCallbackEvent, schemas)}},
                },
                "responses": {
                    "2XX": {"description": "Delivered"},
                    "410": {"description": "Gone: textgate stops calling back for this operation"},
                },
                "security": [],
            }
        }
    }


def write_shipped(folder: str) -> None:
    """Write the document of each protocol into `folder` (the layer's textgate/): the function that serves it
    then reads a file instead of building every model's schema at its cold start."""
    import json  # noqa: PLC0415 - only the layer's build writes files
    from pathlib import Path  # noqa: PLC0415

    for protocol in PROTOCOLS:
        text = json.dumps(document_for(protocol), ensure_ascii=False, separators=(",", ":"), sort_keys=True)
        (Path(folder) / shipped_name(protocol)).write_text(text, encoding="utf-8")


if __name__ == "__main__":
    import sys

    write_shipped(sys.argv[1])
