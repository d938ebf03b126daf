"""Listing Ogangi's inbound messages (getMOMessages): a synchronous read, answered straight to the caller."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from textgate.errors import ProviderTimeout, ProviderUnavailable
from textgate.executors import NotAttempted
from textgate.executors.ogangi import client
from textgate.providers.outcome import Verdict
from textgate.schemas.ogangi import ListMoQuery


def list_inbound(query: ListMoQuery) -> dict[str, Any]:
    try:
        ogangi = client()
    except NotAttempted:
        raise ProviderUnavailable("Ogangi credentials are not available") from None
    outcome = ogangi.get_mo_messages(page=query.page, per_page=query.per_page, filter_text=query.filter)
    if outcome.verdict is Verdict.SUCCEEDED and outcome.result is not None:
        return {
            "total": outcome.result["total"],
            "page": query.page,
            "per_page": query.per_page,
            "items": [{**item, "sent_at": sent_at(item.get("sent_at"))} for item in outcome.result["items"]],
        }
    if outcome.code == "provider_timeout":
        raise ProviderTimeout("Ogangi did not answer in time")
    raise ProviderUnavailable(f"Ogangi could not list messages: {outcome.message or outcome.code}")


def sent_at(ogangi_date: str | None) -> str | None:
    """Ogangi's sendDate ("2014-10-13 10:30:51.922", sometimes with an offset) as RFC 3339 UTC.
    Assumption: a date without an offset is UTC (Ogangi documents none for inbound messages)."""
    if not ogangi_date:
        return None
    try:
        moment = datetime.fromisoformat(ogangi_date.strip().replace(" ", "T", 1))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
