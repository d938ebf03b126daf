"""Idempotency-Key: the same key and body replay the first answer; another body is refused; a key whose
first request is still running is a 409. Answers under 500 are kept for 24 hours; a 5xx frees the key."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

from textgate import clock
from textgate.dal import idempotency as store
from textgate.errors import IdempotencyKeyInUse, IdempotencyKeyReused, ValidationFailed

HEADER = "Idempotency-Key"
LOCK_SECONDS = 60.0


def request_hash(method: str, path: str, body: str | None) -> str:
    try:
        canonical = json.dumps(json.loads(body or ""), sort_keys=True, separators=(",", ":"))
    except ValueError:
        canonical = body or ""
    return hashlib.sha256(f"{method} {path}\n{canonical}".encode()).hexdigest()


def check_key(key: str) -> None:
    if not 1 <= len(key) <= 255:
        raise ValidationFailed(
            "invalid Idempotency-Key", errors=[{"field": HEADER, "message": "must be 1 to 255 characters"}]
        )


def run_once(scope: str, key: str, fingerprint: str, run: Callable[[], dict[str, Any]]) -> tuple[dict[str, Any], bool]:
    """Run `run` at most once per (scope, key); answer (response, replayed)."""
    check_key(key)
    scoped = f"{scope}#{key}"
    for _ in range(2):
        if store.try_claim(scoped, fingerprint, now=clock.now(), lock_seconds=LOCK_SECONDS):
            break
        record = store.get(scoped)
        if record is None:
            continue  # expired and removed between our two reads: claim again
        if record.request_hash != fingerprint:
            raise IdempotencyKeyReused(f"this {HEADER} was used with another request")
        if record.state != store.COMPLETED or record.response is None:
            raise IdempotencyKeyInUse(f"the first request with this {HEADER} is still running")
        return record.response, True
    else:
        raise IdempotencyKeyInUse(f"the first request with this {HEADER} is still running")
    try:
        response = run()
    except BaseException:
        store.release(scoped)
        raise
    if int(response.get("statusCode", 500)) >= 500:
        store.release(scoped)
    else:
        store.complete(scoped, response)
    return response, False
