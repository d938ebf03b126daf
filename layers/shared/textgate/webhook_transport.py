"""One status-callback POST: to the addresses that were checked, never to whatever the name resolves to next.

http.client connects to the checked address and still speaks to the host by name: TLS sends it as SNI and checks
the certificate against it, and the Host header carries it. Nothing here follows a redirect. The whole exchange
has one deadline (connect, send, headers and answer together), and at most 64 KiB of the answer is read; the
answer's body is never kept.
"""

from __future__ import annotations

import contextlib
import http.client
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from functools import cache

from textgate.webhook_url import Destination

MAX_ANSWER_BYTES = 64 * 1024


@dataclass(frozen=True)
class Answer:
    status_code: int | None  # None when no HTTP answer came (refused, reset, timed out, TLS failed)
    error: str | None  # why there was no answer, in a word or two
    milliseconds: float


@cache
def _tls_context() -> ssl.SSLContext:
    try:
        import certifi  # noqa: PLC0415 - the layer's CA bundle (requests brings it); the system's otherwise

        return ssl.create_default_context(cafile=certifi.where())
    except ImportError:  # pragma: no cover - certifi is in the layer
        return ssl.create_default_context()


def _connect(addresses: list[str], port: int, timeout: float | None) -> socket.socket:
    """The first of the checked addresses that takes the connection (in their order)."""
    failure: OSError = OSError("no address to connect to")
    for address in addresses:
        try:
            return socket.create_connection((address, port), timeout)
        except OSError as exc:
            failure = exc
    raise failure


class _PinnedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, destination: Destination, addresses: list[str], timeout: float) -> None:
        super().__init__(destination.host, destination.port, timeout=timeout)
        self._addresses = addresses

    def connect(self) -> None:
        self.sock = _connect(self._addresses, self.port, self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, destination: Destination, addresses: list[str], timeout: float) -> None:
        super().__init__(destination.host, destination.port, timeout=timeout, context=_tls_context())
        self._addresses = addresses

    def connect(self) -> None:
        raw = _connect(self._addresses, self.port, self.timeout)
        try:
            self.sock = _tls_context().wrap_socket(raw, server_hostname=self.host)
        except BaseException:
            raw.close()
            raise


def post(
    destination: Destination, addresses: list[str], body: bytes, headers: dict[str, str], timeout: float
) -> Answer:
    started = time.perf_counter()
    pinned = _PinnedHTTPSConnection if destination.scheme == "https" else _PinnedHTTPConnection
    connection = pinned(destination, addresses, timeout)
    expired = threading.Event()

    def cut() -> None:
        # The deadline passed: close the socket under the reading thread (a receiver that trickles bytes cannot
        # hold the call past it).
        expired.set()
        sock = connection.sock
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    timer = threading.Timer(timeout, cut)
    timer.daemon = True
    timer.start()
    try:
        connection.request("POST", destination.target, body=body, headers=headers)
        response = connection.getresponse()
        response.read(MAX_ANSWER_BYTES)  # read so the receiver is not cut off mid-answer, then dropped
        return Answer(response.status, None, _since(started))
    except TimeoutError:
        return Answer(None, "timeout", _since(started))
    except ssl.SSLError:
        return Answer(None, "tls_error", _since(started))
    except (OSError, http.client.HTTPException):
        return Answer(None, "timeout" if expired.is_set() else "connection_error", _since(started))
    finally:
        timer.cancel()
        connection.close()


def _since(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)
