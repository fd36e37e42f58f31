"""Demo of the ingestion pipeline end to end on the local emulator.

Starts moto (DynamoDB, versioned S3, SQS with a DLQ) and the local paginated source API on
127.0.0.1, then: an EventBridge cron tick -> scheduler -> SQS -> worker, each function in its own
process under ``awslambdaric`` against the local Runtime API, the worker fed by the SQS event
source mapping loop, over 1,200 records with duplicates, out-of-order versions and ~3% malformed records, a
429 from the source on the way, and one pushed batch; then a late page of only 5 records, which
the drift checks (baselines in a DynamoDB table, ``BASELINE_TABLE``) report as a row-count
collapse. Prints what a user wants to see: the log lines, the platform's REPORT lines, the
counts, the DynamoDB state, the quarantine, the drift anomaly and the metrics.

Run: ``.venv/bin/python -m demo.ingest``.
"""

from __future__ import annotations

import io
import json
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from demo.show import heading, platform_line, render

OUT = Path("out/demo")
#: the drift checks' key of the cron tasks' batches (no partition)
BASELINE_KEY = "ingest#source/_"


def _metric_totals(text: str) -> dict[str, float]:
    """Sum of every catalogued metric over the run, with extra-dimension breakdowns."""
    totals: dict[str, float] = defaultdict(float)
    for line in text.splitlines():
        doc = json.loads(line)
        if "_aws" not in doc:
            continue
        directive = doc["_aws"]["CloudWatchMetrics"][0]
        extra = [d for d in directive["Dimensions"][0] if d not in ("service", "pipeline", "environment")]
        for m in directive["Metrics"]:
            values = doc[m["Name"]] if isinstance(doc[m["Name"]], list) else [doc[m["Name"]]]
            label = m["Name"] + "".join(f"[{d}={doc[d]}]" for d in extra)
            if m["Unit"] == "Milliseconds":
                totals[label + " (n)"] += len(values)
            else:
                totals[label] += sum(values)
    return totals


def _functions(settings: dict[str, str]) -> tuple[Any, Any]:
    """The scheduler and the worker as terraform deploys them (the ingestion_pipeline module's
    sizes), each its own process under ``awslambdaric``, their logs shipped to CloudWatch (moto)."""
    from emulator.lambda_function import FunctionConfig, LambdaFunction

    def function(name: str, handler: str, timeout: int, memory_mb: int) -> Any:
        env = {**settings, "SERVICE_NAME": name}  # the dashboards and alarms select on it
        config = FunctionConfig(name, handler, timeout=timeout, memory_mb=memory_mb, env=env)
        return LambdaFunction(config, ship_logs=True)

    return (
        function("ingest-scheduler", "pipelines.ingest.scheduler.handler", 60, 256),
        function("ingest-worker", "pipelines.ingest.worker.handler", 120, 1024),
    )


def main() -> None:
    """Start the emulator, run the pipeline, print what happened, stop the emulator."""
    from emulator.moto_server import moto_server
    from emulator.source_api import DEMO_SUITE, Fault, generate_dataset, source_api
    from observe import logging as olog
    from pipelines.ingest.local import create_resources

    heading("Ingest pipeline: cron -> scheduler -> SQS -> worker -> DynamoDB + S3 (moto, local source API)")
    print(
        "  each function runs in its own process under awslambdaric, as on Lambda (emulator.lambda_function)"
    )
    # 10% malformed: enough (>= 100 records) for the quarantine alarm to fire, for the triage demo
    ds = generate_dataset(seed=42, n_records=1200, page_size=100, malformed_rate=0.1)
    olog.configure(level="WARNING", stream=io.StringIO())  # this harness's own boto3 lines stay out
    try:
        with moto_server(), source_api(ds.pages) as source:
            res = create_resources(visibility_timeout=1, baseline_table="ingest-baselines")
            settings = {
                "SOURCE_URL": source.url,
                "TABLE_NAME": res.table,
                "BACKUP_BUCKET": res.bucket,
                "QUEUE_URL": res.queue_url,
                "ENVIRONMENT": "dev",
                "LOG_LEVEL": "INFO",
                "MAX_PAGES": str(len(ds.pages)),
                "PAGES_PER_TASK": "3",
                "FETCH_RETRIES": "1",
                "SUITE_PATH": str(DEMO_SUITE),  # the demo's domain rules; by default only key + version
                "BASELINE_TABLE": res.baseline_table or "",
                # the tick's 4 tasks form the baseline; a schema change would stop a task, the rest warns
                "DRIFT_MIN_HISTORY": "4",
                "DRIFT_ACTIONS": "schema=fail_task",
            }
            print(
                f"  source: {len(ds.pages)} pages, {ds.n_records} records, {len(ds.latest)} keys, "
                f"{len(ds.malformed)} malformed; page 5 will answer 429 (Retry-After: 1) once"
            )
            source.script(Fault("429", page=5, retry_after=1))
            schedule, work = _functions(settings)
            try:
                run_and_show(res, ds, source, schedule, work)
            finally:
                schedule.close()
                work.close()
    finally:
        olog.reset()


def _invoke(fn: Any, event: dict[str, Any]) -> Any:
    result = fn.invoke(event)
    if not result.ok:
        raise SystemExit(f"{fn.config.name} failed: {result.error_type}: {result.payload}")
    return result.payload


def run_and_show(res: Any, ds: Any, source: Any, schedule: Any, work: Any) -> None:
    """Run a cron tick, a push and the worker; then print logs, counts, state, quarantine, metrics."""
    import boto3

    from emulator.scenario import save_run
    from emulator.sqs_event_source import SqsEventSource
    from observe.checks import DynamoBaselineStore
    from pipelines.ingest.local import read_queue

    tick = {
        "id": "demo-tick-0001",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "detail": {},
    }
    planned = _invoke(schedule, tick)
    push = {
        "records": [
            {"id": "push-1", "version": 1, "name": "pushed", "amount": 3.5, "currency": "EUR"},
            {"id": "push-2", "version": "2026-01-05T10:00:00Z", "name": "x", "amount": -1, "currency": "EUR"},
        ]
    }
    boto3.client("sqs").send_message(QueueUrl=res.queue_url, MessageBody=json.dumps(push))
    # the event source mapping as terraform configures it, but without the 5 s batching window
    # (each batch would wait for it: the demo has fewer than 10 messages at a time)
    stats = SqsEventSource(work, res.queue_url, batch_size=10).run_until_empty(timeout=120)

    # A late page with 5 records, against a baseline of 4 batches of ~300: a row-count collapse.
    late = [
        {"id": f"late-{i}", "version": 1, "updated_at": "2026-01-05T10:00:00Z", "name": f"late {i}",
         "amount": 10.0 * i, "currency": "SGD"}
        for i in range(1, 6)
    ]  # fmt: skip
    source.set_pages([*ds.pages, late])
    late_run = {"pages": 1, "start_page": len(ds.pages) + 1, "correlation_id": "demo-late-0001"}
    _invoke(schedule, late_run)
    late_stats = SqsEventSource(work, res.queue_url, batch_size=10).run_until_empty(timeout=60)

    # every line both functions wrote, in time order, as CloudWatch Logs holds them
    events = sorted([*schedule.events, *work.events], key=lambda e: e.timestamp)
    lines = [e.message for e in events]
    observed = "\n".join(ln for ln in lines if ln.startswith("{"))

    heading("What the functions logged (the worker's info lines and library lines elided)")
    keep = (
        '"logger":"observe"',
        '"logger":"observe.batch"',
        '"logger":"pipelines.ingest',
        '"logger":"observe.checks',
    )
    shown = [
        ln
        for ln in observed.splitlines()
        if '"_aws"' not in ln
        and any(k in ln for k in keep)
        and ('"level":"info"' not in ln or '"logger":"observe"' in ln)
    ]
    render("\n".join(shown))

    heading("What the Lambda platform logged: each invocation's REPORT line")
    for fn in (schedule, work):
        for line in fn.lines():
            if line.startswith(("REPORT ", "INIT_REPORT ")):
                platform_line(fn.config.name, line)

    heading("Counts")
    print(
        f"  scheduler planned {planned['tasks']} tasks (correlation id {planned['correlation_id']}); "
        f"worker invocations: {stats.invocations}, messages done: {stats.deleted}, "
        f"returned to the queue: {stats.reported_failed}, in the DLQ: {len(read_queue(res.dlq_url))}"
    )
    print(f"  late page: {late_stats.invocations} invocation, {late_stats.deleted} message done")
    print(
        f"  environments: worker {work.environments}, scheduler {schedule.environments} "
        f"(each inits once, then stays warm)\n  memory size enforced by: {work.memory_enforcement}"
    )
    print(f"  source requests by status: {dict(sorted(source.status_counts().items()))}")

    heading("DynamoDB: the newest valid version of each key")
    items = boto3.resource("dynamodb").Table(res.table).scan(ConsistentRead=True)["Items"]
    by_key = {i["pk"]: i for i in items}
    right = sum(1 for k, r in ds.latest.items() if k in by_key and int(by_key[k]["version"]) == r["version"])
    print(f"  {len(items)} items; {right}/{len(ds.latest)} source keys hold their newest valid version")
    for key in [*sorted(by_key)[:6], "push-1"]:
        item = by_key.get(key)
        if item:
            print(
                f"  pk={item['pk']:<14} version={item['version']!s:<3} amount={item['amount']!s:>9} "
                f"{item['currency']}  name={item['name']!r}"
            )

    heading(f"Quarantine (s3://{res.bucket}/quarantine/..., first two records of each document)")
    s3 = boto3.client("s3")
    for obj in s3.list_objects_v2(Bucket=res.bucket, Prefix="quarantine/").get("Contents", []):
        doc = json.loads(s3.get_object(Bucket=res.bucket, Key=obj["Key"])["Body"].read())
        print(f"  {obj['Key']}  ({doc['count']} records, correlation id {doc['correlation_id']})")
        for entry in doc["records"][:2]:
            rec = entry["record"]
            ident = f"id={rec.get('id')!s:<14} version={rec.get('version')!s:<10}"
            print(f"      {ident} reasons={entry['reasons']}")
    versions = s3.list_object_versions(Bucket=res.bucket, Prefix="raw/").get("Versions", [])
    print(
        f"  backup: {len(versions)} object versions under raw/ for {len(ds.pages)} pages "
        "(pages fetched again after the 429 add versions under the same keys)"
    )

    heading(f"Drift: the late page against its baseline ({BASELINE_KEY} in {res.baseline_table})")
    for line in observed.splitlines():
        if '"message":"input anomaly"' in line:
            doc = json.loads(line)
            print(
                f"  {doc['level']}: {doc['check']} -> {doc['action']}: {doc['detail']} "
                f"(correlation id {doc['correlation_id']})"
            )
    history = DynamoBaselineStore(res.baseline_table).history(BASELINE_KEY)
    print(
        f"  baseline: {len(history)} accepted batches, rows {[p['rows'] for p in history]}; "
        f"'warn' loads the batch: late-1..5 in DynamoDB: {all(f'late-{i}' in by_key for i in range(1, 6))}"
    )

    heading("Metrics over the run (sums; for latencies, the number of values)")
    for name, value in sorted(_metric_totals(observed).items()):
        if not name.startswith(("Duration", "MaxMemory", "MemoryUtil", "ColdStart")):
            print(f"  {name:<80} {value:g}")

    logs = boto3.client("logs")
    for fn in (schedule, work):
        group = fn.config.log_group
        streams = logs.describe_log_streams(logGroupName=group)["logStreams"]
        count = sum(
            len(logs.get_log_events(logGroupName=group, logStreamName=s["logStreamName"])["events"])
            for s in streams
        )
        print(f"  CloudWatch Logs (moto): {group} holds {count} events in {len(streams)} stream(s)")

    # What the triage demo reads next: every line as CloudWatch Logs holds it (platform lines
    # included), and the quarantine and DLQ as they are now (the emulator stops when this demo ends).
    saved = save_run(lines, res.bucket, res.dlq_url, OUT)
    print(f"\n  saved for the triage: {', '.join(str(p) for p in saved.values())}")


if __name__ == "__main__":
    main()
