"""Idempotency-Key: the same key and body replay the first answer; another body is refused; a key whose
first request is still running is a 409. Answers under 500 are kept for 24 hours; a 5xx frees the key."""

from __future__ import annotations

import contextvars
import hashlib
import hmac
import json
from collections.abc import Callable
from typing import Any

from textgate import clock, log
from textgate.dal import idempotency as store
from textgate.errors import IdempotencyKeyInUse, IdempotencyKeyReused, ValidationFailed
from textgate.models import new_operation_id

HEADER = "Idempotency-Key"
logger = log.get_logger(__name__)
_reserved: contextvars.ContextVar[str | None] = contextvars.ContextVar("reserved_operation_id", default=None)
_resumed: contextvars.ContextVar[bool] = contextvars.ContextVar("resumed_claim", default=False)
LOCK_SECONDS = 60.0


def request_hash(method: str, path: str, body: str | None, *, key: bytes | None = None) -> str:
    """What makes two requests "the same". Keyed (HMAC) when the body holds a secret, so the stored
    fingerprint cannot be reversed by trying every short code."""
    try:
        canonical = json.dumps(json.loads(body or ""), sort_keys=True, separators=(",", ":"))
    except ValueError:
        canonical = body or ""
    message = f"{method} {path}\n{canonical}".encode()
    if key is not None:
        return hmac.new(key, message, hashlib.sha256).hexdigest()
    return hashlib.sha256(message).hexdigest()


def check_key(key: str) -> None:
    if not 1 <= len(key) <= 255:
        raise ValidationFailed(
            "invalid Idempotency-Key", errors=[{"field": HEADER, "message": "must be 1 to 255 characters"}]
        )


def run_once(scope: str, key: str, fingerprint: str, run: Callable[[], dict[str, Any]]) -> tuple[dict[str, Any], bool]:
    """Run `run` at most once per (scope, key); answer (response, replayed)."""
    check_key(key)
    scoped = f"{scope}#{key}"
    reserved: str | None = None
    fresh = new_operation_id()
    for _ in range(2):
        reserved = store.try_claim(scoped, fingerprint, fresh, now=clock.now(), lock_seconds=LOCK_SECONDS)
        if reserved is not None:
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
    token = _reserved.set(reserved)
    resumed = _resumed.set(reserved != fresh)
    try:
        response = run()
    except BaseException:
        store.release(scoped)
        raise
    finally:
        _reserved.reset(token)
        _resumed.reset(resumed)
    if not _keepable(int(response.get("statusCode", 500))):
        store.release(scoped)
        return response, False
    try:
        store.complete(scoped, response)
    except Exception:  # the work is done: a retry finds the reserved operation rather than acting again
        logger.exception("could not record the answer for this idempotency key")
    return response, False


def _keepable(status: int) -> bool:
    """Answers that say "try again" (a 5xx, a 409 while something is pending, a 429) are not replayed: the
    retry they ask for must reach the route."""
    return status < 500 and status not in (409, 429)


def reserved_operation_id() -> str | None:
    """The operation id this request's Idempotency-Key reserved, if it has one (see dal.idempotency.try_claim)."""
    return _reserved.get()


def resumed() -> bool:
    """Whether this request took over the claim of an earlier attempt that never answered (it died half way):
    then the work it reserved may be partly done, and a batch looks for the operations it already created."""
    return _resumed.get()
