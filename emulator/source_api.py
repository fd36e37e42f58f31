"""A local paginated source API: a real HTTP server on 127.0.0.1 the ingest tests talk to.

``GET /records?page=N[&partition=P]`` answers ``{"records": [...], "next_page": N+1 | null}``,
the contract of the ingest pipeline's default source adapter. Tests script it to misbehave:

- ``script(Fault(...))`` queues faults that hit the next matching requests (a 429 with
  Retry-After, a 5xx, a malformed JSON body, a slow answer), optionally only for one page;
- ``FaultPlan`` decides, from a seed, per page and per attempt, whether a request fails; the
  decision depends only on (seed, page, attempt), so a run reproduces whatever the request order;
- :func:`generate_dataset` builds pages with duplicates, out-of-order versions and malformed
  records, and keeps the truth (the newest valid version of each key) for the assertions.

Every request is logged in ``requests`` (page, partition, status, time) so a test can check,
for example, that nothing was requested after a 429.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

from emulator.httpserver import LocalServer

CURRENCIES = ("SGD", "USD", "EUR")


@dataclass
class Fault:
    """One scripted misbehaviour, applied to the next ``times`` matching requests.

    ``kind``: ``"429"`` (with ``retry_after`` seconds in the Retry-After header), ``"5xx"``
    (``status``, default 503), ``"malformed"`` (200 with a body that is not JSON) or ``"slow"``
    (answer normally after ``delay`` seconds). ``page`` / ``partition`` restrict it.
    """

    kind: str
    times: int = 1
    page: int | None = None
    partition: str | None = None
    retry_after: float | None = 1.0
    status: int = 503
    delay: float = 0.0

    def matches(self, page: int, partition: str | None) -> bool:
        return (self.page is None or self.page == page) and (
            self.partition is None or self.partition == partition
        )


@dataclass
class FaultPlan:
    """Seeded faults, decided per (page, attempt) so the outcome does not depend on timing.

    Only the first ``max_faulty_attempts`` attempts of a page may fail, so every page is served
    in the end. ``p_429`` etc. are per-attempt probabilities.
    """

    seed: int = 0
    p_429: float = 0.0
    p_5xx: float = 0.0
    p_malformed: float = 0.0
    p_slow: float = 0.0
    slow_delay: float = 0.05
    retry_after: float = 0.2
    max_faulty_attempts: int = 2

    def decide(self, page: int, partition: str | None, attempt: int) -> Fault | None:
        if attempt > self.max_faulty_attempts:
            return None
        rng = random.Random(f"{self.seed}:{partition}:{page}:{attempt}")
        x = rng.random()
        for kind, p in (
            ("429", self.p_429),
            ("5xx", self.p_5xx),
            ("malformed", self.p_malformed),
            ("slow", self.p_slow),
        ):
            if x < p:
                return Fault(kind, retry_after=self.retry_after, delay=self.slow_delay)
            x -= p
        return None


@dataclass
class RequestLog:
    """One request the server answered."""

    page: int
    partition: str | None
    status: int
    fault: str | None
    at: float
    correlation_id: str | None


class SourceAPI:
    """The server's state: pages per partition, scripted faults, and the request log."""

    def __init__(self, pages: list[list[dict[str, Any]]] | None = None, *, plan: FaultPlan | None = None):
        self._pages: dict[str | None, list[list[dict[str, Any]]]] = {None: list(pages or [])}
        self._faults: list[Fault] = []
        self._attempts: dict[tuple[str | None, int], int] = {}
        self._lock = threading.Lock()
        self.plan = plan
        self.requests: list[RequestLog] = []
        self.url = ""
        self._server: LocalServer | None = None
        self._thread: threading.Thread | None = None

    # --- scripting -----------------------------------------------------------------------------
    def set_pages(self, pages: list[list[dict[str, Any]]], partition: str | None = None) -> None:
        """Serve ``pages`` (page 1 is ``pages[0]``) for ``partition`` (None: no partition param)."""
        with self._lock:
            self._pages[partition] = list(pages)

    def script(self, *faults: Fault) -> None:
        """Queue faults; each hits the next ``times`` requests it matches, in order."""
        with self._lock:
            self._faults.extend(faults)

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()
            self.plan = None

    def status_counts(self) -> dict[int, int]:
        """How many requests were answered with each status."""
        out: dict[int, int] = {}
        for r in self.requests:
            out[r.status] = out.get(r.status, 0) + 1
        return out

    # --- serving -------------------------------------------------------------------------------
    def _next_fault(self, page: int, partition: str | None) -> Fault | None:
        with self._lock:
            key = (partition, page)
            attempt = self._attempts.get(key, 0) + 1
            self._attempts[key] = attempt
            for i, f in enumerate(self._faults):
                if f.matches(page, partition):
                    f.times -= 1
                    if f.times <= 0:
                        del self._faults[i]
                    return f
            return self.plan.decide(page, partition, attempt) if self.plan else None

    def answer(self, page: int, partition: str | None) -> tuple[int, dict[str, str], bytes, Fault | None]:
        """Status, headers and body for one request (applying any fault)."""
        fault = self._next_fault(page, partition)
        if fault is not None:
            if fault.kind == "429":
                headers = {"Content-Type": "application/json"}
                if fault.retry_after is not None:
                    headers["Retry-After"] = f"{fault.retry_after:g}"
                return 429, headers, b'{"message": "Too Many Requests"}', fault
            if fault.kind == "5xx":
                return (
                    fault.status,
                    {"Content-Type": "application/json"},
                    b'{"message": "unavailable"}',
                    fault,
                )
            if fault.kind == "malformed":
                return 200, {"Content-Type": "application/json"}, b'{"records": [{"id": "x", "vers', fault
            if fault.kind == "slow":
                time.sleep(fault.delay)
        pages = self._pages.get(partition)
        if pages is None:
            return 404, {"Content-Type": "application/json"}, b'{"message": "unknown partition"}', fault
        records = pages[page - 1] if 1 <= page <= len(pages) else []
        next_page = page + 1 if page < len(pages) else None
        body = json.dumps({"records": records, "next_page": next_page}).encode()
        return 200, {"Content-Type": "application/json"}, body, fault

    def start(self) -> str:
        """Serve on a free port of 127.0.0.1 in a daemon thread; returns the records URL."""
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # else headers + body in two writes stall ~40 ms on keep-alive

            def do_GET(self) -> None:
                parsed = urlparse(self.path)
                if parsed.path == "/health":
                    self._send(200, {"Content-Type": "text/plain"}, b"ok")
                    return
                if parsed.path != "/records":
                    self._send(404, {"Content-Type": "text/plain"}, b"not found")
                    return
                qs = parse_qs(parsed.query)
                try:
                    page = int(qs.get("page", ["1"])[0])
                except ValueError:
                    self._send(400, {"Content-Type": "text/plain"}, b"page must be an integer")
                    return
                partition = qs.get("partition", [None])[0]
                status, headers, body, fault = api.answer(page, partition)
                with api._lock:
                    api.requests.append(
                        RequestLog(
                            page,
                            partition,
                            status,
                            fault.kind if fault else None,
                            time.monotonic(),
                            self.headers.get("x-correlation-id"),
                        )
                    )
                self._send(status, headers, body)

            def _send(self, status: int, headers: dict[str, str], body: bytes) -> None:
                try:
                    self.send_response(status)
                    for k, v in headers.items():
                        self.send_header(k, v)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout); nothing to answer

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                return

        server = LocalServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, name="source-api", daemon=True)
        self._thread.start()
        self.url = f"http://127.0.0.1:{server.server_address[1]}/records"
        return self.url

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


@contextmanager
def source_api(
    pages: list[list[dict[str, Any]]] | None = None, *, plan: FaultPlan | None = None
) -> Iterator[SourceAPI]:
    """Start a :class:`SourceAPI` serving ``pages``; yields it (its ``.url`` is the SOURCE_URL)."""
    api = SourceAPI(pages, plan=plan)
    api.start()
    try:
        yield api
    finally:
        api.stop()


# --- data --------------------------------------------------------------------------------------


@dataclass
class Dataset:
    """Generated pages and the truth the no-loss assertions compare against."""

    pages: list[list[dict[str, Any]]]
    #: key -> the record with the newest valid version (what DynamoDB must hold)
    latest: dict[str, dict[str, Any]]
    #: every malformed record served, with the defect that makes it so
    malformed: list[tuple[dict[str, Any], str]] = field(default_factory=list)
    #: every valid (key, version) served
    valid_versions: set[tuple[str, int]] = field(default_factory=set)

    @property
    def n_records(self) -> int:
        return sum(len(p) for p in self.pages)


def valid_record(rng: random.Random, key: str, version: int) -> dict[str, Any]:
    """One record of the demo schema (id, version, updated_at, name, amount, currency)."""
    return {
        "id": key,
        "version": version,
        "updated_at": f"2026-01-{1 + version % 28:02d}T{rng.randrange(24):02d}:{rng.randrange(60):02d}:00Z",
        "name": f"customer {key[-5:]} v{version}",
        "amount": round(rng.uniform(0, 10_000), 2),
        "currency": rng.choice(CURRENCIES),
    }


#: The demo's domain suite for these records; the pipeline's own default checks only key and version,
#: so whatever replays this source's defects sets SUITE_PATH to it.
DEMO_SUITE = Path(__file__).resolve().parents[1] / "demo" / "suites" / "records.json"

# Each defect is one way a record breaks the demo's suite (DEMO_SUITE).
DEFECTS = (
    "missing_id",
    "bad_version",
    "negative_amount",
    "amount_not_number",
    "bad_currency",
    "missing_name",
)


def break_record(rec: dict[str, Any], defect: str) -> dict[str, Any]:
    """A copy of ``rec`` with one defect."""
    bad = dict(rec)
    if defect == "missing_id":
        bad.pop("id")
    elif defect == "bad_version":
        bad["version"] = "v-latest"
    elif defect == "negative_amount":
        bad["amount"] = -abs(bad["amount"]) - 1
    elif defect == "amount_not_number":
        bad["amount"] = "12,50"
    elif defect == "bad_currency":
        bad["currency"] = "XXX"
    elif defect == "missing_name":
        bad["name"] = None
    else:
        raise ValueError(f"unknown defect {defect!r}")
    return bad


def generate_dataset(
    *,
    seed: int,
    n_records: int,
    page_size: int = 200,
    malformed_rate: float = 0.03,
    duplicate_rate: float = 0.05,
    versions_per_key: int = 3,
    key_prefix: str = "cust",
) -> Dataset:
    """Pages of ``n_records`` records in shuffled order (out-of-order versions across pages).

    Each key gets 1..``versions_per_key`` versions; ``duplicate_rate`` of the valid records are
    served twice; ``malformed_rate`` of the records are malformed copies (some with a version
    higher than the newest valid one, which must never win).
    """
    rng = random.Random(seed)
    n_bad = round(n_records * malformed_rate)
    n_dup = round(n_records * duplicate_rate)
    n_valid = n_records - n_bad - n_dup
    valid: list[dict[str, Any]] = []
    latest: dict[str, dict[str, Any]] = {}
    i = 0
    while len(valid) < n_valid:
        key = f"{key_prefix}-{i:07d}"
        i += 1
        for v in range(1, min(rng.randint(1, versions_per_key), n_valid - len(valid)) + 1):
            rec = valid_record(rng, key, v)
            valid.append(rec)
            latest[key] = rec
    dups = [dict(rng.choice(valid)) for _ in range(n_dup)]
    malformed: list[tuple[dict[str, Any], str]] = []
    for _ in range(n_bad):
        base = dict(rng.choice(valid))
        base["version"] = int(base["version"]) + rng.choice((0, 5))  # sometimes "newer" than the truth
        defect = rng.choice(DEFECTS)
        malformed.append((break_record(base, defect), defect))
    served = valid + dups + [m for m, _ in malformed]
    rng.shuffle(served)
    pages = [served[j : j + page_size] for j in range(0, len(served), page_size)]
    return Dataset(
        pages=pages,
        latest=latest,
        malformed=malformed,
        valid_versions={(r["id"], int(r["version"])) for r in valid},
    )
