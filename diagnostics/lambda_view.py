"""What the Lambda platform saw: invocations it ended, and what every invocation cost.

The platform's lines (:mod:`diagnostics.platform`) say what observe cannot: that an invocation was
killed at its timeout, by the out-of-memory killer, by a runtime that exited, or never ran because
its init failed. :class:`PlatformJoin` reads them as they stream by and keeps only what a verdict
needs (the invocations that failed, the ones still open, the last REPORTs); then
:func:`enrich` joins each failed invocation with observe's own lines of the same request id
(``aws_request_id``): its correlation id, the records that were in flight (from the deadline
watchdog's line, else from the last record its lines name) and its last lines.

The causes, from the strongest evidence down:

- ``init failure``: an ``INIT_REPORT`` / ``platform.initReport`` with a status other than success
  placed on the failed invocation (same log stream, inside it or just before it), or a REPORT
  error type of a failed init (``Runtime.ImportModuleError`` ...);
- ``timeout``: ``Status: timeout``, ``Task timed out after N seconds``, ``Sandbox.Timedout``;
- ``out of memory``: ``Runtime.OutOfMemory``, or an invocation the platform ended (an error
  status, a runtime exit, ``signal: killed``) with ``Max Memory Used`` at ``Memory Size``;
- ``runtime exited``: ``Runtime exited with error: exit status N`` / ``signal: <name>``,
  ``Runtime.ExitError``, ``Process exited before completing request``.

A handler's own exception is not one of these: the runtime reports it and observe's summary line
(``invocation failed``) says it; ``failures`` groups those.

:class:`FunctionTelemetry` is the REPORT lines of one function and memory size: cold-start rate
(the share with ``Init Duration``), init p50/p99, billed duration, max memory used against the
memory size, and :func:`right_size`'s recommendation (the rule is in its docstring).
"""

from __future__ import annotations

import math
from array import array
from collections import Counter, OrderedDict, deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from diagnostics.alarms import statistic
from diagnostics.analysis import routine_line, shown_field
from diagnostics.model import doc_time
from diagnostics.platform import body, is_platform, is_runtime_error
from diagnostics.queries import is_emf, level_of
from observe.catalogue import LOG_FIELDS, MEMORY_WARNING, SUMMARY_MESSAGES, TIMEOUT_WARNING
from observe.redact import redact_text

TIMEOUT, OUT_OF_MEMORY, INIT_FAILURE, RUNTIME_EXITED = (
    "timeout",
    "out of memory",
    "init failure",
    "runtime exited",
)
CAUSES = (TIMEOUT, OUT_OF_MEMORY, INIT_FAILURE, RUNTIME_EXITED)
#: Error types the runtime gives an init that failed (the handler could not be loaded).
INIT_ERROR_TYPES = frozenset(
    {
        "Runtime.ImportModuleError",
        "Runtime.HandlerNotFound",
        "Runtime.UserCodeSyntaxError",
        "Runtime.MalformedHandlerName",
        "Runtime.InitError",
    }
)
#: Lines kept per failed invocation (its last ones).
LAST_LINES = 20
#: Fields naming the record a line is about (observe.batch: SQS, streams, Kafka).
RECORD_FIELDS = ("message_id", "sequence_number", "record_id")
#: Memory sizes a recommendation picks from (MB): the usual steps of the 128-10,240 MB range.
STANDARD_SIZES_MB = (128, 256, 512, 768, 1024, 1536, 2048, 3008, 4096, 5120, 6144, 8192, 10240)
#: Memory kept free above the p99 of Max Memory Used.
HEADROOM = 0.20
#: Below this many REPORT lines a recommendation says it rests on few invocations.
FEW_INVOCATIONS = 20
_FAILED = frozenset({"error", "failure", "timeout"})
_KEEP_REPORTS = 20_000  # recent REPORTs kept for a failure line that arrives after its REPORT
_KEEP_PENDING = 1_000  # init errors and runtime errors waiting to be placed
_KEEP_FUNCTIONS = 50_000  # request id -> function name, from observe's summary lines


# --- results -------------------------------------------------------------------------------------------


@dataclass
class InvocationFailure:
    """One invocation the platform ended: why, what it was doing, and what it wrote last."""

    cause: str  # timeout | out of memory | init failure | runtime exited
    request_id: str
    time: datetime | None
    detail: str  # what the platform said, in a sentence (masked)
    function: str | None = None
    correlation_id: str | None = None  # the invocation's own (a batch has one of its own)
    #: the records being processed: ``{record_id, correlation_id, batch_kind, running_ms}``
    in_flight: list[dict[str, Any]] = field(default_factory=list)
    #: where ``in_flight`` comes from: ``watchdog`` (its line), ``last lines`` (the last record
    #: the invocation's lines name), or ``unknown``
    in_flight_from: str = "unknown"
    status: str | None = None
    error_type: str | None = None
    duration_ms: float | None = None
    memory_mb: int | None = None
    max_memory_mb: int | None = None
    log_stream: str | None = None
    evidence: list[str] = field(default_factory=list)  # the platform's (and observe's) words for it
    last_lines: list[dict[str, Any]] = field(default_factory=list)  # masked, oldest first
    line_count: int = 0  # observe's lines of the request id (last_lines holds the last of them)
    routine_lines: int = 0  # of those, libraries' routine lines left out of last_lines


@dataclass
class Recommendation:
    """A memory size for one function, and what it would have cost over the window seen."""

    memory_mb: int
    current_mb: int
    gb_seconds_now: float
    gb_seconds_then: float
    reason: str

    @property
    def difference_gb_seconds(self) -> float:
        return self.gb_seconds_then - self.gb_seconds_now


@dataclass
class FunctionTelemetry:
    """The REPORT lines of one function at one memory size."""

    function: str
    memory_mb: int | None
    invocations: int
    cold_starts: int
    init_p50_ms: float | None
    init_p99_ms: float | None
    duration_p50_ms: float | None
    duration_p99_ms: float | None
    billed_ms_total: float
    billed_p50_ms: float | None
    billed_p99_ms: float | None
    max_memory_p50_mb: float | None
    max_memory_p99_mb: float | None
    max_memory_mb: float | None
    gb_seconds: float
    failures: dict[str, int] = field(default_factory=dict)  # by cause
    recommendation: Recommendation | None = None

    @property
    def cold_start_rate(self) -> float | None:
        return self.cold_starts / self.invocations if self.invocations else None


@dataclass
class LambdaView:
    """The platform's view of the window: failed invocations (the last ``max_failures`` of them
    detailed), counts by cause, and the telemetry per function."""

    failures: list[InvocationFailure]
    counts: dict[str, int]  # every failure seen, by cause
    telemetry: list[FunctionTelemetry]
    reports: int  # REPORT lines read
    platform_lines: int  # platform lines read
    unreported: int  # invocations that started and have no REPORT (still running, or lost)
    init_errors_unplaced: int  # failed inits with no failed invocation after them (a retry worked)
    not_detailed: int = 0  # failures counted, not detailed (over max_failures)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


# --- reading the platform's lines ------------------------------------------------------------------------


@dataclass
class _Inv:
    """What the platform said about one request id (kept while it is open or failing)."""

    request_id: str
    stream: str | None = None
    group: str | None = None
    start: float | None = None  # position (see PlatformJoin._pos)
    end: float | None = None
    time: datetime | None = None
    report: dict[str, Any] | None = None
    timed_out: dict[str, Any] | None = None
    exited: dict[str, Any] | None = None
    done: dict[str, Any] | None = None
    init: dict[str, Any] | None = None
    error: dict[str, Any] | None = None  # the runtime's error record for this id


def _function_of_group(group: Any) -> str | None:
    if isinstance(group, str) and group:
        return group.rsplit("/", 1)[-1] if group.startswith("/aws/lambda/") else group
    return None


class _Group:
    """REPORT values of one (function, memory size), in compact arrays."""

    def __init__(self) -> None:
        self.duration = array("d")
        self.billed = array("d")
        self.memory = array("d")
        self.init = array("d")
        self.failures: Counter[str] = Counter()


class PlatformJoin:
    """Platform documents (and observe's summary lines) streamed in, failures and telemetry out.

    Lines may come in any order (CloudWatch answers one filter pattern after another), so an init
    failure is placed at the end by position: the time of CloudWatch events, the order of lines in
    a file. Memory stays bounded by the failures and the invocations open at once, plus the
    telemetry's compact arrays (8 bytes a value).
    """

    def __init__(self) -> None:
        self.invs: dict[str, _Inv] = {}
        self.recent: OrderedDict[str, _Inv] = OrderedDict()  # finished fine, kept a while
        self.init_errors: deque[dict[str, Any]] = deque(maxlen=_KEEP_PENDING)
        self.runtime_errors: deque[dict[str, Any]] = deque(maxlen=_KEEP_PENDING)  # without a request id
        self.functions: OrderedDict[str, str] = OrderedDict()  # request id -> function (observe's lines)
        self.stream_functions: dict[str, str] = {}
        self.groups: dict[tuple[str, int | None], _Group] = {}
        self.reports = 0
        self.lines = 0
        self._seq = 0

    # -- positions
    def _pos(self, doc: dict[str, Any]) -> float:
        """Where a line is: its time (ms) when it came from CloudWatch, else its place in the read."""
        self._seq += 1
        t = doc_time(doc)
        if doc.get("@log") is not None and t is not None:
            return t.timestamp() * 1000.0 + self._seq * 1e-9
        return float(self._seq)

    def _inv(self, rid: str, doc: dict[str, Any], b: dict[str, Any]) -> _Inv:
        inv = self.invs.get(rid)
        if inv is None:
            inv = self.recent.pop(rid, None) or _Inv(rid)
            self.invs[rid] = inv
        inv.stream = inv.stream or b.get("stream")
        inv.group = inv.group or doc.get("@log")
        return inv

    def add(self, doc: dict[str, Any]) -> None:
        """One document from a read that selected platform lines (others are looked at for names)."""
        if not is_platform(doc):
            if is_runtime_error(doc):
                self._runtime_error(doc, {"error_type": doc["errorType"], "message": doc.get("errorMessage")})
            elif doc.get(LOG_FIELDS.request_id) and doc.get(LOG_FIELDS.function_name):
                self.functions[str(doc[LOG_FIELDS.request_id])] = str(doc[LOG_FIELDS.function_name])
                if len(self.functions) > _KEEP_FUNCTIONS:
                    self.functions.popitem(last=False)
            return
        self.lines += 1
        b = body(doc)
        kind = b.get("type")
        rid = b.get("request_id")
        pos = self._pos(doc)
        t = doc_time(doc)
        if kind == "init_report":
            if b.get("status") not in (None, "success"):
                self.init_errors.append({**b, "pos": pos, "time": t})
            return
        if kind == "runtime_error":
            self._runtime_error(doc, b, pos)
            return
        if kind == "init_start":
            if b.get("function_name"):
                self.stream_functions.setdefault(b.get("stream") or "", b["function_name"])
                if (b.get("stream") or "") == "" and self.stream_functions[""] != b["function_name"]:
                    self.stream_functions[""] = "-"  # lines of several functions, without streams
            return
        if not isinstance(rid, str) or not rid:
            return
        inv = self._inv(rid, doc, b)
        if t is not None and (inv.time is None or kind in ("report", "timed_out")):
            inv.time = t  # when it ended, as near as the lines say
        if kind == "start":
            inv.start = pos
        elif kind == "end":
            inv.end = inv.end or pos
        elif kind == "timed_out":
            inv.timed_out = b
        elif kind == "exited":
            inv.exited = b
        elif kind == "runtime_done":
            inv.done = b
        elif kind == "report":
            self.reports += 1
            inv.report = b
            inv.end = pos
            self._count(doc, inv, b)
        if inv.report is not None and not _signals_failure(inv):
            del self.invs[rid]  # a fine invocation: kept a while in case a failure line comes later
            self.recent[rid] = inv
            if len(self.recent) > _KEEP_REPORTS:
                self.recent.popitem(last=False)

    def _runtime_error(self, doc: dict[str, Any], b: dict[str, Any], pos: float | None = None) -> None:
        entry = {
            "error_type": b.get("error_type"),
            "message": redact_text(str(b.get("message") or ""))[:500],
            "stream": b.get("stream"),
            "pos": self._pos(doc) if pos is None else pos,
        }
        rid = doc.get("requestId") if not is_platform(doc) else None
        if isinstance(rid, str) and rid:
            inv = self.invs.get(rid) or self.recent.get(rid)
            if inv is not None:
                inv.error = entry
            return
        self.runtime_errors.append(entry)

    def _function(self, doc: dict[str, Any], inv: _Inv) -> str:
        return (
            _function_of_group(doc.get("@log"))
            or self.functions.get(inv.request_id)
            or self.stream_functions.get(inv.stream or "")
            or "-"
        )

    def _only_function(self) -> str | None:
        """The one function the lines read name, if they name exactly one (lines of one function
        without names of their own, a Text-format file, belong to it)."""
        names = {*self.functions.values(), *self.stream_functions.values(), *(f for f, _ in self.groups)}
        names.discard("-")
        return next(iter(names)) if len(names) == 1 else None

    def _count(self, doc: dict[str, Any], inv: _Inv, b: dict[str, Any]) -> None:
        key = (self._function(doc, inv), b.get("memory_mb"))
        g = self.groups.get(key)
        if g is None:
            g = self.groups[key] = _Group()
        for values, name in (
            (g.duration, "duration_ms"),
            (g.billed, "billed_ms"),
            (g.memory, "max_memory_mb"),
        ):
            if isinstance(b.get(name), int | float):
                values.append(float(b[name]))
        if isinstance(b.get("init_ms"), int | float):
            g.init.append(float(b["init_ms"]))

    # -- the verdicts
    def _place_init_errors(self) -> int:
        """Give each failed init to the invocation it belongs to; returns those that failed none.

        ``Phase: invoke`` (a suppressed init, inside the invocation) goes to the invocation whose
        START..REPORT holds it; ``Phase: init`` to the first invocation that starts after it. Both
        in the same log stream; lines without one (a file) are placed among all invocations,
        preferring one whose REPORT names the same error type. An init error whose invocation
        ended well (the retry in the invoke phase worked) fails none.
        """
        known = [*self.invs.values(), *self.recent.values()]
        left = 0
        for e in self.init_errors:
            stream = e.get("stream")
            same = [i for i in known if stream is None or i.stream in (None, stream)]
            pos = e["pos"]
            if e.get("phase") == "invoke":
                around = [
                    i for i in same if (i.start is None or i.start <= pos) and (i.end or math.inf) >= pos
                ]
            else:
                around = [i for i in same if (i.start if i.start is not None else i.end or -math.inf) >= pos]
            failed = [i for i in around if _signals_failure(i)]
            if stream is None:  # interleaved environments: the same error type first
                around = [i for i in failed if _etype(i) == e.get("error_type")] or failed
            if not around:
                left += 1
                continue
            nearest = min(around, key=lambda i: abs((i.start if i.start is not None else i.end or pos) - pos))
            if not _signals_failure(nearest):
                left += 1  # the next invocation ran: the retry of the init worked
                continue
            if nearest.init is None or e.get("phase") == "invoke":
                nearest.init = {**e, "message": self._init_message(e)}
        return left

    def _init_message(self, e: dict[str, Any]) -> str | None:
        """The runtime's error line written before a failed init (same stream, same type)."""
        best = None
        for r in self.runtime_errors:
            if r["pos"] > e["pos"] or (e.get("stream") and r.get("stream") not in (None, e.get("stream"))):
                continue
            if e.get("error_type") and r.get("error_type") != e.get("error_type"):
                continue
            if best is None or r["pos"] > best["pos"]:
                best = r
        return best["message"] if best else None

    def verdicts(self) -> tuple[list[InvocationFailure], int, int]:
        """(failures, invocations without a REPORT, failed inits placed on no invocation)."""
        left = self._place_init_errors()
        out = []
        for inv in self.invs.values():
            f = _verdict(inv) if _signals_failure(inv) else None
            if f is not None:
                name = self._function({"@log": inv.group}, inv)
                f.function = self._only_function() if name == "-" else name
                out.append(f)
        unreported = sum(1 for i in self.invs.values() if i.report is None and i.start is not None)
        return out, unreported, left

    def telemetry(self, failures: Sequence[InvocationFailure]) -> list[FunctionTelemetry]:
        by_key: dict[tuple[str, int | None], Counter[str]] = {}
        for f in failures:
            key = (f.function or "-", f.memory_mb)
            by_key.setdefault(key, Counter())[f.cause] += 1
        only = self._only_function()
        if only is not None:  # one function: the REPORTs with no name of their own are its
            for (function, memory), g in list(self.groups.items()):
                if function == "-":
                    mine = self.groups.setdefault((only, memory), _Group())
                    for name in ("duration", "billed", "memory", "init"):
                        getattr(mine, name).extend(getattr(g, name))
                    del self.groups[(function, memory)]
        out = []
        for (function, memory), g in sorted(self.groups.items(), key=lambda kv: (kv[0][0], kv[0][1] or 0)):
            duration, billed, mem, init = (list(a) for a in (g.duration, g.billed, g.memory, g.init))
            n = max(len(duration), len(billed))
            total_billed = float(sum(billed))
            gb_s = total_billed / 1000.0 * (memory or 0) / 1024.0
            failed = dict(by_key.get((function, memory), Counter()))
            t = FunctionTelemetry(
                function=function,
                memory_mb=memory,
                invocations=n,
                cold_starts=len(init),
                init_p50_ms=statistic(init, "p50"),
                init_p99_ms=statistic(init, "p99"),
                duration_p50_ms=statistic(duration, "p50"),
                duration_p99_ms=statistic(duration, "p99"),
                billed_ms_total=total_billed,
                billed_p50_ms=statistic(billed, "p50"),
                billed_p99_ms=statistic(billed, "p99"),
                max_memory_p50_mb=statistic(mem, "p50"),
                max_memory_p99_mb=statistic(mem, "p99"),
                max_memory_mb=statistic(mem, "Maximum"),
                gb_seconds=gb_s,
                failures=failed,
            )
            t.recommendation = right_size(t)
            out.append(t)
        return out


def _etype(inv: _Inv) -> str | None:
    for b in (inv.report, inv.done):
        if b and b.get("error_type"):
            return str(b["error_type"])
    return None


def _status(inv: _Inv) -> str | None:
    for b in (inv.report, inv.done):
        if b and b.get("status"):
            return str(b["status"])
    return None


def _signals_failure(inv: _Inv) -> bool:
    """Whether anything the platform said about the invocation says it did not end well."""
    return bool(
        inv.timed_out or inv.exited or _status(inv) in _FAILED or (inv.report is None and inv.done is None)
    )


def _at_limit(inv: _Inv) -> bool:
    r = inv.report or {}
    used, size = r.get("max_memory_mb"), r.get("memory_mb")
    return isinstance(used, int) and isinstance(size, int) and size > 0 and used >= size


def _verdict(inv: _Inv) -> InvocationFailure | None:
    """The cause of one invocation's end, or None (it ended well, or a handler error, or nothing
    known yet: only a START)."""
    status, etype = _status(inv), _etype(inv)
    r = inv.report or {}
    evidence: list[str] = []
    if r:
        said = [f"Duration {r.get('duration_ms', '?')} ms", f"Max Memory Used {r.get('max_memory_mb', '?')}"
                f" of {r.get('memory_mb', '?')} MB"]  # fmt: skip
        if r.get("status"):
            said.append(f"Status {r['status']}")
        if r.get("error_type"):
            said.append(f"Error Type {r['error_type']}")
        evidence.append(f"{'REPORT' if r.get('format') == 'Text' else 'platform.report'}: " + ", ".join(said))
    if inv.timed_out:
        after = inv.timed_out.get("timeout_s")
        evidence.append(f"Task timed out after {after:.2f} seconds" if after else "Task timed out")
    reason = inv.exited.get("reason") if inv.exited else None
    if reason:
        evidence.append(f"Runtime exited: {reason}")
    cause: str | None = None
    detail = ""
    if inv.init is not None and (status in _FAILED or inv.timed_out or inv.exited or not r):
        e = inv.init
        cause = INIT_FAILURE
        what = e.get("error_type") or ("init timed out" if e.get("status") == "timeout" else "error")
        detail = f"{what} in the {e.get('phase') or 'init'} phase (INIT_REPORT status {e.get('status')})"
        if e.get("message"):
            detail += f": {e['message']}"
        evidence.append(
            f"INIT_REPORT: phase {e.get('phase')}, status {e.get('status')}, error type {e.get('error_type')}"
        )
    elif status == "timeout" or inv.timed_out or etype == "Sandbox.Timedout":
        cause = TIMEOUT
        after = inv.timed_out.get("timeout_s") if inv.timed_out else None
        detail = f"killed at its timeout ({after:.2f} s)" if after else "killed at its timeout"
        if r.get("duration_ms") is not None:
            detail += f" after {r['duration_ms']:,.0f} ms"
    elif etype == "Runtime.OutOfMemory" or (
        _at_limit(inv) and (inv.exited or status in _FAILED) and (not reason or "killed" in reason)
    ):
        cause = OUT_OF_MEMORY
        detail = f"Max Memory Used {_mb(r.get('max_memory_mb'))} of {_mb(r.get('memory_mb'))}"
        detail += f"; {reason}" if reason else (f"; {etype}" if etype else "")
    elif inv.exited or etype == "Runtime.ExitError":
        cause = RUNTIME_EXITED
        detail = (
            f"the runtime exited: {reason}"
            if reason
            else f"the runtime exited ({etype or 'Runtime.ExitError'})"
        )
    elif etype in INIT_ERROR_TYPES:
        cause = INIT_FAILURE
        detail = f"{etype}: the handler could not be loaded"
    if cause is None:
        return None
    return InvocationFailure(
        cause=cause,
        request_id=inv.request_id,
        time=inv.time,
        detail=redact_text(detail),
        status=status,
        error_type=etype or (inv.init or {}).get("error_type"),
        duration_ms=r.get("duration_ms"),
        memory_mb=r.get("memory_mb"),
        max_memory_mb=r.get("max_memory_mb"),
        log_stream=inv.stream,
        evidence=evidence,
    )


# --- joined with observe's lines ------------------------------------------------------------------------


def _record_of(line: dict[str, Any]) -> str | None:
    for name in RECORD_FIELDS:
        if line.get(name):
            return str(line[name])
    return None


def enrich(failures: Sequence[InvocationFailure], lines: Iterable[dict[str, Any]]) -> None:
    """Join each failure with observe's lines of its request id (in time order): the last
    :data:`LAST_LINES` (masked; libraries' routine lines below warning left out and counted), the
    correlation id, the records in flight, the function."""
    by_rid = {f.request_id: f for f in failures}
    kept: dict[str, deque[dict[str, Any]]] = {rid: deque(maxlen=LAST_LINES) for rid in by_rid}
    watchdog: dict[str, dict[str, Any]] = {}
    summary: dict[str, dict[str, Any]] = {}
    memory: dict[str, dict[str, Any]] = {}
    first_cid: dict[str, str] = {}
    last_record: dict[str, dict[str, Any]] = {}
    for line in lines:
        rid = line.get(LOG_FIELDS.request_id)
        if is_emf(line) or is_platform(line) or rid not in by_rid:
            continue
        rid = str(rid)
        f = by_rid[rid]
        f.line_count += 1
        if routine_line(line):
            f.routine_lines += 1  # a library's "found credentials", an HTTP 200: not what it was doing
        else:
            kept[rid].append(line)
        message = line.get(LOG_FIELDS.message)
        cid = line.get(LOG_FIELDS.correlation_id)
        if cid and rid not in first_cid:
            first_cid[rid] = str(cid)
        if f.function is None and line.get(LOG_FIELDS.function_name):
            f.function = str(line[LOG_FIELDS.function_name])
        if message == TIMEOUT_WARNING:
            watchdog[rid] = line
        elif message in SUMMARY_MESSAGES and line.get(LOG_FIELDS.logger) == "observe":
            summary[rid] = line
        elif message == MEMORY_WARNING:
            memory[rid] = line
        record = _record_of(line)
        if record is not None:
            last_record[rid] = {
                "record_id": record,
                "correlation_id": str(cid) if cid else None,
                "batch_kind": line.get("batch_kind"),
                "running_ms": None,
                "finished": level_of(line) >= 40,  # its failure line: it was done with
            }
    for rid, f in by_rid.items():
        ordered = sorted(kept[rid], key=lambda x: str(x.get(LOG_FIELDS.timestamp, "")))
        f.last_lines = [{k: shown_field(k, v) for k, v in x.items()} for x in ordered]
        dog = watchdog.get(rid)
        done = summary.get(rid)
        f.correlation_id = (
            _text(dog, LOG_FIELDS.correlation_id)
            or _text(done, LOG_FIELDS.correlation_id)
            or first_cid.get(rid)
        )
        if dog is not None:
            flying = dog.get(LOG_FIELDS.in_flight)
            f.in_flight = (
                [_shown_record(r) for r in flying if isinstance(r, dict)] if isinstance(flying, list) else []
            )
            f.in_flight_from = "watchdog"
            f.evidence.append(
                f"observe's watchdog: '{TIMEOUT_WARNING}' at {dog.get(LOG_FIELDS.elapsed_ms, '?')} ms"
            )
        elif rid in last_record and not last_record[rid]["finished"]:
            rec = {k: v for k, v in last_record[rid].items() if k != "finished"}
            if rec["correlation_id"] == f.correlation_id:
                rec["correlation_id"] = None  # the invocation's own id, not the record's
            f.in_flight = [_shown_record(rec)]
            f.in_flight_from = "last lines"
        if f.cause == TIMEOUT and dog is None:
            f.evidence.append("no watchdog line (observe not used, its watchdog off, or it could not run)")
        if rid in memory:
            m = memory[rid]
            f.evidence.append(
                f"observe: '{MEMORY_WARNING}' {m.get('memory_utilization', '?')}% of "
                f"{m.get('memory_limit_mb', '?')} MB"
            )
        if done is not None and f.cause != INIT_FAILURE:
            f.evidence.append(f"observe's summary line: {done.get(LOG_FIELDS.message)}")


def _shown_record(r: dict[str, Any]) -> dict[str, Any]:
    """A record in flight fit for display: its ids as they are, anything else masked."""
    return {
        k: v if k in ("record_id", "correlation_id", "batch_kind") else shown_field(k, v)
        for k, v in r.items()
    }


def _text(doc: dict[str, Any] | None, key: str) -> str | None:
    value = doc.get(key) if doc else None
    return str(value) if value else None


# --- memory right-sizing ---------------------------------------------------------------------------------


def right_size(t: FunctionTelemetry) -> Recommendation | None:
    """The smallest of :data:`STANDARD_SIZES_MB` that holds the p99 of Max Memory Used plus
    :data:`HEADROOM` (20 %); after an out-of-memory kill at least the next size above the current
    one (Max Memory Used stops at the limit, so the real need is not known). The cost is GB-seconds
    over the window seen: billed duration x memory size, the same billed durations assumed at the
    new size (CPU share grows with memory: a CPU-bound handler may run faster when larger, slower
    when smaller). None without a memory size or Max Memory Used."""
    if not t.memory_mb or t.max_memory_p99_mb is None:
        return None
    need = t.max_memory_p99_mb * (1 + HEADROOM)
    oom = t.failures.get(OUT_OF_MEMORY, 0)
    if oom:
        need = max(need, t.memory_mb + 1)
    size = next((s for s in STANDARD_SIZES_MB if s >= need), STANDARD_SIZES_MB[-1])
    now = t.billed_ms_total / 1000.0 * t.memory_mb / 1024.0
    then = t.billed_ms_total / 1000.0 * size / 1024.0
    p99 = f"p99 Max Memory Used {t.max_memory_p99_mb:,.0f} MB + {HEADROOM:.0%}"
    if oom:
        reason = f"{oom} out-of-memory kill(s) at {t.memory_mb:,} MB: at least one size up ({p99})"
    elif size == t.memory_mb:
        reason = f"{p99} fits {t.memory_mb:,} MB: keep it"
    elif size > t.memory_mb:
        reason = f"{p99} does not fit {t.memory_mb:,} MB"
    else:
        reason = f"{p99} fits {size:,} MB"
    if t.invocations < FEW_INVOCATIONS:
        reason += f" (only {t.invocations} invocation(s) seen)"
    return Recommendation(size, t.memory_mb, now, then, reason)


def build(join: PlatformJoin, max_failures: int) -> tuple[LambdaView, list[InvocationFailure]]:
    """The view from a finished :class:`PlatformJoin`: every failure counted, the last
    ``max_failures`` kept for detail (returned second, to be :func:`enrich`-ed)."""
    failures, unreported, left = join.verdicts()
    if all(f.time is not None for f in failures):  # else the order read (Text lines in a file have no time)
        failures.sort(key=lambda f: f.time.timestamp() if f.time else 0.0)
    detailed = failures[-max_failures:] if max_failures else []
    counts = Counter(f.cause for f in failures)
    view = LambdaView(
        failures=detailed,
        counts={c: counts[c] for c in CAUSES if counts[c]},
        telemetry=join.telemetry(failures),
        reports=join.reports,
        platform_lines=join.lines,
        unreported=unreported,
        init_errors_unplaced=left,
        not_detailed=len(failures) - len(detailed),
    )
    return view, detailed


def _mb(value: Any) -> str:
    return f"{value:,} MB" if isinstance(value, int) else "? MB"
