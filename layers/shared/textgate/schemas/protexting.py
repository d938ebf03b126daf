"""ProTexting request bodies."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StrictBool, StrictInt, field_validator

from textgate.schemas.common import CountryCode, RequestModel, normalise_phone

# Strict: `true` or "1" is a mistake in a group id, not a group.
GroupId = Annotated[StrictInt, Field(ge=1, le=2_147_483_647)]
# The length constraints also make pydantic refuse a lone surrogate ("\ud800"), which could not be sent as UTF-8.
Message = Annotated[str, Field(min_length=1, max_length=1600)]


class OptInRequest(RequestModel):
    country: CountryCode | None = None
    phone_number: str = Field(examples=["+13056708084"], description="E.164, or national digits with `country`")
    group_ids: list[GroupId] = Field(min_length=1, max_length=100, examples=[[1]])
    cta_message: Message | None = Field(default=None, description="the Call-To-Action message")
    confirm_message: Message | None = Field(
        default=None, description="sent to the handset once the contact is subscribed"
    )
    send_cta_message: StrictBool | None = Field(
        default=None,
        description="true: always send the CTA; false or absent: only to a contact not opted in (or opted out)",
    )

    _phone_number = field_validator("phone_number", mode="before")(normalise_phone)
