"""Publishing to the project's EventBridge bus."""

from __future__ import annotations

import json
from typing import Any

from textgate import aws, log
from textgate.settings import get_settings

SOURCE = "textgate"
logger = log.get_logger(__name__)


def publish(detail_type: str, detail: dict[str, Any]) -> bool:
    """Best effort: an event that cannot be published is logged, never allowed to undo the work it reports."""
    try:
        answer = aws.events().put_events(
            Entries=[
                {
                    "Source": SOURCE,
                    "DetailType": detail_type,
                    "Detail": json.dumps(detail, ensure_ascii=False),
                    "EventBusName": get_settings().event_bus_name,
                }
            ]
        )
    except Exception:
        logger.exception("event not published", extra={"detail_type": detail_type})
        return False
    if answer.get("FailedEntryCount"):
        logger.error("event not published", extra={"detail_type": detail_type})
        return False
    return True
