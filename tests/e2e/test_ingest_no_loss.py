"""No data is lost or duplicated when everything goes wrong at once.

Scheduler -> SQS (moto, redrive to a DLQ) -> worker, each function in its own process under
``awslambdaric`` (emulator.lambda_function), the worker fed by the SQS event source mapping loop
until the queue is empty, with: >= 10,000 source records across shuffled pages (out-of-order versions,
duplicates, ~3% malformed), pushed record batches, duplicate deliveries of tasks and pushes, a
429 burst and seeded 429 / 5xx / malformed / slow answers from the source, DynamoDB throttles
(some absorbed by the client's retries, one burst that outlasts them), two worker processes killed
(SIGKILL) in the middle of their writes, and one task that can never succeed.

Seeded: ``INGEST_E2E_SEED=<n>`` reproduces a run.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import boto3
import pytest

from emulator.fault_proxy import fault_proxy
from emulator.lambda_function import FunctionConfig, LambdaFunction
from emulator.source_api import DEMO_SUITE, Fault, FaultPlan, generate_dataset, source_api
from emulator.sqs_event_source import SqsEventSource
from observe.testing import Captured
from pipelines.ingest.local import create_resources, queue_depth, read_queue
from pipelines.ingest.worker import push_digest

SEED = int(os.environ.get("INGEST_E2E_SEED", "20261126"))
N_RECORDS = 10_500
PAGE_SIZE = 250
PAGES_PER_TASK = 3
MAX_RECEIVE = 15
KILL_AFTER_WRITES = 100
KILLS = 2


def canon(record: Any) -> str:
    return json.dumps(record, sort_keys=True)


def latest_objects(bucket: str, prefix: str) -> dict[str, Any]:
    s3 = boto3.client("s3")
    out: dict[str, Any] = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for obj in page.get("Contents", []):
            got = s3.get_object(Bucket=bucket, Key=obj["Key"])
            out[obj["Key"]] = {"meta": got["Metadata"], "body": json.loads(got["Body"].read())}
    return out


def version_counts(bucket: str, prefix: str) -> Counter[str]:
    counts: Counter[str] = Counter()
    for page in (
        boto3.client("s3").get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=prefix)
    ):
        for v in page.get("Versions", []):
            counts[v["Key"]] += 1
    return counts


def scan(table: str) -> dict[str, dict[str, Any]]:
    items: dict[str, dict[str, Any]] = {}
    for page in boto3.client("dynamodb").get_paginator("scan").paginate(TableName=table, ConsistentRead=True):
        for item in page["Items"]:
            items[item["pk"]["S"]] = item
    return items


class Killer:
    """Arms the worker's switch (``killable_worker``): its next invocation's process is killed
    (SIGKILL) after ``KILL_AFTER_WRITES`` conditional writes."""

    def __init__(self, switch: Path) -> None:
        self.switch = switch

    def arm(self) -> None:
        self.switch.write_text(str(KILL_AFTER_WRITES))

    def disarm(self) -> None:
        self.switch.unlink(missing_ok=True)


def killed(results: list[Any]) -> int:
    """Invocations whose runtime process was killed by a signal, as Lambda reports them."""
    return sum(
        r.error_type == "Runtime.ExitError" and r.payload["errorMessage"].endswith("signal: killed")
        for r in results
    )


@pytest.mark.e2e
@pytest.mark.timeout(900)
def test_no_record_is_lost_or_duplicated_under_faults(e2e_aws: str, tmp_path: Path) -> None:
    ds = generate_dataset(seed=SEED, n_records=N_RECORDS, page_size=PAGE_SIZE, malformed_rate=0.03)
    pushed = generate_dataset(
        seed=SEED + 1, n_records=500, page_size=50, malformed_rate=0.03, key_prefix="push"
    )
    assert ds.n_records >= 10_000 and len(ds.malformed) >= 300
    truth = {**ds.latest, **pushed.latest}
    n_pages = len(ds.pages)

    res = create_resources(
        table="e2e-state",
        bucket="e2e-backup",
        queue="e2e-tasks",
        max_receive_count=MAX_RECEIVE,
        visibility_timeout=1,
    )
    plan = FaultPlan(
        seed=SEED, p_429=0.03, p_5xx=0.05, p_malformed=0.03, p_slow=0.03, slow_delay=0.05, retry_after=0.2
    )
    with ExitStack() as stack:
        source = stack.enter_context(source_api(ds.pages, plan=plan))
        proxy = stack.enter_context(fault_proxy(e2e_aws, seed=SEED))
        env = {
            "ENVIRONMENT": "dev",
            "LOG_LEVEL": "INFO",
            "SOURCE_URL": source.url,
            "TABLE_NAME": res.table,
            "BACKUP_BUCKET": res.bucket,
            "QUEUE_URL": res.queue_url,
            "PAGES_PER_TASK": str(PAGES_PER_TASK),
            "TASK_CONCURRENCY": "4",
            "FETCH_CONCURRENCY": "8",
            "UPSERT_CONCURRENCY": "16",
            "FETCH_RETRIES": "2",
            "HTTP_TIMEOUT": "2",
            "AWS_MAX_ATTEMPTS": "3",
            "AWS_ENDPOINT_URL_DYNAMODB": proxy.url,  # the worker's DynamoDB calls go through the fault proxy
            "KILL_SWITCH": str(tmp_path / "kill-switch"),
            "SUITE_PATH": str(DEMO_SUITE),  # the served records are the demo's
        }
        # faults: a 429 burst first, a task that always fails, rare DynamoDB throttles throughout
        source.script(
            Fault("5xx", partition="broken", times=10**6, status=500), Fault("429", times=6, retry_after=0.5)
        )
        proxy.throttle_rate(0.01, operations={"PutItem"})
        killer = Killer(tmp_path / "kill-switch")
        # the functions as terraform deploys them (sizes of the ingestion_pipeline module), each in
        # its own process under awslambdaric
        schedule = stack.enter_context(
            LambdaFunction(
                FunctionConfig(
                    "ingest-scheduler",
                    "pipelines.ingest.scheduler.handler",
                    timeout=60,
                    memory_mb=256,
                    env=env,
                )
            )
        )
        work = stack.enter_context(
            LambdaFunction(
                FunctionConfig(
                    "ingest-worker", "tests.e2e.killable_worker.handler", timeout=120, memory_mb=1024, env=env
                )
            )
        )

        # the work: a cron-like run, a re-delivery of its first tasks, pushes (two twice), a poison task
        for plan_event in (
            {"pages": n_pages, "correlation_id": "e2e-run"},
            {"pages": 2 * PAGES_PER_TASK, "correlation_id": "e2e-dup"},
            {"partitions": ["broken"], "pages": 1, "correlation_id": "e2e-poison"},
        ):
            assert schedule.invoke(plan_event).ok
        sqs = boto3.client("sqs")
        push_bodies = [
            json.dumps({"records": page}) for page in [*pushed.pages, pushed.pages[0], pushed.pages[3]]
        ]
        for i, body in enumerate(push_bodies):
            sqs.send_message(
                QueueUrl=res.queue_url,
                MessageBody=body,
                MessageAttributes={"correlation_id": {"DataType": "String", "StringValue": f"e2e-push-{i}"}},
            )
        esm = SqsEventSource(work, res.queue_url, batch_size=4)

        def faults(n: int) -> None:
            if n == 4:
                proxy.throttle_next(200, operations={"PutItem"})  # outlasts the client's 3 attempts
            elif n == 5:
                proxy.reset()
                proxy.throttle_rate(0.01, operations={"PutItem"})
            if n == 2 or (n >= 5 and killed(esm.stats.results) < KILLS):
                killer.arm()  # killed after 100 writes of the batch; twice in the run
            else:
                killer.disarm()

        stats = esm.run_until_empty(timeout=600, before_invoke=faults)
        proxy.reset()
        # what the functions wrote to their logs, as CloudWatch would hold it: observe's lines and
        # EMF documents (parsed below), the platform's lines
        observed = Captured()
        observed.stream.write(
            "\n".join(ln for ln in [*schedule.lines(), *work.lines()] if ln.startswith("{"))
        )

    # every message was processed or is in the DLQ, with its correlation id
    assert queue_depth(sqs, res.queue_url) == 0
    dead = read_queue(res.dlq_url)
    assert [json.loads(m["Body"])["task"]["partition"] for m in dead] == ["broken"]
    assert dead[0]["MessageAttributes"]["correlation_id"]["StringValue"] == "e2e-poison"
    assert stats.died == KILLS == killed(stats.results), stats.errors
    assert work.environments == 1 + KILLS, "each kill cost the worker its environment, and only those"
    reports = [ln for ln in work.lines() if ln.startswith("REPORT ")]
    assert len(reports) == stats.invocations
    assert sum("Status: error\tError Type: Runtime.ExitError" in ln for ln in reports) == KILLS

    # every key holds exactly its newest valid version, nothing more, nothing less
    items = scan(res.table)
    assert sorted(items) == sorted(truth)
    wrong = [
        k
        for k, rec in truth.items()
        if int(items[k]["version"]["N"]) != rec["version"]
        or items[k]["currency"]["S"] != rec["currency"]
        or float(items[k]["amount"]["N"]) != rec["amount"]
        or items[k]["updated_at"]["S"] != rec["updated_at"]
    ]
    assert wrong == []

    # every malformed record is in quarantine, once, with reasons and the correlation id
    quarantine = latest_objects(res.bucket, "quarantine/source/")
    quarantined = [r for doc in quarantine.values() for r in doc["body"]["records"]]
    assert Counter(canon(r["record"]) for r in quarantined) == Counter(
        canon(m) for m, _ in [*ds.malformed, *pushed.malformed]
    )
    assert all(r["reasons"] for r in quarantined)
    assert all(doc["body"]["correlation_id"] and doc["meta"]["correlation_id"] for doc in quarantine.values())

    # S3 holds the versions: every raw page as served, re-fetched pages as extra object versions
    raw = latest_objects(res.bucket, "raw/source/_/")
    assert sorted(raw) == [f"raw/source/_/page-{n:06d}.json" for n in range(1, n_pages + 1)]
    for n in range(1, n_pages + 1):
        assert raw[f"raw/source/_/page-{n:06d}.json"]["body"]["records"] == ds.pages[n - 1]
    raw_versions = version_counts(res.bucket, "raw/source/_/")
    assert all(raw_versions[f"raw/source/_/page-{n:06d}.json"] >= 2 for n in range(1, 2 * PAGES_PER_TASK + 1))
    processed = latest_objects(res.bucket, "processed/source/")
    expected = {
        f"processed/source/_/page-{a:06d}..page-{min(a + PAGES_PER_TASK - 1, n_pages):06d}.json"
        for a in range(1, n_pages + 1, PAGES_PER_TASK)
    } | {f"processed/source/push/{push_digest(b.encode())}.json" for b in push_bodies}
    assert len(expected) == len(range(1, n_pages + 1, PAGES_PER_TASK)) + len(pushed.pages)
    assert set(processed) == expected
    in_processed = {(r["id"], r["version"]) for doc in processed.values() for r in doc["body"]["records"]}
    assert {(k, r["version"]) for k, r in truth.items()} <= in_processed

    # the faults really happened, and replays were counted no-ops rather than errors
    assert sum(observed.metric_values("Throttles", source="http-429")) >= 1
    assert sum(observed.metric_values("Throttles", source="aws-throttling")) >= 1
    # The burst stops its invocation at the first write that outlasts botocore's 3 attempts, so how
    # much of it is used depends on timing; at least those 3 attempts were throttled.
    assert proxy.throttled["PutItem"] >= 3
    assert sum(observed.metric_values("RecordsStale")) > 0
    counts = source.status_counts()
    assert counts.get(429, 0) >= 6 and counts.get(500, 0) >= MAX_RECEIVE
