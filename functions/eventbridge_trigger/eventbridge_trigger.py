"""Starts operations from events on the project's bus (DetailType = the operation, Detail = the body)."""

from typing import Any

from textgate.http_api import setup_logging
from textgate.logic.triggers import handle

setup_logging()


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return handle(event)
