"""Interact request bodies, and the campaign id that comes in the path."""

from __future__ import annotations

import re
from typing import Annotated
from urllib.parse import parse_qsl

from pydantic import Field, StrictBool, ValidationInfo, WithJsonSchema, field_validator

from textgate.schemas.common import (
    PHONE_FORMAT,
    CountryCode,
    Phone,
    RequestModel,
    SchedulableRequest,
    StatusCallback,
    normalise_phone,
)
from textgate.sendable import SENDABLE_PATTERN, sendable

MAX_PARAMS = 50
# A short code: 3 to 8 digits, sent as given (no country, no '+').
SHORT_CODE = re.compile(r"^[0-9]{3,8}$")
# What _additional_params below accepts, for the document: an object of at most 50 strings, or a query string
# (name=value pairs, a name in each, no leading '?'), or nothing ({} or ""); no control characters anywhere.
_NO_CONTROL = "\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f-\\u009f\\ufffe\\uffff"
_PAIR = f"[^&={_NO_CONTROL}]+=[^&{_NO_CONTROL}]*"
_PARAMS_SCHEMA = {
    "anyOf": [
        {
            "type": "object",
            "maxProperties": MAX_PARAMS,
            "propertyNames": {"minLength": 1, "maxLength": 128, "pattern": SENDABLE_PATTERN},
            "additionalProperties": {"type": "string", "maxLength": 1024, "pattern": SENDABLE_PATTERN},
        },
        {
            "type": "string",
            "maxLength": 4096,
            "pattern": f"^[^?&={_NO_CONTROL}][^&={_NO_CONTROL}]*=[^&{_NO_CONTROL}]*(&{_PAIR})*$",
        },
        {"type": "string", "maxLength": 0},
    ]
}
# `from`: a phone number, a short code, or nothing (empty or blank is the same as absent).
_SENDER_SCHEMA = {
    "anyOf": [
        {"type": "string", "format": PHONE_FORMAT},
        {"type": "string", "pattern": "^[0-9]{3,8}$"},
        {"type": "string", "pattern": "^\\s*$"},
    ]
}


def _unicode(value: str) -> str:
    # JSON can escape a lone surrogate, which UTF-8 cannot carry. Plain str fields refuse one already; a value
    # that goes through the dict-or-string union is not checked for it.
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode text") from None
    return value


class CampaignPath(RequestModel):
    # Its own pattern (no control character at all, tabs and line breaks neither: it travels in a URL path).
    campaign_id: str = Field(
        min_length=1,
        max_length=256,
        pattern=r"^[^\x00-\x1f\x7f-\x9f\ufffe\uffff]+$",
        examples=["campaign1"],
        json_schema_extra={"not": {"enum": [".", ".."]}},
    )

    @field_validator("campaign_id")
    @classmethod
    def _campaign_id(cls, value: str) -> str:
        # '.' and '..' would be read as dot segments and change the path the provider sees.
        if value in {".", ".."} or any(ord(char) < 0x20 or ord(char) == 0x7F for char in value):
            raise ValueError("must be a campaign identifier without control characters, not '.' or '..'")
        return value


class SendCampaignSmsRequest(SchedulableRequest):
    country: CountryCode | None = None
    caller_id: Phone = Field(
        examples=["+972544696388"], description="the customer's number: E.164, or national digits with `country`"
    )
    # Required over REST (its body names it required), optional over SOAP (the seed's SOAP sample marks it
    # `Optional`): logic/interact.py refuses a missing one when the deployment talks REST.
    jp_token: str | None = Field(
        default=None,
        min_length=1,
        max_length=512,
        # Not blank (a blank token is a missing one, which Interact refuses: 400), and without what every Text refuses.
        pattern=r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffe\uffff]*[^\s\x00-\x1f\x7f-\x9f\ufffe\uffff][^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffe\uffff]*$",
        examples=["Aejhib7"],
        description="the interaction's token, from Interact's generateToken; required when textgate talks to "
        "Interact over REST, optional over SOAP",
    )
    sender: Annotated[str, WithJsonSchema(_SENDER_SCHEMA)] | None = Field(
        default=None,
        alias="from",
        examples=["+12121234567", "12345"],
        description="the number the SMS is sent from (E.164, national digits with `country`, or a short code of 3 "
        "to 8 digits); the campaign's own when absent or empty",
    )
    additional_params: Annotated[dict[str, str] | str, WithJsonSchema(_PARAMS_SCHEMA)] | None = Field(
        default=None,
        examples=[{"var1": "value1"}, "var1=value1&var2=value2"],
        description="extra parameters for the campaign: an object, or a query string",
    )

    send_from_master_account: StrictBool = Field(
        default=False,
        description="send from the number of Interact's system account rather than the tenant's; only when "
        "textgate talks to Interact over SOAP (a 422 otherwise)",
    )
    status_callback: StatusCallback | None = None

    _caller_id = field_validator("caller_id", mode="before")(normalise_phone)

    @field_validator("sender", mode="before")
    @classmethod
    def _sender(cls, value: object, info: ValidationInfo) -> str | None:
        # Interact marks `from` optional and its SOAP sample sends it empty: empty is the same as absent.
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        if isinstance(value, str) and SHORT_CODE.match(value.strip()):
            return value.strip()
        return normalise_phone(value, info)

    @field_validator("additional_params", mode="before")
    @classmethod
    def _additional_params(cls, value: object) -> object:
        # Checked before the union so that a wrong value gets one plain message, not one per union member.
        if value is None or value in ({}, ""):
            return None  # optional in the seed: nothing to pass is the same as leaving it out
        if isinstance(value, dict):
            if len(value) > MAX_PARAMS:
                raise ValueError(f"must have at most {MAX_PARAMS} entries")
            for name, item in value.items():
                if not isinstance(item, str):
                    raise ValueError(f"the value of {name!r} must be a string")
                if not name or len(name) > 128 or len(item) > 1024:
                    raise ValueError("names must be 1 to 128 characters, values at most 1024")
                sendable(_unicode(name + item))
            return value
        if isinstance(value, str):
            if len(value) > 4096 or value.startswith("?"):
                raise ValueError("must be a query string of at most 4096 characters, without a leading '?'")
            try:
                pairs = parse_qsl(value, keep_blank_values=True, strict_parsing=True)
            except ValueError:
                raise ValueError("must be a query string like var1=value1&var2=value2") from None
            if any(not name for name, _ in pairs):
                raise ValueError("every parameter needs a name")
            return sendable(_unicode(value))
        raise ValueError("must be an object of strings or a query string")
