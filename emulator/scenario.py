"""A small, real ingest incident for the diagnostics: scheduler -> SQS -> worker on moto over HTTP.

The triage demo, the diagnostics integration tests and the triage notebook all need the same
thing: the outputs of a run that went wrong in known ways, written by the real pipeline code
(``pipelines.ingest``) against real parts (moto server, the local source API). What goes wrong,
on purpose:

- a share of the served records is malformed (at least 200 of them, so ``RecordsQuarantined``
  passes its alarm threshold of 100 within one 5-minute period even if the run straddles a
  period boundary): they are quarantined under ``quarantine/<source>/_/page-N.json``;
- one page (``failing_page``) answers HTTP 500 every time: its task fails on every delivery and
  ends in the DLQ (``TasksFailed``);
- one page (``malformed_page``) answers a truncated body to both attempts of its first delivery:
  kept under ``quarantine/.../page-N.malformed.json``, the task goes back to the queue and
  succeeds on redelivery;
- a second, later run (correlation id ``throttled_id``) over the partition ``eu`` meets a 429
  on its first request: the batch stops (``Throttles`` by ``http-429``), the task goes back to
  the queue and succeeds on redelivery. It runs on its own so that the throttle cannot cut the
  first run's retries short (which would make the malformed-page quarantine a matter of timing);
- a pushed message carries personal data (an NRIC) in a record with a bad amount: quarantined,
  so the diagnostics must mask it whenever they display it;
- a message that is not JSON: quarantined whole under ``quarantine/messages/``.

Everything observe wrote (log lines and EMF documents) is kept in :attr:`ScenarioResult.lines`
exactly as Lambda would send it to CloudWatch Logs. :func:`write_outputs` saves it in the layout
``demo/triage.py`` reads (``ingest.jsonl``, ``s3/quarantine/...``, ``dlq.jsonl``);
:func:`publish_to_cloudwatch` puts it into ``/aws/lambda/<function>`` log groups.
"""

from __future__ import annotations

import io
import json
import os
import random
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from emulator.env import scoped_env

SCHEDULER = "ingest-scheduler"
THROTTLED_PARTITION = "eu"
WORKER = "ingest-worker"
PIPELINE = "ingest"

#: Settings the scenario sets while it runs (restored afterwards).
_ENV_KEYS = (
    "SERVICE_NAME",
    "ENVIRONMENT",
    "LOG_LEVEL",
    "SOURCE_URL",
    "TABLE_NAME",
    "BACKUP_BUCKET",
    "QUEUE_URL",
    "PAGES_PER_TASK",
    "TASK_CONCURRENCY",
    "FETCH_CONCURRENCY",
    "FETCH_RETRIES",
    "HTTP_TIMEOUT",
    "SUITE_PATH",
)


@dataclass
class ScenarioResult:
    """What the run wrote and what the diagnostics should find in it."""

    lines: list[str]
    bucket: str
    queue_url: str
    dlq_url: str
    environment: str
    run_id: str  # correlation id of the scheduled run (every task carries it)
    push_id: str  # correlation id of the pushed message with personal data
    junk_id: str  # correlation id of the message that is not JSON
    failing_page: int
    malformed_page: int
    throttled_id: str  # correlation id of the later run that meets the 429
    n_malformed: int  # malformed records served by the source
    secrets: list[str] = field(default_factory=list)  # personal data that must never be displayed

    @property
    def quarantine_alarm(self) -> str:
        """The alarm this run makes fire."""
        return f"{WORKER}-RecordsQuarantined-{self.environment}"


def _settings(values: dict[str, str]) -> Any:
    return scoped_env(values, also_restore=_ENV_KEYS)


def as_service(name: str, handler: Any) -> Any:
    """``handler`` run as terraform would deploy it: with ``SERVICE_NAME`` set to ``name``."""

    def run(event: dict[str, Any], context: Any) -> Any:
        os.environ["SERVICE_NAME"] = name
        return handler(event, context)

    return run


def run_scenario(
    *,
    seed: int = 11,
    n_records: int = 800,
    malformed_rate: float = 0.3,
    page_size: int = 100,
    environment: str = "dev",
    failing_page: int = 3,
    malformed_page: int = 5,
) -> ScenarioResult:
    """Create fresh resources on the moto server ``AWS_ENDPOINT_URL`` points at and run the incident.

    Needs a running moto server (``emulator.moto_server.moto_server()``); starts and stops its own
    source API. Takes a few seconds (the DLQ needs two visibility timeouts of 1 s).
    """
    import boto3

    from emulator.source_api import DEMO_SUITE, Fault, generate_dataset, source_api, valid_record
    from observe import logging as olog
    from observe import telemetry
    from pipelines.ingest import scheduler, worker
    from pipelines.ingest.local import LocalContext, create_resources, drain

    if not os.environ.get("AWS_ENDPOINT_URL"):
        raise RuntimeError(
            "run_scenario: AWS_ENDPOINT_URL is not set; start emulator.moto_server.moto_server()"
        )
    ds = generate_dataset(seed=seed, n_records=n_records, page_size=page_size, malformed_rate=malformed_rate)
    if len(ds.pages) < max(failing_page, malformed_page):
        raise ValueError(f"run_scenario: {len(ds.pages)} pages; the fault pages need more records")
    suffix = uuid.uuid4().hex[:8]
    stream = io.StringIO()  # everything observe writes from here on (the harness's lines are dropped below)
    olog.configure(level="INFO", stream=stream)
    try:
        res = create_resources(
            table=f"diag-state-{suffix}",
            bucket=f"diag-backup-{suffix}",
            queue=f"diag-tasks-{suffix}",
            max_receive_count=2,
            visibility_timeout=1,
        )
    except BaseException:
        olog.reset()
        raise
    run_id = f"run-{suffix}"
    push_id = f"push-{suffix}"
    junk_id = f"junk-{suffix}"
    throttled_id = f"eu-{suffix}"
    nric = "S1234567D"
    with source_api(ds.pages) as api:
        rng = random.Random(seed)
        eu = [valid_record(rng, f"eu-{i:04d}", 1) for i in range(10)]  # valid: this run only meets the 429
        api.set_pages([eu], partition=THROTTLED_PARTITION)
        api.script(
            Fault("5xx", page=failing_page, times=1000, status=500),
            Fault("malformed", page=malformed_page, times=2),  # both attempts of the first delivery
            Fault("429", partition=THROTTLED_PARTITION, times=1, retry_after=1),
        )
        settings = {
            "ENVIRONMENT": environment,
            "LOG_LEVEL": "INFO",
            "SOURCE_URL": api.url,
            "TABLE_NAME": res.table,
            "BACKUP_BUCKET": res.bucket,
            "QUEUE_URL": res.queue_url,
            "PAGES_PER_TASK": "1",
            "TASK_CONCURRENCY": "4",
            "FETCH_CONCURRENCY": "4",
            "FETCH_RETRIES": "1",
            "HTTP_TIMEOUT": "2",
            "SUITE_PATH": str(DEMO_SUITE),  # the demo's domain rules (amount, currency ...)
        }
        with _settings(settings):
            worker.reset_runtime()
            telemetry.reset_cold_start()
            try:
                sqs = boto3.client("sqs")
                pushed = {
                    "source": "partner-push",
                    "records": [
                        {"id": "push-1", "version": 1, "name": "ok", "amount": 10.0, "currency": "SGD"},
                        {"id": "push-2", "version": 1, "name": "bad", "amount": "12,50", "currency": "SGD",
                         "nric": nric},
                    ],
                }  # fmt: skip
                for cid, body in ((push_id, json.dumps(pushed)), (junk_id, "not json {")):
                    sqs.send_message(
                        QueueUrl=res.queue_url,
                        MessageBody=body,
                        MessageAttributes={"correlation_id": {"DataType": "String", "StringValue": cid}},
                    )
                ctx = LocalContext(
                    function_name=SCHEDULER,
                    invoked_function_arn=f"arn:aws:lambda:ap-southeast-1:123456789012:function:{SCHEDULER}",
                    log_group_name=f"/aws/lambda/{SCHEDULER}",
                )
                as_service(SCHEDULER, scheduler.handler)(
                    {"pages": len(ds.pages), "correlation_id": run_id}, ctx
                )
                work = as_service(WORKER, worker.handler)
                drain(work, res.queue_url, res.queue_arn, timeout=120)
                # the later run over another partition, which meets the 429
                plan = {"pages": 1, "partitions": [THROTTLED_PARTITION], "correlation_id": throttled_id}
                as_service(SCHEDULER, scheduler.handler)(plan, LocalContext(function_name=SCHEDULER))
                drain(work, res.queue_url, res.queue_arn, timeout=60)
            finally:
                olog.reset()
                telemetry.reset_cold_start()
                worker.reset_runtime()
    return ScenarioResult(
        lines=[line for line in stream.getvalue().splitlines() if _from_lambda(line)],
        bucket=res.bucket,
        queue_url=res.queue_url,
        dlq_url=res.dlq_url,
        environment=environment,
        run_id=run_id,
        push_id=push_id,
        junk_id=junk_id,
        failing_page=failing_page,
        malformed_page=malformed_page,
        throttled_id=throttled_id,
        n_malformed=len(ds.malformed),
        secrets=[nric],
    )


def _from_lambda(line: str) -> bool:
    """Whether a captured line is one a Lambda function wrote: an EMF document or a line written
    inside an invocation (not the harness's own boto3 lines, nor moto's request log, which share
    this process's logging)."""
    return line.startswith('{"_aws"') or ('"aws_request_id":' in line and '"logger":"werkzeug"' not in line)


def write_outputs(result: ScenarioResult, out_dir: str | Path) -> dict[str, Path]:
    """Save the run as ``demo/triage.py`` reads it (see :func:`save_run`)."""
    return save_run(result.lines, result.bucket, result.dlq_url, out_dir)


def save_run(lines: list[str], bucket: str, dlq_url: str, out_dir: str | Path) -> dict[str, Path]:
    """Save a run as ``demo/triage.py`` reads it: the lines, the quarantine mirror, the DLQ.

    ``ingest.jsonl`` holds every line observe wrote; ``s3/quarantine/...`` every quarantine object
    under its S3 key (newest version); ``dlq.jsonl`` the DLQ messages (peeked, not deleted).
    """
    import boto3

    from diagnostics.sources import peek_queue

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    logs = out / "ingest.jsonl"
    logs.write_text("\n".join(lines) + "\n", encoding="utf-8")
    s3 = boto3.client("s3")
    mirror = out / "s3"
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix="quarantine/"):
        for obj in page.get("Contents", []):
            target = mirror / obj["Key"]
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read())
    dlq = out / "dlq.jsonl"
    messages = peek_queue(dlq_url)
    dlq.write_text("".join(json.dumps(m, default=str) + "\n" for m in messages), encoding="utf-8")
    return {"logs": logs, "quarantine": mirror, "dlq": dlq}


def publish_to_cloudwatch(lines: list[str], *, default_function: str = WORKER) -> dict[str, int]:
    """Put ``lines`` into the log groups ``/aws/lambda/<function_name>`` (created if absent).

    Lines without a ``function_name`` (outside an invocation) go to ``default_function``'s group.
    Returns the number of events per group.
    """
    import boto3

    logs = boto3.client("logs")
    groups: dict[str, list[dict[str, Any]]] = {}
    for line in lines:
        doc = json.loads(line)
        fn = doc.get("function_name") or default_function
        if "_aws" in doc:
            ts = int(doc["_aws"]["Timestamp"])
        else:
            from datetime import datetime

            ts = int(datetime.fromisoformat(doc["timestamp"]).timestamp() * 1000)
        groups.setdefault(f"/aws/lambda/{fn}", []).append({"timestamp": ts, "message": line})
    existing = {
        g["logGroupName"]
        for p in logs.get_paginator("describe_log_groups").paginate()
        for g in p["logGroups"]
    }
    for group, events in groups.items():
        if group not in existing:
            logs.create_log_group(logGroupName=group)
        stream = f"2026/01/01/[$LATEST]{uuid.uuid4().hex}"
        logs.create_log_stream(logGroupName=group, logStreamName=stream)
        events.sort(key=lambda e: e["timestamp"])
        for offset in range(0, len(events), 5000):
            logs.put_log_events(
                logGroupName=group, logStreamName=stream, logEvents=events[offset : offset + 5000]
            )
    return {g: len(e) for g, e in groups.items()}


@contextmanager
def incident(out_dir: str | Path | None = None, **kwargs: Any) -> Iterator[ScenarioResult]:
    """Start a moto server, run the scenario, optionally :func:`write_outputs`; yield the result.

    The moto server (with the bucket and the DLQ) lives until the block ends.
    """
    from emulator.moto_server import moto_server
    from observe import logging as olog

    with moto_server():  # it keeps moto's per-request log quiet
        try:
            result = run_scenario(**kwargs)
            olog.configure(level="WARNING")  # the harness's own boto3 chatter stays off the terminal
            if out_dir is not None:
                write_outputs(result, out_dir)
            yield result
        finally:
            olog.reset()


# --- scripted incidents: the worker under awslambdaric, killed in the ways Lambda kills it ------

#: The deployed worker's handler (what terraform's ingestion_pipeline module configures).
WORKER_HANDLER = "pipelines.ingest.worker.handler"


@dataclass
class IncidentRun:
    """One incident: every message sent, what became of each, and the function's whole log."""

    name: str
    sent: dict[str, str]  # message id -> its correlation id, for every message sent
    processed: list[str]  # message ids the function finished (the event source mapping deleted them)
    dead: list[dict[str, Any]]  # the DLQ's messages afterwards (peeked, not deleted)
    stats: Any  # emulator.sqs_event_source.EsmStats
    events: list[Any]  # the function's log events (emulator.lambda_function.LogEvent), in order
    deliveries: list[list[str]]  # the message ids each invocation was given, in order
    dlq_url: str
    bucket: str

    @property
    def lines(self) -> list[str]:
        """The function's log as CloudWatch Logs holds it: platform lines, runtime records, observe's."""
        return [e.message for e in self.events]

    @property
    def dead_ids(self) -> list[str]:
        return [m["MessageId"] for m in self.dead]

    def lost(self) -> set[str]:
        """Messages neither finished nor dead-lettered (empty when nothing was lost)."""
        return set(self.sent) - set(self.processed) - set(self.dead_ids)


class _Recording:
    """The function as the event source mapping sees it, noting which message ids each call got."""

    def __init__(self, function: Any) -> None:
        self.function = function
        self.calls: list[tuple[list[str], Any]] = []

    def invoke(self, event: Any) -> Any:
        result = self.function.invoke(event)
        self.calls.append(([r["messageId"] for r in event["Records"]], result))
        return result

    def finished(self) -> list[str]:
        """Message ids of successful invocations that their response did not name as failed."""
        from emulator.sqs_event_source import failed_item_ids

        done: list[str] = []
        for ids, result in self.calls:
            failed = failed_item_ids(result.response, set(ids)) if result.ok else None
            if failed is not None:
                done.extend(i for i in ids if i not in failed)
        return done


def worker_incident(
    name: str,
    source: Any,
    pages: list[list[dict[str, Any]]],
    *,
    faults: tuple[Any, ...] = (),
    handler: str = WORKER_HANDLER,
    timeout: float = 10.0,
    memory_mb: int = 1024,
    env: dict[str, str] | None = None,
    log_format: str = "Text",
    environment: str = "dev",
    run_timeout: float = 60.0,
) -> IncidentRun:
    """Run the worker on ``pages`` until its queue is empty; the incident is in ``faults``/``env``.

    Each incident has its own partition of the local source API ``source`` (``name``: its pages
    and its ``faults``, whose ``partition`` is set here), its own table, bucket and queue with a
    DLQ (``maxReceiveCount`` 2, visibility timeout 1 s) on the moto server ``AWS_ENDPOINT_URL``
    points at, and one task message per page (correlation id ``<name>-<page>-<suffix>``), all in
    one batch (the event source mapping's batch size is their number, with a window of 1 s). The
    worker runs under ``awslambdaric`` with ``timeout`` and ``memory_mb``, fed by that mapping.
    """
    from dataclasses import replace

    import boto3

    from diagnostics.sources import peek_queue
    from emulator.lambda_function import FunctionConfig, LambdaFunction
    from emulator.source_api import DEMO_SUITE
    from emulator.sqs_event_source import SqsEventSource
    from pipelines.ingest.local import create_resources

    suffix = uuid.uuid4().hex[:8]
    res = create_resources(
        table=f"{name}-state-{suffix}",
        bucket=f"{name}-backup-{suffix}",
        queue=f"{name}-tasks-{suffix}",
        max_receive_count=2,
        visibility_timeout=1,
    )
    source.set_pages(pages, partition=name)
    source.script(*(replace(f, partition=name) for f in faults))
    settings = {
        "SERVICE_NAME": WORKER,
        "ENVIRONMENT": environment,
        "LOG_LEVEL": "INFO",
        "SOURCE_URL": source.url,
        "TABLE_NAME": res.table,
        "BACKUP_BUCKET": res.bucket,
        "QUEUE_URL": res.queue_url,
        "HTTP_TIMEOUT": "10",  # longer than the function's timeout: the deadline is what stops a slow page
        "FETCH_RETRIES": "1",
        "SUITE_PATH": str(DEMO_SUITE),
        **(env or {}),
    }
    sqs = boto3.client("sqs")
    sent: dict[str, str] = {}
    for page in range(1, len(pages) + 1):
        cid = f"{name}-{page}-{suffix}"
        task = {
            "task_id": f"source/{name}/{page}-{page}/{suffix}",
            "adapter": "paginated-json",
            "source": "source",
            "partition": name,
            "start_page": page,
            "end_page": page,
            "follow": False,
            "window": {"start": "", "end": suffix},
            "trigger": "incident",
        }
        attrs = {
            key: {"DataType": "String", "StringValue": value}
            for key, value in (("correlation_id", cid), ("task_id", task["task_id"]))
        }
        mid = sqs.send_message(
            QueueUrl=res.queue_url, MessageBody=json.dumps({"task": task}), MessageAttributes=attrs
        )["MessageId"]
        sent[mid] = cid
    config = FunctionConfig(
        WORKER, handler, timeout=timeout, memory_mb=memory_mb, env=settings, log_format=log_format
    )
    with LambdaFunction(config) as fn:
        recording = _Recording(fn)
        # a batch waits (up to 1 s) until it holds every task: a receive may return fewer
        esm = SqsEventSource(recording, res.queue_url, batch_size=len(pages), maximum_batching_window=1)
        stats = esm.run_until_empty(timeout=run_timeout)
    return IncidentRun(
        name=name,
        sent=sent,
        processed=recording.finished(),
        dead=peek_queue(res.dlq_url),  # they stay visible, for a triage of the DLQ
        stats=stats,
        events=list(fn.events),
        deliveries=[ids for ids, _ in recording.calls],
        dlq_url=res.dlq_url,
        bucket=res.bucket,
    )


def incident_pages(seed: int = 11, records: int = 20) -> list[list[dict[str, Any]]]:
    """Two small pages of valid records (keys unique to the seed)."""
    from emulator.source_api import valid_record

    rng = random.Random(seed)
    return [[valid_record(rng, f"inc-{seed}-{p}-{i:03d}", 1) for i in range(records)] for p in (1, 2)]


def timeout_incident(source: Any, *, timeout: float = 3.0, **kwargs: Any) -> IncidentRun:
    """The worker times out mid-batch: page 2 of its batch answers only after the deadline
    (every time), page 1 is served at once. Both messages time out twice and end in the DLQ."""
    from emulator.source_api import Fault

    return worker_incident(
        "timeout",
        source,
        incident_pages(),
        faults=(Fault("slow", page=2, times=1000, delay=timeout + 3),),
        timeout=timeout,
        **kwargs,
    )
