"""The threaded HTTP server the local stack's gateway and sandboxes share."""

from __future__ import annotations

from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SERVER_NAME = "textgate-local"


def loopback_hosts(port: int) -> frozenset[str]:
    """The Host headers of a request meant for this machine's loopback port. Anything else is a page that
    resolved its own name to 127.0.0.1 (DNS rebinding) and must not reach the local stack or its credentials."""
    return frozenset(f"{name}:{port}" for name in ("127.0.0.1", "localhost", "[::1]"))


def host_allowed(handler: BaseHTTPRequestHandler, port: int) -> bool:
    host = (handler.headers.get("Host") or "").strip().lower()
    return host in loopback_hosts(port)


class QuietHandler(BaseHTTPRequestHandler):
    """No Python version in the Server header: it tells an attacker what to try."""

    def version_string(self) -> str:
        return SERVER_NAME


class BusyHTTPServer(ThreadingHTTPServer):
    """A threaded server whose listen backlog fits a burst of clients (the default of 5 resets connections
    under load); it must be a class attribute, because the constructor already listens."""

    daemon_threads = True
    request_queue_size = 1024
