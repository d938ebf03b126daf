"""Pieces shared by the request models."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo

from textgate import phone

CountryCode = Annotated[
    str, Field(pattern=r"^[A-Za-z]{2}$", description="ISO 3166 alpha-2 country of a national number")
]


class RequestModel(BaseModel):
    """Unknown fields are refused, so a typo is a 422 rather than a silently ignored setting."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, str_strip_whitespace=False)


def normalise_phone(
    value: Any, info: ValidationInfo, country_field: str = "country", *, bare_digits_international: bool = False
) -> str:
    if not isinstance(value, str):
        raise ValueError("must be a string")
    country = info.data.get(country_field)
    try:
        return phone.normalise(value, country, bare_digits_international=bare_digits_international)
    except phone.InvalidPhoneNumber as exc:
        raise ValueError(str(exc)) from None


class OperationView(BaseModel):
    """The operation resource, as GET /v1/operations/{id} and every 202 show it."""

    id: str = Field(examples=["op_3f9a1c0e5b7d2a4c6e8f0a1b"])
    operation: str = Field(examples=["ogangi.send_sms"])
    provider: str = Field(examples=["ogangi"])
    status: str = Field(examples=["queued"], description="queued, sending, retrying, succeeded, failed, unknown")
    attempts: int
    created_at: str
    updated_at: str
    result: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    sms: dict[str, Any] | None = None
    dead_lettered_at: str | None = None


class Problem(BaseModel):
    type: str
    title: str
    status: int
    detail: str
    code: str = Field(examples=["validation_error"])
    errors: list[dict[str, str]] = Field(default_factory=list)
