"""A threaded HTTP server that records what it receives and answers through a provider-specific app.

Faults are injected per request by a `FaultPlan`: an HTTP error, a reset before or after acting, a slow
answer (after acting), a malformed body, a 429 with rate-limit headers, or, after acting, what a gateway in front
of the provider answers when the provider behind it fails (a 502 or 504 page, an HTML 500 page, an answer cut
off mid-body). Faults live here, so every provider's sandbox honours every one of them.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from functools import partial
from http.server import BaseHTTPRequestHandler
from typing import Protocol
from urllib.parse import parse_qs, urlsplit

from textgate_local.http_server import BusyHTTPServer, QuietHandler, host_allowed

STOP_POLL_SECONDS = 0.01


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str  # raw, percent-encoded, without the query
    query: dict[str, list[str]]
    headers: dict[str, str]  # names lower-cased
    body: bytes

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


@dataclass
class SandboxAnswer:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    # Set by an app when the provider acted on the request (a message was accepted): what was done.
    acted: str | None = None


class Fault(StrEnum):
    NONE = "none"
    HTTP_500 = "http_500"
    HTTP_503 = "http_503"
    RESET_BEFORE = "reset_before"  # connection dropped before the provider acted
    RESET_AFTER = "reset_after"  # the provider acted, then the connection dropped
    SLOW_AFTER = "slow_after"  # the provider acted and answered too late
    SLOW_BEFORE = "slow_before"  # the provider hung without acting
    MALFORMED = "malformed"  # the provider acted and answered garbage
    RATE_LIMIT = "rate_limit"  # 429 with X-Rate-Limit-* headers, nothing done
    # The provider acted, then a gateway in front of it answered in its own words:
    BAD_GATEWAY_AFTER = "http_502_after"  # 502 HTML page
    GATEWAY_TIMEOUT_AFTER = "http_504_after"  # 504 HTML page
    HTML_500_AFTER = "html_500_after"  # 500 HTML page (a proxy's, or an application server's error page)
    CUT_AFTER = "cut_after"  # the provider acted, its answer started, and the connection dropped mid-body


# The page a gateway shows for each status, as nginx writes it.
GATEWAY_PAGES = {
    Fault.BAD_GATEWAY_AFTER: (502, "Bad Gateway"),
    Fault.GATEWAY_TIMEOUT_AFTER: (504, "Gateway Time-out"),
    Fault.HTML_500_AFTER: (500, "Internal Server Error"),
}


def gateway_page(status: int, reason: str) -> SandboxAnswer:
    body = (
        f"<html>\r\n<head><title>{status} {reason}</title></head>\r\n<body>\r\n"
        f"<center><h1>{status} {reason}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
    )
    return SandboxAnswer(status, body.encode(), {"Content-Type": "text/html"})


FaultPlan = Callable[[RecordedRequest], Fault]


class SandboxApp(Protocol):
    name: str

    def handle(self, request: RecordedRequest) -> SandboxAnswer: ...

    def rate_limited(self, request: RecordedRequest) -> SandboxAnswer: ...


class SandboxServer:
    def __init__(self, app: SandboxApp, *, port: int = 0, slow_seconds: float = 30.0) -> None:
        self.app = app
        self.requests: list[RecordedRequest] = []
        self.acted: list[str] = []
        self.faults_injected: dict[str, int] = {}
        self.fault_plan: FaultPlan | None = None
        self.slow_seconds = slow_seconds
        self.latency_seconds = 0.0  # added to every answer: a provider's own processing time (benchmarks)
        self._lock = threading.Lock()
        self._server = BusyHTTPServer(("127.0.0.1", port), self._handler_class())
        # `stop` waits until the serving loop next looks at its stop flag: look often (a select every 10 ms costs
        # nothing), not every half second, which every test that starts a sandbox would pay at its teardown.
        self._thread = threading.Thread(
            target=partial(self._server.serve_forever, poll_interval=STOP_POLL_SECONDS),
            name=f"sandbox-{app.name}",
            daemon=True,
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def start(self) -> SandboxServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()
            self.acted.clear()
            self.faults_injected.clear()

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(request)

    def _note(self, answer: SandboxAnswer, fault: Fault) -> None:
        with self._lock:
            if answer.acted is not None:
                self.acted.append(answer.acted)
            if fault is not Fault.NONE:
                self.faults_injected[fault.value] = self.faults_injected.get(fault.value, 0) + 1

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        sandbox = self

        class Handler(QuietHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base's name
                return

            def _serve(self) -> None:
                if not host_allowed(self, sandbox.port):
                    # Not addressed to the sandbox's loopback port (a rebound DNS name): refused, like the gateway.
                    self.close_connection = True
                    self.send_response(403)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                request = RecordedRequest(
                    method=self.command,
                    path=parts.path,
                    query=parse_qs(parts.query, keep_blank_values=True),
                    headers={key.lower(): value for key, value in self.headers.items()},
                    body=body,
                )
                sandbox._record(request)
                if sandbox.latency_seconds:
                    time.sleep(sandbox.latency_seconds)
                fault = sandbox.fault_plan(request) if sandbox.fault_plan else Fault.NONE
                if fault is Fault.RESET_BEFORE:
                    sandbox._note(SandboxAnswer(0), fault)
                    self._reset()
                    return
                if fault is Fault.SLOW_BEFORE:
                    sandbox._note(SandboxAnswer(0), fault)
                    time.sleep(sandbox.slow_seconds)
                    self._reset()
                    return
                if fault in (Fault.HTTP_500, Fault.HTTP_503):
                    answer = SandboxAnswer(
                        int(fault.value[-3:]), b"Internal Server Error", {"Content-Type": "text/plain"}
                    )
                elif fault is Fault.RATE_LIMIT:
                    answer = sandbox.app.rate_limited(request)
                else:
                    answer = sandbox.app.handle(request)
                sandbox._note(answer, fault)
                if fault is Fault.RESET_AFTER:
                    self._reset()
                    return
                if fault in GATEWAY_PAGES:
                    answer = gateway_page(*GATEWAY_PAGES[fault])
                if fault is Fault.CUT_AFTER:
                    self._cut(answer)
                    return
                if fault is Fault.SLOW_AFTER:
                    time.sleep(sandbox.slow_seconds)
                if fault is Fault.MALFORMED and answer.status < 300:
                    answer = SandboxAnswer(answer.status, b"<<not what you expected", {"Content-Type": "text/xml"})
                self.send_response(answer.status)
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(answer.body)))
                self.end_headers()
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.wfile.write(answer.body)

            def _cut(self, answer: SandboxAnswer) -> None:
                """Headers that promise more than is sent, half the body, then a reset."""
                body = answer.body or b"<partial answer>"
                self.send_response(answer.status)
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body) + 64))
                self.end_headers()
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.wfile.write(body[: max(1, len(body) // 2)])
                    self.wfile.flush()
                self._reset()

            def _reset(self) -> None:
                # SO_LINGER 0: the client sees a reset, not a clean close.
                try:
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    self.connection.close()
                except OSError:
                    pass
                self.close_connection = True

            do_GET = do_POST = do_PUT = do_DELETE = _serve  # noqa: N815 - http.server's naming

        return Handler
