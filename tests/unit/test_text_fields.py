"""Control characters other than TAB, LF and CR are refused on every text field of every route (a 422 naming the
field): they cannot travel in the providers' XML, and a send that holds one used to end `unknown`."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel

from textgate.errors import ValidationFailed
from textgate.schemas import contactatonce, interact, ogangi, protexting, sumotext
from textgate.sendable import NOT_SENDABLE
from textgate.validation import validate

PHONE = "+13056708084"
# (model, a valid body, its text fields)
CASES: list[tuple[type[BaseModel], dict[str, Any], list[str]]] = [
    (ogangi.SendSmsRequest, {"to": PHONE, "text": "hi"}, ["to", "text", "carrier", "flags"]),
    (ogangi.SendPinRequest, {"to": PHONE, "carrier": "Movistar", "text": "code"}, ["to", "carrier", "text"]),
    (ogangi.CheckPinRequest, {"code": "846547"}, ["code"]),
    (ogangi.FireMessageRequest, {"mobile": PHONE, "text": "JOIN"}, ["mobile", "text"]),
    (ogangi.ListMoQuery, {}, ["filter"]),
    (
        contactatonce.InitiateConversationRequest,
        {"merchant_id": 1, "consumer_phone": PHONE},
        ["consumer_phone", "listing_details", "consumer_first_name", "consumer_last_name", "consumer_question"],
    ),
    (contactatonce.InitiateConversationRequest, {"consumer_phone": PHONE}, ["advertiser_id"]),
    (interact.SendCampaignSmsRequest, {"caller_id": PHONE, "jp_token": "Aejhib7"}, ["caller_id", "jp_token", "from"]),
    (interact.CampaignPath, {"campaign_id": "campaign1"}, ["campaign_id"]),
    (
        protexting.OptInRequest,
        {"phone_number": PHONE, "group_ids": [1]},
        ["phone_number", "cta_message", "confirm_message"],
    ),
    (sumotext.EventsQuery, {"kind": "mo"}, ["mobile", "keyword", "since", "cursor"]),
]
FIELDS = [(model, body, field) for model, body, fields in CASES for field in fields]
SAMPLE = {"to": PHONE, "mobile": PHONE, "consumer_phone": PHONE, "caller_id": PHONE, "from": PHONE}
SAMPLE |= {"phone_number": PHONE, "since": "2026-11-22T10:00:00Z", "code": "846547", "jp_token": "Aejhib7"}
SAMPLE |= {"campaign_id": "campaign1"}

OWN_RULES = {"carrier", "carrier_id", "flags", "filter", "campaign_id"}  # URL path segments: no control character


def refusal(model: type[BaseModel], body: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(ValidationFailed) as refused:
        validate(model, body)
    return {error["field"]: error["message"] for error in refused.value.errors}


@pytest.mark.parametrize(("model", "body", "field"), FIELDS, ids=[f"{m.__name__}.{f}" for m, _, f in FIELDS])
@pytest.mark.parametrize("character", ["\x00", "\x07", "\x1b", "\x7f", "\x85", "\ufffe"])
def test_a_control_character_is_refused_naming_the_field(
    model: type[BaseModel], body: dict[str, Any], field: str, character: str
) -> None:
    value = SAMPLE.get(field, "abc") + character
    errors = refusal(model, {**body, field: value})
    assert set(errors) == {field}
    if field not in SAMPLE and field not in OWN_RULES:  # these say what they must be instead
        assert errors[field] == NOT_SENDABLE


# Numbers, times, tokens, ids and path segments take no tab or line break; the other text fields do.
SPACED = [(model, body, field) for model, body, field in FIELDS if field not in {*SAMPLE, *OWN_RULES, "cursor"}]


@pytest.mark.parametrize(("model", "body", "field"), SPACED, ids=[f"{m.__name__}.{f}" for m, _, f in SPACED])
def test_tabs_and_line_breaks_pass_where_a_field_takes_spaces(
    model: type[BaseModel], body: dict[str, Any], field: str
) -> None:
    accepted = validate(model, {**body, field: "a\tb\r\nc"})
    assert accepted.model_dump(by_alias=True)[field] == "a\tb\r\nc"


def test_interact_parameters_refuse_control_characters_in_names_and_values() -> None:
    body = {"caller_id": PHONE, "jp_token": "Aejhib7"}
    for params in ({"var\x01": "x"}, {"var1": "x\x02"}, "var1=x\x03"):
        assert refusal(interact.SendCampaignSmsRequest, {**body, "additional_params": params}) == {
            "additional_params": NOT_SENDABLE
        }


def test_every_text_field_of_every_request_model_is_text() -> None:
    """A new string field must be `Text` (or a phone number, checked by normalise_phone): the documents say so."""
    models = {model for model, _, _ in CASES} | {sumotext.OptOutQuery}
    phones = {"to", "mobile", "consumer_phone", "caller_id", "from", "phone_number"}
    for model in models:
        for name, schema in model.model_json_schema()["properties"].items():
            strings = [schema, *schema.get("anyOf", [])]
            for item in strings:
                fixed = "enum" in item or "const" in item
                text = item.get("type") == "string" and not fixed and item.get("maxLength") != 0
                if text and name not in phones:  # ("" alone holds no character)
                    assert "pattern" in item, f"{model.__name__}.{name} is a string that is not Text"
