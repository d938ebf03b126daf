"""ContactAtOnce request bodies."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import ConfigDict, Field, ValidationInfo, field_validator

from textgate.schemas.common import (
    WHOLE_NUMBER,
    CountryCode,
    Phone,
    SchedulableRequest,
    Text,
    normalise_phone,
)

# ContactAtOnce's ids are WCF Int (32 bits).
Int32Id = Annotated[int, Field(strict=True, ge=1, le=2_147_483_647), WHOLE_NUMBER]
Name = Annotated[Text, Field(min_length=1, max_length=100)]


class InitiateConversationRequest(SchedulableRequest):
    # Exactly one of merchant_id and advertiser_id, as the document says it.
    model_config = ConfigDict(
        json_schema_extra={
            "oneOf": [
                {"required": ["merchant_id"], "properties": {"merchant_id": {"type": "integer"}}},
                {"required": ["advertiser_id"], "properties": {"advertiser_id": {"type": "string"}}},
            ]
        }
    )
    merchant_id: Int32Id | None = Field(
        default=None, examples=[123], description="exactly one of merchant_id and advertiser_id"
    )
    # validate_default: the exactly-one check below must run when advertiser_id is absent too.
    advertiser_id: Text | None = Field(
        default=None,
        min_length=1,
        max_length=100,
        examples=["A-9"],
        description="exactly one of merchant_id and advertiser_id",
        validate_default=True,
    )
    country: CountryCode | None = None
    consumer_phone: Phone = Field(examples=["+13056708084"], description="E.164, or national digits with `country`")
    placement_id: Int32Id | None = None
    listing_details: Text | None = Field(
        default=None, min_length=1, max_length=4000, description="context passed to the merchant's agents"
    )
    consumer_first_name: Name | None = None
    consumer_last_name: Name | None = None
    consumer_question: Text | None = Field(default=None, min_length=1, max_length=1600)
    region: Literal["na", "au", "eu"] = Field(default="na", description="North America, Australia or Europe")

    _consumer_phone = field_validator("consumer_phone", mode="before")(normalise_phone)

    @field_validator("advertiser_id")
    @classmethod
    def _exactly_one_merchant(cls, value: str | None, info: ValidationInfo) -> str | None:
        if "merchant_id" not in info.data:
            return value  # merchant_id itself is invalid and already reported
        if info.data["merchant_id"] is None and value is None:
            raise ValueError("merchant_id or advertiser_id is required")
        if info.data["merchant_id"] is not None and value is not None:
            raise ValueError("give merchant_id or advertiser_id, not both")
        return value
