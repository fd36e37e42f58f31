"""Ingest pipeline figures: preprocessing throughput, concurrent upserts, the cost of ``observed``.

1. ``prepare()`` (DataFrame, structural checks, the ingest suite via observe.checks, newest-per-key
   dedup) on 10k and 1M generated records (3% malformed, 5% duplicates, out-of-order versions).
2. Conditional upserts (``Store.upsert``) through the fault proxy adding 5 ms to every DynamoDB
   call, sequential against bounded concurrency, in the same run. moto and the proxy run as
   their own processes. moto spends ~2.5 ms of CPU on each conditional PutItem, so on a small
   machine it caps the concurrent rate; the same runs against the proxy answering PutItem
   itself after 5 ms (a latency-only stand-in, like a real DynamoDB whose work is not on our
   cores) show what the concurrency buys when the round trip dominates.
3. The worker on the same SQS batch (4 pushed messages, 1,000 records) with and without
   ``observed`` (without: the undecorated function, with its metric and log calls made no-ops),
   against in-memory DynamoDB/S3 stand-ins so only the worker's own CPU time is measured.

Run: ``.venv/bin/python -m benchmarks.bench_ingest`` (or ``benchmarks/bench_ingest.py``).
``BENCH_INGEST_QUICK=1`` shrinks the sizes for a smoke run.
"""

from __future__ import annotations

import gc
import json
import os
import statistics
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a plain script
    sys.path.insert(0, str(ROOT))

from benchmarks._common import write  # noqa: E402

QUICK = os.environ.get("BENCH_INGEST_QUICK") == "1"
FAKE_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "ap-southeast-1",
    "AWS_REGION": "ap-southeast-1",
    "ENVIRONMENT": "dev",
}


# --- 1. preprocessing ----------------------------------------------------------------------------


def bench_prepare() -> str:
    from emulator.source_api import generate_dataset
    from pipelines.ingest.config import DEFAULT_SUITE
    from pipelines.ingest.transform import prepare
    from pipelines.ingest.validation import make_validator

    validator = make_validator(DEFAULT_SUITE)
    rows = [
        "| records | time (s) | records/s | valid | duplicates dropped | quarantined |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for n in (10_000, 100_000 if QUICK else 1_000_000):
        ds = generate_dataset(seed=1, n_records=n, page_size=n)
        records = ds.pages[0]
        times = []
        for _ in range(3 if n <= 100_000 else 1):
            gc.collect()
            started = time.perf_counter()
            out = prepare(
                records, key_field="id", version_field="version", version_kind="auto", validator=validator
            )
            times.append(time.perf_counter() - started)
        best = min(times)
        rows.append(
            f"| {n:,} | {best:.3f} | {n / best:,.0f} | {out.n_valid:,} | {out.duplicates:,} "
            f"| {len(out.rejected):,} |"
        )
        del records, ds, out
    return "\n".join(rows)


# --- 2. upserts --------------------------------------------------------------------------------


def _wait_http(url: str, proc: subprocess.Popen[Any], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(url, timeout=1).read()
            return
        except urllib.error.HTTPError:
            return  # it answers
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{url} did not come up") from None
            time.sleep(0.1)


@contextmanager
def process(args: list[str]) -> Iterator[subprocess.Popen[str]]:
    """A child process of ours, stopped (by its pid) on exit."""
    proc = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def moto_and_proxies(delay_ms: float) -> Iterator[tuple[str, str, str]]:
    """(moto url, proxy url, stub proxy url): three processes besides this one."""
    port = _free_port()
    moto = f"http://127.0.0.1:{port}"
    with process([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]) as m:
        _wait_http(f"{moto}/moto-api/", m)
        base = [sys.executable, "-m", "emulator.fault_proxy", "--upstream", moto, "--delay-ms", str(delay_ms)]
        with process(base) as p, process([*base, "--stub", "PutItem"]) as stub:
            assert p.stdout is not None and stub.stdout is not None
            yield moto, p.stdout.readline().strip(), stub.stdout.readline().strip()


def _records(n: int, prefix: str) -> list[dict[str, Any]]:
    return [
        {"id": f"{prefix}-{i:06d}", "version": 1, "name": f"customer {i}", "amount": 12.5, "currency": "SGD"}
        for i in range(n)
    ]


def _upsert_rate(endpoint: str, table: str, concurrency: int, n: int) -> float:
    import boto3
    from botocore.config import Config

    from pipelines.ingest.source import ThrottleGate
    from pipelines.ingest.store import Store

    ddb = boto3.client("dynamodb", endpoint_url=endpoint, config=Config(max_pool_connections=concurrency + 4))
    with ThreadPoolExecutor(concurrency) as pool:
        store = Store(
            dynamodb=ddb,
            s3=None,
            table=table,
            bucket="-",
            key_field="id",
            version_field="version",
            executor=pool,
            concurrency=concurrency,
        )
        store.upsert(_records(20, f"warm-{uuid.uuid4().hex[:6]}"), ThrottleGate())  # connections, code paths
        records = _records(n, uuid.uuid4().hex[:8])
        started = time.perf_counter()
        result = store.upsert(records, ThrottleGate())
        elapsed = time.perf_counter() - started
    assert result.upserted == n, result
    return n / elapsed


def bench_upserts() -> str:
    import boto3

    os.environ.update(FAKE_ENV)
    concurrencies = [1, 8, 16, 32]
    n_seq = 150 if QUICK else 250
    n_conc = 600 if QUICK else 1500
    rounds = 1 if QUICK else 3  # sequential and concurrent runs interleaved, medians reported
    with moto_and_proxies(5.0) as (moto, proxy, stub):
        boto3.client("dynamodb", endpoint_url=moto).create_table(
            TableName="bench",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        best_by_label: dict[str, list[float]] = {}
        rows = [
            "| DynamoDB behind | concurrency | writes per round | writes/s (median) | vs sequential |",
            "|---|---:|---:|---:|---:|",
        ]
        for label, url in (("moto + 5 ms proxy delay", proxy), ("5 ms latency-only stand-in", stub)):
            rates: dict[int, list[float]] = {c: [] for c in concurrencies}
            for _ in range(rounds):
                for c in concurrencies:
                    rates[c].append(_upsert_rate(url, "bench", c, n_seq if c == 1 else n_conc))
            base = statistics.median(rates[1])
            best_by_label[label] = [statistics.median(rates[c]) / base for c in concurrencies]
            for c in concurrencies:
                rate = statistics.median(rates[c])
                n = n_seq if c == 1 else n_conc
                rows.append(f"| {label} | {c} | {n:,} | {rate:,.0f} | {rate / base:.1f}x |")
        ceiling = statistics.median(_upsert_rate(moto, "bench", 16, n_conc) for _ in range(rounds))
        rows.append(f"| moto direct, no delay (its ceiling) | 16 | {n_conc:,} | {ceiling:,.0f} | - |")
        cpu_ms = _client_cpu_per_call(stub)
    best = {label: max(speedups) for label, speedups in best_by_label.items()}
    verdict = "met" if max(best.values()) >= 8 else "**not met**"
    rows.append(
        "\nTarget, at least 8x sequential with a 5 ms round trip: best "
        + ", ".join(f"{v:.1f}x ({k})" for k, v in best.items())
        + f" -> {verdict}. The client spends {cpu_ms:.2f} ms of CPU per conditional PutItem (boto3: "
        "serialise, sign, parse; measured as process time over sequential calls), and the threads of one "
        "Python process share that CPU under the GIL: past about 8 calls in flight the rate stops "
        "growing, so the client, not the 5 ms round trip, sets the ceiling here."
    )
    return "\n".join(rows)


def _client_cpu_per_call(endpoint: str, n: int = 200) -> float:
    """CPU milliseconds the boto3 client spends per PutItem (sequential, so no thread contention)."""
    import boto3

    ddb = boto3.client("dynamodb", endpoint_url=endpoint)
    ddb.put_item(TableName="bench", Item={"pk": {"S": "warm"}, "version": {"N": "1"}})
    cpu = time.process_time()
    for i in range(n):
        ddb.put_item(TableName="bench", Item={"pk": {"S": f"cpu-{i}"}, "version": {"N": "1"}})
    return (time.process_time() - cpu) / n * 1000


# --- 3. observed overhead ---------------------------------------------------------------------


class FakeDynamo:
    """Conditional PutItem semantics on a dict (only what Store uses)."""

    def __init__(self) -> None:
        self.items: dict[str, dict[str, Any]] = {}

    def put_item(self, *, TableName: str, Item: dict, ConditionExpression: str, **kw: Any) -> dict:
        from botocore.exceptions import ClientError

        key = Item["pk"]["S"]
        field = kw["ExpressionAttributeNames"]["#v"]
        old = self.items.get(key)
        new_v = kw["ExpressionAttributeValues"][":v"]
        if old is not None and not Decimal(old[field]["N"]) < Decimal(new_v["N"]):
            raise ClientError(
                {"Error": {"Code": "ConditionalCheckFailedException", "Message": "x"}}, "PutItem"
            )
        self.items[key] = Item
        return {}


class FakeS3:
    def __init__(self) -> None:
        self.n = 0

    def put_object(self, **kw: Any) -> dict:
        self.n += 1
        return {"VersionId": str(self.n)}


class Sink:
    def __init__(self) -> None:
        self.lines = 0

    def write(self, text: str) -> int:
        self.lines += text.count("\n")
        return len(text)

    def flush(self) -> None:
        pass


class _NoLog:
    def __getattr__(self, name: str) -> Any:
        return lambda *a, **k: None


def bench_observed() -> str:
    from emulator.source_api import generate_dataset
    from observe import logging as olog
    from pipelines.ingest import config, worker
    from pipelines.ingest.local import LocalContext
    from pipelines.ingest.store import Store
    from pipelines.ingest.validation import make_validator

    os.environ.update(FAKE_ENV)
    os.environ.update(
        SOURCE_URL="http://127.0.0.1:9/records", TABLE_NAME="t", BACKUP_BUCKET="b", ENVIRONMENT="dev"
    )
    cfg = config.load(config.WORKER_REQUIRED)
    ds = generate_dataset(seed=3, n_records=1000, page_size=250)
    event = {
        "Records": [
            {
                "messageId": f"m{i}",
                "receiptHandle": "r",
                "body": json.dumps({"records": page}),
                "attributes": {},
                "messageAttributes": {"correlation_id": {"stringValue": f"bench-{i}", "dataType": "String"}},
                "eventSource": "aws:sqs",
            }
            for i, page in enumerate(ds.pages)
        ]
    }
    sink = Sink()
    olog.configure(level="INFO", stream=sink)  # type: ignore[arg-type]
    pool = ThreadPoolExecutor(cfg.upsert_concurrency)

    def fresh_runtime() -> None:
        store = Store(
            dynamodb=FakeDynamo(),
            s3=FakeS3(),
            table="t",
            bucket="b",
            key_field="id",
            version_field="version",
            executor=pool,
            concurrency=cfg.upsert_concurrency,
        )
        worker._runtime[:] = [
            worker.Runtime(cfg, store, make_validator(cfg.suite_path), None, config.fingerprint())
        ]

    bare_fn = worker.ingest_worker.__wrapped__
    real_metric, real_log = worker.metric, worker.log

    def run_bare() -> tuple[float, float]:
        worker.metric, worker.log = (lambda *a, **k: None), _NoLog()
        try:
            fresh_runtime()
            started, cpu = time.perf_counter(), time.process_time()
            bare_fn(event, LocalContext())
            return time.perf_counter() - started, time.process_time() - cpu
        finally:
            worker.metric, worker.log = real_metric, real_log

    def run_observed() -> tuple[float, float]:
        fresh_runtime()
        started, cpu = time.perf_counter(), time.process_time()
        worker.handler(event, LocalContext())
        return time.perf_counter() - started, time.process_time() - cpu

    for fn in (run_bare, run_observed):  # warm up
        fn()
    rounds = 5 if QUICK else 40
    bare_t, obs_t = [], []
    for _ in range(rounds):
        bare_t.append(run_bare())
        obs_t.append(run_observed())
    lines_before = sink.lines
    run_observed()
    lines_per_invocation = sink.lines - lines_before
    b, o = (statistics.median(t[0] for t in bare_t), statistics.median(t[0] for t in obs_t))
    bc, oc = (statistics.median(t[1] for t in bare_t), statistics.median(t[1] for t in obs_t))
    olog.reset()
    worker.reset_runtime()
    return "\n".join(
        [
            "| worker on 4 messages / 1,000 records | wall ms (median) | CPU ms (median) | lines written |",
            "|---|---:|---:|---:|",
            f"| without observed (metrics and logs off) | {b * 1000:.1f} | {bc * 1000:.1f} | 0 |",
            f"| with observed (summary, EMF, task logs) | {o * 1000:.1f} | {oc * 1000:.1f} "
            f"| {lines_per_invocation} |",
            f"| overhead | {(o - b) * 1000:+.1f} ({(o / b - 1) * 100:+.1f}%) "
            f"| {(oc - bc) * 1000:+.1f} ({(oc / bc - 1) * 100:+.1f}%) | |",
        ]
    )


def main() -> None:
    os.environ.setdefault("ENVIRONMENT", "dev")
    load_before = os.getloadavg()[0]
    parts = [
        "### Preprocess + dedup (`prepare`), best of 3 (1 at 1M)\n\n" + bench_prepare(),
        "### Conditional upserts, bounded concurrency against sequential (same run)\n\n" + bench_upserts(),
        f"### Worker with and without `observed`, median of {5 if QUICK else 40} interleaved rounds\n\n"
        + bench_observed(),
    ]
    notes = (
        "moto, the fault proxy and the latency-only stand-in each run in their own process; moto spends "
        "~2.5 ms of CPU per conditional PutItem, so on this machine the concurrent rate against moto is "
        "bounded by moto's CPU (its no-delay ceiling above), not by the 5 ms round trip."
    )
    load = f"Load average (1 min) at start / end of the run: {load_before:.1f} / {os.getloadavg()[0]:.1f}."
    write("ingest", "Ingest pipeline", "\n\n".join(parts) + "\n\n" + notes + "\n\n" + load)


if __name__ == "__main__":
    main()
