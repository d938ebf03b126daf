"""The metrics of docs/operating.md, in CloudWatch's embedded metric format (EMF), through Powertools' EMF provider.

Each function names what happened (`accepted`, `outcome`, `provider_latency`, …); this module turns it into the
metric, its unit and its dimension sets (where docs/operating.md names two, the value is emitted under both, in
one document). Namespace and service come from `POWERTOOLS_METRICS_NAMESPACE` and `POWERTOOLS_SERVICE_NAME`
(both `textgate`).

Within an invocation (`textgate.invocation`) metrics are gathered per dimension set and written when it ends, one
EMF document per set; the batch is shared by the invocation's threads (delivery's pool) behind a lock. Outside an
invocation (a script, a test) each metric is written at once. Dimension values are low-cardinality words: the
operation and the provider are `textgate.registry`'s enums (mypy refuses a typo; no operation at all is `other`);
any other value that is not one of the documented words, or does not look like one, is written as `other`, never
as itself.
"""

from __future__ import annotations

import contextvars
import json
import os
import re
import sys
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING

from textgate.registry import OperationName, Provider

if TYPE_CHECKING:
    from aws_lambda_powertools.metrics.provider.cloudwatch_emf.cloudwatch import AmazonCloudWatchEMFProvider

DEFAULT_NAMESPACE = "textgate"
DEFAULT_SERVICE = "textgate"

KINDS = frozenset({"crm", "poll", "text4info", "mo", "dlr"})
SOURCES = frozenset({"api", "sumotext", *Provider})
PIN_RESULTS = frozenset({"verified", "wrong_code", "pending", "expired", "used", "too_many_attempts"})
OUTCOMES = {
    "succeeded": "OperationSucceeded",
    "failed": "OperationFailed",
    "unknown": "OperationUnknown",
    "retried": "OperationRetried",
    "dead_lettered": "OperationDeadLettered",
    "canceled": "OperationCanceled",
}
# A word such as validation_error or recipient_opted_out: no digits, so never an id, a number or a PIN.
_WORD = re.compile(r"^[a-z][a-z_]{0,63}$")
OTHER = "other"

DimensionSet = Mapping[str, str]
_Key = tuple[tuple[tuple[str, str], ...], ...]

_write_lock = threading.Lock()


class Batch:
    """The metrics of one invocation, one EMF document per distinct list of dimension sets."""

    def __init__(self, function_name: str | None = None) -> None:
        self._lock = threading.Lock()
        self._documents: dict[_Key, AmazonCloudWatchEMFProvider] = {}
        self.function_name = function_name

    def add(self, name: str, unit: str, value: float, dimension_sets: tuple[DimensionSet, ...]) -> None:
        key: _Key = tuple(tuple(sorted(dimensions.items())) for dimensions in dimension_sets)
        with self._lock:
            document = self._documents.get(key)
            if document is None:
                document = _document(dimension_sets, self.function_name)
                self._documents[key] = document
            document.add_metric(name=name, unit=unit, value=value)

    def flush(self) -> None:
        with self._lock:
            documents, self._documents = list(self._documents.values()), {}
        lines = [json.dumps(document.serialize_metric_set(), separators=(",", ":")) for document in documents]
        if lines and os.environ.get("POWERTOOLS_METRICS_DISABLED", "").lower() not in ("1", "true", "yes", "on"):
            _write(lines)


_batch: contextvars.ContextVar[Batch | None] = contextvars.ContextVar("metrics_batch", default=None)


def begin(function_name: str | None = None) -> contextvars.Token[Batch | None]:
    """Start gathering this invocation's metrics (its threads share the batch through copied contexts)."""
    return _batch.set(Batch(function_name))


def end(token: contextvars.Token[Batch | None]) -> None:
    """Write what the invocation gathered, whatever happened to it."""
    batch = _batch.get()
    _batch.reset(token)
    if batch is not None:
        batch.flush()


def _namespace() -> str:
    return os.environ.get("POWERTOOLS_METRICS_NAMESPACE") or DEFAULT_NAMESPACE


def _service() -> str:
    return os.environ.get("POWERTOOLS_SERVICE_NAME") or DEFAULT_SERVICE


def _document(dimension_sets: tuple[DimensionSet, ...], function_name: str | None) -> AmazonCloudWatchEMFProvider:
    # Imported with the first metric, not with this module (the functions' logging imports Powertools anyway).
    from aws_lambda_powertools.metrics.provider.cloudwatch_emf.cloudwatch import (  # noqa: PLC0415
        AmazonCloudWatchEMFProvider,
    )

    document = AmazonCloudWatchEMFProvider(namespace=_namespace(), service=_service())
    first, *others = dimension_sets
    for name, value in first.items():
        document.add_dimension(name=name, value=value)
    for dimensions in others:
        document.add_dimensions(**dimensions)
    if function_name:
        document.add_metadata(key="function_name", value=function_name)  # a property, not a dimension
    return document


def _write(lines: list[str]) -> None:
    # One write per document, whole: threads of one process never interleave their documents.
    with _write_lock:
        sys.stdout.write("".join(line + "\n" for line in lines))
        sys.stdout.flush()


def _clean(value: str | None, allowed: frozenset[str] | None = None) -> str:
    if value is None:
        return OTHER
    if allowed is not None:
        return value if value in allowed else OTHER
    return value if _WORD.match(value) else OTHER


def emit(name: str, unit: str, value: float, *dimension_sets: Mapping[str, str]) -> None:
    """One value of metric `name` under each dimension set (`service` is added to every set)."""
    service = _service()
    sets = tuple({"service": service, **dimensions} for dimensions in dimension_sets) or ({"service": service},)
    batch = _batch.get()
    if batch is not None:
        batch.add(name, unit, value, sets)
        return
    single = Batch()
    single.add(name, unit, value, sets)
    single.flush()


# ---------------------------------------------------------------- the rows of docs/operating.md


def _named(value: OperationName | Provider | None) -> str:
    return value.value if isinstance(value, OperationName | Provider) else OTHER


def accepted(operation: OperationName, count: int = 1) -> None:
    emit("OperationAccepted", "Count", count, {"operation": _named(operation)})


def refused(operation: OperationName | None, reason: str, count: int = 1) -> None:
    """`operation` None: the request named no operation (an event with an unknown detail-type)."""
    emit("OperationRefused", "Count", count, {"operation": _named(operation), "reason": _clean(reason)})


def batch_accepted(operation: OperationName, items_accepted: int, items_refused: int) -> None:
    """A batch answered 202: one batch, and how many of its items became operations and how many were refused."""
    dimensions = {"operation": _named(operation)}
    emit("BatchAccepted", "Count", 1, dimensions)
    emit("BatchItemsAccepted", "Count", items_accepted, dimensions)
    emit("BatchItemsRefused", "Count", items_refused, dimensions)


def _per_provider(provider: Provider, operation: OperationName | None) -> tuple[dict[str, str], ...]:
    by_provider = {"provider": _named(provider)}
    if operation is None:
        return (by_provider,)
    return by_provider, {**by_provider, "operation": _named(operation)}


def outcome(what: str, provider: Provider, operation: OperationName) -> None:
    """`what` is succeeded, failed, unknown, canceled, retried or dead_lettered (anything else is not an
    outcome)."""
    name = OUTCOMES.get(what)
    if name is not None:
        emit(name, "Count", 1, *_per_provider(provider, operation))


def provider_latency(provider: Provider, operation: OperationName | None, milliseconds: float) -> None:
    """A provider call, from sending to its answer read (or the timeout). Without an operation (a synchronous
    read such as Ogangi's inbound messages) only the provider's set is emitted."""
    emit("ProviderLatency", "Milliseconds", milliseconds, *_per_provider(provider, operation))


def operation_latency(provider: Provider, milliseconds: float) -> None:
    """From accepted (or, for a scheduled operation, from its `send_at`) to a final status: what users wait for."""
    emit("OperationLatency", "Milliseconds", max(0.0, milliseconds), {"provider": _named(provider)})


def provider_paused(provider: Provider) -> None:
    emit("ProviderPaused", "Count", 1, {"provider": _named(provider)})


def callback_stored(kind: str) -> None:
    emit("CallbackStored", "Count", 1, {"kind": _clean(kind, KINDS)})


def opt_out_changed(source: str, opted_out: bool) -> None:
    change = "opted_out" if opted_out else "opted_in"
    emit("OptOutChanged", "Count", 1, {"source": _clean(source, SOURCES), "change": change})


def pin_checked(result: str) -> None:
    emit("PinChecked", "Count", 1, {"result": _clean(result, PIN_RESULTS)})


def callback_delivered() -> None:
    """A status callback was answered 2xx."""
    emit("CallbackDelivered", "Count", 1, {})


def callback_failed() -> None:
    """A status callback was given up: 410, or every retry spent."""
    emit("CallbackFailed", "Count", 1, {})


def callback_latency(milliseconds: float) -> None:
    """One status-callback POST, from connecting to the receiver's answer read (or the 10 s deadline)."""
    emit("CallbackLatency", "Milliseconds", milliseconds, {})
