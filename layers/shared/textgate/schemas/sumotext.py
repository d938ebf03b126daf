"""Sumotext callbacks, the stored hits, the events query and the suppression list's answers."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from textgate import clock
from textgate.callback_hits import FieldValue, Kind
from textgate.schemas.common import CountryCode, Phone, RequestModel, Text, normalise_phone
from textgate.sendable import sendable

KINDS: frozenset[str] = frozenset(("crm", "poll", "text4info", "mo", "dlr"))
Pair = tuple[str, str]


@dataclass(frozen=True)
class CallbackRequest:
    """One callback as the HTTP edge read it: what the logic judges, stores and acts on."""

    kind: str
    tokens: list[str]  # every `token` parameter given (exactly one is accepted)
    pairs: list[Pair]  # every other parameter, query first, then the form
    raw_body: str | None  # a POST body that was not read as parameters, kept as text
    raw_body_truncated: bool
    source_ip: str
    method: str
    body_problem: str | None = None  # why the body was kept raw rather than read


# A callback parameter's value. Nothing is refused for its length: a value longer than 4,096 characters (the
# mobile: 64; the ids that become keys: 256) leaves the hit stored unread, with a `problem` (logic/sumotext.py).
CallbackValue = str


class CallbackQuery(BaseModel):
    """What Sumotext sends (query string or form); every other parameter is kept as it came. Documents only."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    token: CallbackValue = Field(description="The shared secret of the callback URL; never stored")
    mobile: CallbackValue | None = Field(
        default=None,
        description="Expected except for dlr: national digits (read with `country`) or E.164, up to 64 characters. "
        "A hit without one is still stored, with a `problem`, and changes no opt-out",
    )
    country: CallbackValue | None = Field(default=None, description="USA, US, CAN, CA, …; US when absent")
    shortcode: CallbackValue | None = Field(default=None, description="Also accepted as `short code`")
    key: CallbackValue | None = Field(default=None, description="Keyword; a poll's replies are listed by it")
    carrier: CallbackValue | None = Field(default=None, description="Also accepted as `carrierId`")
    reply: CallbackValue | None = Field(default=None, description="poll: the user's answer")
    label: CallbackValue | None = Field(default=None, description="poll: the answer's label")
    lead: CallbackValue | None = Field(default=None, description="text4info: the keyword")
    msg: CallbackValue | None = Field(
        default=None, description="text4info, mo: the text; STOP, START, … change the opt-out list"
    )
    smsid: CallbackValue | None = Field(
        default=None, description="mo: the message id; a repeat (same number, smsid and msg) is stored once"
    )
    sumoid: CallbackValue | None = Field(default=None, description="dlr: expected, the message id")
    mtcode: CallbackValue | None = Field(default=None, description="dlr: 4 delivered, 5 failed")
    mtdescription: CallbackValue | None = Field(default=None, description="dlr: the status in words")


class CallbackEventView(BaseModel):
    id: str
    kind: Kind
    mobile: str | None
    received_at: str
    fields: dict[str, FieldValue]
    raw_body: str | None = Field(
        default=None, description="A POST body that was not a form or a JSON object, as text; the token never"
    )
    problem: str | None = Field(default=None, description="Why part of the hit was kept unread; null when it was read")


class CallbackEventsPage(BaseModel):
    items: list[CallbackEventView]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next (older) page; null at the end")


def _plus_from_query(value: object) -> object:
    """An unencoded '+' in a query string arrives as a space: '?mobile=+1212…' means +1212…."""
    if isinstance(value, str) and value.startswith(" ") and value.strip():
        return "+" + value.strip()
    return value


class EventsQuery(RequestModel):
    country: CountryCode | None = Field(default=None, description="ISO 3166 alpha-2 of a national `mobile`")
    mobile: Phone | None = Field(default=None, description="E.164 (or national digits with `country`)")
    kind: Kind | None = Field(default=None, description="`mobile` or `kind` is required")
    keyword: Text | None = Field(
        default=None, min_length=1, max_length=64, description="With kind=poll: one poll's replies"
    )
    since: Text | None = Field(
        default=None,
        description="RFC 3339; only hits received at or after it",
        json_schema_extra={"format": "date-time"},
    )
    limit: int = Field(default=50, ge=1, le=100, description="Items per page, 1 to 100")
    cursor: Text | None = Field(default=None, min_length=1, max_length=2048, description="`next_cursor` of a page")

    @field_validator("mobile", mode="before")
    @classmethod
    def _mobile(cls, value: object, info: ValidationInfo) -> str:
        return normalise_phone(_plus_from_query(value), info)

    @field_validator("since", mode="before")
    @classmethod
    def _since(cls, value: object) -> object:
        if isinstance(value, str):
            # An unencoded offset '+' (…T10:00:00+02:00) came as a space.
            value = sendable(value).strip().replace(" ", "+")
            try:
                clock.parse_rfc3339(value)
            except ValueError:
                raise ValueError("must be an RFC 3339 time, like 2026-11-22T10:00:00Z") from None
        return value


class CallbackPath(RequestModel):
    kind: Kind = Field(description="Another kind is not found (404)")


class OptOutPath(RequestModel):
    phone: Phone = Field(description="E.164 (the '+' URL-encoded as %2B), or national digits with `country`")


class OptOutQuery(RequestModel):
    country: CountryCode | None = Field(default=None, description="ISO 3166 alpha-2 of a national `phone`")


class OptOutView(BaseModel):
    phone: str = Field(examples=["+12125551212"])
    opted_out: bool
    source: str | None = Field(
        examples=["sumotext"],
        description="Where the change came from: sumotext (the recipient's STOP or START), api, protexting; "
        "null if never listed",
    )
    changed_by: str | None = Field(
        examples=["sumotext"], description="Who made the last change: the client, sumotext or the provider"
    )
    updated_at: str | None = Field(description="When the number last changed on the list; null if never listed")
