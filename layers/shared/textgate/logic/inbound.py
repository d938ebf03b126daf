"""Listing Ogangi's inbound messages (getMOMessages): a synchronous read, answered straight to the caller."""

from __future__ import annotations

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
            "items": outcome.result["items"],
        }
    if outcome.code == "provider_timeout":
        raise ProviderTimeout("Ogangi did not answer in time")
    raise ProviderUnavailable(f"Ogangi could not list messages: {outcome.message or outcome.code}")
