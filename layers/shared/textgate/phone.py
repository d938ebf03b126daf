"""Phone numbers: E.164 in, E.164 out, with libphonenumber doing the judging."""

from __future__ import annotations

import phonenumbers


class InvalidPhoneNumber(ValueError):
    pass


def normalise(number: str, country: str | None = None) -> str:
    """E.164 for `number`, read as national digits of `country` (ISO alpha-2) when it has no '+'."""
    text = number.strip()
    region = country.upper() if country else None
    if not text.startswith("+") and region is None:
        raise InvalidPhoneNumber("must be E.164 (+13056708084) or national digits with a country")
    try:
        parsed = phonenumbers.parse(text, None if text.startswith("+") else region)
    except phonenumbers.NumberParseException:
        raise InvalidPhoneNumber("is not a phone number") from None
    if not phonenumbers.is_valid_number(parsed):
        raise InvalidPhoneNumber("is not a valid phone number")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def split(e164: str) -> tuple[str, str]:
    """(calling code, national number) in digits: '+13056708084' -> ('1', '3056708084').
    The national significant number keeps a leading zero where it is part of the number (Italy: +39 06…)."""
    parsed = phonenumbers.parse(e164, None)
    return str(parsed.country_code), phonenumbers.national_significant_number(parsed)


def digits(e164: str) -> str:
    """International digits without '+', the form most providers want on the wire."""
    return e164.lstrip("+")
