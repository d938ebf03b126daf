"""What a text may hold to be sent: a rule of its own, without pydantic, so that reading a refusal (validation)
does not import the request models."""

from __future__ import annotations

import re

# Control characters other than TAB, LF and CR, and what XML 1.0 cannot carry at all (lone surrogates, which UTF-8
# cannot encode either, U+FFFE and U+FFFF): no provider's XML or form can take them, so a text holding one is
# refused at the edge rather than ending `unknown` at delivery.
_UNSENDABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
SENDABLE_PATTERN = "^[^\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f-\\u009f\\ufffe\\uffff]*$"
NOT_SENDABLE = (
    "holds characters that cannot be sent: control characters other than tab and line breaks, or U+FFFE/U+FFFF"
)


def sendable(value: str) -> str:
    if _UNSENDABLE.search(value):
        raise ValueError(NOT_SENDABLE)
    return value
