"""GET /v1/sumotext/events: stored callbacks by mobile, kind or poll keyword, newest first."""

from typing import Any

from textgate.http_api import ApiRequest, api_handler, respond, setup_logging
from textgate.logic.sumotext import list_events
from textgate.schemas.sumotext import EventsQuery
from textgate.validation import validate

setup_logging()


@api_handler
def handler(request: ApiRequest) -> dict[str, Any]:
    page = list_events(validate(EventsQuery, request.query))
    return respond(200, page.model_dump())
