"""Pieces shared by the request models."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationInfo

from textgate import phone

# Control characters other than TAB, LF and CR, and what XML 1.0 cannot carry at all (lone surrogates, which UTF-8
# cannot encode either, U+FFFE and U+FFFF): no provider's XML or form can take them, so a text holding one is
# refused at the edge rather than ending `unknown` at delivery.
_UNSENDABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
SENDABLE_PATTERN = "^[^\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f-\\u009f\\ufffe\\uffff]*$"
NOT_SENDABLE = (
    "holds characters that cannot be sent: control characters other than tab and line breaks, or U+FFFE/U+FFFF"
)


def sendable(value: str) -> str:
    if _UNSENDABLE.search(value):
        raise ValueError(NOT_SENDABLE)
    return value


# Every text field of every request model is `Text`, with its own length limits: a pattern that pydantic enforces
# and the OpenAPI document shows (field_errors words its failure as NOT_SENDABLE). Pydantic refuses lone
# surrogates on its own. A field with a pattern of its own is a plain `str` (Text's pattern would win over it), and
# that pattern refuses these characters too.
Text = Annotated[str, StringConstraints(pattern=SENDABLE_PATTERN)]

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
    sendable(value)  # libphonenumber would drop a trailing control character and accept the rest
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
