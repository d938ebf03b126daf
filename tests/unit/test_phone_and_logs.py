import json
import logging
import re

import pytest

from textgate import log, phone


def test_e164_is_kept() -> None:
    assert phone.normalise("+13056708084") == "+13056708084"


def test_national_digits_are_read_with_their_country() -> None:
    assert phone.normalise("2125551212", "us") == "+12125551212"
    assert phone.normalise("(212) 555-1212", "US") == "+12125551212"


@pytest.mark.parametrize("number", ["12345", "+1555", "hello", "2125551212"])
def test_invalid_or_ambiguous_numbers_are_refused(number: str) -> None:
    with pytest.raises(phone.InvalidPhoneNumber):
        phone.normalise(number)


@pytest.mark.parametrize("number", ["+12121234567", "+16461234567", "+10001234567"])
def test_numbers_outside_the_allocated_ranges_are_accepted(number: str) -> None:
    # The seeds' own examples (Interact's `from`, ProTexting's PhoneNumber) are possible but not "valid" in
    # libphonenumber's tables; the provider judges them, not textgate.
    assert phone.normalise(number) == number


@pytest.mark.parametrize(
    ("number", "country", "message"),
    [
        ("+1212123456", None, "is too short for its country"),
        ("+121212345678", None, "is too long for its country"),
        ("+999544696388", None, "is not a phone number"),
        ("5551212", "US", "is a local number: give it with its area code"),
        ("2125551212", None, "must be E.164 (+13056708084) or national digits with a country"),
    ],
)
def test_numbers_that_cannot_exist_are_refused_with_the_reason(number: str, country: str | None, message: str) -> None:
    with pytest.raises(phone.InvalidPhoneNumber, match=f"^{re.escape(message)}$"):
        phone.normalise(number, country)


def test_bare_digits_are_international_only_when_asked() -> None:
    assert phone.normalise("16461234567", bare_digits_international=True) == "+16461234567"
    assert phone.normalise("16461234567", "US", bare_digits_international=True) == "+16461234567"  # national
    assert phone.normalise("07400123456", "GB", bare_digits_international=True) == "+447400123456"
    with pytest.raises(phone.InvalidPhoneNumber):
        phone.normalise("16461234567")
    with pytest.raises(phone.InvalidPhoneNumber):
        phone.normalise("1-646-123-4567", bare_digits_international=True)  # digits only, as ProTexting writes


def test_split_gives_calling_code_and_national_number() -> None:
    assert phone.split("+61491570001") == ("61", "491570001")
    assert phone.split("+390612345678") == ("39", "0612345678")  # Rome keeps its leading zero
    assert phone.digits("+13056708084") == "13056708084"


def test_mask_keeps_only_the_last_four_digits() -> None:
    assert log.mask_phone("+13056708084") == "+*******8084"


def test_log_lines_are_json_and_never_hold_a_whole_number(capsys: pytest.CaptureFixture[str]) -> None:
    log.configure("INFO")
    token = log.bind(operation_id="op_1")
    logging.getLogger("t").info("sending to +13056708084 and 2125551212", extra={"to": "13056708084"})
    log.unbind(token)
    line = capsys.readouterr().out.strip().splitlines()[-1]
    entry = json.loads(line)
    assert entry["operation_id"] == "op_1"
    assert "3056708084" not in line and "2125551212" not in line
    assert entry["to"] == "*******8084"


def test_timestamps_and_ids_are_not_masked() -> None:
    assert log.redact("2026-11-22T10:00:00Z op_3f9a1c0e") == "2026-11-22T10:00:00Z op_3f9a1c0e"


@pytest.mark.parametrize(
    "text",
    ["PUT /v1/opt-outs/%2B13056708084", "call +1 (305) 670-8084 now", "to 305.670.8084", "+44 7700 900123"],
)
def test_numbers_in_urls_and_with_separators_are_masked(text: str) -> None:
    redacted = log.redact(text)
    assert "670" not in redacted.replace("8084", "") and "7700 900" not in redacted, redacted


@pytest.mark.parametrize("text", ["2026-11-22T10:00:00.123Z", "version 3.13.0", "12:30:45", "id 550e8400-e29b-41d4"])
def test_dates_times_and_versions_are_left_alone(text: str) -> None:
    assert log.redact(text) == text
