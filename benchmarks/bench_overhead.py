"""Per-invocation overhead of observe against a bare handler and the Powertools equivalent.

Each variant handles the same API Gateway HTTP API event with a correlation id header and does
the same observable work: one user log line, the invocation summary, one EMF document with the
standard metrics plus one custom metric. Output goes to a counting sink, so writing costs the
same for all. Every call is timed on its own (perf_counter_ns); the table shows the median and
p90 over many calls after a warm-up, all variants in one process, interleaved in rounds.
"""

from __future__ import annotations

import gc
import json
import os
import resource
import sys
import time
import uuid
from collections.abc import Callable
from typing import Any

from benchmarks._common import median_us, pct, write

CALLS = int(os.environ.get("BENCH_CALLS", "20000"))
ROUNDS = 5
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


def observe_stack(sink: Sink) -> Callable[[dict, Any], Any]:
    import tempfile
    from pathlib import Path

    from observe import get_logger, metric, observed, project
    from observe import logging as olog

    with tempfile.TemporaryDirectory(prefix="bench-overhead-") as tmp:
        path = Path(tmp) / "observe.toml"
        path.write_text(CONFIG, encoding="utf-8")
        project.use(project.load(path), key="bench-overhead")  # what the cold start does with the file
    olog.configure(level="INFO", stream=sink)  # type: ignore[arg-type]
    log = get_logger("bench")

    @observed(pipeline="bench", service="bench-svc")
    def handler(event: dict, context: Any) -> dict:
        log.info("items listed", count=3)
        metric("ItemsListed", 3)  # observe-check: ignore  (declared in CONFIG above, not the project file)
        return {"statusCode": 200}

    return handler


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


def hand_rolled(sink: Sink) -> Callable[[dict, Any], Any]:
    """The floor: the same three lines written with json.dumps and nothing else."""
    dumps = json.JSONEncoder(separators=(",", ":")).encode
    cold = [True]

    def handler(event: dict, context: Any) -> dict:
        start = time.perf_counter()
        cid = (event.get("headers") or {}).get("x-correlation-id") or str(uuid.uuid4())
        ts = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())
        base = {"service": "bench-svc", "correlation_id": cid, "aws_request_id": context.aws_request_id}
        sink.write(
            dumps({"timestamp": ts, "level": "info", "message": "items listed", **base, "count": 3}) + "\n"
        )
        result = {"statusCode": 200}
        duration = (time.perf_counter() - start) * 1000
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        sink.write(
            dumps(
                {
                    "timestamp": ts,
                    "level": "info",
                    "message": "invocation complete",
                    **base,
                    "duration_ms": duration,
                }
            )
            + "\n"
        )
        doc = {"_aws": {"Timestamp": int(time.time() * 1000), "CloudWatchMetrics": [{
            "Namespace": "Bench", "Dimensions": [["service"]],
            "Metrics": [{"Name": n, "Unit": "Count"}
                        for n in ("Duration", "MaxMemoryUsed", "ColdStart", "Records")]}]},
            "service": "bench-svc", "Duration": duration, "MaxMemoryUsed": rss, "ColdStart": int(cold[0]),
            "Records": 3}  # fmt: skip
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
    sinks = {name: sink_type() for name in ("bare", "hand-rolled floor", "observe", "Powertools")}
    variants = {
        "bare": bare(),
        "hand-rolled floor": hand_rolled(sinks["hand-rolled floor"]),
        "observe": observe_stack(sinks["observe"]),
        "Powertools": powertools_stack(sinks["Powertools"]),
    }
    saved_stdout = sys.stdout
    sys.stdout = sinks["Powertools"]  # type: ignore[assignment]  # Powertools prints EMF to stdout
    samples: dict[str, list[int]] = {name: [] for name in variants}
    try:
        for handler in variants.values():
            measure(handler, 500)  # warm-up (and the one cold start)
        gc.collect()
        for _ in range(ROUNDS):
            for name, handler in variants.items():
                samples[name].extend(measure(handler, CALLS // ROUNDS))
    finally:
        sys.stdout = saved_stdout
    for name, expected in (("observe", 3), ("Powertools", 2), ("hand-rolled floor", 3)):
        per_call = sinks[name].lines / (CALLS + 500)
        assert per_call >= expected, f"{name} wrote {per_call:.2f} lines a call, expected {expected}"
    return samples, sinks


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


def main() -> dict[str, float]:
    memory_rows, med = table(*run(Sink))
    fd_rows, fd_med = table(*run(FdSink))
    ratio = med["Powertools"] / med["observe"]
    fd_ratio = fd_med["Powertools"] / fd_med["observe"]
    body = (
        "Output to an in-memory sink (the cost of the libraries alone):\n\n"
        + memory_rows
        + "\n\nOutput as in Lambda, every write a write(2) (to /dev/null):\n\n"
        + fd_rows
        + "\n"
        f"\n{CALLS} calls per variant in {ROUNDS} interleaved rounds after 500 warm-up calls. "
        f"observe is **{ratio:.1f}x** lighter than Powertools per invocation in memory, {fd_ratio:.1f}x with "
        "real writes.\n\n"
        f"Targets: observe <= 40 us median: {med['observe']:.1f} us -> "
        f"{'met' if med['observe'] <= 40 else '**not met**'}; observe <= 1/4 of Powertools: "
        f"{med['observe'] / med['Powertools']:.2f} of it -> "
        f"{'met' if med['observe'] * 4 <= med['Powertools'] else '**not met**'}. Powertools measures "
        f"{med['Powertools']:.0f} us here, not the ~190 us the issue quotes; a quarter of it "
        f"({med['Powertools'] / 4:.0f} us) is near or below the hand-rolled floor "
        f"({med['hand-rolled floor']:.0f} us), "
        "which does nothing but json.dumps three lines.\n"
        "The work per call: API Gateway HTTP API event with `x-correlation-id`; one user log line, the "
        "invocation summary line, one EMF document with the standard metrics and one custom metric "
        "(for observe declared in an observe.toml, read once before the first call as a cold start "
        "reads it: the configuration adds nothing per invocation). "
        "Powertools: `Logger.inject_lambda_context(correlation_id_path=API_GATEWAY_HTTP)` + "
        "`Metrics.log_metrics(capture_cold_start_metric=True)` + `add_metric` + `logger.info` "
        "(it writes no summary line of its own, so it does one line less than observe).\n"
    )
    write("overhead", "Per-invocation overhead (issue 2, figure 1)", body)
    return med


if __name__ == "__main__":
    main()
