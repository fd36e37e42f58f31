"""The on-call view at production volume: ``observe-diag`` over 1,000,000 log lines.

The data: four hours of an ingest pipeline at a steady rate, the worker's and the scheduler's
lines and EMF documents in the shapes observe writes (worker invocations fetching 3-12 pages,
a scheduled run every minute, one failed record in ~300 invocations, and one 5-minute period
in the first hour where a few invocations quarantine records, so
``ingest-worker-RecordsQuarantined-dev`` fires). 250,000 lines an hour.

Two stores of the same lines:

- **moto**: the moto server (its own process) holding both log groups, the EMF metrics put as
  CloudWatch extracts them (per-minute statistic sets) and the shipped alarms (the firing one
  set to ALARM, as CloudWatch would have). ``trace`` and ``alarm NAME`` run over windows of 1 h,
  2 h and 4 h of it (250k, 500k, 1M lines).
- **files**: one JSONL file per service and hour; the commands read the first 1, 2 or 4 hours.

Each command runs as its own process (``observe-diag ... --quiet``): wall time, peak RSS
(``wait4``), and lines/bytes fetched, parsed and matched as the command itself reports them.
Targets (issue 12): lines fetched at most twice the lines matched for trace and alarm; peak
memory under 300 MB at 1M lines; every command linear or better in the window.

Run: ``.venv/bin/python -m benchmarks.bench_triage``; ``BENCH_TRIAGE_QUICK=1`` for a 10%-size
smoke run.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a plain script
    sys.path.insert(0, str(ROOT))

from benchmarks._common import write  # noqa: E402
from benchmarks.bench_ingest import FAKE_ENV, _free_port, _wait_http, process  # noqa: E402
from emulator.env import scoped_env  # noqa: E402

QUICK = os.environ.get("BENCH_TRIAGE_QUICK") == "1"
LINES_PER_HOUR = 25_000 if QUICK else 250_000
HOURS = (1, 2, 4)
T0 = datetime(2026, 11, 26, 0, 0, tzinfo=UTC)
ALARM = "ingest-worker-RecordsQuarantined-dev"
WORKER, SCHEDULER = "ingest-worker", "ingest-scheduler"
CLI = str(Path(sys.executable).parent / "observe-diag")


# --- the data --------------------------------------------------------------------------------------


def _hex(*parts: Any) -> str:
    return hashlib.blake2b("/".join(map(str, parts)).encode(), digest_size=16).hexdigest()


def _uuid(*parts: Any) -> str:
    h = _hex(*parts)
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _iso(t: datetime) -> str:
    return t.isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class Dataset:
    lines: int
    incident_run: str  # correlation id of the run whose tasks quarantine records
    quarantined: int


class _Writer:
    """Lines as observe writes them (orjson, compact), per service and hour file."""

    def __init__(self, root: Path):
        import orjson

        self.dumps = orjson.dumps
        self.root = root
        self.files: dict[tuple[str, int], Any] = {}
        self.count = 0

    def put(self, service: str, t: datetime, doc: dict[str, Any]) -> None:
        hour = int((t - T0).total_seconds() // 3600)
        f = self.files.get((service, hour))
        if f is None:
            f = self.files[(service, hour)] = (self.root / f"{service}-{hour:02d}.jsonl").open("wb")
        f.write(self.dumps(doc) + b"\n")
        self.count += 1

    def close(self) -> None:
        for f in self.files.values():
            f.close()


def _context(service: str, rid: str, cid: str | None) -> dict[str, Any]:
    return {
        "service": service,
        "pipeline": "ingest",
        "environment": "dev",
        "function_name": service,
        "function_version": "$LATEST",
        "cold_start": False,
        "aws_request_id": rid,
        "correlation_id": cid,
    }


def _line(
    t: datetime, level: str, message: str, logger: str, ctx: dict[str, Any], **fields: Any
) -> dict[str, Any]:
    return {"timestamp": _iso(t), "level": level, "message": message, "logger": logger, **ctx, **fields}


def _emf(service: str, t: datetime, rid: str, cid: str, values: dict[str, Any]) -> list[dict[str, Any]]:
    from observe.metrics import MetricsBuffer, documents

    buf = MetricsBuffer()
    for name, v in values.items():
        for x in v if isinstance(v, list) else [v]:
            buf.add(name, x)
    return documents(
        buf,
        {"service": service, "pipeline": "ingest", "environment": "dev"},
        {"correlation_id": cid, "aws_request_id": rid, "function_name": service},
        timestamp_ms=int(t.timestamp() * 1000),
    )


def generate(root: Path, hours: int = max(HOURS)) -> Dataset:
    """Write ``hours`` of lines under ``root`` (``<service>-<hour>.jsonl``)."""
    import random

    rng = random.Random(12)
    w = _Writer(root)
    end = T0 + timedelta(hours=hours)
    target = LINES_PER_HOUR * hours
    # a worker invocation writes ~2 lines per page (7.5 pages on average) + summary + EMF: ~17 lines
    gap = timedelta(seconds=hours * 3600 / (target / 17.0))
    incident = (T0 + timedelta(minutes=20), T0 + timedelta(minutes=25))
    every = max(1, int(300 / gap.total_seconds() / 10))  # about 10 invocations of the period quarantine
    run = "-"
    runs_at = T0
    n_inv = 0
    quarantined = 0
    incident_run = ""
    t = T0
    while t < end:
        while runs_at <= t:  # the scheduler, once a minute
            run = f"run-{_hex('run', runs_at.timestamp())[:10]}"
            rid = _uuid("sched", runs_at.timestamp())
            ctx = _context(SCHEDULER, rid, run)
            w.put(
                SCHEDULER,
                runs_at,
                _line(
                    runs_at,
                    "info",
                    "tasks planned",
                    "pipelines.ingest.scheduler",
                    ctx,
                    tasks=40,
                    pages=120,
                    queue="ingest-tasks-dev",
                ),
            )
            done = runs_at + timedelta(milliseconds=85)
            w.put(
                SCHEDULER,
                done,
                _line(
                    done, "info", "invocation complete", "observe", ctx, duration_ms=85.2, max_memory_mb=123.1
                ),
            )
            for doc in _emf(
                SCHEDULER,
                done,
                rid,
                run,
                {
                    "TasksPlanned": 40,
                    "Duration": 85.2,
                    "MaxMemoryUsed": 123.1,
                    "MemoryUtilization": 24.0,
                    "ColdStart": 0,
                    "Errors": 0,
                    "Throttles": 0,
                },
            ):
                w.put(SCHEDULER, done, doc)
            if incident[0] <= runs_at < incident[0] + timedelta(minutes=1):
                incident_run = run
            runs_at += timedelta(minutes=1)
        n_inv += 1
        rid = _uuid("inv", n_inv)
        batch = _uuid("batch", n_inv)
        pages = rng.randint(3, 12)
        fail = n_inv % 300 == 0
        in_incident = incident[0] <= t < incident[1] and n_inv % every == 0
        ctx = _context(WORKER, rid, run)
        at = t
        fetched: list[int] = []
        latencies: list[float] = []
        bad = 0
        for p in range(pages):
            at += timedelta(milliseconds=rng.randint(20, 90))
            page = rng.randint(1, 400)
            w.put(
                WORKER,
                at,
                _line(
                    at,
                    "info",
                    f'HTTP Request: GET https://source.example/records?page={page} "HTTP/1.1 200 OK"',
                    "httpx",
                    ctx,
                ),
            )
            fetched.append(100)
            latencies.append(round(rng.uniform(20, 90), 3))
            if in_incident and p < 3:
                n = rng.randint(8, 14)
                bad += n
                w.put(
                    WORKER,
                    at,
                    _line(
                        at,
                        "warning",
                        "records quarantined",
                        "pipelines.ingest.worker",
                        ctx,
                        key=f"quarantine/source/_/page-{page:06d}.json",
                        count=n,
                        reasons=["expect_column_values_to_be_between:amount"],
                    ),
                )
            w.put(
                WORKER,
                at,
                _line(
                    at,
                    "info",
                    "batch ingested",
                    "pipelines.ingest.worker",
                    ctx,
                    prefix=f"processed/source/_/page-{page:06d}",
                    fetched=100,
                    valid=100 - bad,
                    duplicates=0,
                    quarantined=bad,
                    upserted=100 - bad,
                    stale=0,
                ),
            )
        if fail:
            mid = _uuid("msg", n_inv)
            w.put(
                WORKER,
                at,
                _line(
                    at,
                    "error",
                    "record failed; it goes back to the queue",
                    "observe.batch",
                    ctx,
                    message_id=mid,
                    exception={
                        "type": "ConnectionError",
                        "message": f"page-{n_inv % 400:06d}: source answered HTTP 500",
                        "stack": "Traceback ...",
                    },
                ),
            )
        duration = (at - t).total_seconds() * 1000 + 5
        summary = {**ctx, "correlation_id": batch}
        w.put(
            WORKER,
            at,
            _line(
                at,
                "info",
                "invocation complete",
                "observe",
                summary,
                duration_ms=round(duration, 3),
                max_memory_mb=180.5,
                **({"batch_item_failures": 1} if fail else {}),
            ),
        )
        values: dict[str, Any] = {
            "RecordsFetched": fetched,
            "RecordsValid": [100] * pages,
            "RecordsUpserted": [100] * pages,
            "RecordsStale": [0] * pages,
            "DuplicatesDropped": [0] * pages,
            "FetchLatency": latencies,
            "UpsertLatency": latencies[:3],
            "Duration": round(duration, 3),
            "MaxMemoryUsed": 180.5,
            "MemoryUtilization": 35.2,
            "ColdStart": 0,
            "Errors": 0,
            "Throttles": 0,
            "BatchItemFailures": 1 if fail else 0,
        }
        if bad:
            values["RecordsQuarantined"] = bad
            quarantined += bad
        if fail:
            values["TasksFailed"] = 1
        for doc in _emf(WORKER, at, rid, batch, values):
            w.put(WORKER, at, doc)
        t += gap
    w.close()
    return Dataset(w.count, incident_run, quarantined)


def files_for(root: Path, hours: int) -> list[Path]:
    return sorted(p for p in root.glob("*.jsonl") if int(p.stem.rsplit("-", 1)[1]) < hours)


# --- moto ------------------------------------------------------------------------------------------------


def _put(logs: Any, group: str, stream: str, events: list[dict[str, Any]]) -> None:
    """One PutLogEvents call; its events in time order, as the API wants (concurrent invocations
    interleave, so a file's lines are not quite in order)."""
    logs.put_log_events(
        logGroupName=group, logStreamName=stream, logEvents=sorted(events, key=lambda e: e["timestamp"])
    )


@contextmanager
def moto_holding(root: Path) -> Iterator[tuple[str, float]]:
    """A moto server process holding the lines (log groups), their metrics and the alarms; (url, fill s)."""
    import boto3

    from emulator.cloudwatch import deploy_alarms, publish_metrics

    port = _free_port()
    with process(
        [str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(port)]
    ) as proc:
        url = f"http://127.0.0.1:{port}"
        _wait_http(url, proc)
        with scoped_env({**FAKE_ENV, "AWS_ENDPOINT_URL": url}):
            started = time.perf_counter()
            logs = boto3.client("logs")
            for service in (WORKER, SCHEDULER):
                group = f"/aws/lambda/{service}"
                logs.create_log_group(logGroupName=group)
                for f in files_for(root, max(HOURS)):
                    if not f.name.startswith(service):
                        continue
                    stream = f"{f.stem}/[$LATEST]{_hex(f.name)[:16]}"
                    logs.create_log_stream(logGroupName=group, logStreamName=stream)
                    batch: list[dict[str, Any]] = []
                    size = 0
                    emf: list[str] = []
                    with f.open(encoding="utf-8") as handle:
                        for raw in handle:
                            line = raw.rstrip("\n")
                            if line.startswith('{"_aws"'):
                                emf.append(line)
                                ts = int(json.loads(line)["_aws"]["Timestamp"])
                            else:
                                ts = int(
                                    datetime.fromisoformat(line[14:38].replace("Z", "+00:00")).timestamp()
                                    * 1000
                                )
                            if len(batch) >= 10_000 or size + len(line) + 26 > 1_000_000:
                                _put(logs, group, stream, batch)
                                batch, size = [], 0
                            batch.append({"timestamp": ts, "message": line})
                            size += len(line) + 26
                    if batch:
                        _put(logs, group, stream, batch)
                    publish_metrics(emf)
            deploy_alarms(ROOT / "terraform" / "generated", environment="dev")
            boto3.client("cloudwatch").set_alarm_state(
                AlarmName=ALARM, StateValue="ALARM", StateReason="benchmark"
            )
            yield url, time.perf_counter() - started


# --- running a command --------------------------------------------------------------------------------

_READ = re.compile(
    r"logs: .*?\(([\d,]+) lines fetched \(([\d.,]+ [KMG]?B)\) in ([\d,]+) request\(s\), "
    r"([\d,]+) parsed, ([\d,]+) matched\)"
)


@dataclass
class Run:
    command: str
    store: str
    hours: int
    lines: int
    seconds: float
    peak_mb: float
    fetched: int
    fetched_bytes: str
    requests: int
    parsed: int
    matched: int
    rc: int


def _peak_child(args: list[str], env: dict[str, str]) -> tuple[bytes, bytes, int, float]:
    """Run a child; (stdout, stderr, exit code, its own peak RSS in MB, from wait4)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return out.read(), err.read(), proc.returncode, usage.ru_maxrss / 1024


def measure(args: list[str], env: dict[str, str], command: str, store: str, hours: int, lines: int) -> Run:
    started = time.perf_counter()
    out, err, rc, peak = _peak_child([CLI, *args, "--quiet"], {**env, "COLUMNS": "1000"})  # unwrapped
    seconds = time.perf_counter() - started
    text = out.decode(errors="replace")
    m = _READ.search(text)
    if rc not in (0, 1) or m is None:
        raise RuntimeError(
            f"{command} on {store} ({hours} h) failed ({rc}): {err.decode()[-2000:]}\n{text[-2000:]}"
        )

    def num(s: str) -> int:
        return int(s.replace(",", ""))

    return Run(
        command,
        store,
        hours,
        lines,
        seconds,
        peak,
        num(m.group(1)),
        m.group(2),
        num(m.group(3)),
        num(m.group(4)),
        num(m.group(5)),
        rc,
    )


def _window(hours: int) -> list[str]:
    return ["--start", _iso(T0), "--end", _iso(T0 + timedelta(hours=hours))]


def commands(ds: Dataset, out: Path) -> dict[str, list[str]]:
    return {
        "trace": ["trace", ds.incident_run, "--max-lines", "20"],
        "alarm": ["alarm", ALARM, "--alarms-dir", str(ROOT / "terraform" / "generated")],
        "failures": ["failures"],
        "report": [
            "report",
            "--out",
            str(out / "report.html"),
            "--alarms-dir",
            str(ROOT / "terraform" / "generated"),
        ],
    }


def _table(runs: list[Run]) -> str:
    rows = [
        "| command | store | window | lines in window | time (s) | s per 100k lines | peak RSS (MB) | "
        "lines fetched | bytes fetched | lines parsed | lines matched | fetched / matched |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in runs:
        ratio = f"{r.fetched / r.matched:.2f}" if r.matched else "-"
        rows.append(
            f"| {r.command} | {r.store} | {r.hours} h | {r.lines:,} | {r.seconds:.2f} | "
            f"{100_000 * r.seconds / r.lines:.3f} | {r.peak_mb:.0f} | {r.fetched:,} | {r.fetched_bytes} | "
            f"{r.parsed:,} | {r.matched:,} | {ratio} |"
        )
    return "\n".join(rows)


def _verdicts(runs: list[Run], total_lines: int) -> list[str]:
    out = []
    for store in ("moto",):
        for cmd in ("trace", "alarm"):
            worst = max(
                (r.fetched / max(1, r.matched) for r in runs if r.store == store and r.command == cmd),
                default=None,
            )
            if worst is not None:
                verdict = "met" if worst <= 2 else "**not met**"
                out.append(
                    f"- {cmd} on {store}: lines fetched at most {worst:.2f}x the lines matched (target 2x) "
                    f"-> {verdict}"
                )
    big = [r for r in runs if r.hours == max(HOURS)]
    if big:
        worst = max(big, key=lambda r: r.peak_mb)
        verdict = "met" if worst.peak_mb < 300 else "**not met**"
        out.append(
            f"- peak memory at {total_lines:,} lines: at most {worst.peak_mb:.0f} MB "
            f"({worst.command} on {worst.store}; target < 300 MB) -> {verdict}"
        )
    for store in ("moto", "files"):
        for cmd in ("trace", "alarm", "failures", "report"):
            rs = sorted((r for r in runs if r.store == store and r.command == cmd), key=lambda r: r.hours)
            if len(rs) < 2:
                continue
            growth = (rs[-1].seconds / rs[0].seconds) / (rs[-1].lines / rs[0].lines)
            verdict = "met" if growth <= 1.25 else "**not met**"
            out.append(
                f"- {cmd} on {store}: {rs[0].hours} h -> {rs[-1].hours} h is "
                f"{rs[-1].lines / rs[0].lines:.0f}x the lines and "
                f"{rs[-1].seconds / rs[0].seconds:.1f}x the time "
                "(linear or better: at most 1.25x the line ratio, "
                f"measured {growth:.2f}) -> {verdict}"
            )
    return out


HOW_TO_READ = (
    "How to read it: *fetched* is what reached the client (CloudWatch events received; for files "
    "every line read from disk, which a file cannot avoid), *parsed* what was decoded as JSON after "
    "the byte test, *matched* what the command used after its client-side re-check. On moto, trace "
    "asks for the quoted correlation id; alarm asks GetMetricData for the datapoints, then for the "
    "quoted metric name in the breaching period and each culprit's quoted request id over its own "
    "invocation span. `failures` and `report` run on the files only: against CloudWatch they use a "
    "Logs Insights `stats` query and JSON filter patterns, which moto ignores (it would send every "
    "line, and its pagination re-scans the whole group for every page), so a moto figure would "
    "measure moto."
)


def main() -> None:
    load_before = os.getloadavg()[0]
    tmp = Path(tempfile.mkdtemp(prefix="bench-triage-"))
    try:
        started = time.perf_counter()
        ds = generate(tmp)
        gen_s = time.perf_counter() - started
        size_mb = sum(p.stat().st_size for p in tmp.glob("*.jsonl")) / 1e6
        per_hour = {h: sum(1 for p in files_for(tmp, h) for _ in p.open("rb")) for h in HOURS}
        runs: list[Run] = []
        env_files = {k: v for k, v in os.environ.items() if not k.startswith("AWS_ENDPOINT_URL")}
        for h in HOURS:
            logs = [a for p in files_for(tmp, h) for a in ("--logs", str(p))]
            for name, args in commands(ds, tmp).items():
                print(f"files {h} h: {name}", flush=True)
                runs.append(measure([*args, *logs, *_window(h)], env_files, name, "files", h, per_hour[h]))
        with moto_holding(tmp) as (url, fill_s):
            env = {**os.environ, **FAKE_ENV, "AWS_ENDPOINT_URL": url}
            groups = ["--log-group", f"/aws/lambda/{WORKER}", f"/aws/lambda/{SCHEDULER}"]
            for h in HOURS:
                for name in ("trace", "alarm"):
                    print(f"moto {h} h: {name}", flush=True)
                    args = commands(ds, tmp)[name]
                    runs.append(
                        measure(
                            [*args, *groups, *_window(h), "--engine", "filter"],
                            env,
                            name,
                            "moto",
                            h,
                            per_hour[h],
                        )
                    )
        total = per_hour[max(HOURS)]
        body = [
            f"{total:,} lines ({size_mb:,.0f} MB) over {max(HOURS)} h: {LINES_PER_HOUR:,} an hour; "
            f"generated in {gen_s:.0f} s; moto filled in {fill_s:.0f} s (both log groups, the metrics as "
            f"per-minute statistic sets, the alarms). The incident run {ds.incident_run} quarantines "
            f"{ds.quarantined} records in one 5-minute period of the first hour.",
            _table(runs),
            "Targets:\n\n" + "\n".join(_verdicts(runs, total)),
            HOW_TO_READ,
            f"Load average (1 min) at start / end of the run: {load_before:.1f} / {os.getloadavg()[0]:.1f}.",
        ]
        write("triage", "Triage at scale (issue 12)", "\n\n".join(body))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
