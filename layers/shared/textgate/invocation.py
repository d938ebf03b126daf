"""What every function does around its work: log context, metrics flush, tracing, per invocation.

`around_invocation(...)` makes the decorator of a function's handler (`@around_invocation()`). Around each
invocation, it binds the keys of Powertools' `inject_lambda_context` (`cold_start`, `function_name`,
`function_request_id`; not `function_arn` nor `function_memory_size`, which the REPORT line has once) and the
correlation id to every line logged during the invocation, draws the log sampling again, gathers the invocation's
metrics and writes them when it ends (also when it raises), and starts tracing when the invocation is sampled.

Unlike `inject_lambda_context`, the keys are bound in a context variable (the Logger's thread-safe keys) rather
than appended to the formatter's shared state, and cold start is per handler: the local stack runs every
function in one process, concurrently, and in Lambda (one invocation per process at a time) it is the same thing.
`run_in_copy` gives delivery's worker threads the invocation's keys and metrics batch.
"""

from __future__ import annotations

import contextvars
import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.logging.lambda_context import build_lambda_context_model

from textgate import log, metrics, tracing

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

Event = dict[str, Any]
Handler = Callable[[Event, "LambdaContext"], Any]

_SAID_ONCE = frozenset({"function_arn", "function_memory_size"})


def around_invocation[H: Handler](
    correlation_id: Callable[[Event], str | None] | None = None,
) -> Callable[[H], H]:
    """The decorator of a function's handler; `correlation_id` reads the invocation's correlation id from its event."""

    def decorate(function: H) -> H:
        cold = [True]

        @functools.wraps(function)
        def handler(event: Event, context: LambdaContext) -> Any:
            cold_start, cold[0] = cold[0], False
            keys: dict[str, Any] = {"cold_start": cold_start}
            function_name = None
            if context is not None:
                # The keys inject_lambda_context binds, less the two that every line of the function's own log
                # group would repeat for nothing (its ARN and memory size: the REPORT line has them once).
                described = vars(build_lambda_context_model(context))
                keys.update({key: value for key, value in described.items() if key not in _SAID_ONCE})
                function_name = keys["function_name"]
            if correlation_id is not None:
                keys["correlation_id"] = _read(correlation_id, event)
            if not cold_start:
                log.refresh_sampling()
            tracing.activate()
            logged = log.bind(**keys)
            gathered = metrics.begin(function_name)
            try:
                return function(event, context)
            finally:
                metrics.end(gathered)
                log.unbind(logged)

        return handler  # type: ignore[return-value]

    return decorate


def _read(correlation_id: Callable[[Event], str | None], event: Event) -> str | None:
    try:
        return correlation_id(event)
    except Exception:  # noqa: BLE001 - an event without one is still handled
        return None


def run_in_copy[**P, R](function: Callable[P, R]) -> Callable[P, R]:
    """`function` run in a copy of the caller's context: a worker thread sees the invocation's log keys and adds
    to its metrics batch, and what it binds stays its own (each call gets its own copy)."""
    context = contextvars.copy_context()

    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        return context.run(function, *args, **kwargs)

    return run
