"""An HTTP proxy in front of moto that adds latency and injects DynamoDB throttles.

moto never throttles and answers in well under a millisecond of network time, so neither the
throttle handling nor the benefit of concurrent writes can be seen against it directly. Point a
client at this proxy (``AWS_ENDPOINT_URL_DYNAMODB=<proxy url>``) and it forwards every request
to moto, after:

- ``delay``: a fixed sleep per call (e.g. 0.005 for a 5 ms round trip);
- ``throttle_next(n)``: answering the next ``n`` matching DynamoDB calls with HTTP 400 and a
  ``ProvisionedThroughputExceededException`` (or ``ThrottlingException``) JSON body, exactly as
  DynamoDB does, so botocore retries them and, when they outlast its retries, raises the
  ``ClientError`` the pipeline must treat as a throttle;
- ``throttle_rate``: a seeded share of matching calls throttled;
- ``stub``: DynamoDB operations answered by the proxy itself (``{}``, after the delay), a
  latency-only stand-in used by the benchmark to separate round-trip time from moto's CPU time.

Runs in-process (``with fault_proxy(upstream) as proxy``) or as its own process
(``python -m emulator.fault_proxy --upstream URL --port P --delay-ms 5``), which the benchmark
uses so the proxy's CPU does not compete with the client's.
"""

from __future__ import annotations

import argparse
import http.client
import json
import random
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import urlparse

from emulator.httpserver import LocalServer

THROTTLE_BODIES = {
    "ProvisionedThroughputExceededException": {
        "__type": "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
        "message": "The level of configured provisioned throughput for the table was exceeded. "
        "Consider increasing your provisioning level with the UpdateTable API.",
    },
    "ThrottlingException": {
        "__type": "com.amazon.coral.availability#ThrottlingException",
        "message": "Rate of requests exceeds the allowed throughput.",
    },
}
_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "proxy-connection", "upgrade", "te"}


class FaultProxy:
    """Forwards HTTP to ``upstream``; adds delay and throttles per its current settings."""

    def __init__(self, upstream: str, *, delay: float = 0.0, seed: int = 0):
        parsed = urlparse(upstream)
        self.upstream_host = parsed.hostname or "127.0.0.1"
        self.upstream_port = parsed.port or 80
        self.delay = delay
        self.throttle_code = "ProvisionedThroughputExceededException"
        self.throttle_operations: set[str] | None = None  # None: every DynamoDB operation
        self.throttle_probability = 0.0
        self.stub: set[str] = set()
        self._throttle_budget = 0
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._local = threading.local()
        self.calls: dict[str, int] = {}
        self.throttled: dict[str, int] = {}
        self.url = ""
        self._server: LocalServer | None = None

    # --- scripting -----------------------------------------------------------------------------
    def throttle_next(
        self,
        n: int,
        *,
        code: str = "ProvisionedThroughputExceededException",
        operations: set[str] | None = None,
    ) -> None:
        """Throttle the next ``n`` DynamoDB calls (of ``operations``, e.g. ``{"PutItem"}``)."""
        if code not in THROTTLE_BODIES:
            raise ValueError(f"unknown throttle code {code!r}; one of {sorted(THROTTLE_BODIES)}")
        with self._lock:
            self._throttle_budget = n
            self.throttle_code = code
            self.throttle_operations = operations

    def throttle_rate(self, probability: float, *, operations: set[str] | None = None) -> None:
        """Throttle a seeded ``probability`` share of DynamoDB calls (0 turns it off)."""
        with self._lock:
            self.throttle_probability = probability
            self.throttle_operations = operations

    def reset(self) -> None:
        """No more throttles (the delay stays)."""
        with self._lock:
            self._throttle_budget = 0
            self.throttle_probability = 0.0

    def _should_throttle(self, operation: str | None) -> bool:
        if operation is None:
            return False
        with self._lock:
            self.calls[operation] = self.calls.get(operation, 0) + 1
            if self.throttle_operations is not None and operation not in self.throttle_operations:
                return False
            hit = False
            if self._throttle_budget > 0:
                self._throttle_budget -= 1
                hit = True
            elif self.throttle_probability and self._rng.random() < self.throttle_probability:
                hit = True
            if hit:
                self.throttled[operation] = self.throttled.get(operation, 0) + 1
            return hit

    # --- forwarding ----------------------------------------------------------------------------
    def _connection(self) -> http.client.HTTPConnection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = http.client.HTTPConnection(self.upstream_host, self.upstream_port, timeout=60)
            self._local.conn = conn
        return conn

    def forward(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, list, bytes]:
        """Send one request upstream on this thread's keep-alive connection."""
        for attempt in (1, 2):
            conn = self._connection()
            try:
                conn.request(method, path, body=body, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
                return resp.status, resp.getheaders(), data
            except (http.client.HTTPException, OSError):
                conn.close()
                self._local.conn = None
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def start(self, port: int = 0) -> str:
        """Serve on 127.0.0.1:``port`` (0: a free one) in a daemon thread; returns the URL."""
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # else headers + body in two writes stall ~40 ms on keep-alive

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                target = self.headers.get("X-Amz-Target") or ""
                operation = target.split(".", 1)[1] if target.startswith("DynamoDB_") else None
                if proxy.delay:
                    time.sleep(proxy.delay)
                if proxy._should_throttle(operation):
                    payload = json.dumps(THROTTLE_BODIES[proxy.throttle_code]).encode()
                    self._reply(400, [("Content-Type", "application/x-amz-json-1.0")], payload)
                    return
                if operation in proxy.stub:
                    self._reply(200, [("Content-Type", "application/x-amz-json-1.0")], b"{}")
                    return
                headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
                try:
                    status, resp_headers, data = proxy.forward(self.command, self.path, headers, body)
                except OSError as exc:
                    self._reply(502, [("Content-Type", "text/plain")], f"upstream error: {exc}".encode())
                    return
                keep = [(k, v) for k, v in resp_headers if k.lower() not in _HOP_BY_HOP | {"content-length"}]
                self._reply(status, keep, data)

            def _reply(self, status: int, headers: list, body: bytes) -> None:
                try:
                    self.send_response(status)
                    for k, v in headers:
                        self.send_header(k, v)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _handle

            def log_message(self, format: str, *args: Any) -> None:
                return

        server = LocalServer(("127.0.0.1", port), Handler)
        server.daemon_threads = True
        server.request_queue_size = 128
        self._server = server
        threading.Thread(target=server.serve_forever, name="fault-proxy", daemon=True).start()
        self.url = f"http://127.0.0.1:{server.server_address[1]}"
        return self.url

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


@contextmanager
def fault_proxy(upstream: str, *, delay: float = 0.0, seed: int = 0) -> Iterator[FaultProxy]:
    """Start a :class:`FaultProxy` in front of ``upstream``; yields it (``.url`` to point at)."""
    proxy = FaultProxy(upstream, delay=delay, seed=seed)
    proxy.start()
    try:
        yield proxy
    finally:
        proxy.stop()


def main(argv: list[str] | None = None) -> None:
    """Run the proxy as its own process until killed."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--upstream", required=True, help="e.g. http://127.0.0.1:5000 (moto)")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--delay-ms", type=float, default=0.0)
    ap.add_argument("--throttle-rate", type=float, default=0.0)
    ap.add_argument("--stub", action="append", default=[], help="answer this DynamoDB operation with {}")
    args = ap.parse_args(argv)
    proxy = FaultProxy(args.upstream, delay=args.delay_ms / 1000)
    proxy.stub = set(args.stub)
    proxy.throttle_rate(args.throttle_rate)
    print(proxy.start(args.port), flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main()
