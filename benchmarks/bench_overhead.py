"""Per-invocation overhead of observe against a bare handler and the Powertools equivalent.

Each variant handles the same API Gateway HTTP API event with a correlation id header and does
the same observable work: one user log line, the invocation summary, one EMF document with the
standard metrics plus one custom metric. Output goes to a counting sink, so writing costs the
same for all. Every call is timed on its own (perf_counter_ns); the table shows the median and
p90 over many calls after a warm-up, all variants in one process, interleaved in rounds.
"""

from __future__ import annotations

import gc
import io
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks._common import median_us, pct, write

CALLS = int(os.environ.get("BENCH_CALLS", "20000"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "20"))
EVENT = {
    "version": "2.0",
    "routeKey": "GET /items",
    "headers": {"x-correlation-id": "bench-cid-1", "accept": "application/json"},
    "requestContext": {"requestId": "req-1", "http": {"method": "GET", "path": "/items"}},
}


class Sink:
    """A stream that counts what it is given and keeps nothing."""

    def __init__(self) -> None:
        self.bytes = 0
        self.lines = 0

    def write(self, text: str) -> int:
        self.bytes += len(text)
        self.lines += text.count("\n")
        return len(text)

    def flush(self) -> None:
        pass


class FdSink(Sink):
    """Every write is a write(2) to /dev/null: stdout as the Lambda runtime sets it up (unbuffered)."""

    def __init__(self) -> None:
        super().__init__()
        self.fd = os.open(os.devnull, os.O_WRONLY)

    def write(self, text: str) -> int:
        os.write(self.fd, text.encode())
        return super().write(text)


class Context:
    function_name = "bench-fn"
    function_version = "$LATEST"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:ap-southeast-1:123456789012:function:bench-fn"
    aws_request_id = "3f1c0b8e-0000-4000-8000-000000000000"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


def bare() -> Callable[[dict, Any], Any]:
    def handler(event: dict, context: Any) -> dict:
        return {"statusCode": 200}

    return handler


#: The custom metric, declared the way a team declares it (observe.toml), not borrowed from a pipeline.
CONFIG = """[metrics.ItemsListed]
unit = "Count"
description = "Items the benchmark handler listed."
"""


def observe_stack(
    sink: Sink,
    *,
    below: Any = None,
    margin_ms: float | None = None,
    debug_lines: int = 0,
) -> tuple[Callable[[], None], Callable[[dict, Any], Any]]:
    """observe's handler and the call that makes its configuration current (each variant has its own
    stream, sampling/buffering settings and watchdog margin; they share the process's globals)."""
    import tempfile
    from pathlib import Path

    from observe import get_logger, metric, observed, project, watchdog
    from observe import logging as olog
    from observe.buffer import Settings

    with tempfile.TemporaryDirectory(prefix="bench-overhead-") as tmp:
        path = Path(tmp) / "observe.toml"
        path.write_text(CONFIG, encoding="utf-8")
        project.use(project.load(path), key="bench-overhead")  # what the cold start does with the file
    settings = below or Settings()

    def activate() -> None:
        olog.configure(level="INFO", stream=sink, stdlib=False, below_level=settings)  # type: ignore[arg-type]
        watchdog.configure(margin_ms)

    activate()
    log = get_logger("bench")
    debug = range(debug_lines)

    @observed(pipeline="bench", service="bench-svc")
    def handler(event: dict, context: Any) -> dict:
        for i in debug:
            log.debug("row parsed", row=i, source="bench")
        log.info("items listed", count=3)
        metric("ItemsListed", 3)  # observe-check: ignore  (declared in CONFIG above, not the project file)
        return {"statusCode": 200}

    return activate, handler


def _noop() -> None:
    pass


def powertools_stack(sink: Sink) -> Callable[[dict, Any], Any]:
    os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "Bench")
    from aws_lambda_powertools import Logger, Metrics
    from aws_lambda_powertools.logging import correlation_paths
    from aws_lambda_powertools.metrics import MetricUnit

    # Powertools keeps one logging.Logger per service name: a fresh name per run keeps its handler ours.
    logger = Logger(service=f"bench-svc-{id(sink)}", stream=sink)  # type: ignore[arg-type]
    metrics = Metrics(namespace="Bench", service="bench-svc")

    @logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
    @metrics.log_metrics(capture_cold_start_metric=True)
    def handler(event: dict, context: Any) -> dict:
        logger.info("items listed", extra={"count": 3})
        metrics.add_metric(name="ItemsListed", unit=MetricUnit.Count, value=3)
        return {"statusCode": 200}

    return handler


#: The standard metrics observe writes for a successful invocation, with their units, then the
#: handler's own: what the floors' EMF document declares too.
FLOOR_METRICS = (("ItemsListed", "Count"), ("Duration", "Milliseconds"), ("MaxMemoryUsed", "Megabytes"),
                 ("MemoryUtilization", "Percent"), ("ColdStart", "Count"), ("Errors", "Count"),
                 ("Throttles", "Count"))  # fmt: skip


def json_text(obj: Any) -> str:
    """The stdlib floor's encoder: compact ``json.dumps``."""
    return _JSON(obj)


_JSON = json.JSONEncoder(separators=(",", ":")).encode


def orjson_text(obj: Any) -> str:
    """The orjson floor's encoder: ``orjson.dumps``, decoded to text for a text stream."""
    import orjson

    return orjson.dumps(obj).decode()


def hand_rolled(sink: Sink, dumps: Callable[[Any], str] = json_text) -> Callable[[dict, Any], Any]:
    """A floor: the same three lines as observe's, with the same fields in the same order, written
    with ``dumps`` and nothing else (no redaction, no checks, no context variables, no guard). Its
    timestamps are made as observe makes them (the second's text once a second), so the floor pays
    for none of what observe does not."""
    if dumps is orjson_text:  # bind the encoder once, as code that picked orjson for speed would
        import orjson

        encode = orjson.dumps

        def dumps(obj: Any) -> str:
            return encode(obj).decode()

    cold = [True]
    second: list[Any] = [-1, ""]

    def timestamp(now: float) -> str:  # ISO-8601 with milliseconds; the second's text made once a second
        sec = int(now)
        if sec != second[0]:
            second[:] = [sec, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(sec))]
        return f"{second[1]}.{int((now - sec) * 1000):03d}Z"

    def handler(event: dict, context: Any) -> dict:
        start = time.perf_counter()
        cid = (event.get("headers") or {}).get("x-correlation-id") or str(uuid.uuid4())
        ts = timestamp(time.time())
        base = {
            "service": "bench-svc",
            "pipeline": "bench",
            "environment": "dev",
            "function_name": context.function_name,
            "function_version": context.function_version,
            "cold_start": cold[0],
            "aws_request_id": context.aws_request_id,
            "correlation_id": cid,
        }
        line = {
            "timestamp": ts,
            "level": "info",
            "message": "items listed",
            "logger": "bench",
            **base,
            "count": 3,
        }
        sink.write(dumps(line) + "\n")
        result = {"statusCode": 200}
        duration = (time.perf_counter() - start) * 1000
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        now = time.time()
        ts = timestamp(now)
        summary = {"timestamp": ts, "level": "info", "message": "invocation complete", "logger": "observe",
                   **base, "duration_ms": round(duration, 3), "max_memory_mb": round(rss, 1)}  # fmt: skip
        sink.write(dumps(summary) + "\n")
        doc = {"_aws": {"Timestamp": int(now * 1000), "CloudWatchMetrics": [{
            "Namespace": "DataPipelines", "Dimensions": [["service", "pipeline", "environment"]],
            "Metrics": [{"Name": n, "Unit": u} for n, u in FLOOR_METRICS]}]},
            "service": "bench-svc", "pipeline": "bench", "environment": "dev", "correlation_id": cid,
            "aws_request_id": context.aws_request_id, "function_name": context.function_name,
            "ItemsListed": 3, "Duration": duration, "MaxMemoryUsed": rss,
            "MemoryUtilization": 100.0 * rss / context.memory_limit_in_mb, "ColdStart": int(cold[0]),
            "Errors": 0, "Throttles": 0}  # fmt: skip
        cold[0] = False
        sink.write(dumps(doc) + "\n")
        return result

    return handler


def measure(handler: Callable[[dict, Any], Any], calls: int) -> list[int]:
    ctx = Context()
    clock = time.perf_counter_ns
    samples = [0] * calls
    for i in range(calls):
        t0 = clock()
        handler(EVENT, ctx)
        samples[i] = clock() - t0
    return samples


def run(sink_type: type[Sink]) -> tuple[dict[str, list[int]], dict[str, Sink]]:
    """All variants, interleaved, writing to sinks of ``sink_type``."""
    names = ("bare", "json floor", "orjson floor", "observe", "Powertools")
    sinks = {name: sink_type() for name in names}
    observe_on, observe_handler = observe_stack(sinks["observe"])
    variants = {
        "bare": (_noop, bare()),
        "json floor": (_noop, hand_rolled(sinks["json floor"], json_text)),
        "orjson floor": (_noop, hand_rolled(sinks["orjson floor"], orjson_text)),
        "observe": (observe_on, observe_handler),
        "Powertools": (_noop, powertools_stack(sinks["Powertools"])),
    }
    samples = interleave(variants, sinks["Powertools"])
    for name, expected in (("observe", 3), ("Powertools", 2), ("json floor", 3), ("orjson floor", 3)):
        per_call = sinks[name].lines / (CALLS + 500)
        assert per_call >= expected, f"{name} wrote {per_call:.2f} lines a call, expected {expected}"
    return samples, sinks


def interleave(
    variants: dict[str, tuple[Callable[[], None], Callable[[dict, Any], Any]]],
    stdout: Sink,
    calls: int = CALLS,
) -> dict[str, list[int]]:
    """Warm every variant up, then time ``calls`` calls of each in :data:`ROUNDS` interleaved rounds,
    making each variant's configuration current before its round."""
    saved_stdout = sys.stdout
    sys.stdout = stdout  # type: ignore[assignment]  # Powertools prints EMF to stdout
    samples: dict[str, list[int]] = {name: [] for name in variants}
    try:
        for activate, handler in variants.values():
            activate()
            measure(handler, 500)  # warm-up (and the one cold start)
        gc.collect()
        for _ in range(ROUNDS):
            for name, (activate, handler) in variants.items():
                activate()
                samples[name].extend(measure(handler, calls // ROUNDS))
    finally:
        sys.stdout = saved_stdout
    return samples


def table(samples: dict[str, list[int]], sinks: dict[str, Sink]) -> tuple[str, dict[str, float]]:
    med = {name: median_us(s) for name, s in samples.items()}
    rows = ["| variant | median us/call | p90 us/call | overhead over bare (median) | lines/call |",
            "|---|---:|---:|---:|---:|"]  # fmt: skip
    for name, s in samples.items():
        lines = sinks[name].lines / (CALLS + 500) if name != "bare" else 0
        rows.append(
            f"| {name} | {med[name]:.1f} | {pct(s, 0.9):.1f} | {med[name] - med['bare']:.1f} | {lines:.0f} |"
        )
    return "\n".join(rows), med


# --- sampling, buffering and the deadline watchdog ---------------------------------------------

#: The observe the figures of "before and after" compare against: main before debug sampling, log
#: buffering, bound fields and the deadline watchdog landed (override with BENCH_BASELINE_REF).
BASELINE_REF = os.environ.get("BENCH_BASELINE_REF", "549b3c8")
REPO = Path(__file__).resolve().parents[1]
FEATURE_CALLS = int(os.environ.get("BENCH_FEATURE_CALLS", str(CALLS // 2)))
DEBUG_LINES = 10

#: One process per observe tree, timing the same handler as observe_stack on command (a number of
#: calls on stdin -> their nanosecond timings on stdout), so trees that cannot share a process are
#: still measured in interleaved rounds.
WORKER = """
import json, sys, time
import observe
from observe import get_logger, metric, observed
from observe import logging as olog

class Sink:
    lines = 0
    def write(self, text):
        self.lines += text.count("\\n")
        return len(text)
    def flush(self):
        pass

class Context:
    function_name = "bench-fn"
    function_version = "$LATEST"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:ap-southeast-1:123456789012:function:bench-fn"
    aws_request_id = "3f1c0b8e-0000-4000-8000-000000000000"
    def get_remaining_time_in_millis(self):
        return 30_000

EVENT = %(event)r
sink = Sink()
olog.configure(level="INFO", stream=sink, stdlib=False)
log = get_logger("bench")

@observed(pipeline="bench", service="bench-svc")
def handler(event, context):
    log.info("items listed", count=3)
    metric("ItemsListed", 3)
    return {"statusCode": 200}

ctx = Context()
clock = time.perf_counter_ns
print(json.dumps({"observe": observe.__file__}), flush=True)
for line in sys.stdin:
    n = int(line)
    out = [0] * n
    for i in range(n):
        t0 = clock()
        handler(EVENT, ctx)
        out[i] = clock() - t0
    print(json.dumps({"samples": out, "lines": sink.lines}), flush=True)
"""


class Worker:
    """A process timing observe's handler from the tree at ``root`` (on its PYTHONPATH)."""

    def __init__(self, root: Path, cwd: Path, env: dict[str, str]) -> None:
        full = {
            **os.environ,
            "PYTHONPATH": str(root),
            # the benchmark's own declaration (CONFIG): a tree from before the project's configuration
            # grew new keys reads it as well as this one
            "OBSERVE_CONFIG": str(cwd / "observe.toml"),
            "ENVIRONMENT": "dev",
            **env,
        }
        self.proc = subprocess.Popen(
            [sys.executable, "-c", WORKER % {"event": EVENT}],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=cwd,
            env=full,
        )
        self.module = json.loads(self.ask_line())["observe"]
        if not self.module.startswith(str(root)):
            raise RuntimeError(f"worker imported {self.module}, not the tree at {root}")

    def ask_line(self) -> str:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"benchmark worker exited with {self.proc.wait()}")
        return line

    def run(self, calls: int) -> list[int]:
        assert self.proc.stdin is not None
        self.proc.stdin.write(f"{calls}\n")
        self.proc.stdin.flush()
        reply = json.loads(self.ask_line())
        assert reply["lines"] >= 3 * calls, "the handler wrote fewer lines than it should"
        return list(reply["samples"])

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        self.proc.wait(timeout=30)


def before_and_after() -> str:
    """observe at :data:`BASELINE_REF` against this tree (watchdog on, and off), each in its own
    process, in interleaved rounds: the per-invocation cost with sampling and buffering off."""
    try:
        archive = subprocess.run(
            ["git", "-C", str(REPO), "archive", BASELINE_REF, "observe"], capture_output=True, check=True
        ).stdout
    except (OSError, subprocess.CalledProcessError) as exc:
        return f"(before/after not measured: no git archive of {BASELINE_REF}: {exc})\n"
    with tempfile.TemporaryDirectory() as tmp:
        before = Path(tmp, "before")
        before.mkdir()
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(before, filter="data")
        cwd = Path(tmp, "cwd")
        cwd.mkdir()
        (cwd / "observe.toml").write_text(CONFIG, encoding="utf-8")
        workers = {
            f"observe at {BASELINE_REF} (before)": Worker(before, cwd, {}),
            "this tree, watchdog on (default)": Worker(REPO, cwd, {}),
            "this tree, watchdog off": Worker(REPO, cwd, {"OBSERVE_TIMEOUT_MARGIN_MS": "0"}),
        }
        samples: dict[str, list[int]] = {name: [] for name in workers}
        try:
            for w in workers.values():
                w.run(500)
            for _ in range(ROUNDS):
                for name, w in workers.items():
                    samples[name].extend(w.run(FEATURE_CALLS // ROUNDS))
        finally:
            for w in workers.values():
                w.close()
    base = median_us(samples[f"observe at {BASELINE_REF} (before)"])
    rows = ["| observe | median us/call | p90 us/call | change of the median |", "|---|---:|---:|---:|"]
    for name, s in samples.items():
        med = median_us(s)
        change = f"{med - base:+.1f} us ({(med / base - 1) * 100:+.1f}%)"
        rows.append(f"| {name} | {med:.1f} | {pct(s, 0.9):.1f} | {change} |")
    return "\n".join(rows) + "\n"


def options() -> tuple[str, str, dict[str, float]]:
    """The same handler under observe's options, and a handler with debug lines below the level."""
    from observe.buffer import Settings

    sinks: dict[str, Sink] = {}

    def variant(name: str, **kw: Any) -> tuple[Callable[[], None], Callable[[dict, Any], Any]]:
        sinks[name] = Sink()
        return observe_stack(sinks[name], **kw)

    common = {
        "defaults (watchdog on; sampling, buffering off)": variant("a"),
        "watchdog off": variant("b", margin_ms=0),
        "LOG_DEBUG_SAMPLE_RATE=0.1": variant("c", below=Settings(sample_rate=0.1)),
        "LOG_BUFFER_LEVEL=DEBUG (no line below the level)": variant("d", below=Settings(buffer_level=10)),
    }
    first = interleave(common, Sink(), FEATURE_CALLS)
    rows = ["| observe | median us/call | p90 us/call |", "|---|---:|---:|"]
    for name, s in first.items():
        rows.append(f"| {name} | {median_us(s):.1f} | {pct(s, 0.9):.1f} |")
    lines = {
        "both off: the debug lines are dropped": variant("e", debug_lines=DEBUG_LINES),
        "LOG_BUFFER_LEVEL=DEBUG: the debug lines are buffered, then dropped": variant(
            "f", debug_lines=DEBUG_LINES, below=Settings(buffer_level=10)
        ),
        "LOG_DEBUG_SAMPLE_RATE=1: the debug lines are written": variant(
            "g", debug_lines=DEBUG_LINES, below=Settings(sample_rate=1.0)
        ),
    }
    second = interleave(lines, Sink(), FEATURE_CALLS)
    written = sinks["g"].lines / (FEATURE_CALLS + 500)
    assert written >= 3 + DEBUG_LINES, f"the sampled variant wrote {written:.1f} lines a call"
    assert sinks["f"].lines / (FEATURE_CALLS + 500) < 3.01, "the buffered lines were written"
    off = median_us(second["both off: the debug lines are dropped"])
    rows2 = ["| observe | median us/call | p90 us/call | per debug line |", "|---|---:|---:|---:|"]
    per_line: dict[str, float] = {}
    for name, s in second.items():
        med = median_us(s)
        per_line[name] = (med - off) / DEBUG_LINES
        rows2.append(f"| {name} | {med:.1f} | {pct(s, 0.9):.1f} | {per_line[name]:.2f} us |")
    from observe import watchdog

    watchdog.configure()
    return "\n".join(rows), "\n".join(rows2), {"per_buffered_line": per_line[list(lines)[1]]}


def fire_cost(rounds: int = 50) -> str:
    """What the watchdog's work costs when it fires: the line, the document, and a full buffer."""
    from observe import decorator, get_logger, watchdog
    from observe import logging as olog
    from observe.buffer import Settings

    rows = ["| the watchdog writes | median ms | max ms | bytes written |", "|---|---:|---:|---:|"]
    for label, fill in (("the warning line and the EMF document", 0), ("... and a full buffer", 10_000)):
        sink = Sink()
        olog.configure(level="INFO", stream=sink, stdlib=False, below_level=Settings(buffer_level=10))  # type: ignore[arg-type]
        log = get_logger("bench.fire")
        inv = decorator._Invocation(EVENT, Context(), "bench-svc", "bench", "handler")
        times: list[int] = []
        written = 0
        for _ in range(rounds):
            for i in range(fill):  # more than the bound: the buffer keeps its newest lines
                log.debug("row parsed", row=i, source="bench", detail="x" * 200)
            before = sink.bytes
            t0 = time.perf_counter_ns()
            watchdog.fire(inv)
            times.append(time.perf_counter_ns() - t0)
            written = sink.bytes - before
        inv.finish(None, None)
        rows.append(f"| {label} | {median_us(times) / 1000:.2f} | {max(times) / 1e6:.2f} | {written} |")
    olog.reset()
    return "\n".join(rows)


# --- where observe's time goes: instructions per call ----------------------------------------------

#: Run under valgrind: after the set-up (each variant warmed up), ``stmt`` ``n`` times.
IR_SETUP = """
import os, sys
os.environ.setdefault("ENVIRONMENT", "dev")
sys.path.insert(0, %(repo)r)
from benchmarks import bench_overhead as b
from observe import correlation, decorator, get_logger, metrics, watchdog
from observe import logging as olog
sink = b.Sink()
activate, handler = b.observe_stack(sink)
floor = b.hand_rolled(b.Sink(), b.orjson_text)
sys.stdout = b.Sink()
powertools = b.powertools_stack(b.Sink())
ctx = b.Context()
for _ in range(300):
    handler(b.EVENT, ctx)
    floor(b.EVENT, ctx)
    powertools(b.EVENT, ctx)
log = get_logger("bench")
inv = decorator._Invocation(b.EVENT, ctx, "bench-svc", "bench", "handler")
buf = metrics.MetricsBuffer()
tail = {"Duration": 0.05, "MaxMemoryUsed": 31.2, "MemoryUtilization": 6.1, "ColdStart": 0, "Errors": 0,
        "Throttles": 0}
for _ in range(%(n)d):
    %(stmt)s
"""
IR_CASES = {
    "orjson floor (the whole call)": "floor(b.EVENT, ctx)",
    "observe (the whole call)": "handler(b.EVENT, ctx)",
    "Powertools (the whole call)": "powertools(b.EVENT, ctx)",
    "observe, parts: the user line (`log.info`, redaction included)": "log.info('items listed', count=3)",
    "... the custom metric (`metric`)": "metrics.metric('ItemsListed', 3); buf.values.clear()",
    "... the correlation id from the event (`correlation.from_event`)": "correlation.from_event(b.EVENT)",
    "... the summary line": "olog.line_to_write('info', 'invocation complete', 'observe', "
    "{'duration_ms': 0.05, 'max_memory_mb': 31.2}, own=True)",
    "... the EMF document and the one write": (
        "metrics.flush(buf, inv.dims, inv.properties(), first='x', tail=tail)"
    ),
    "... the deadline watchdog (arm, disarm)": "watchdog.arm(inv, ctx, 500.0); watchdog.disarm(inv)",
}
IR_CALLS = 3000


def _ir(stmt: str, n: int) -> int | None:
    code = IR_SETUP % {"repo": str(REPO), "n": n, "stmt": stmt}
    done = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable, "-c", code],
        env={**os.environ, "PYTHONHASHSEED": "0"},
        capture_output=True,
        text=True,
        timeout=900,
        cwd=tempfile.gettempdir(),
    )
    found = re.search(r"Collected : (\d+)", done.stderr)
    return int(found.group(1)) if found and done.returncode == 0 else None


def instructions() -> tuple[str, dict[str, float]]:
    """Instructions per call (valgrind callgrind: the same count on a busy machine), for the whole
    call of each variant and for the parts of observe's; empty without valgrind."""
    if not shutil.which("valgrind"):
        return "(instructions not counted: valgrind is not installed)\n", {}
    base = _ir("pass", IR_CALLS)
    if base is None:
        return "(instructions not counted: the set-up failed under valgrind)\n", {}
    per = {}
    for name, stmt in IR_CASES.items():
        n = _ir(stmt, IR_CALLS)
        if n is not None:
            per[name] = (n - base) / IR_CALLS / 1000
    whole = per.get("observe (the whole call)", float("nan"))
    rows = ["| instructions per call | thousands | of observe's whole call |", "|---|---:|---:|"]
    rows += [f"| {name} | {k:.1f} | {k / whole:.0%} |" for name, k in per.items()]
    return "\n".join(rows) + "\n", {f"kinstr {k}": v for k, v in per.items()}


def main() -> dict[str, float]:
    load = os.getloadavg()[0]
    memory_rows, med = table(*run(Sink))
    fd_rows, fd_med = table(*run(FdSink))
    load_end = os.getloadavg()[0]
    vs_peer = med["observe"] / med["Powertools"]
    vs_floor = med["observe"] / med["orjson floor"]
    fd_peer = fd_med["observe"] / fd_med["Powertools"]
    fd_floor = fd_med["observe"] / fd_med["orjson floor"]
    body = (
        "Output to an in-memory sink (the cost of the libraries alone):\n\n"
        + memory_rows
        + "\n\nOutput as in Lambda, every write a write(2) (to /dev/null):\n\n"
        + fd_rows
        + "\n"
        f"\n{CALLS} calls per variant in {ROUNDS} interleaved rounds after 500 warm-up calls; load average "
        f"(1 min) {load:.1f} at the start, {load_end:.1f} at the end (2 cores).\n\n"
        f"Targets (in memory, same run): observe <= 2x the orjson floor: {vs_floor:.2f}x -> "
        f"{'met' if vs_floor <= 2 else '**not met**'}; observe <= 0.30x Powertools: {vs_peer:.2f}x -> "
        f"{'met' if vs_peer <= 0.30 else '**not met**'}. With real writes: {fd_floor:.2f}x the orjson floor, "
        f"{fd_peer:.2f}x Powertools.\n\n"
        "The work per call: API Gateway HTTP API event with `x-correlation-id`; one user log line, the "
        "invocation summary line, one EMF document with the standard metrics and one custom metric "
        "(for observe declared in an observe.toml, read once before the first call as a cold start "
        "reads it: the configuration adds nothing per invocation). "
        "The floors write the same three lines with the same fields in the same order as observe "
        "(timestamp, level, message, logger, the invocation's context, the correlation id, the fields; "
        "the EMF document with the same directives and values), built as dicts and encoded once each, "
        "with `json.dumps` (compact) or `orjson.dumps`; nothing else: no redaction, no checks, no "
        "context variables, no guard against a failing stream. "
        "Powertools: `Logger.inject_lambda_context(correlation_id_path=API_GATEWAY_HTTP)` + "
        "`Metrics.log_metrics(capture_cold_start_metric=True)` + `add_metric` + `logger.info` "
        "(it writes no summary line of its own, so it does one line less than observe).\n"
    )
    ir_rows, ir_figures = instructions()
    med.update(ir_figures)
    body += (
        "\nWhere the time goes, in instructions executed (valgrind callgrind, the same count however busy "
        f"the machine; {IR_CALLS} calls each after the warm-up, the set-up's count subtracted). The parts "
        "are observe's own steps run alone (the summary line without the write; the EMF document with "
        "the write of both):\n\n" + ir_rows
    )
    whole = ir_figures.get("kinstr observe (the whole call)")
    if whole:
        floor_k = ir_figures["kinstr orjson floor (the whole call)"]
        peer_k = ir_figures["kinstr Powertools (the whole call)"]
        body += (
            f"\nIn instructions, observe is {whole / floor_k:.2f}x the orjson floor and "
            f"{whole / peer_k:.2f}x Powertools: the steadier figure where the timed medians sit near a "
            "target.\n"
        )
    write("overhead", "Per-invocation overhead (issues 2 and 13)", body)
    load = os.getloadavg()[0]
    common, below, figures = options()
    compare = before_and_after()
    fire = fire_cost()
    features = (
        f"Load average at the start: {load:.1f} (2 cores). The handler of the table above (one user line, "
        "in-memory sink) unless said otherwise; "
        f"{FEATURE_CALLS} calls per variant in {ROUNDS} interleaved rounds after 500 warm-up calls.\n\n"
        "Before and after, each tree in its own process (the same handler, a worker per tree, rounds "
        "interleaved): the per-invocation cost with sampling and buffering off must not grow.\n\n"
        + compare
        + "\nobserve's options in one process:\n\n"
        + common
        + f"\n\nA handler that also logs {DEBUG_LINES} debug lines under `LOG_LEVEL=INFO`; per debug line: "
        "the difference to the first row, divided by the lines:\n\n"
        + below
        + "\n\nWhen the watchdog fires (once per timed-out invocation, never on the common path), "
        f"{50} times each:\n\n" + fire + "\n"
    )
    write(
        "overhead_features",
        "Sampling, buffering and the deadline watchdog: cost (issues 10 and 11)",
        features,
    )
    med.update(figures)
    return med


if __name__ == "__main__":
    main()
