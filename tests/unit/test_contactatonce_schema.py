"""POST /v1/contactatonce/conversations: what the request model accepts, and the field-level errors it gives."""

from __future__ import annotations

from typing import Any

import pytest

from textgate.errors import ValidationFailed
from textgate.schemas.contactatonce import InitiateConversationRequest
from textgate.sendable import NOT_SENDABLE
from textgate.validation import validate


def errors_of(body: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(ValidationFailed) as raised:
        validate(InitiateConversationRequest, body)
    return {error["field"]: error["message"] for error in raised.value.errors}


def test_minimal_request_with_a_merchant() -> None:
    request = validate(InitiateConversationRequest, {"merchant_id": 123, "consumer_phone": "+13056708084"})
    assert (request.merchant_id, request.advertiser_id, request.consumer_phone, request.region) == (
        123,
        None,
        "+13056708084",
        "na",
    )


def test_every_field() -> None:
    request = validate(
        InitiateConversationRequest,
        {
            "advertiser_id": "A-9",
            "country": "au",
            "consumer_phone": "0412 345 678",
            "placement_id": 7,
            "listing_details": "Unit 4",
            "consumer_first_name": "Ana",
            "consumer_last_name": "Pérez",
            "consumer_question": "Olá 👋",
            "region": "au",
        },
    )
    assert request.consumer_phone == "+61412345678"  # national digits read with `country`
    assert (request.advertiser_id, request.placement_id, request.region) == ("A-9", 7, "au")
    assert request.consumer_question == "Olá 👋"


def test_both_merchant_and_advertiser_is_a_field_error() -> None:
    assert errors_of({"merchant_id": 1, "advertiser_id": "A-9", "consumer_phone": "+13056708084"}) == {
        "advertiser_id": "give merchant_id or advertiser_id, not both"
    }


def test_neither_merchant_nor_advertiser_is_a_field_error() -> None:
    assert errors_of({"consumer_phone": "+13056708084"}) == {
        "advertiser_id": "merchant_id or advertiser_id is required"
    }


def test_every_bad_field_is_named_at_once() -> None:
    errors = errors_of({"consumer_phone": "12", "region": "us", "placement_id": 0})
    assert set(errors) == {"advertiser_id", "consumer_phone", "region", "placement_id"}


def test_an_invalid_merchant_id_is_reported_alone() -> None:
    # The exactly-one rule does not pile a second error on a merchant_id that is there but wrong.
    assert set(errors_of({"merchant_id": "abc", "consumer_phone": "+13056708084"})) == {"merchant_id"}


@pytest.mark.parametrize("value", ["123", True, 1.5, 0, 2**31])
def test_merchant_id_is_a_strict_positive_int32(value: object) -> None:
    assert set(errors_of({"merchant_id": value, "consumer_phone": "+13056708084"})) == {"merchant_id"}


@pytest.mark.parametrize(
    ("phone", "country"), [("", None), ("3056708084", None), ("+1305", None), ("12345", "US"), (3056708084, "US")]
)
def test_consumer_phone_must_be_a_valid_number(phone: object, country: str | None) -> None:
    body: dict[str, Any] = {"merchant_id": 1, "consumer_phone": phone}
    if country:
        body["country"] = country
    assert set(errors_of(body)) == {"consumer_phone"}


def test_consumer_phone_is_required() -> None:
    assert errors_of({"merchant_id": 1})["consumer_phone"] == "Field required"


def test_country_must_be_iso_alpha_2() -> None:
    assert "country" in errors_of({"merchant_id": 1, "country": "USA", "consumer_phone": "3056708084"})


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("consumer_question", "x" * 1601),
        ("consumer_first_name", "x" * 101),
        ("consumer_last_name", ""),
        ("listing_details", "x" * 4001),
        ("advertiser_id", ""),
    ],
)
def test_text_lengths_are_bounded(field: str, value: str) -> None:
    body: dict[str, Any] = {"consumer_phone": "+13056708084", field: value}
    if field != "advertiser_id":
        body["merchant_id"] = 1
    assert field in errors_of(body)


@pytest.mark.parametrize(
    "field", ["advertiser_id", "listing_details", "consumer_first_name", "consumer_last_name", "consumer_question"]
)
@pytest.mark.parametrize("value", ["bell\x07", "nul\x00", "\uffff"])
def test_characters_xml_cannot_carry_are_refused(field: str, value: str) -> None:
    body: dict[str, Any] = {"consumer_phone": "+13056708084", field: value}
    if field != "advertiser_id":
        body["merchant_id"] = 1
    assert errors_of(body) == {field: NOT_SENDABLE}


def test_lone_surrogates_are_refused() -> None:
    errors = errors_of({"merchant_id": 1, "consumer_phone": "+13056708084", "consumer_question": "a \ud800 b"})
    assert set(errors) == {"consumer_question"}


def test_tabs_and_line_breaks_are_fine() -> None:
    body = {"merchant_id": 1, "consumer_phone": "+13056708084", "consumer_question": "a\tb\r\nc"}
    assert validate(InitiateConversationRequest, body).consumer_question == "a\tb\r\nc"


def test_unknown_fields_are_refused() -> None:
    assert "merchantId" in errors_of({"merchantId": 1, "merchant_id": 1, "consumer_phone": "+13056708084"})
