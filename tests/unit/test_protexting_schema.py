"""The opt-in request body: what is accepted, and the field-level errors of what is not."""

from __future__ import annotations

import json
from typing import Any

import pytest

from textgate.errors import ValidationFailed
from textgate.schemas.protexting import OptInRequest
from textgate.validation import validate

VALID: dict[str, Any] = {"phone_number": "+13056708084", "group_ids": [1]}


def errors_of(body: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(ValidationFailed) as raised:
        validate(OptInRequest, body)
    return {error["field"]: error["message"] for error in raised.value.errors}


def test_minimal_body_leaves_every_option_unset() -> None:
    request = validate(OptInRequest, VALID)
    assert (request.phone_number, request.group_ids) == ("+13056708084", [1])
    assert (request.cta_message, request.confirm_message, request.send_cta_message) == (None, None, None)


def test_full_body() -> None:
    request = validate(
        OptInRequest,
        {
            **VALID,
            "group_ids": [1, 2_147_483_647],
            "cta_message": "Olá 👋",
            "confirm_message": "Thanks",
            "send_cta_message": False,
        },
    )
    assert request.group_ids == [1, 2_147_483_647]
    assert (request.cta_message, request.confirm_message, request.send_cta_message) == ("Olá 👋", "Thanks", False)


def test_national_digits_with_a_country_are_normalised() -> None:
    request = validate(OptInRequest, {"country": "US", "phone_number": "(305) 670-8084", "group_ids": [1]})
    assert request.phone_number == "+13056708084"


def test_missing_required_fields_are_each_named() -> None:
    assert set(errors_of({})) == {"phone_number", "group_ids"}


@pytest.mark.parametrize("phone_number", ["16461234567", "+16461234567", "+1 646 123 4567"])
def test_the_seeds_own_number_is_accepted_with_or_without_plus(phone_number: str) -> None:
    # Seed 003's example `{"PhoneNumber":"16461234567","GroupIds":[1]}`: international digits without '+', and a
    # number outside the ranges libphonenumber knows to be allocated (is_valid_number says no).
    request = validate(OptInRequest, {"phone_number": phone_number, "group_ids": [1]})
    assert request.phone_number == "+16461234567"


def test_digits_with_a_country_are_national() -> None:
    assert validate(OptInRequest, {**VALID, "country": "GB", "phone_number": "07400123456"}).phone_number == (
        "+447400123456"
    )


@pytest.mark.parametrize(
    ("phone_number", "country", "message"),
    [
        # Without '+' and without a country, digits are international: +30 56708084 is too short for Greece.
        ("3056708084", None, "is too short for its country"),
        ("+1305", None, "is too short for its country"),
        ("+1305670808412", None, "is too long for its country"),
        ("not a number", "US", "is not a phone number"),
        (13056708084, None, "must be a string"),
    ],
)
def test_bad_phone_numbers(phone_number: object, country: str | None, message: str) -> None:
    body = {**VALID, "phone_number": phone_number, **({"country": country} if country else {})}
    assert errors_of(body) == {"phone_number": message}


def test_bad_country() -> None:
    assert "country" in errors_of({**VALID, "country": "USA"})


@pytest.mark.parametrize(
    ("group_ids", "field"),
    [
        ([], "group_ids"),
        (1, "group_ids"),
        (None, "group_ids"),
        (list(range(1, 102)), "group_ids"),
        ([0], "group_ids.0"),
        ([1, -3], "group_ids.1"),
        ([2_147_483_648], "group_ids.0"),
        (["1"], "group_ids.0"),  # strict: a string is not a group id
        ([True], "group_ids.0"),  # nor is a boolean
        ([1.5], "group_ids.0"),
    ],
)
def test_bad_group_ids(group_ids: object, field: str) -> None:
    assert set(errors_of({**VALID, "group_ids": group_ids})) == {field}


def test_a_group_id_written_as_a_whole_float_is_that_integer() -> None:
    # JSON has one number type, and JSON Schema (so the OpenAPI document) calls 7.0 an integer.
    assert validate(OptInRequest, {**VALID, "group_ids": [7.0, 1e3]}).group_ids == [7, 1000]


@pytest.mark.parametrize("name", ["cta_message", "confirm_message"])
@pytest.mark.parametrize("value", ["", "x" * 1601, 5])
def test_bad_messages(name: str, value: object) -> None:
    assert set(errors_of({**VALID, name: value})) == {name}


@pytest.mark.parametrize("name", ["cta_message", "confirm_message"])
def test_a_lone_surrogate_cannot_reach_the_provider(name: str) -> None:
    # JSON lets a caller send one; it could not be written as UTF-8 to the provider.
    assert set(errors_of({**VALID, name: json.loads('"a\\ud800b"')})) == {name}


def test_longest_message_is_accepted() -> None:
    assert validate(OptInRequest, {**VALID, "cta_message": "x" * 1600}).cta_message == "x" * 1600


@pytest.mark.parametrize(("value", "read"), [(True, True), (False, False), (1, True), (0, False)])
def test_send_cta_message_takes_booleans_and_the_seeds_own_0_and_1(value: object, read: bool) -> None:
    assert validate(OptInRequest, {**VALID, "send_cta_message": value}).send_cta_message is read


@pytest.mark.parametrize("value", [2, -1, 1.0, "1", "true", "yes"])
def test_send_cta_message_refuses_anything_else(value: object) -> None:
    assert set(errors_of({**VALID, "send_cta_message": value})) == {"send_cta_message"}


def test_unknown_fields_are_refused() -> None:
    assert set(errors_of({**VALID, "GroupIds": [1], "sendCta": True})) == {"GroupIds", "sendCta"}
