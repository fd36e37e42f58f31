"""The HTTP server the local stand-ins share: threaded, loopback, quiet about clients that leave.

A worker that stops at a 429 cancels its requests in flight; the client closing its socket
mid-request is expected here, not an error worth a traceback on the console.
"""

from __future__ import annotations

from http.server import ThreadingHTTPServer
from typing import Any


class LocalServer(ThreadingHTTPServer):
    """``ThreadingHTTPServer`` with daemon threads that ignores resets from departing clients."""

    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        import sys

        if isinstance(sys.exc_info()[1], (ConnectionResetError, BrokenPipeError, ConnectionAbortedError)):
            return
        super().handle_error(request, client_address)
