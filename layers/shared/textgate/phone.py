"""Phone numbers: E.164 in, E.164 out, with libphonenumber doing the judging."""

from __future__ import annotations

import phonenumbers


class InvalidPhoneNumber(ValueError):
    pass


def normalise(number: str, country: str | None = None, *, bare_digits_international: bool = False) -> str:
    """E.164 for `number`, read as national digits of `country` (ISO alpha-2) when it has no '+'.

    `bare_digits_international`: digits without '+' and without a country are international digits (country
    code first), as ProTexting writes its numbers (`16461234567`).

    Refused: what is not a number, and what has an impossible length for its country. Not refused: a number
    outside the ranges libphonenumber knows to be allocated (`is_valid_number`): its tables lag behind the
    numbering plans, and the providers' own examples (`+12121234567`, `+16461234567`) lie outside them. The
    provider is the judge of those.
    """
    text = number.strip()
    region = country.upper() if country else None
    if not text.startswith("+") and region is None:
        if not (bare_digits_international and text.isdigit()):
            raise InvalidPhoneNumber("must be E.164 (+13056708084) or national digits with a country")
        text = "+" + text
    try:
        parsed = phonenumbers.parse(text, None if text.startswith("+") else region)
    except phonenumbers.NumberParseException:
        raise InvalidPhoneNumber("is not a phone number") from None
    reason = phonenumbers.is_possible_number_with_reason(parsed)
    if reason != phonenumbers.ValidationResult.IS_POSSIBLE:
        raise InvalidPhoneNumber(_IMPOSSIBLE.get(reason, "cannot be a phone number"))
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


_IMPOSSIBLE = {
    phonenumbers.ValidationResult.INVALID_COUNTRY_CODE: "has no known country calling code",
    phonenumbers.ValidationResult.TOO_SHORT: "is too short for its country",
    phonenumbers.ValidationResult.TOO_LONG: "is too long for its country",
    phonenumbers.ValidationResult.INVALID_LENGTH: "has a length no number of its country has",
    phonenumbers.ValidationResult.IS_POSSIBLE_LOCAL_ONLY: "is a local number: give it with its area code",
}


def split(e164: str) -> tuple[str, str]:
    """(calling code, national number) in digits: '+13056708084' -> ('1', '3056708084').
    The national significant number keeps a leading zero where it is part of the number (Italy: +39 06…)."""
    parsed = phonenumbers.parse(e164, None)
    return str(parsed.country_code), phonenumbers.national_significant_number(parsed)


def digits(e164: str) -> str:
    """International digits without '+', the form most providers want on the wire."""
    return e164.lstrip("+")
