"""Ogangi request bodies."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field, field_validator

from textgate.schemas.common import CountryCode, RequestModel, normalise_phone

Carrier = Annotated[str, Field(min_length=1, max_length=64, examples=["Movistar"])]
Sender = Annotated[str, Field(min_length=1, max_length=32, pattern=r"^\+?[0-9A-Za-z]+$", examples=["19893653744"])]


class SendSmsRequest(RequestModel):
    country: CountryCode | None = None
    to: str = Field(examples=["+13056708084"], description="E.164, or national digits with `country`")
    text: str = Field(min_length=1, max_length=1600, examples=["Hello"])
    sender: Sender | None = Field(default=None, alias="from", description="defaults to the configured sender")
    carrier: Carrier | None = None
    flags: str | None = Field(default=None, min_length=1, max_length=256)

    _to = field_validator("to", mode="before")(normalise_phone)


class SendPinRequest(RequestModel):
    country: CountryCode | None = None
    to: str = Field(examples=["+13056708084"])
    carrier: Carrier
    text: str = Field(min_length=1, max_length=1600, examples=["Your code"])
    length: int = Field(default=6, ge=4, le=10)
    sender: Sender | None = Field(default=None, alias="from")

    _to = field_validator("to", mode="before")(normalise_phone)


class CheckPinRequest(RequestModel):
    code: str = Field(min_length=1, max_length=32, pattern=r"^[0-9A-Za-z]+$", examples=["846547"])


class FireMessageRequest(RequestModel):
    country: CountryCode | None = None
    mobile: str = Field(examples=["+13056708084"])
    text: str = Field(min_length=1, max_length=1600)

    _mobile = field_validator("mobile", mode="before")(normalise_phone)


class ListMoQuery(RequestModel):
    page: int = Field(default=1, ge=1, le=100_000)
    per_page: int = Field(default=50, ge=1, le=500)
    filter: str | None = Field(default=None, min_length=1, max_length=512)


class PinCheckResult(BaseModel):
    id: str
    verified: bool
    attempts_left: int


class InboundMessage(BaseModel):
    text: str | None
    sender: str | None = Field(alias="from")
    to: str | None
    encoding: str | None
    keyword: str | None
    carrier: str | None
    sent_at: str | None


class InboundPage(BaseModel):
    total: int
    page: int
    per_page: int
    items: list[InboundMessage]
