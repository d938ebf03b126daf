"""Listing Ogangi's inbound messages (getMOMessages): a synchronous read, answered straight to the caller."""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from textgate.errors import ProviderTimeout, ProviderUnavailable
from textgate.providers.accounts import NotAttempted
from textgate.providers.accounts import ogangi as client
from textgate.providers.outcome import Verdict
from textgate.schemas.ogangi import InboundMessage, InboundPage, ListMoQuery
from textgate.settings import get_settings

logger = logging.getLogger(__name__)

_DAY_THEN_TIME = re.compile(r"^(\d{4}-\d{2}-\d{2})[ T]")
_SPACE_BEFORE_OFFSET = re.compile(r"\s+(?=(?:[+-]\d{2}(?::?\d{2})?|Z)$)")
_OFFSET = re.compile(r"^(?:UTC|GMT)?\s*([+-])(\d{1,2})(?::?(\d{2}))?$", re.IGNORECASE)


def list_inbound(query: ListMoQuery) -> dict[str, Any]:
    try:
        ogangi = client()
    except NotAttempted:
        raise ProviderUnavailable("Ogangi credentials are not available") from None
    outcome = ogangi.get_mo_messages(page=query.page, per_page=query.per_page, filter_text=query.filter)
    if outcome.verdict is Verdict.SUCCEEDED and outcome.result is not None:
        account_zone = ZoneInfo(get_settings().ogangi_time_zone)  # checked when the settings were read
        return inbound_page(outcome.result, query, account_zone).model_dump(mode="json", by_alias=True)
    if outcome.code == "provider_timeout":
        raise ProviderTimeout("Ogangi did not answer in time")
    raise ProviderUnavailable(f"Ogangi could not list messages: {outcome.message or outcome.code}")


def inbound_page(result: dict[str, Any], query: ListMoQuery, account_zone: tzinfo = UTC) -> InboundPage:
    """Every message Ogangi listed, with what could be read of it; `unreadable` counts those not read whole
    (broken XML, or a date or time zone that cannot be read). A date that names no zone is in `account_zone`."""
    items = []
    unreadable = 0
    for item in result["items"]:
        when = sent_at(item.get("sent_at"), item.get("timezone"), account_zone)
        if not item.get("readable", True) or (item.get("sent_at") and when is None):
            unreadable += 1
        items.append(
            InboundMessage.model_validate(
                {key: item.get(key) for key in ("text", "from", "to", "encoding", "keyword", "carrier")}
                | {"sent_at": when}
            )
        )
    if unreadable:
        logger.warning("Ogangi listed inbound messages that could not be read whole", extra={"unreadable": unreadable})
    return InboundPage(
        total=result["total"], page=query.page, per_page=query.per_page, items=items, unreadable=unreadable
    )


def sent_at(ogangi_date: str | None, zone: str | None = None, account_zone: tzinfo = UTC) -> str | None:
    """Ogangi's sendDate ("2014-10-13 10:30:51.922", or with an offset as in sendSMS's `2013-09-17T10:13:59.176-04:30`)
    as RFC 3339 UTC. The date's own offset comes first, then the message's time zone (an IANA name as in sendSMS's
    `<timezone>America/Caracas</timezone>`, or an offset). With neither (the seed's own sample), the date is in
    `account_zone`, the account's OGANGI_TIME_ZONE. None when the date or the zone cannot be read."""
    if not ogangi_date:
        return None
    text = _SPACE_BEFORE_OFFSET.sub("", _DAY_THEN_TIME.sub(r"\1T", ogangi_date.strip(), count=1), count=1)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        given = _zone(zone) if zone and zone.strip() else account_zone
        if given is None:
            return None
        moment = moment.replace(tzinfo=given)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _zone(name: str | None) -> tzinfo | None:
    """The time zone Ogangi named, None when the name cannot be read."""
    name = (name or "").strip()
    if name.upper() in ("UTC", "GMT", "Z"):
        return UTC
    offset = _OFFSET.match(name)
    if offset:
        sign, hours, minutes = offset.groups()
        delta = timedelta(hours=int(hours), minutes=int(minutes or 0))
        return timezone(-delta if sign == "-" else delta) if delta < timedelta(hours=24) else None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        logger.warning("Ogangi gave a time zone that is not known here", extra={"timezone": name[:64]})
        return None
