"""The threaded HTTP server the local stack's gateway and sandboxes share."""

from __future__ import annotations

from http.server import ThreadingHTTPServer


class BusyHTTPServer(ThreadingHTTPServer):
    """A threaded server whose listen backlog fits a burst of clients (the default of 5 resets connections
    under load); it must be a class attribute, because the constructor already listens."""

    daemon_threads = True
    request_queue_size = 1024
