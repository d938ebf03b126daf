"""ProTexting request bodies."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StrictBool, ValidationInfo, field_validator

from textgate.schemas.common import (
    WHOLE_NUMBER,
    CountryCode,
    Phone,
    SchedulableRequest,
    Text,
    normalise_phone,
)

# Strict: `true` or "1" is a mistake in a group id, not a group.
GroupId = Annotated[int, Field(strict=True, ge=1, le=2_147_483_647), WHOLE_NUMBER]
# The length constraints also make pydantic refuse a lone surrogate ("\ud800"), which could not be sent as UTF-8.
Message = Annotated[Text, Field(min_length=1, max_length=1600)]


class OptInRequest(SchedulableRequest):
    country: CountryCode | None = None
    phone_number: Phone = Field(
        examples=["+16461234567", "16461234567"],
        description="E.164; international digits without '+' as ProTexting writes them; or national digits with "
        "`country`",
    )
    group_ids: list[GroupId] = Field(min_length=1, max_length=100, examples=[[1]])
    cta_message: Message | None = Field(default=None, description="the Call-To-Action message")
    confirm_message: Message | None = Field(
        default=None, description="sent to the handset once the contact is subscribed"
    )
    send_cta_message: StrictBool | None = Field(
        default=None,
        description="true (or ProTexting's own 1): always send the CTA; false (0) or absent: only to a contact not "
        "opted in (or opted out)",
    )

    @field_validator("phone_number", mode="before")
    @classmethod
    def _phone_number(cls, value: object, info: ValidationInfo) -> str:
        # ProTexting's own form is international digits without '+' (`16461234567`): read it as such, unless a
        # `country` says the digits are national.
        return normalise_phone(value, info, bare_digits_international=True)

    @field_validator("send_cta_message", mode="before")
    @classmethod
    def _zero_or_one(cls, value: object) -> object:
        # The seed documents SendCTAMessage as int (0/1); JSON true/false mean the same. Nothing else.
        if type(value) is int and value in (0, 1):
            return bool(value)
        return value
