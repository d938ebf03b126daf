"""A stored Sumotext callback hit: its own module, so that only the functions that read or store hits build it."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field
from pydantic.json_schema import SkipJsonSchema

Kind = Literal["crm", "poll", "text4info", "mo", "dlr"]  # what a Sumotext callback reports
FieldValue = str | list[str]


class CallbackHit(BaseModel):
    """One stored callback, as the `sumotext.callback` event carries it."""

    id: str = Field(
        examples=["mo_5f1c…"],
        description="mo_ or text4info_<digest of mobile, smsid and msg>, dlr_<digest of sumoid and mtcode> (a "
        "repeat keeps the same id, so it is stored once), else cb_<random>",
    )
    kind: Kind
    mobile: str | None = Field(examples=["+12125551212"], description="E.164 when it could be read, else as given")
    mobile_valid: bool | None = Field(description="false when the number was stored as given; null without one")
    received_at: str
    source_ip: str
    method: str
    fields: dict[str, FieldValue] = Field(description="Every parameter but the token; a repeated one is a list")
    params: dict[str, str] = Field(
        description="The documented parameters under one spelling each (carrier for carrierId, …)"
    )
    poll_key: str | None = Field(default=None, description="poll only: poll#<KEY>")
    raw_body: str | None = Field(
        default=None,
        description="A POST body that was not a form or a JSON object, or parameters too big to keep as fields, as "
        "text (64 KiB at most)",
    )
    raw_body_truncated: bool = Field(default=False, description="true when the raw body was longer than 64 KiB")
    problem: str | None = Field(
        default=None,
        description="Why part of the hit was kept unread (a body that is not parameters, no mobile, …); a hit "
        "without a readable mobile changes no opt-out",
    )
    # The sort key of the indexes: the receive time to the microsecond, then the id. Internal, never shown.
    received_sk: SkipJsonSchema[str] = Field(exclude=True)
