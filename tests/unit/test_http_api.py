import base64
import json
from typing import Any

import pytest

from textgate.errors import ValidationFailed
from textgate.http_api import ApiRequest, api_handler, json_body, parse_event, respond
from textgate.schemas.ogangi import SendSmsRequest
from textgate.validation import validate


def event(body: str | None, method: str = "POST", content_type: str | None = "application/json") -> dict[str, Any]:
    return {
        "httpMethod": method,
        "path": "/v1/ogangi/sms",
        "body": body,
        "headers": {"Content-Type": content_type} if content_type is not None else {},
        "requestContext": {"requestId": "r1", "identity": {"apiKeyId": "local", "sourceIp": "127.0.0.1"}},
    }


def problem_of(answer: dict[str, Any]) -> dict[str, Any]:
    assert answer["headers"]["Content-Type"] == "application/problem+json"
    problem: dict[str, Any] = json.loads(answer["body"])
    assert problem["status"] == answer["statusCode"]
    return problem


@api_handler
def echo(request: ApiRequest) -> dict[str, Any]:
    model = json_body(request, SendSmsRequest)
    return respond(200, model.model_dump(by_alias=True))


def test_client_and_headers_come_from_the_event() -> None:
    request = parse_event(event("{}", content_type="x"))
    assert request.client == "local" and request.header("content-type") == "x"


def test_body_that_is_not_json_is_400() -> None:
    answer = echo(event("{nope"), None)
    assert answer["statusCode"] == 400
    assert answer["headers"]["Content-Type"] == "application/problem+json"
    assert json.loads(answer["body"])["code"] == "invalid_json"


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_python_s_json_extensions_are_not_json(constant: str) -> None:
    answer = echo(event('{"to": "+13056708084", "text": "hi", "n": ' + constant + "}"), None)
    assert answer["statusCode"] == 400 and problem_of(answer)["code"] == "invalid_json"


def test_every_bad_field_is_named() -> None:
    answer = echo(event(json.dumps({"to": "12", "text": "", "colour": "red"})), None)
    problem = json.loads(answer["body"])
    assert answer["statusCode"] == 422 and problem["code"] == "validation_error"
    assert {error["field"] for error in problem["errors"]} == {"to", "text", "colour"}


def test_national_number_with_country_is_normalised() -> None:
    answer = echo(event(json.dumps({"to": "2125551212", "country": "US", "text": "hi"})), None)
    assert json.loads(answer["body"])["to"] == "+12125551212"


def test_unexpected_errors_are_a_plain_500_without_internals() -> None:
    @api_handler
    def broken(request: ApiRequest) -> dict[str, Any]:
        raise RuntimeError("secret internals")

    answer = broken(event("{}"), None)
    assert answer["statusCode"] == 500 and "secret internals" not in answer["body"]


def test_validation_of_a_non_object_body() -> None:
    with pytest.raises(ValidationFailed):
        json_body(parse_event(event("[1, 2]")), SendSmsRequest)


def test_logs_name_the_route_template_not_a_path_holding_a_number(capsys: pytest.CaptureFixture[str]) -> None:
    from textgate import log

    log.configure("INFO")

    @api_handler
    def failing(request: ApiRequest) -> dict[str, Any]:
        raise RuntimeError("boom")

    opt_out = event(None, method="PUT") | {"path": "/v1/opt-outs/%2B13056708084", "resource": "/v1/opt-outs/{phone}"}
    failing(opt_out, None)
    line = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert line["route"] == "PUT /v1/opt-outs/{phone}"


def test_fingerprints_of_secret_bodies_are_keyed() -> None:
    from textgate.logic.idempotency import request_hash

    plain = request_hash("POST", "/v1/ogangi/pins/op_1/check", '{"code": "846547"}')
    keyed = request_hash("POST", "/v1/ogangi/pins/op_1/check", '{"code": "846547"}', key=b"server-key")
    other_key = request_hash("POST", "/v1/ogangi/pins/op_1/check", '{"code": "846547"}', key=b"other")
    assert len({plain, keyed, other_key}) == 3
    assert request_hash("POST", "/p", '{"a": 1, "b": 2}') == request_hash("POST", "/p", '{"b":2,"a":1}')


def test_ogangi_senders_go_on_the_wire_as_digits(unit_settings: dict[str, str]) -> None:
    from textgate.logic.ogangi import sender

    assert sender("+19893653744") == "19893653744"
    assert sender("84700") == "84700"
    with pytest.raises(ValidationFailed):
        sender(None)  # no default sender configured in these settings


def test_inbound_dates_become_rfc3339_utc() -> None:
    from textgate.logic.inbound import sent_at

    assert sent_at("2014-10-13 10:30:51.922") == "2014-10-13T10:30:51Z"
    assert sent_at("2013-09-17T10:13:59.176-04:30") == "2013-09-17T14:43:59Z"
    assert sent_at("yesterday") is None and sent_at(None) is None


def test_a_body_that_is_not_utf8_is_invalid_json() -> None:
    latin1 = json.dumps({"to": "+13056708084", "text": "café"}, ensure_ascii=False).encode("latin-1")
    answer = echo(event(base64.b64encode(latin1).decode()) | {"isBase64Encoded": True}, None)
    assert answer["statusCode"] == 400 and problem_of(answer)["code"] == "invalid_json"
    utf8 = json.dumps({"to": "+13056708084", "text": "café"}, ensure_ascii=False).encode()
    answer = echo(event(base64.b64encode(utf8).decode()) | {"isBase64Encoded": True}, None)
    assert answer["statusCode"] == 200 and json.loads(answer["body"])["text"] == "café"


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "application/json; charset=latin-1", "json"]
)
def test_a_body_that_is_not_json_by_its_content_type_is_415(content_type: str) -> None:
    answer = echo(event(json.dumps({"to": "+13056708084", "text": "hi"}), content_type=content_type), None)
    assert answer["statusCode"] == 415 and problem_of(answer)["code"] == "unsupported_media_type"


@pytest.mark.parametrize(
    "content_type",
    [None, "", "application/json", "Application/JSON; charset=UTF-8", "application/merge-patch+json"],
)
def test_json_content_types_and_none_at_all_are_read_as_json(content_type: str | None) -> None:
    # No Content-Type: API Gateway reads such a body as application/json too, so clients that omit it still work.
    answer = echo(event(json.dumps({"to": "+13056708084", "text": "hi"}), content_type=content_type), None)
    assert answer["statusCode"] == 200


def test_a_validation_answer_lists_at_most_50_errors_and_stays_small() -> None:
    body = {f"unknown_{index}": index for index in range(600_000)} | {"to": "12", "text": ""}
    answer = echo(event(json.dumps(body)), None)
    problem = problem_of(answer)
    assert answer["statusCode"] == 422 and len(problem["errors"]) == 50
    assert {"to", "text"} <= {error["field"] for error in problem["errors"]}  # the real mistakes come first
    assert "more errors" in problem["detail"]
    assert len(answer["body"].encode()) < 64 * 1024


def test_an_error_answer_stays_under_64_kib_whatever_the_names() -> None:
    # Long keys made of control characters: clipped, and each escapes to six bytes of JSON.
    body = {chr(index % 31 + 1) * 10_000 + str(index): 1 for index in range(200)} | {"to": "+13056708084", "text": "x"}
    answer = echo(event(json.dumps(body)), None)
    assert answer["statusCode"] == 422 and len(answer["body"].encode()) < 64 * 1024
    assert 1 <= len(problem_of(answer)["errors"]) <= 50


@pytest.mark.parametrize("since", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"])
def test_a_since_outside_the_years_that_exist_is_a_422(since: str) -> None:
    from textgate.schemas.sumotext import EventsQuery

    with pytest.raises(ValidationFailed) as refused:
        validate(EventsQuery, {"kind": "mo", "since": since})
    assert [error["field"] for error in refused.value.errors] == ["since"]
    assert validate(EventsQuery, {"kind": "mo", "since": "0001-01-01T00:00:00Z"}).since == "0001-01-01T00:00:00Z"
