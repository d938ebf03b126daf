"""X-Ray through Powertools' Tracer, started only when an invocation is sampled, and never holding personal data.

- The X-Ray SDK costs a cold start about as much as the rest of a handler's imports (docs/decisions.md has the
  figure), so nothing here imports it until an invocation arrives with a sampled trace header
  (`_X_AMZN_TRACE_ID` with `Sampled=1`) in Lambda; an unsampled invocation, the local stack and the tests never
  pay for it. `POWERTOOLS_TRACE_DISABLED=true` turns it off altogether.
- Only botocore is patched (DynamoDB, SQS, EventBridge and Secrets Manager calls, recorded with their operation
  and table or queue, never their items). `requests` is not patched: a provider's URL can hold a phone number and
  a signature (Ogangi puts both in its path), and its body a PIN or a text. Provider calls are traced by
  `provider_call` instead: a subsegment per call with annotations only (provider, operation, HTTP status).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from aws_lambda_powertools.tracing import Tracer

    from textgate.registry import OperationName, Provider

_tracer: Tracer | None = None
_lock = threading.Lock()


class Span(Protocol):
    def annotate(self, key: str, value: str | int | float | bool) -> None: ...


class _NoSpan:
    def annotate(self, key: str, value: str | int | float | bool) -> None:
        return None


class _Subsegment:
    def __init__(self, segment: object) -> None:
        self._segment = segment

    def annotate(self, key: str, value: str | int | float | bool) -> None:
        put = getattr(self._segment, "put_annotation", None)
        if put is not None:
            put(key, value)


def sampled() -> bool:
    """Whether this invocation is traced: in Lambda, with a sampled trace header, and not turned off."""
    if os.environ.get("POWERTOOLS_TRACE_DISABLED", "").lower() in ("1", "true", "yes", "on"):
        return False
    if not os.environ.get("LAMBDA_TASK_ROOT") or os.environ.get("AWS_SAM_LOCAL"):
        return False
    return "Sampled=1" in os.environ.get("_X_AMZN_TRACE_ID", "")


def activate() -> bool:
    """At the start of each invocation: build the Tracer (and patch botocore) the first time one is sampled."""
    global _tracer
    if _tracer is not None:
        return True
    if not sampled():
        return False
    with _lock:
        if _tracer is None:
            from aws_lambda_powertools.tracing import Tracer  # noqa: PLC0415 - only when a trace is sampled

            _tracer = Tracer(auto_patch=True, patch_modules=["botocore"])
    return True


def active() -> bool:
    return _tracer is not None and not _tracer.disabled


@contextmanager
def provider_call(provider: Provider, operation: OperationName | None) -> Iterator[Span]:
    """A subsegment around one provider HTTP call: annotations only, never the URL, a header or a body."""
    tracer = _tracer
    if tracer is None or tracer.disabled:
        yield _NoSpan()
        return
    with tracer.provider.in_subsegment(name=f"## {provider}") as segment:
        span = _Subsegment(segment)
        span.annotate("provider", provider)
        if operation:
            span.annotate("operation", operation)
        yield span


def reset() -> None:
    """Forget the Tracer (tests)."""
    global _tracer
    with _lock:
        _tracer = None
