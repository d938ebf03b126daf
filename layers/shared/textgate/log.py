"""Structured JSON logs through Powertools' Logger, and never a whole phone number nor a secret.

- One Powertools `Logger` (service `textgate`, from `POWERTOOLS_SERVICE_NAME`) owns the `textgate` logger; the
  layer's modules log through its children (`get_logger(__name__)` is `textgate.<module>`), so
  `logger.info(..., extra={...})` puts the extra keys in the line.
- Keys bound for a request or an operation (`bind`, and the Lambda context keys of `textgate.invocation`) live in
  the Logger's thread-safe keys, set and read through Powertools' public `thread_safe_*` methods: a context
  variable, so the calls that delivery runs in its thread pool, and the functions that the local stack runs side
  by side in one process, never see each other's keys.
- Every line passes through `redact`, so a number that slips into a message is masked all the same; a field whose
  name says it holds a secret is never written, and neither is any value read from Secrets Manager
  (`register_secret_values` registers them), whatever field it lands in.
- `POWERTOOLS_LOGGER_SAMPLE_RATE` logs that share of invocations at DEBUG (drawn again at each invocation).
"""

from __future__ import annotations

import json
import logging
import re
import sys
import threading
from collections.abc import Iterable, Mapping
from functools import cache
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from aws_lambda_powertools.logging import Logger
    from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter

# Powertools is imported when logging is configured (each function's import does it) or a key is first bound, not
# with this module: a function that logs nothing (health) does not pay for it at cold start.

SERVICE_LOGGER = "textgate"

# What a phone number looks like in a log line: 7 to 15 digits standing alone, maybe after '+' (or '%2B' in
# a URL), maybe split by spaces, dots, dashes or brackets (+1 (305) 670-8084).
_PHONE = re.compile(r"(?<![\w.:-])(?:\+|%2B)?\(?\d[\d ().-]{5,20}\d(?![\w.:])", re.IGNORECASE)
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# Field names that hold a secret, wherever they appear (a nested dict, an `extra`, a bound key).
_SECRET_FIELD = re.compile(
    r"pass(word|wd|phrase)?$|secret|token|private_?key|api_?key$|authori[sz]ation|signature|credential|^pin$|^pin_",
    re.IGNORECASE,
)
REDACTED = "[redacted]"
_MIN_SECRET_CHARS = 6  # shorter values (an empty environment name, "434") would mask ordinary text


class Bound(NamedTuple):  # not a dataclass: a tenth of the import time, at every cold start
    """What was bound before a `bind`: hand it to `unbind` to put it back."""

    keys: Mapping[str, Any]


_secret_values: set[str] = set()
_secrets_lock = threading.Lock()
_configured: Logger | None = None
_root_handler: logging.Handler | None = None


class StdoutHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever `sys.stdout` is when a line is written (Lambda's, or a test's captured one)."""

    def __init__(self) -> None:
        super().__init__(sys.stdout)

    @property
    def stream(self) -> Any:
        return sys.stdout

    @stream.setter
    def stream(self, value: Any) -> None:
        return None


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


def register_secret_values(values: Iterable[Any]) -> None:
    """Values read from Secrets Manager: never written to a log, whatever field or message they end up in."""
    found = {str(value) for value in values if isinstance(value, str | int) and len(str(value)) >= _MIN_SECRET_CHARS}
    with _secrets_lock:
        _secret_values.update(found)


def _scrub(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {
            key: REDACTED if isinstance(key, str) and _SECRET_FIELD.search(key) and item else _scrub(item)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [_scrub(item) for item in value]
    return value


def _hide_secret_values(line: str) -> str:
    with _secrets_lock:
        values = sorted(_secret_values, key=len, reverse=True)
    for secret in values:
        if secret in line:
            line = line.replace(secret, REDACTED)
        escaped = json.dumps(secret, ensure_ascii=False)[1:-1]
        if escaped != secret and escaped in line:
            line = line.replace(escaped, REDACTED)
    return line


@cache
def _formatter_class() -> type[LambdaPowertoolsFormatter]:
    from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter  # noqa: PLC0415 - see above

    class RedactingFormatter(LambdaPowertoolsFormatter):
        """Powertools' JSON formatter, with secret fields dropped and phone numbers and secret values masked."""

        def serialize(self, log: Any) -> str:
            return redact(_hide_secret_values(super().serialize(_scrub(log))))

    return RedactingFormatter


def _formatter() -> LambdaPowertoolsFormatter:
    return _formatter_class()(
        utc=True,
        use_rfc3339=True,
        log_record_order=["timestamp", "level", "message", "location"],
        # Filled from each record: the module's logger (textgate.delivery), the function and the line.
        location="%(name)s.%(funcName)s:%(lineno)d",
    )


def configure(level: str = "INFO") -> Logger:
    """The service's Logger, writing to the current stdout (Lambda sends it to the function's log group).

    Called at import of each function module; called again, it only sets the level."""
    global _configured, _root_handler
    if _configured is None:
        from aws_lambda_powertools.logging import Logger  # noqa: PLC0415 - see above

        _configured = Logger(
            service=SERVICE_LOGGER,
            level=level.upper(),
            logger_handler=StdoutHandler(),
            logger_formatter=_formatter(),
        )
        service_logger = logging.getLogger(SERVICE_LOGGER)
        service_logger.propagate = False  # our lines are written once, by the Logger's handler
        _root_handler = StdoutHandler()
        _root_handler.setFormatter(_formatter())
    else:
        _configured.setLevel(level.upper())
    root = logging.getLogger()
    root.setLevel(level.upper())
    # Lambda's runtime installs its own plain-text handler: replace it so every line (boto's too) is JSON.
    root.handlers = [_root_handler] if _root_handler is not None else []
    for noisy in ("botocore", "boto3", "urllib3", "aws_xray_sdk"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    return _configured


def setup() -> None:
    """Called once at import of each function module: reads the settings and sets the Logger at their level.

    A bad environment raises `SettingsError` here, after a JSON line naming what is wrong: the Lambda init fails
    (and the next invocation tries it again), rather than every request answering 500."""
    from textgate.settings import SettingsError, get_settings  # noqa: PLC0415 - a module that logs may not need them

    try:
        level = get_settings().log_level
    except SettingsError as exc:
        configure("INFO").critical("the function's environment is wrong; it cannot start", extra={"error": str(exc)})
        raise
    configure(level)


def service_logger() -> Logger | None:
    """The Powertools Logger once configured (None before: nothing logs through it yet)."""
    return _configured


def refresh_sampling() -> None:
    """Draw again whether this invocation logs at DEBUG (`POWERTOOLS_LOGGER_SAMPLE_RATE`)."""
    if _configured is not None and _configured.sampling_rate:
        _configured.refresh_sample_rate_calculation()


@cache
def _keys() -> LambdaPowertoolsFormatter:
    """Where bound keys live: Powertools' thread-safe keys, through its public API (the `thread_safe_*` methods
    that `Logger` forwards to its formatter). They are one context variable for every formatter, so this one
    (not the Logger, which may not be configured yet) sees and sets what every line is written with."""
    return _formatter()


def bind(**fields: Any) -> Bound:
    """Add fields (operation_id, correlation_id, …) to every line logged in this context: the Logger's
    thread-safe keys, set for this thread (or copied context) only; `unbind` puts back what was there."""
    keys = _keys()
    before = Bound(keys.thread_safe_get_current_keys())
    keys.thread_safe_append_keys(**fields)  # a new mapping: a copied context keeps seeing its own
    return before


def unbind(before: Bound) -> None:
    # Cleared and set again rather than `thread_safe_remove_keys`, which edits the mapping that other threads'
    # copies of this context may share; `before` also restores a key that `bind` overwrote.
    keys = _keys()
    keys.thread_safe_clear_keys()
    keys.thread_safe_append_keys(**before.keys)


def bound() -> dict[str, Any]:
    """The keys bound in this context (what `thread_safe_get_current_keys` answers)."""
    return dict(_keys().thread_safe_get_current_keys())


def get_logger(name: str) -> logging.Logger:
    """A module's logger: a child of the service's Logger when `name` is `textgate.<module>`."""
    return logging.getLogger(name)
