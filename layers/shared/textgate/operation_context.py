"""The operation the current provider call is made for: delivery sets it around the call, the transport reads it
(the dimension of ProviderLatency, the annotation of the call's subsegment).

A context variable in a module of its own, below everything that reads or sets it: the providers' transport
does not reach up into the Lambda wrapper or into delivery for it.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager

from textgate.registry import OperationName

_operation: contextvars.ContextVar[OperationName | None] = contextvars.ContextVar("operation", default=None)


@contextmanager
def working_on(operation: OperationName) -> Iterator[None]:
    """Within the block, provider calls are made for `operation`."""
    token = _operation.set(operation)
    try:
        yield
    finally:
        _operation.reset(token)


def current() -> OperationName | None:
    """The operation being delivered, or None (a synchronous read such as Ogangi's inbound messages)."""
    return _operation.get()
