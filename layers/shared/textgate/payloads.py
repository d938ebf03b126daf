"""What is stored is what is sent: one model per operation, written by its acceptor and read by its executor.

The operation record keeps the payload as JSON; these models are the only way it is written or read, so a field
cannot be renamed on one side and forgotten on the other. Field names are the request's (the suppression list
and the limits find the handset by them: logic/recipients.py).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator


class Unreadable(ValueError):
    """A stored payload that its model cannot read: nothing can be sent from it, now or later."""


class Payload(BaseModel):
    # Records written by an older version may hold a key no longer used: it is ignored, not an error.
    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="ignore", defer_build=True)

    def stored(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True)


class OgangiSms(Payload):
    to: str  # E.164
    text: str
    sender: str = Field(alias="from")  # digits, as Ogangi's wire wants them
    carrier: str | None = None  # the operator's name: sendSMS
    carrier_id: str | None = None  # the operator's id: sendMT
    flags: str | None = None  # sendMT's flags form

    @model_validator(mode="before")
    @classmethod
    def _before_carrier_id(cls, data: Any) -> Any:
        # Accepted before `carrier_id` existed, `carrier` with `flags` meant the operator id: send it as accepted.
        if isinstance(data, dict) and "carrier_id" not in data and data.get("flags"):
            return {**data, "carrier_id": data.get("carrier"), "carrier": None}
        return data


class OgangiPin(Payload):
    to: str
    carrier: str
    text: str
    length: int
    sender: str = Field(alias="from")


class OgangiFireMessage(Payload):
    mobile: str
    text: str


class ContactAtOnceConversation(Payload):
    consumer_phone: str
    merchant_id: int | None = None
    advertiser_id: str | None = None
    placement_id: int | None = None
    listing_details: str | None = None
    consumer_first_name: str | None = None
    consumer_last_name: str | None = None
    consumer_question: str | None = None
    region: Literal["na", "au", "eu"] = "na"


class InteractCampaignSms(Payload):
    campaign_id: str
    caller_id: str
    jp_token: str | None = None  # optional over SOAP only
    sender: str | None = Field(default=None, alias="from")
    additional_params: dict[str, str] | str | None = None
    send_from_master_account: bool = False


class ProTextingOptIn(Payload):
    phone_number: str
    group_ids: list[int]
    cta_message: str | None = None
    confirm_message: str | None = None
    send_cta_message: bool | None = None


def read[P: Payload](model: type[P], stored: dict[str, Any]) -> P:
    try:
        return model.model_validate(stored)
    except ValidationError as exc:
        fields = ", ".join(sorted({".".join(str(part) for part in error["loc"]) for error in exc.errors()}))
        raise Unreadable(f"the stored {model.__name__} payload cannot be read ({fields})") from None
