"""Structured JSON logs: one object per line, with the operation id, and never a whole phone number.

Every line passes through `redact`, so a number that slips into a message is masked all the same.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
import time
from typing import Any

_context: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar("log_context", default=None)

# What a phone number looks like in a log line: 7 to 15 digits standing alone, maybe after '+' (or '%2B' in
# a URL), maybe split by spaces, dots, dashes or brackets (+1 (305) 670-8084).
_PHONE = re.compile(r"(?<![\w.:-])(?:\+|%2B)?\(?\d[\d ().-]{5,20}\d(?![\w.:])", re.IGNORECASE)
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_RESERVED = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime"}


def mask_phone(number: str) -> str:
    """Keep a '+' and the last four digits: enough to tell numbers apart in a log, not to dial them."""
    digits = number.lstrip("+")
    prefix = "+" if number.startswith("+") else ""
    if len(digits) <= 4:
        return prefix + "*" * len(digits)
    return prefix + "*" * (len(digits) - 4) + digits[-4:]


def _mask_match(match: re.Match[str]) -> str:
    found = match.group(0)
    digits = re.sub(r"\D", "", found.upper().replace("%2B", "+"))
    if not 7 <= len(digits) <= 15 or _DATE.match(found):
        return found
    return mask_phone(("+" if found.startswith(("+", "%2B", "%2b")) else "") + digits)


def redact(text: str) -> str:
    return _PHONE.sub(_mask_match, text)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update(_context.get() or {})
        for key, value in record.__dict__.items():
            if key not in _RESERVED and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return redact(json.dumps(entry, default=str, ensure_ascii=False))


def bind(**fields: Any) -> contextvars.Token[dict[str, Any] | None]:
    """Add fields (operation_id, request_id, …) to every line logged in this context."""
    return _context.set({**(_context.get() or {}), **fields})


def unbind(token: contextvars.Token[dict[str, Any] | None]) -> None:
    _context.reset(token)


def configure(level: str = "INFO") -> None:
    root = logging.getLogger()
    root.setLevel(level.upper())
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter())
    # Lambda's runtime installs its own plain-text handler: replace it so every line is JSON.
    root.handlers = [handler]
    for noisy in ("botocore", "boto3", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def get_logger(name: str) -> logging.Logger:
    return logging.getLogger(name)
