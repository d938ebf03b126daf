"""HTTP to providers: one pooled session per provider per container, explicit timeouts, capped answers.

The one distinction that matters for never texting twice is *whether the request may have reached the
provider*: `NotSent` (refused, unreachable, connect timeout) is safe to retry; `NoAnswer` (read timeout, reset
after sending, answer too large to read) is not.

Every call is measured (`ProviderLatency`, from sending to the answer read or the failure, whatever the answer)
and, when the invocation is traced, recorded as a subsegment with annotations only: the URL (Ogangi's holds the
number and the signature), the headers and the bodies never reach X-Ray.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import requests
from requests.adapters import HTTPAdapter

from textgate import metrics, operation_context, tracing
from textgate.registry import Provider

if TYPE_CHECKING:
    from textgate.providers.outcome import ProviderOutcome

MAX_ANSWER_BYTES = 256 * 1024
USER_AGENT = "textgate/1.0"

_sessions: dict[Provider, requests.Session] = {}
_lock = threading.Lock()


@dataclass(frozen=True)
class HttpAnswer:
    status: int
    headers: dict[str, str]  # names lower-cased
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


class TransportError(Exception):
    """Base of the two ways a call can fail without an answer. The message never holds the URL."""


class NotSent(TransportError):
    """The provider never received the request."""


class NoAnswer(TransportError):
    """The request may have reached the provider, and no usable answer came back."""

    def __init__(self, message: str, *, timed_out: bool = False) -> None:
        super().__init__(message)
        self.timed_out = timed_out  # no answer in time, as opposed to a connection lost or an answer refused


def session(provider: Provider) -> requests.Session:
    with _lock:
        existing = _sessions.get(provider)
        if existing is not None:
            return existing
        created = requests.Session()
        # No automatic retries: whether a retry is safe is the delivery state machine's decision.
        adapter = HTTPAdapter(pool_connections=4, pool_maxsize=32, max_retries=0)
        created.mount("https://", adapter)
        created.mount("http://", adapter)
        created.headers["User-Agent"] = USER_AGENT
        _sessions[provider] = created
        return created


def reset_sessions() -> None:
    with _lock:
        for existing in _sessions.values():
            existing.close()
        _sessions.clear()


def call(
    provider: Provider,
    method: str,
    url: str,
    *,
    timeout: tuple[float, float],
    max_bytes: int = MAX_ANSWER_BYTES,
    **kwargs: Any,
) -> HttpAnswer:
    operation = operation_context.current()
    started = time.perf_counter()
    with tracing.provider_call(provider, operation) as span:
        try:
            answer = _call(provider, method, url, timeout=timeout, max_bytes=max_bytes, **kwargs)
        except TransportError as exc:
            span.annotate("transport_error", type(exc).__name__)
            raise
        finally:
            metrics.provider_latency(provider, operation, round((time.perf_counter() - started) * 1000, 1))
        span.annotate("http_status", answer.status)
        return answer


def _call(
    provider: Provider,
    method: str,
    url: str,
    *,
    timeout: tuple[float, float],
    max_bytes: int,
    **kwargs: Any,
) -> HttpAnswer:
    try:
        response = session(provider).request(method, url, timeout=timeout, stream=True, allow_redirects=False, **kwargs)
    except requests.exceptions.ConnectTimeout:
        raise NotSent("connection timed out") from None
    except requests.exceptions.ReadTimeout:
        raise NoAnswer("no answer within the read timeout", timed_out=True) from None
    except requests.exceptions.ConnectionError as exc:
        if _never_connected(exc):
            raise NotSent("connection failed") from None
        raise NoAnswer("connection lost after the request was sent") from None
    except requests.exceptions.RequestException as exc:
        raise NotSent(f"request could not be made ({type(exc).__name__})") from None
    try:
        body = _read_capped(response, max_bytes)
    except requests.exceptions.RequestException:
        raise NoAnswer("connection lost while reading the answer") from None
    finally:
        response.close()
    headers = {key.lower(): value for key, value in response.headers.items()}
    return HttpAnswer(status=response.status_code, headers=headers, body=body)


def _read_capped(response: requests.Response, max_bytes: int) -> bytes:
    declared = response.headers.get("Content-Length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise NoAnswer(f"answer larger than {max_bytes} bytes")
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_content(chunk_size=16 * 1024):
        size += len(chunk)
        if size > max_bytes:
            raise NoAnswer(f"answer larger than {max_bytes} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _never_connected(exc: BaseException) -> bool:
    """True when the chain of causes shows the connection was never made (refused, no route, DNS)."""
    import urllib3.exceptions  # noqa: PLC0415 - only on the failure path

    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, urllib3.exceptions.NewConnectionError | urllib3.exceptions.NameResolutionError):
            return True
        if isinstance(seen, urllib3.exceptions.MaxRetryError) and seen.reason is not None:
            seen = seen.reason
            continue
        for arg in getattr(seen, "args", ()):
            if isinstance(arg, urllib3.exceptions.NewConnectionError | urllib3.exceptions.MaxRetryError):
                return _never_connected(arg)
        seen = seen.__cause__ or seen.__context__
    return False


def failure_outcome(provider_label: str, exc: TransportError) -> ProviderOutcome:
    """The one rule for calls without an answer: never sent -> try again; maybe sent -> unknown, never again."""
    from textgate.providers.outcome import ProviderOutcome  # noqa: PLC0415 - outcome imports nothing of ours

    if isinstance(exc, NotSent):
        return ProviderOutcome.transient("provider_unreachable", f"{provider_label} not reached: {exc}")
    code = "provider_timeout" if isinstance(exc, NoAnswer) and exc.timed_out else "provider_no_answer"
    return ProviderOutcome.unknown(code, f"{provider_label} gave no usable answer: {exc}")
