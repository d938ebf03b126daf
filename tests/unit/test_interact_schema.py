"""The Interact request model and campaign id: what is accepted, and the field each refusal names."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from conftest import given_setting_names

from textgate.errors import ValidationFailed
from textgate.logic import operations
from textgate.logic.interact import accept_campaign_sms, parse_request
from textgate.schemas.interact import CampaignPath, SendCampaignSmsRequest
from textgate.settings import SettingsError, get_settings
from textgate.validation import validate

VALID = {"caller_id": "+972544696388", "jp_token": "Aejhib7"}


def refused(data: dict[str, Any]) -> dict[str, str]:
    """field -> message, for a body the model must refuse."""
    with pytest.raises(ValidationFailed) as caught:
        validate(SendCampaignSmsRequest, data)
    return {error["field"]: error["message"] for error in caught.value.errors}


def test_minimal_request_is_accepted_with_the_optional_fields_absent() -> None:
    request = validate(SendCampaignSmsRequest, VALID)
    assert (request.caller_id, request.jp_token) == ("+972544696388", "Aejhib7")
    assert request.sender is None and request.additional_params is None


def test_numbers_are_normalised_to_e164() -> None:
    request = validate(
        SendCampaignSmsRequest, {"caller_id": "+972 54 4696388", "jp_token": "t", "from": "+1 (212) 555-1234"}
    )
    assert request.caller_id == "+972544696388" and request.sender == "+12125551234"


def test_national_numbers_use_the_country() -> None:
    request = validate(SendCampaignSmsRequest, {"country": "IL", "caller_id": "054-469-6388", "jp_token": "t"})
    assert request.caller_id == "+972544696388"


def test_from_may_be_null() -> None:
    assert validate(SendCampaignSmsRequest, {**VALID, "from": None}).sender is None


@pytest.mark.parametrize(
    "params", [{"var1": "value1", "var2": "a b&c"}, "var1=value1&var2=value2", "greeting=Olá 👋", "a=&b=2"]
)
def test_additional_params_object_or_query_string_is_kept_as_given(params: dict[str, str] | str) -> None:
    assert validate(SendCampaignSmsRequest, {**VALID, "additional_params": params}).additional_params == params


@pytest.mark.parametrize("params", [{}, ""])
def test_empty_additional_params_are_left_out(params: object) -> None:
    assert validate(SendCampaignSmsRequest, {**VALID, "additional_params": params}).additional_params is None


def test_every_missing_required_field_is_named() -> None:
    # jp_token too, but only over REST: the deployment's protocol decides (logic/interact.py, tested below).
    assert set(refused({})) == {"caller_id"}


@pytest.mark.parametrize(
    ("caller_id", "message"),
    [
        ("0544696388", "must be E.164 (+13056708084) or national digits with a country"),
        ("+1212123456789", "is too long for its country"),
        ("+1212123456", "is too short for its country"),
        ("+999544696388", "is not a phone number"),
        (972544696388, "must be a string"),
    ],
)
def test_bad_caller_id_is_named(caller_id: object, message: str) -> None:
    assert refused({**VALID, "caller_id": caller_id}) == {"caller_id": message}


def test_bad_from_is_named_by_its_wire_name() -> None:
    assert refused({**VALID, "from": "+1212123456"}) == {"from": "is too short for its country"}


def test_the_seeds_own_example_is_accepted() -> None:
    # Seed 002's REST body: `from` +12121234567 lies outside the ranges libphonenumber knows to be allocated
    # (is_valid_number says no), yet it is a number Interact documents; callerId is written with spaces.
    body = {"caller_id": "+972 54 4696388", "jp_token": "Aejhib7", "from": "+12121234567"}
    request = validate(SendCampaignSmsRequest, {**body, "additional_params": "var1=value1&var2=value"})
    assert (request.caller_id, request.sender) == ("+972544696388", "+12121234567")
    # Seed 002's SOAP sample: callerId +972548120901, an empty `from`, sendFromMasterAccount false.
    soap = {"caller_id": "+972548120901", "jp_token": "Aejhib7", "from": "", "send_from_master_account": False}
    request = validate(SendCampaignSmsRequest, {**soap, "additional_params": "Variable1=Value1"})
    assert (request.caller_id, request.sender, request.send_from_master_account) == ("+972548120901", None, False)


@pytest.mark.parametrize("short_code", ["123", "12345", "89363", "12345678"])
def test_from_may_be_a_short_code_sent_as_given(short_code: str) -> None:
    assert validate(SendCampaignSmsRequest, {**VALID, "from": short_code}).sender == short_code


@pytest.mark.parametrize("sender", ["", "   "])
def test_empty_from_is_the_campaigns_own_number(sender: str) -> None:
    assert validate(SendCampaignSmsRequest, {**VALID, "from": sender}).sender is None


@pytest.mark.parametrize("sender", ["12", "123456789", "12a45", "+123", 12345])
def test_what_is_neither_a_short_code_nor_a_number_is_refused(sender: object) -> None:
    assert set(refused({**VALID, "from": sender})) == {"from"}


def test_eight_digits_with_a_country_are_still_a_short_code() -> None:
    # The documented rule: 3 to 8 digits are a short code, whatever `country` says about caller_id.
    request = validate(SendCampaignSmsRequest, {**VALID, "country": "DK", "from": "32123456"})
    assert request.sender == "32123456"


@pytest.mark.parametrize("value", [1, "true", None])
def test_send_from_master_account_is_strictly_a_boolean(value: object) -> None:
    assert set(refused({**VALID, "send_from_master_account": value})) == {"send_from_master_account"}


@pytest.mark.parametrize("jp_token", ["", " ", "\t\n", "x" * 513, 7])
def test_bad_jp_token_is_named(jp_token: object) -> None:
    assert set(refused({**VALID, "jp_token": jp_token})) == {"jp_token"}


@pytest.mark.parametrize("jp_token", ["Aejhib7", "two words", " padded "])
def test_jp_token_is_the_providers_to_judge_once_it_is_not_blank(jp_token: str) -> None:
    # The seed says only "unique token returned from generateToken": no alphabet, so none is imposed.
    assert validate(SendCampaignSmsRequest, {**VALID, "jp_token": jp_token}).jp_token == jp_token


def test_a_long_but_sane_jp_token_is_accepted() -> None:
    assert validate(SendCampaignSmsRequest, {**VALID, "jp_token": "x" * 512}).jp_token == "x" * 512


@pytest.mark.parametrize(
    "params",
    [
        "abc",  # not name=value
        "a=1&&b=2",
        "?a=1",
        "=x",
        "x" * 4097,
        "a=\ud800",  # a lone surrogate cannot be sent as UTF-8
        {"a": 1},
        {"": "x"},
        {"a": "x" * 1025},
        {"a\ud800": "x"},
        {f"k{i}": "v" for i in range(51)},
        ["a=1"],
        12,
    ],
)
def test_bad_additional_params_get_one_plain_message(params: object) -> None:
    errors = refused({**VALID, "additional_params": params})
    assert list(errors) == ["additional_params"]
    assert "dict[" not in errors["additional_params"]  # not pydantic's per-union-member wording


def test_unknown_fields_are_refused() -> None:
    assert refused({**VALID, "campaign_id": "c1", "callerId": "+972544696388"}) == {
        "campaign_id": "Extra inputs are not permitted",
        "callerId": "Extra inputs are not permitted",
    }


def test_bad_country_is_named() -> None:
    assert "country" in refused({**VALID, "country": "ISR"})


@pytest.mark.parametrize("campaign_id", ["campaign1", "camp 1", "a/b", "ñandú", "x" * 256])
def test_campaign_ids_accepted(campaign_id: str) -> None:
    assert validate(CampaignPath, {"campaign_id": campaign_id}).campaign_id == campaign_id


@pytest.mark.parametrize("campaign_id", ["", ".", "..", "a\nb", "tab\there", "x" * 257, "\ud800"])
def test_campaign_ids_refused(campaign_id: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        validate(CampaignPath, {"campaign_id": campaign_id})
    assert [error["field"] for error in caught.value.errors] == ["campaign_id"]


def test_openapi_schema_uses_the_wire_names() -> None:
    schema = SendCampaignSmsRequest.model_json_schema(by_alias=True)
    assert set(schema["properties"]) == {
        "country",
        "caller_id",
        "jp_token",
        "from",
        "additional_params",
        "send_from_master_account",
        "send_at",
        "purpose",
    }
    assert set(schema["required"]) == {"caller_id"}


def test_the_document_of_each_protocol_says_whether_jp_token_is_required() -> None:
    from textgate.openapi import document_for

    def required(protocol: str) -> set[str]:
        return set(document_for(protocol)["components"]["schemas"]["SendCampaignSmsRequest"]["required"])

    assert required("rest") == {"caller_id", "jp_token"}
    assert required("soap") == {"caller_id"}
    rest_token = document_for("rest")["components"]["schemas"]["SendCampaignSmsRequest"]["properties"]["jp_token"]
    assert rest_token["type"] == "string" and "anyOf" not in rest_token  # null is refused over REST


# -- the route handler: path and body judged together -------------------------------------------------------


@pytest.fixture
def route(
    monkeypatch: pytest.MonkeyPatch, unit_settings: dict[str, str]
) -> tuple[ModuleType, list[tuple[str, str, Any]]]:
    path = Path(__file__).parents[2] / "functions/interact_send_campaign_sms/interact_send_campaign_sms.py"
    spec = importlib.util.spec_from_file_location("interact_send_campaign_sms", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    calls: list[tuple[str, str, Any]] = []

    class Accepted:
        def public(self) -> dict[str, str]:
            return {"id": "op_1", "operation": "interact.send_campaign_sms"}

    def accept(client: str, campaign_id: str, request: SendCampaignSmsRequest) -> Accepted:
        calls.append((client, campaign_id, request))
        return Accepted()

    monkeypatch.setattr(module, "accept_campaign_sms", accept)
    return module, calls


def event(campaign_id: str, body: str) -> dict[str, Any]:
    return {
        "httpMethod": "POST",
        "path": f"/v1/interact/campaigns/{campaign_id}/sms",
        "pathParameters": {"campaign_id": campaign_id},
        "body": body,
        "requestContext": {"identity": {"apiKeyId": "key-1"}, "requestId": "r1"},
    }


def test_route_passes_the_campaign_from_the_path(route: tuple[ModuleType, list[tuple[str, str, Any]]]) -> None:
    module, calls = route
    answer = module.handler(event("camp 1", json.dumps(VALID)), None)
    assert answer["statusCode"] == 202
    assert answer["headers"]["Location"] == "/v1/operations/op_1"
    [(client, campaign_id, request)] = calls
    assert (client, campaign_id, request.caller_id) == ("key-1", "camp 1", "+972544696388")


def test_route_names_bad_path_and_body_fields_in_one_answer(
    route: tuple[ModuleType, list[tuple[str, str, Any]]],
) -> None:
    module, calls = route
    answer = module.handler(event("..", json.dumps({"caller_id": "nope"})), None)
    assert answer["statusCode"] == 422
    problem = json.loads(answer["body"])
    assert problem["code"] == "validation_error"
    assert {error["field"] for error in problem["errors"]} == {"campaign_id", "caller_id", "jp_token"}
    assert calls == []


def test_route_answers_invalid_json_before_judging_fields(
    route: tuple[ModuleType, list[tuple[str, str, Any]]],
) -> None:
    module, calls = route
    answer = module.handler(event("..", "{not json"), None)
    assert answer["statusCode"] == 400 and json.loads(answer["body"])["code"] == "invalid_json"
    assert calls == []


# -- accepting: what is stored (operations.accept judges the suppression list) ----------------------------


@pytest.fixture
def accepted(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    calls: list[dict[str, Any]] = []

    def accept(**kwargs: Any) -> dict[str, Any]:
        stored = {**kwargs, "payload": kwargs["payload"].stored()}
        calls.append(stored)
        return stored

    monkeypatch.setattr(operations, "accept", accept)
    return calls


@pytest.mark.usefixtures("unit_settings")
def test_the_payload_keeps_the_campaign_and_every_field(accepted: list[dict[str, Any]]) -> None:
    body = {"caller_id": "+12125551234", "jp_token": "t", "from": "+12025550123", "additional_params": "a=1"}
    accept_campaign_sms("key-1", "camp 1", validate(SendCampaignSmsRequest, body))
    assert accepted == [
        {
            "client": "key-1",
            "operation": "interact.send_campaign_sms",
            "payload": {
                "campaign_id": "camp 1",
                "caller_id": "+12125551234",
                "jp_token": "t",
                "from": "+12025550123",
                "additional_params": "a=1",
                "send_from_master_account": False,
            },
            "send_at": None,
            "purpose": "transactional",
        }
    ]


@pytest.fixture
def protocol(monkeypatch: pytest.MonkeyPatch) -> Any:
    def use(name: str | None) -> None:
        for setting in given_setting_names():
            monkeypatch.setenv(setting, "dummy")
        if name is None:
            monkeypatch.delenv("INTERACT_PROTOCOL", raising=False)
        else:
            monkeypatch.setenv("INTERACT_PROTOCOL", name)
        get_settings.cache_clear()

    return use


@pytest.mark.parametrize("name", [None, "rest"])
def test_master_account_over_rest_is_refused_at_accept_and_nothing_queued(
    accepted: list[dict[str, Any]], protocol: Any, name: str | None
) -> None:
    protocol(name)  # REST is the default
    request = validate(SendCampaignSmsRequest, {**VALID, "caller_id": "+12125551234", "send_from_master_account": True})
    with pytest.raises(ValidationFailed) as caught:
        accept_campaign_sms("key-1", "campaign1", request)
    assert caught.value.status == 422
    assert [error["field"] for error in caught.value.errors] == ["send_from_master_account"]
    assert "INTERACT_PROTOCOL=soap" in caught.value.errors[0]["message"]
    assert accepted == []


def test_master_account_over_soap_is_accepted_and_stored(accepted: list[dict[str, Any]], protocol: Any) -> None:
    protocol("soap")
    request = validate(SendCampaignSmsRequest, {**VALID, "caller_id": "+12125551234", "send_from_master_account": True})
    accept_campaign_sms("key-1", "campaign1", request)
    assert [call["payload"]["send_from_master_account"] for call in accepted] == [True]


def test_master_account_false_is_accepted_over_rest(accepted: list[dict[str, Any]], protocol: Any) -> None:
    protocol("rest")
    body = {**VALID, "caller_id": "+12125551234", "send_from_master_account": False}
    accept_campaign_sms("key-1", "campaign1", validate(SendCampaignSmsRequest, body))
    assert len(accepted) == 1


@pytest.mark.parametrize("name", [None, "rest"])
def test_jp_token_is_required_over_rest_and_named_with_the_other_fields(
    accepted: list[dict[str, Any]], protocol: Any, name: str | None
) -> None:
    protocol(name)
    with pytest.raises(ValidationFailed) as caught:
        accept_campaign_sms("key-1", "campaign1", validate(SendCampaignSmsRequest, {"caller_id": "+12125551234"}))
    assert caught.value.errors == [{"field": "jp_token", "message": "Field required (optional only over SOAP)"}]
    with pytest.raises(ValidationFailed) as together:
        parse_request("..", {"caller_id": "nope"})
    assert {error["field"] for error in together.value.errors} == {"campaign_id", "caller_id", "jp_token"}
    with pytest.raises(ValidationFailed) as alone:
        parse_request("campaign1", {"caller_id": "+12125551234"})
    assert [error["field"] for error in alone.value.errors] == ["jp_token"]
    assert accepted == []


def test_jp_token_is_optional_over_soap(accepted: list[dict[str, Any]], protocol: Any) -> None:
    # The seed's SOAP sample marks jpToken `Optional`.
    protocol("soap")
    campaign, request = parse_request("campaign1", {"caller_id": "+12125551234"})
    accept_campaign_sms("key-1", campaign, request)
    assert [call["payload"]["jp_token"] for call in accepted] == [None]


def test_an_unknown_protocol_is_a_settings_error(protocol: Any) -> None:
    protocol("graphql")
    with pytest.raises(SettingsError):
        get_settings()
