"""Serve payload-2.0 handlers over real local HTTP: what API Gateway does, in 100 lines.

Used by the tests, the demo and local development so that a provider (MockPass, the FAPI test
server) can fetch the JWKS from the real ``jwks`` handler, and a browser can walk the chain.
Not for production: no TLS, one process.
"""

from __future__ import annotations

import base64
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


@dataclass
class LocalContext:
    """Enough of a LambdaContext for ``observed`` and the handlers."""

    function_name: str
    memory_limit_in_mb: int = 256
    function_version: str = "$LATEST"
    aws_request_id: str = ""
    invoked_function_arn: str = ""
    log_group_name: str = "/aws/lambda/local"
    log_stream_name: str = "local"

    def get_remaining_time_in_millis(self) -> int:
        """Lambda's deadline, here a fixed 30 s."""
        return 30_000


def to_event(
    method: str, target: str, headers: Mapping[str, str], body: bytes, source_ip: str
) -> dict[str, Any]:
    """An API Gateway HTTP API payload 2.0 event for one request."""
    parts = urlsplit(target)
    lowered = {k.lower(): v for k, v in headers.items()}
    cookie_header = lowered.pop("cookie", "")
    query: dict[str, str] = {}
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        query[key] = f"{query[key]},{value}" if key in query else value
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": f"{method} {parts.path}",
        "rawPath": parts.path,
        "rawQueryString": parts.query,
        "headers": lowered,
        "requestContext": {
            "http": {
                "method": method,
                "path": parts.path,
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": lowered.get("user-agent", ""),
            },
            "requestId": uuid.uuid4().hex,
            "stage": "$default",
            "timeEpoch": int(time.time() * 1000),
        },
        "isBase64Encoded": False,
    }
    if cookie_header:
        event["cookies"] = [c.strip() for c in cookie_header.split(";") if c.strip()]
    if query:
        event["queryStringParameters"] = query
    if body:
        try:
            event["body"] = body.decode("utf-8")
        except UnicodeDecodeError:
            event["body"] = base64.b64encode(body).decode("ascii")
            event["isBase64Encoded"] = True
    return event


@contextmanager
def serve(routes: Mapping[str, Handler], host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """Serve ``{path: handler}`` on ``host:port`` (0 = any free port); yields the base URL."""

    class _Request(BaseHTTPRequestHandler):
        def _handle(self) -> None:
            path = urlsplit(self.path).path
            handler = routes.get(path)
            if handler is None:
                self.send_error(404)
                return
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            event = to_event(
                self.command, self.path, dict(self.headers.items()), body, self.client_address[0]
            )
            ctx = LocalContext(function_name=path.strip("/") or "root", aws_request_id=uuid.uuid4().hex)
            result = handler(event, ctx)
            payload = str(result.get("body") or "")
            raw = base64.b64decode(payload) if result.get("isBase64Encoded") else payload.encode("utf-8")
            self.send_response(int(result.get("statusCode", 200)))
            for name, value in (result.get("headers") or {}).items():
                self.send_header(name, str(value))
            for cookie in result.get("cookies") or []:
                self.send_header("Set-Cookie", cookie)
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        do_GET = do_POST = _handle

        def log_message(self, format: str, *args: Any) -> None:
            """Silent: request lines would repeat URLs (with codes) into the output."""

    server = ThreadingHTTPServer((host, port), _Request)
    server.daemon_threads = True
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="auth-local", daemon=True
    )
    thread.start()
    try:
        yield f"http://{host}:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
