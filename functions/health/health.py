"""GET /v1/health: liveness, no API key, no I/O."""

from typing import Any

from textgate.http_api import respond


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return respond(200, {"status": "ok"})
