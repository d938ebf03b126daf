"""Provider credentials from Secrets Manager, cached per container so a warm call costs nothing.

A secret's value is a JSON object. Values never reach a log, an answer or an error message.
"""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import Future
from typing import Any

from textgate import aws, log
from textgate.settings import get_settings

_lock = threading.Lock()
_cache: dict[str, tuple[float, dict[str, Any]]] = {}
# Reads under way, by secret id: the deliveries of a batch start together in a new container, and all of them
# wait for the one read instead of each paying for its own.
_reading: dict[str, Future[dict[str, Any]]] = {}


class SecretUnavailable(RuntimeError):
    """The secret could not be read; the message names the secret id, never its value."""


def get_secret(secret_id: str) -> dict[str, Any]:
    """The secret's value, from the container's cache while it is fresh; one Secrets Manager call per refresh,
    however many threads ask at once (they share its answer, or its failure)."""
    now = time.monotonic()
    with _lock:
        cached = _cache.get(secret_id)
        if cached and cached[0] > now:
            return cached[1]
        reading = _reading.get(secret_id)
        leader = reading is None
        if reading is None:
            reading = _reading[secret_id] = Future()
    if not leader:
        return reading.result()
    try:
        value = _read(secret_id)
    except BaseException as exc:  # whatever stops the read, the threads waiting on it must not wait forever
        with _lock:
            del _reading[secret_id]
        reading.set_exception(exc)
        raise
    with _lock:
        _cache[secret_id] = (now + get_settings().secret_cache_seconds, value)
        del _reading[secret_id]
    reading.set_result(value)
    return value


def _read(secret_id: str) -> dict[str, Any]:
    try:
        raw = aws.secretsmanager().get_secret_value(SecretId=secret_id)["SecretString"]
        value = json.loads(raw)
    except Exception as exc:  # noqa: BLE001 - any failure is the same to the caller
        raise SecretUnavailable(f"secret {secret_id} could not be read ({type(exc).__name__})") from None
    if not isinstance(value, dict):
        raise SecretUnavailable(f"secret {secret_id} is not a JSON object")
    log.register_secret_values(value.values())  # whatever field a value lands in, the logs never show it
    return value


def clear_cache() -> None:
    with _lock:
        _cache.clear()
