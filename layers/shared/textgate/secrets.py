"""Provider credentials from Secrets Manager, cached per container so a warm call costs nothing.

A secret's value is a JSON object. Values never reach a log, an answer or an error message.
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any

from textgate import aws, log
from textgate.settings import get_settings

_lock = threading.Lock()
_cache: dict[str, tuple[float, dict[str, Any]]] = {}


class SecretUnavailable(RuntimeError):
    """The secret could not be read; the message names the secret id, never its value."""


def get_secret(secret_id: str) -> dict[str, Any]:
    now = time.monotonic()
    with _lock:
        cached = _cache.get(secret_id)
        if cached and cached[0] > now:
            return cached[1]
    try:
        raw = aws.secretsmanager().get_secret_value(SecretId=secret_id)["SecretString"]
        value = json.loads(raw)
    except Exception as exc:  # noqa: BLE001 - any failure is the same to the caller
        raise SecretUnavailable(f"secret {secret_id} could not be read ({type(exc).__name__})") from None
    if not isinstance(value, dict):
        raise SecretUnavailable(f"secret {secret_id} is not a JSON object")
    log.register_secret_values(value.values())  # whatever field a value lands in, the logs never show it
    with _lock:
        _cache[secret_id] = (now + get_settings().secret_cache_seconds, value)
    return value


def clear_cache() -> None:
    with _lock:
        _cache.clear()
