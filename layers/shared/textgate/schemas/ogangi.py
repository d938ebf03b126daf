"""Ogangi request bodies."""

from __future__ import annotations

import unicodedata
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from textgate.schemas.common import (
    CountryCode,
    Phone,
    RequestModel,
    SchedulableRequest,
    StatusCallback,
    Text,
    normalise_phone,
)


def path_segment(value: str) -> str:
    """A value that Ogangi reads as one segment of its URL path. `.` and `..` are dot segments: HTTP clients and
    servers resolve them away, so the call would reach another path than the one signed. Control characters
    cannot travel in the XML answers that echo these values."""
    if value in (".", ".."):
        raise ValueError(f"cannot be {value!r}: it travels as a URL path segment")
    if any(unicodedata.category(char) == "Cc" or char in "\ufffe\uffff" for char in value):
        raise ValueError("holds control characters (or U+FFFE/U+FFFF), which cannot travel in a URL path segment")
    return value


# The same rule for the OpenAPI document (ECMA-262 syntax); `path_segment` is what enforces it.
PATH_SEGMENT_PATTERN = r"^(?!\.\.?$)[^\u0000-\u001f\u007f-\u009f\ufffe\uffff]*$"
PathSegment = Annotated[str, AfterValidator(path_segment), Field(json_schema_extra={"pattern": PATH_SEGMENT_PATTERN})]
Carrier = Annotated[
    PathSegment,
    Field(min_length=1, max_length=64, examples=["Movistar"], description="the operator's name (sendSMS, PINs)"),
]
CarrierId = Annotated[
    PathSegment,
    Field(min_length=1, max_length=64, examples=["214"], description="the operator's id (sendMT)"),
]
Flags = Annotated[
    PathSegment, Field(min_length=1, max_length=256, description="sendMT's flags for Ogangi's backend jobs")
]
SENDER_PATTERN = r"^\+?[0-9A-Za-z]+$"
Sender = Annotated[
    PathSegment,
    # The document shows the sender's own pattern (stricter than a path segment's).
    Field(
        min_length=1,
        max_length=32,
        pattern=SENDER_PATTERN,
        examples=["19893653744"],
        json_schema_extra={"pattern": SENDER_PATTERN},
    ),
]


class SendSmsRequest(SchedulableRequest):
    # carrier (sendSMS) goes with neither carrier_id nor flags (sendMT's), as the document says it.
    model_config = ConfigDict(
        json_schema_extra={
            "allOf": [
                {
                    "not": {
                        "required": ["carrier", other],
                        "properties": {"carrier": {"type": "string"}, other: {"type": "string"}},
                    }
                }
                for other in ("carrier_id", "flags")
            ]
        }
    )
    country: CountryCode | None = None
    to: Phone = Field(examples=["+13056708084"], description="E.164, or national digits with `country`")
    text: Text = Field(min_length=1, max_length=1600, examples=["Hello"])
    sender: Sender | None = Field(default=None, alias="from", description="defaults to the configured sender")
    carrier: Carrier | None = Field(default=None, description="the operator's name: sends with sendSMS")
    carrier_id: CarrierId | None = Field(
        default=None, description="the operator's id for sendMT (Ogangi chooses one when absent)"
    )
    flags: Flags | None = Field(default=None, description="sendMT's flags")
    status_callback: StatusCallback | None = None

    _to = field_validator("to", mode="before")(normalise_phone)

    @field_validator("carrier_id", "flags")
    @classmethod
    def _send_mt_only(cls, value: str | None, info: ValidationInfo) -> str | None:
        """`carrier` means sendSMS, which takes neither an operator id nor flags."""
        if value is not None and info.data.get("carrier") is not None:
            raise ValueError("cannot be given with carrier: carrier (a name) sends with sendSMS, this is sendMT's")
        return value


class SendPinRequest(RequestModel):
    country: CountryCode | None = None
    to: Phone = Field(examples=["+13056708084"])
    carrier: Carrier
    text: Text = Field(min_length=1, max_length=1600, examples=["Your code"])
    length: int = Field(default=6, ge=4, le=10)
    sender: Sender | None = Field(default=None, alias="from")
    status_callback: StatusCallback | None = None
    # A PIN is for now and always transactional: these fields exist to say so (422) rather than "unknown field".
    send_at: None = Field(default=None, description="not for PINs: a PIN is sent at once")
    purpose: Literal["transactional"] = "transactional"

    _to = field_validator("to", mode="before")(normalise_phone)

    @field_validator("send_at", mode="before")
    @classmethod
    def _now_only(cls, value: object) -> None:
        if value is not None:
            raise ValueError("a PIN is sent at once: it cannot be scheduled")


class CheckPinRequest(RequestModel):
    code: str = Field(min_length=1, max_length=32, pattern=r"^[0-9A-Za-z]+$", examples=["846547"])


class FireMessageRequest(SchedulableRequest):
    country: CountryCode | None = None
    mobile: Phone = Field(examples=["+13056708084"])
    text: Text = Field(min_length=1, max_length=1600)
    status_callback: StatusCallback | None = None

    _mobile = field_validator("mobile", mode="before")(normalise_phone)


class ListMoQuery(RequestModel):
    page: int = Field(default=1, ge=1, le=100_000)
    per_page: int = Field(default=50, ge=1, le=500)
    filter: PathSegment | None = Field(default=None, min_length=1, max_length=512)


class PinCheckResult(BaseModel):
    model_config = ConfigDict(defer_build=True)  # built at its first answer, not at every Ogangi import

    id: str
    verified: bool
    attempts_left: int


class InboundMessage(BaseModel):
    model_config = ConfigDict(defer_build=True)  # built at its first answer, not at every Ogangi import

    text: str | None
    sender: str | None = Field(alias="from")
    to: str | None
    encoding: str | None
    keyword: str | None
    carrier: str | None
    sent_at: str | None = Field(
        description="RFC 3339 UTC; a sendDate that names no zone or offset is read in OGANGI_TIME_ZONE (default UTC)"
    )


class InboundPage(BaseModel):
    model_config = ConfigDict(defer_build=True)  # built at its first answer, not at every Ogangi import

    total: int
    page: int
    per_page: int
    items: list[InboundMessage]
    unreadable: int = Field(
        default=0,
        ge=0,
        description="how many listed messages could not be read whole: they are listed with what could be read",
    )
