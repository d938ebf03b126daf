"""Pieces shared by the request models."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints, ValidationInfo

from textgate import phone
from textgate.models import OPERATION_ID_PATTERN
from textgate.sendable import SENDABLE_PATTERN, sendable

# Every text field of every request model is `Text`, with its own length limits: a pattern that pydantic enforces
# and the OpenAPI document shows (field_errors words its failure as NOT_SENDABLE). Pydantic refuses lone
# surrogates on its own. A field with a pattern of its own is a plain `str` (Text's pattern would win over it), and
# that pattern refuses these characters too.
Text = Annotated[str, StringConstraints(pattern=SENDABLE_PATTERN)]


def _whole_number(value: Any) -> Any:
    # JSON has one number type: 12.0 is the integer 12 (as JSON Schema says), 12.5 is not, `true` and "12" are not.
    return int(value) if isinstance(value, float) and value.is_integer() else value


# After the constraints of an integer that only an integer fills (strict, so `true` or "12" is refused rather
# than read as a number): Annotated[int, Field(strict=True, ge=…, le=…), WHOLE_NUMBER].
WHOLE_NUMBER = BeforeValidator(_whole_number)

CountryCode = Annotated[
    str, Field(pattern=r"^[A-Za-z]{2}$", description="ISO 3166 alpha-2 country of a national number")
]


class RequestModel(BaseModel):
    """Unknown fields are refused, so a typo is a 422 rather than a silently ignored setting."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, str_strip_whitespace=False, defer_build=True)


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


# A time in an answer: RFC 3339 in UTC.
# A phone number in a request: E.164, or national digits with `country`. libphonenumber judges it, and no pattern
# could say what it accepts: the format names that judgement.
PHONE_FORMAT = "phone"
Phone = Annotated[str, Field(json_schema_extra={"format": PHONE_FORMAT})]


def _status_callback(value: str) -> str:
    # Here, not at the top: only a request that names a callback pays for the check (and its DNS lookup).
    from textgate import webhook_url  # noqa: PLC0415
    from textgate.settings import get_settings  # noqa: PLC0415

    try:
        webhook_url.check(value, get_settings().status_callback_allowed_hosts, webhook_url.accept_resolver)
    except webhook_url.RefusedUrl as exc:
        raise ValueError(str(exc)) from None
    return value


# Every async request, trigger event and batch takes one: where textgate POSTs the operation's final status.
StatusCallback = Annotated[
    str,
    Field(
        max_length=2048,
        # Shown, not enforced by pydantic: the validator below says more precisely what is wrong.
        json_schema_extra={"format": "uri", "pattern": "^[Hh][Tt][Tt][Pp][Ss]?://[!-~]+$"},
        examples=["https://example.com/textgate/status"],
        description="an https:// URL whose host resolves only to public addresses (no user info, no fragment): "
        "textgate POSTs the operation there, signed, when it reaches a final status",
    ),
    AfterValidator(_status_callback),
]
# RFC 3339 with its offset, as the document shows it; logic/scheduling.py judges it (and says what is wrong).
SEND_AT_PATTERN = r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d{1,6})?([Zz]|[+-]\d{2}:\d{2})$"
SendAt = Annotated[str, Field(max_length=64, json_schema_extra={"format": "date-time", "pattern": SEND_AT_PATTERN})]
Purpose = Literal["transactional", "marketing"]


class SchedulableRequest(RequestModel):
    """A send that may wait: for a time of the caller's, and (marketing) for the end of the recipient's quiet
    hours. textgate judges `send_at` (RFC 3339 with an offset, 1 minute to 35 days ahead) against its clock."""

    send_at: SendAt | None = Field(
        default=None,
        examples=["2026-12-24T09:00:00-05:00"],
        description="send then instead of now: RFC 3339 with an offset, 1 minute to 35 days ahead",
    )
    purpose: Purpose = Field(
        default="transactional",
        description="marketing is never handed to a provider inside the recipient's quiet hours",
    )


class OperationPath(RequestModel):
    """{id} of /v1/operations/{id} and /v1/ogangi/pins/{id}/check (another value is simply not found)."""

    id: str = Field(pattern=OPERATION_ID_PATTERN, examples=["op_3f9a1c0e5b7d2a4c6e8f0a1b"])


class Health(BaseModel):
    model_config = ConfigDict(defer_build=True)  # only the OpenAPI document's build uses it

    status: Literal["ok"]


class GatewayMessage(BaseModel):
    """What API Gateway itself answers (a missing or unknown API key): not a problem document."""

    model_config = ConfigDict(defer_build=True)  # only the OpenAPI document's build uses it

    message: str = Field(examples=["Forbidden"])
