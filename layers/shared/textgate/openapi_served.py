"""The OpenAPI document as GET /v1/openapi.json serves it: the file the layer's build wrote, when there is one.

Building the document imports and walks every request and answer model, which is most of a cold start of the
function that serves it; the layer ships it built (layers/shared/Makefile). Where the layer is the source tree
(the local stack, tests), it is built from the models at the first request instead.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from textgate.settings import get_settings

# The same names as textgate.openapi.shipped_name, without importing the models to learn them.
_SHIPPED = {"rest": "openapi-rest.json", "soap": "openapi-soap.json"}


@lru_cache(maxsize=1)
def served_document() -> dict[str, Any]:
    protocol = get_settings().interact_protocol
    shipped = Path(__file__).with_name(_SHIPPED[protocol])
    if shipped.is_file():
        document: dict[str, Any] = json.loads(shipped.read_text(encoding="utf-8"))
        return document
    from textgate.openapi import document_for  # noqa: PLC0415 - only without a shipped document

    return document_for(protocol)
