"""A local Lambda Runtime API: the HTTP protocol a runtime client (``awslambdaric``) speaks.

The documented ``2018-06-01`` endpoints, on 127.0.0.1 and a free port
(``AWS_LAMBDA_RUNTIME_API=127.0.0.1:<port>``):

- ``GET  /2018-06-01/runtime/invocation/next`` blocks until there is an invocation, then answers
  200 with the event as the body and the ``Lambda-Runtime-Aws-Request-Id``,
  ``Lambda-Runtime-Deadline-Ms``, ``Lambda-Runtime-Invoked-Function-Arn``,
  ``Lambda-Runtime-Trace-Id`` and, when present, ``Lambda-Runtime-Client-Context`` /
  ``Lambda-Runtime-Cognito-Identity`` headers. The first call ends the init phase; each later
  call ends the invoke phase of the previous invocation.
- ``POST /2018-06-01/runtime/invocation/{id}/response``: 202; 413 above 6 MB (the invocation then
  fails with ``Function.ResponseSizeTooLarge``); 400 for an id that is not the current one.
- ``POST /2018-06-01/runtime/invocation/{id}/error``: 202; the body is the runtime's error JSON,
  ``Lambda-Runtime-Function-Error-Type`` its type.
- ``POST /2018-06-01/runtime/init/error``: 202; the runtime reports a failed init and exits.

One server serves one function's execution environment at a time (Lambda gives each
environment its own endpoint); :meth:`RuntimeAPI.new_environment` forgets the previous process,
so a request from a process that was killed can never touch the next one's invocations.
The server knows nothing about processes, deadlines or logs: :mod:`emulator.lambda_function`
does that and is told of every change through ``on_change``.

Not served: the Extensions API, the Telemetry/Logs API and the SnapStart ``/restore`` endpoints
(404), nor several invocations at once (Lambda Managed Instances).
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from emulator.httpserver import LocalServer

PREFIX = "/2018-06-01/runtime"
MAX_RESPONSE_BYTES = 6 * 1024 * 1024  # synchronous invocation payload quota
ERROR_TYPE_HEADER = "Lambda-Runtime-Function-Error-Type"
_INVOCATION_PATH = re.compile(re.escape(PREFIX) + r"/invocation/([^/]+)/(response|error)")


@dataclass
class Invocation:
    """One invocation as the Runtime API sees it: what it hands out and what comes back."""

    request_id: str
    body: bytes
    deadline_ms: int
    function_arn: str
    trace_id: str
    client_context: str | None = None
    cognito_identity: str | None = None
    #: perf_counter times: handed to the runtime, answered, runtime back at /next
    picked_at: float | None = None
    answered_at: float | None = None
    released_at: float | None = None
    outcome: str | None = None  # "response" | "error" | "too_large"
    payload: bytes = b""
    error_type: str | None = None

    def headers(self) -> dict[str, str]:
        """The response headers of ``/invocation/next`` for this invocation."""
        out = {
            "Lambda-Runtime-Aws-Request-Id": self.request_id,
            "Lambda-Runtime-Deadline-Ms": str(self.deadline_ms),
            "Lambda-Runtime-Invoked-Function-Arn": self.function_arn,
            "Lambda-Runtime-Trace-Id": self.trace_id,
            "Content-Type": "application/json",
        }
        if self.client_context is not None:
            out["Lambda-Runtime-Client-Context"] = self.client_context
        if self.cognito_identity is not None:
            out["Lambda-Runtime-Cognito-Identity"] = self.cognito_identity
        return out


@dataclass
class _State:
    """What the current environment's runtime has told the API so far."""

    generation: int = 0
    ready_at: float | None = None  # first /next of this environment: init is done
    init_error: dict[str, Any] | None = None
    init_error_type: str | None = None
    queue: deque[Invocation] = field(default_factory=deque)
    current: Invocation | None = None


class RuntimeAPI:
    """The Runtime API of one function, on 127.0.0.1; a context manager that starts and stops it."""

    def __init__(self, on_change: Callable[[], None] | None = None) -> None:
        self.on_change = on_change or (lambda: None)
        self._cond = threading.Condition()
        self._state = _State()
        self._closed = False
        self._server = LocalServer(("127.0.0.1", 0), _Handler)
        self._server.api = self  # type: ignore[attr-defined]
        self._thread: threading.Thread | None = None

    @property
    def address(self) -> str:
        """``host:port``, the value of ``AWS_LAMBDA_RUNTIME_API``."""
        host, port = self._server.server_address[:2]
        return f"{host!s}:{port}"

    def start(self) -> RuntimeAPI:
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="runtime-api", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> RuntimeAPI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- what the runner asks ------------------------------------------------------------------

    def new_environment(self) -> None:
        """Forget the previous environment (its runtime is gone): a fresh init is awaited."""
        with self._cond:
            self._state = _State(generation=self._state.generation + 1)
            self._cond.notify_all()

    def submit(self, invocation: Invocation) -> None:
        """Queue ``invocation`` for the runtime's next ``/invocation/next``."""
        with self._cond:
            self._state.queue.append(invocation)
            self._cond.notify_all()

    @property
    def ready_at(self) -> float | None:
        """When the runtime first asked for an invocation (init done), or None."""
        return self._state.ready_at

    @property
    def init_error(self) -> tuple[dict[str, Any], str | None] | None:
        """The error body and type the runtime posted to ``/init/error``, if it did."""
        s = self._state
        return None if s.init_error is None else (s.init_error, s.init_error_type)

    # --- what the runtime asks ----------------------------------------------------------------

    def _next(self) -> Invocation | None:
        with self._cond:
            state = self._state
            now = time.perf_counter()
            if state.ready_at is None:
                state.ready_at = now
            if state.current is not None:
                state.current.released_at = now
                state.current = None
            self.on_change()
            while not state.queue and state is self._state and not self._closed:
                self._cond.wait(1.0)
            if state is not self._state or self._closed:
                return None  # that environment is gone; its process is being (or was) killed
            inv = state.queue.popleft()
            inv.picked_at = time.perf_counter()
            state.current = inv
            return inv

    def _answer(self, request_id: str, kind: str, body: bytes, error_type: str | None) -> tuple[int, dict]:
        with self._cond:
            inv = self._state.current
            if inv is None or inv.request_id != request_id:
                return 400, {
                    "errorMessage": f"Invalid request ID: {request_id}",
                    "errorType": "InvalidRequestID",
                }
            if inv.outcome is not None:
                return 400, {
                    "errorMessage": "Invocation already answered",
                    "errorType": "InvalidStateTransition",
                }
            inv.answered_at = time.perf_counter()
            if kind == "response" and len(body) > MAX_RESPONSE_BYTES:
                inv.outcome = "too_large"
                inv.error_type = "Function.ResponseSizeTooLarge"
                limit = f"Exceeded maximum allowed payload size ({MAX_RESPONSE_BYTES} bytes)."
                status, doc = 413, {"errorMessage": limit, "errorType": "RequestEntityTooLarge"}
            else:
                inv.outcome, inv.payload, inv.error_type = kind, body, error_type
                status, doc = 202, {"status": "OK"}
            self.on_change()
            return status, doc

    def _init_failed(self, body: bytes, error_type: str | None) -> None:
        try:
            doc = json.loads(body or b"{}")
        except ValueError:
            doc = {"errorMessage": body.decode("utf-8", "replace"), "errorType": error_type or ""}
        with self._cond:
            self._state.init_error = doc if isinstance(doc, dict) else {"errorMessage": str(doc)}
            self._state.init_error_type = error_type
            self.on_change()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # the runtime client keeps its connection open between calls
    disable_nagle_algorithm = True  # headers and body go out at once, not 40 ms apart

    def log_message(self, format: str, *args: Any) -> None:  # quiet: the function's log is elsewhere
        pass

    @property
    def api(self) -> RuntimeAPI:
        return self.server.api  # type: ignore[attr-defined]

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for k, v in (headers or {"Content-Type": "application/json"}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: int, doc: dict[str, Any]) -> None:
        self._send(status, json.dumps(doc).encode())

    def do_GET(self) -> None:
        if self.path != f"{PREFIX}/invocation/next":
            self._json(404, {"errorMessage": f"no such endpoint: GET {self.path}", "errorType": "NotFound"})
            return
        inv = self.api._next()
        if inv is None:
            self.close_connection = True
            return
        self._send(200, inv.body, inv.headers())

    def do_POST(self) -> None:
        body = self._body()
        error_type = self.headers.get(ERROR_TYPE_HEADER)
        match = _INVOCATION_PATH.fullmatch(self.path)
        if match:
            status, doc = self.api._answer(match.group(1), match.group(2), body, error_type)
            self._json(status, doc)
        elif self.path == f"{PREFIX}/init/error":
            self.api._init_failed(body, error_type)
            self._json(202, {"status": "OK"})
        else:
            self._json(404, {"errorMessage": f"no such endpoint: POST {self.path}", "errorType": "NotFound"})
