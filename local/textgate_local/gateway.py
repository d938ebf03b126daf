"""API Gateway, locally: HTTP requests become REST proxy events for the function the template routes to.

API keys are enforced as API Gateway does (403 {"message": "Forbidden"}), and the key's client name is passed
to the handler as requestContext.identity.apiKeyId.
"""

from __future__ import annotations

import base64
import contextlib
import json
import re
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from textgate_local.http_server import BusyHTTPServer, QuietHandler, host_allowed
from textgate_local.template import ApiRoute

Invoke = Callable[[str, dict[str, Any]], Any]
STAGE = "api"
MAX_BODY_BYTES = 10 * 1024 * 1024  # API Gateway's payload limit
BODY_WAIT_SECONDS = 5.0  # how long a body that is shorter than its Content-Length is waited for
# How long a connection may take to deliver a whole request (line, headers and body), idle keep-alive included:
# a client that sends a byte now and then must not hold a thread and a socket forever.
REQUEST_WAIT_SECONDS = 5.0
# The sandboxes' admin door (what they received, faults, PINs): no web page may reach it, even one that does not
# need to read the answer, so a request that carries an Origin (every cross-origin fetch or form does) is refused.
ADMIN_PREFIX = "/_sandbox"
BAD_REQUEST = {"message": "Bad Request"}
NOT_FOUND = json.dumps(
    {
        "type": "about:blank",
        "title": "Not found",
        "status": 404,
        "detail": "no such route",
        "code": "not_found",
        "errors": [],
    }
).encode()


class BodyTooLong(Exception):
    """Over API Gateway's payload limit: answered 413 without reading it."""


class RequestDeadlines:
    """Closes the reading side of connections whose request has not arrived in full in time.

    One watcher thread for the whole gateway: each connection is armed when it starts waiting for a request and
    disarmed once the request is read; a socket still armed past its deadline is shut for reading, so the
    handler's blocked read returns and the connection is answered 400 (or closed, if nothing came) and let go."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._deadlines: dict[socket.socket, float] = {}
        self._expired: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="gateway-request-deadlines", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()

    def arm(self, connection: socket.socket) -> None:
        with self._lock:
            self._deadlines[connection] = time.monotonic() + self.seconds
            self._expired.discard(connection)

    def disarm(self, connection: socket.socket) -> bool:
        """Stop watching the connection: True when its deadline had already passed (the request is incomplete)."""
        with self._lock:
            self._deadlines.pop(connection, None)
            expired = connection in self._expired
            self._expired.discard(connection)
            return expired

    def _watch(self) -> None:
        while not self._stopped.wait(min(0.5, self.seconds / 4)):
            now = time.monotonic()
            with self._lock:
                late = [connection for connection, deadline in self._deadlines.items() if deadline <= now]
                for connection in late:
                    del self._deadlines[connection]
                    self._expired.add(connection)
            for connection in late:
                with contextlib.suppress(OSError):
                    connection.shutdown(socket.SHUT_RD)


@dataclass(frozen=True)
class CompiledRoute:
    route: ApiRoute
    pattern: re.Pattern[str]
    names: tuple[str, ...]


def compile_routes(routes: list[ApiRoute]) -> list[CompiledRoute]:
    compiled = []
    for route in routes:
        names = tuple(re.findall(r"{([^}/+]+)\+?}", route.path))
        regex = re.sub(r"{[^}/]+\+}", "(.+)", route.path)
        regex = re.sub(r"{[^}/]+}", "([^/]+)", regex)
        compiled.append(CompiledRoute(route, re.compile(f"^{regex}$"), names))
    # Literal paths win over templated ones, as in API Gateway.
    compiled.sort(key=lambda item: item.route.path.count("{"))
    return compiled


class Gateway:
    def __init__(
        self,
        routes: list[ApiRoute],
        invoke: Invoke,
        api_keys: dict[str, str],
        port: int,
        extra: Callable[[str, str, bytes], tuple[int, str, bytes] | None] | None = None,
    ) -> None:
        self.routes = compile_routes(routes)
        self.invoke = invoke
        self.clients_by_key = {key: name for name, key in api_keys.items()}
        self.extra = extra
        self.deadlines = RequestDeadlines(REQUEST_WAIT_SECONDS)
        self.server = BusyHTTPServer(("127.0.0.1", port), self._handler_class())

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def serve_forever(self) -> None:
        self.deadlines.start()
        self.server.serve_forever(poll_interval=0.2)

    def shutdown(self) -> None:
        self.deadlines.stop()
        self.server.shutdown()
        self.server.server_close()

    def match(self, method: str, path: str) -> tuple[CompiledRoute | None, dict[str, str]]:
        """(route, path parameters) of the route for this method and path, if there is one."""
        # As API Gateway: the resource first (a literal path wins over a templated one), then the method on it,
        # where a declared method wins over ANY.
        resource = next((compiled.route.path for compiled in self.routes if compiled.pattern.match(path)), None)
        candidates = [compiled for compiled in self.routes if compiled.route.path == resource]
        for wanted in (method, "ANY"):
            for compiled in candidates:
                found = compiled.pattern.match(path)
                if found and compiled.route.method == wanted:
                    return compiled, {n: unquote(v) for n, v in zip(compiled.names, found.groups(), strict=True)}
        return None, {}

    def event(
        self,
        compiled: CompiledRoute,
        params: dict[str, str],
        method: str,
        raw_path: str,
        query: str,
        headers: list[tuple[str, str]],
        body: bytes,
        source_ip: str,
        client: str | None,
        api_key: str | None,
    ) -> dict[str, Any]:
        single_headers: dict[str, str] = {}
        multi_headers: dict[str, list[str]] = {}
        for name, value in headers:
            single_headers[name] = value
            multi_headers.setdefault(name, []).append(value)
        pairs = parse_qsl(query, keep_blank_values=True)
        single_query: dict[str, str] = {}
        multi_query: dict[str, list[str]] = {}
        for name, value in pairs:
            single_query[name] = value
            multi_query.setdefault(name, []).append(value)
        text: str | None
        encoded = False
        if not body:
            text = None
        else:
            try:
                text = body.decode("utf-8")
            except UnicodeDecodeError:
                text, encoded = base64.b64encode(body).decode("ascii"), True
        request_id = str(uuid.uuid4())
        return {
            "resource": compiled.route.path,
            "path": raw_path,
            "httpMethod": method,
            "headers": single_headers or None,
            "multiValueHeaders": multi_headers or None,
            "queryStringParameters": single_query or None,
            "multiValueQueryStringParameters": multi_query or None,
            "pathParameters": params or None,
            "stageVariables": None,
            "requestContext": {
                "resourcePath": compiled.route.path,
                "httpMethod": method,
                "path": f"/{STAGE}{raw_path}",
                "stage": STAGE,
                "requestId": request_id,
                "requestTimeEpoch": int(time.time() * 1000),
                "accountId": "123456789012",
                "apiId": "local",
                "identity": {
                    "sourceIp": source_ip,
                    "apiKey": api_key,
                    "apiKeyId": client,
                    "userAgent": single_headers.get("User-Agent") or single_headers.get("user-agent"),
                },
            },
            "body": text,
            "isBase64Encoded": encoded,
        }

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        gateway = self

        class Handler(QuietHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                return

            def handle_one_request(self) -> None:
                # The whole request (its line, headers and body) must arrive within REQUEST_WAIT_SECONDS.
                gateway.deadlines.arm(self.connection)
                try:
                    super().handle_one_request()
                finally:
                    gateway.deadlines.disarm(self.connection)

            def _send(self, status: int, headers: dict[str, str], body: bytes) -> None:
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            def _json(self, status: int, document: dict[str, Any]) -> None:
                self._send(status, {"Content-Type": "application/json"}, json.dumps(document).encode())

            def __getattr__(self, name: str) -> Callable[[], None]:
                # Every method reaches the routes (OPTIONS, TRACE, unknown verbs), which answer as API Gateway
                # does; http.server would answer a method it has no do_ for with a 501 HTML page.
                if name.startswith("do_"):
                    return self._serve
                raise AttributeError(name)

            def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
                # A request http.server cannot parse (its line, its headers) is answered in JSON, not HTML, with
                # a status line even when the request line was unreadable (http.server would then assume 0.9).
                self.request_version = self.protocol_version
                self._refuse(code, {"message": HTTPStatus(code).phrase})

            def _refuse(self, status: int, document: dict[str, Any]) -> None:
                """Answer and close: after a broken body framing the next request cannot be found."""
                self.close_connection = True
                headers = {"Content-Type": "application/json", "Connection": "close"}
                self._send(status, headers, json.dumps(document).encode())

            def _read_body(self) -> bytes | None:
                """The body as Content-Length (or chunked encoding) frames it; None once a 400 or 413 is sent."""
                self.connection.settimeout(BODY_WAIT_SECONDS)
                try:
                    body = self._read_framed_body()
                except BodyTooLong:
                    self._refuse(413, {"message": "Request Too Long"})
                    return None
                except (TimeoutError, ValueError):
                    body = None  # a size that is not a number, or a body shorter than announced
                finally:
                    self.connection.settimeout(None)
                if gateway.deadlines.disarm(self.connection):
                    # Cut off while it was still arriving: what was read (even the headers) may be a fragment, so it
                    # is answered as a body shorter than announced is, and never served.
                    body = None
                if body is None:
                    self._refuse(400, BAD_REQUEST)
                return body

            def _read_framed_body(self) -> bytes | None:
                if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
                    return self._read_chunks()
                declared = {value.strip() for value in self.headers.get_all("Content-Length") or []}
                if len(declared) > 1:
                    return None
                text = declared.pop() if declared else "0"
                if not (text.isascii() and text.isdigit()):
                    return None
                length = int(text)
                if length > MAX_BODY_BYTES:
                    raise BodyTooLong
                body = self.rfile.read(length) if length else b""
                return body if len(body) == length else None

            def _read_chunks(self) -> bytes | None:
                body = bytearray()
                while True:
                    size = int(self.rfile.readline(1024).split(b";")[0].strip() or b"x", 16)
                    if size < 0:
                        return None
                    if len(body) + size > MAX_BODY_BYTES:
                        raise BodyTooLong
                    if size == 0:
                        while self.rfile.readline(8192).strip():
                            pass  # trailers
                        return bytes(body)
                    chunk = self.rfile.read(size)
                    if len(chunk) != size or self.rfile.readline(8) not in (b"\r\n", b"\n"):
                        return None
                    body += chunk

            def _serve(self) -> None:
                if not host_allowed(self, gateway.port):
                    # Not addressed to the loopback port (a rebound DNS name): no route, no sandbox, no docs.
                    self.close_connection = True
                    self._json(403, {"message": "Forbidden"})
                    return
                body = self._read_body()
                if body is None:
                    return
                parts = urlsplit(self.path)
                if _is_admin(parts.path) and self.headers.get("Origin") is not None:
                    self._refuse(403, {"message": "Forbidden"})
                    return
                if gateway.extra is not None:
                    served = gateway.extra(self.command, parts.path, body)
                    if served is not None:
                        status, content_type, content = served
                        self._send(status, {"Content-Type": content_type}, content)
                        return
                compiled, params = gateway.match(self.command, parts.path)
                if compiled is None:
                    # API Gateway answers an unknown path, or a known one with another method, as a missing
                    # token; the template turns that gateway response into this 404.
                    self._send(404, {"Content-Type": "application/problem+json"}, NOT_FOUND)
                    return
                api_key = self.headers.get("x-api-key")
                client = gateway.clients_by_key.get(api_key or "")
                if compiled.route.api_key and client is None:
                    self._json(403, {"message": "Forbidden"})
                    return
                event = gateway.event(
                    compiled,
                    params,
                    self.command,
                    parts.path,
                    parts.query,
                    list(self.headers.items()),
                    body,
                    self.client_address[0],
                    client,
                    api_key,
                )
                try:
                    answer = gateway.invoke(compiled.route.function, event)
                except Exception:  # noqa: BLE001 - what API Gateway shows when a Lambda crashes
                    self._json(502, {"message": "Internal server error"})
                    return
                status, headers, content = _proxy_answer(answer)
                # As API Gateway does: the request id (the correlation id of the function's log lines).
                headers.setdefault("x-amzn-RequestId", event["requestContext"]["requestId"])
                self._send(status, headers, content)

        return Handler


def _is_admin(path: str) -> bool:
    return path == ADMIN_PREFIX or path.startswith(ADMIN_PREFIX + "/")


def _proxy_answer(answer: Any) -> tuple[int, dict[str, str], bytes]:
    if not isinstance(answer, dict) or "statusCode" not in answer:
        return 502, {"Content-Type": "application/json"}, b'{"message": "Internal server error"}'
    headers = {str(key): str(value) for key, value in (answer.get("headers") or {}).items()}
    for key, values in (answer.get("multiValueHeaders") or {}).items():
        headers[str(key)] = ", ".join(str(value) for value in values)
    raw = answer.get("body") or ""
    content = base64.b64decode(raw) if answer.get("isBase64Encoded") else str(raw).encode("utf-8")
    return int(answer["statusCode"]), headers, content
