"""GET and POST /v1/sumotext/callbacks/{kind}: Sumotext calls this (token in the URL, no API key)."""

from typing import Any

from textgate.http_api import ApiRequest, api_handler, respond_text, setup_logging
from textgate.logic.sumotext import receive
from textgate.sumotext_http import read_callback

setup_logging()


@api_handler
def handler(request: ApiRequest) -> dict[str, Any]:
    receive(read_callback(request))  # a repeat is answered as the first was: Sumotext only needs to know it is kept
    return respond_text(200, "OK")
