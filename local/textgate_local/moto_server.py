"""moto's server mode with two changes: DynamoDB requests are served one at a time, and no web page is served.

moto checks a ConditionExpression and then writes, without a lock, so two concurrent conditional writes can both
succeed; DynamoDB makes them atomic. The state machine depends on that, so the local endpoint serialises its
DynamoDB requests (SQS long polls and the rest stay concurrent).

The endpoint holds every credential, the callback token and the PIN key (/moto-api/data.json shows them) and
takes writes without a signature check, so a browser must never reach it: moto's global CORS is off
(MOTO_DISABLE_GLOBAL_CORS, set by moto_endpoint.py) and any request that carries an Origin header (every
cross-origin fetch, preflight or form post does; boto3 never sends one) is refused, as is another Host.
"""

from __future__ import annotations

import argparse
import threading
from collections.abc import Callable, Iterable
from typing import Any

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import WSGIRequestHandler, run_simple

from textgate_local.http_server import SERVER_NAME, loopback_hosts

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class SerialDynamoDB:
    def __init__(self, app: WsgiApp) -> None:
        self.app = app
        self.lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("HTTP_X_AMZ_TARGET", "").startswith("DynamoDB"):
            with self.lock:
                return list(self.app(environ, start_response))
        return self.app(environ, start_response)


class LoopbackOnly:
    """Refuse requests not addressed to the loopback port (DNS rebinding) and requests from a web page (an Origin
    header): the endpoint holds the secrets."""

    def __init__(self, app: WsgiApp, port: int) -> None:
        self.app = app
        self.hosts = loopback_hosts(port)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("HTTP_HOST", "").strip().lower() not in self.hosts or "HTTP_ORIGIN" in environ:
            start_response("403 Forbidden", [("Content-Type", "text/plain")])
            return [b"Forbidden"]
        return self.app(environ, start_response)


class QuietRequestHandler(WSGIRequestHandler):
    def version_string(self) -> str:
        return SERVER_NAME


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, required=True)
    args = parser.parse_args()
    app = DomainDispatcherApplication(create_backend_app)
    run_simple(
        args.host,
        args.port,
        LoopbackOnly(SerialDynamoDB(app), args.port),
        threaded=True,
        use_reloader=False,
        request_handler=QuietRequestHandler,
    )


if __name__ == "__main__":
    main()
