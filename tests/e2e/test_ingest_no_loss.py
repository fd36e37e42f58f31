"""No data is lost or duplicated when everything goes wrong at once.

Scheduler -> SQS (moto, redrive to a DLQ) -> worker, driven like Lambda's SQS poller until the
queue is empty, with: >= 10,000 source records across shuffled pages (out-of-order versions,
duplicates, ~3% malformed), pushed record batches, duplicate deliveries of tasks and pushes, a
429 burst and seeded 429 / 5xx / malformed / slow answers from the source, DynamoDB throttles
(some absorbed by botocore's retries, one burst that outlasts them), two workers killed in the
middle of their writes, and one task that can never succeed.

Seeded: ``INGEST_E2E_SEED=<n>`` reproduces a run.
"""

from __future__ import annotations

import gc
import json
import logging
import os
import threading
from collections import Counter
from typing import Any

import boto3
import pytest

from emulator.fault_proxy import fault_proxy
from emulator.source_api import Fault, FaultPlan, generate_dataset, source_api
from pipelines.ingest import scheduler, worker
from pipelines.ingest.local import create_resources, drain, queue_depth, read_queue
from pipelines.ingest.store import Store
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
    """Makes the worker die (SystemExit, no response) after N conditional writes, once armed."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.armed = False
        self.writes = 0
        self.kills = 0
        self._lock = threading.Lock()
        real = Store.put_if_newer
        killer = self

        def put_if_newer(store: Store, record: dict[str, Any]) -> bool:
            if killer.armed:
                with killer._lock:
                    killer.writes += 1
                    die = killer.armed and killer.writes > KILL_AFTER_WRITES
                    if die:
                        killer.armed = False
                        killer.kills += 1
                if die:
                    raise SystemExit("worker killed mid-batch")
            return real(store, record)

        monkeypatch.setattr(Store, "put_if_newer", put_if_newer)

    def arm(self) -> None:
        self.writes, self.armed = 0, True


@pytest.mark.e2e
@pytest.mark.timeout(900)
def test_no_record_is_lost_or_duplicated_under_faults(
    e2e_aws: str, monkeypatch: pytest.MonkeyPatch, observe_capture: Any, lambda_context: Any
) -> None:
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
    with source_api(ds.pages, plan=plan) as source, fault_proxy(e2e_aws, seed=SEED) as proxy:
        env = {
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
            "AWS_ENDPOINT_URL_DYNAMODB": proxy.url,
        }
        for k, v in env.items():
            monkeypatch.setenv(k, v)
        worker.reset_runtime()
        # faults: a 429 burst first, a task that always fails, rare DynamoDB throttles throughout
        source.script(
            Fault("5xx", partition="broken", times=10**6, status=500), Fault("429", times=6, retry_after=0.5)
        )
        proxy.throttle_rate(0.01, operations={"PutItem"})
        killer = Killer(monkeypatch)

        # the work: a cron-like run, a re-delivery of its first tasks, pushes (two twice), a poison task
        scheduler.handler({"pages": n_pages, "correlation_id": "e2e-run"}, lambda_context)
        scheduler.handler({"pages": 2 * PAGES_PER_TASK, "correlation_id": "e2e-dup"}, lambda_context)
        scheduler.handler(
            {"partitions": ["broken"], "pages": 1, "correlation_id": "e2e-poison"}, lambda_context
        )
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

        def faults(n: int) -> None:
            if n == 4:
                proxy.throttle_next(200, operations={"PutItem"})  # outlasts botocore's 3 attempts
            elif n == 5:
                proxy.reset()
                proxy.throttle_rate(0.01, operations={"PutItem"})
            if n == 2 or (n >= 5 and killer.kills < KILLS):
                killer.arm()  # dies after 100 writes of the batch; twice in the run
            else:
                killer.armed = False

        stats = drain(
            worker.handler, res.queue_url, res.queue_arn, batch_size=4, timeout=600, before_invoke=faults
        )
        proxy.reset()
        monkeypatch.delenv("AWS_ENDPOINT_URL_DYNAMODB")
        # The killed invocations left asyncio tasks behind (as a dead process would); collect
        # them now, quietly, rather than have "Task exception was never retrieved" printed later.
        monkeypatch.setattr(logging.getLogger("asyncio"), "disabled", True)
        gc.collect()

    # every message was processed or is in the DLQ, with its correlation id
    assert queue_depth(sqs, res.queue_url) == 0
    dead = read_queue(res.dlq_url)
    assert [json.loads(m["Body"])["task"]["partition"] for m in dead] == ["broken"]
    assert dead[0]["MessageAttributes"]["correlation_id"]["StringValue"] == "e2e-poison"
    assert stats.died == KILLS == killer.kills, stats.errors

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
    assert sum(observe_capture.metric_values("Throttles", source="http-429")) >= 1
    assert sum(observe_capture.metric_values("Throttles", source="aws-throttling")) >= 1
    # The burst stops its invocation at the first write that outlasts botocore's 3 attempts, so how
    # much of it is used depends on timing; at least those 3 attempts were throttled.
    assert proxy.throttled["PutItem"] >= 3
    assert sum(observe_capture.metric_values("RecordsStale")) > 0
    counts = source.status_counts()
    assert counts.get(429, 0) >= 6 and counts.get(500, 0) >= MAX_RECEIVE
