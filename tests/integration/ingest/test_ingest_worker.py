"""Scheduler -> SQS -> worker against moto over HTTP and the local source API."""

from __future__ import annotations

import json
import os
from typing import Any

import boto3
import pytest

from emulator.fault_proxy import fault_proxy
from emulator.source_api import Fault, SourceAPI, generate_dataset
from observe.config import ConfigError
from pipelines.ingest import scheduler, worker
from pipelines.ingest.local import Resources, drain, lambda_sqs_record, read_queue

pytestmark = pytest.mark.integration


def rec(key: str, version: int, **extra: Any) -> dict[str, Any]:
    return {"id": key, "version": version, "name": f"n-{key}", "amount": 5.0, "currency": "SGD", **extra}


def table_state(res: Resources) -> dict[str, dict[str, Any]]:
    items = boto3.resource("dynamodb").Table(res.table).scan(ConsistentRead=True)["Items"]
    return {i["pk"]: i for i in items}


def objects(res: Resources, prefix: str) -> dict[str, dict[str, Any]]:
    s3 = boto3.client("s3")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=res.bucket, Prefix=prefix).get("Contents", [])]
    out = {}
    for key in keys:
        obj = s3.get_object(Bucket=res.bucket, Key=key)
        out[key] = {"meta": obj["Metadata"], "body": json.loads(obj["Body"].read())}
    return out


def receive_event(res: Resources, n: int) -> dict[str, Any]:
    sqs = boto3.client("sqs")
    msgs: list[dict[str, Any]] = []
    while len(msgs) < n:
        batch = sqs.receive_message(
            QueueUrl=res.queue_url,
            MaxNumberOfMessages=10,
            MessageAttributeNames=["All"],
            AttributeNames=["All"],
        ).get("Messages", [])
        assert batch, f"expected {n} messages, got {len(msgs)}"
        msgs += batch
    return {"Records": [lambda_sqs_record(m, res.queue_arn) for m in msgs]}


def send(res: Resources, bodies: list[Any]) -> None:
    sqs = boto3.client("sqs")
    for b in bodies:
        sqs.send_message(QueueUrl=res.queue_url, MessageBody=b if isinstance(b, str) else json.dumps(b))


def test_scheduled_run_ingests_newest_versions_quarantines_and_backs_up(
    ingest_aws: Resources, source: SourceAPI, observe_capture: Any, lambda_context: Any, monkeypatch: Any
) -> None:
    ds = generate_dataset(seed=7, n_records=600, page_size=50, malformed_rate=0.05)
    source.set_pages(ds.pages)
    monkeypatch.setenv("PAGES_PER_TASK", "4")
    planned = scheduler.handler({"pages": len(ds.pages), "correlation_id": "run-0001"}, lambda_context)
    assert planned == {"tasks": 3, "correlation_id": "run-0001"}

    stats = drain(worker.handler, ingest_aws.queue_url, ingest_aws.queue_arn)
    assert stats.deleted == 3 and stats.reported_failed == 0 and stats.died == 0

    state = table_state(ingest_aws)
    assert {k: int(v["version"]) for k, v in state.items()} == {k: r["version"] for k, r in ds.latest.items()}
    some_key, truth = next(iter(ds.latest.items()))
    item = state[some_key]
    assert (
        item["id"] == some_key
        and item["currency"] == truth["currency"]
        and float(item["amount"]) == truth["amount"]
    )
    assert item["_correlation_id"] == "run-0001"

    quarantine = objects(ingest_aws, "quarantine/")
    rejected = [r for doc in quarantine.values() for r in doc["body"]["records"]]
    assert sorted(json.dumps(r["record"], sort_keys=True) for r in rejected) == sorted(
        json.dumps(m, sort_keys=True) for m, _ in ds.malformed
    )
    assert all(r["reasons"] for r in rejected)
    assert {d["body"]["correlation_id"] for d in quarantine.values()} == {"run-0001"}
    assert {d["meta"]["correlation_id"] for d in quarantine.values()} == {"run-0001"}

    raw = objects(ingest_aws, "raw/source/_/")
    assert sorted(raw) == [f"raw/source/_/page-{n:06d}.json" for n in range(1, len(ds.pages) + 1)]
    processed = objects(ingest_aws, "processed/")
    assert sum(d["body"]["count"] for d in processed.values()) == len(ds.latest) or len(processed) == 3

    total = lambda name: sum(observe_capture.metric_values(name))  # noqa: E731
    assert total("TasksPlanned") == 3
    assert total("RecordsFetched") == ds.n_records
    assert total("RecordsQuarantined") == len(ds.malformed)
    assert total("RecordsValid") == ds.n_records - len(ds.malformed)
    assert total("RecordsUpserted") + total("RecordsStale") == total("RecordsValid") - total(
        "DuplicatesDropped"
    )
    assert total("RecordsUpserted") >= len(ds.latest)
    assert len(observe_capture.metric_values("FetchLatency")) == len(ds.pages) + 0
    assert len(observe_capture.metric_values("UpsertLatency")) == total("RecordsUpserted") + total(
        "RecordsStale"
    )
    worker_lines = [x for x in observe_capture.logs if x.get("logger") == "pipelines.ingest.worker"]
    assert worker_lines and {x["correlation_id"] for x in worker_lines} == {"run-0001"}


def test_a_rerun_is_idempotent_and_adds_s3_versions_under_the_same_keys(
    ingest_aws: Resources, source: SourceAPI, observe_capture: Any, lambda_context: Any
) -> None:
    source.set_pages([[rec("a", 1), rec("b", 2)], [rec("a", 3)]])
    for _ in range(2):
        scheduler.handler({"pages": 2}, lambda_context)
        drain(worker.handler, ingest_aws.queue_url, ingest_aws.queue_arn)
    assert {k: int(v["version"]) for k, v in table_state(ingest_aws).items()} == {"a": 3, "b": 2}
    assert observe_capture.metric_values("RecordsUpserted") == [2, 0]
    assert observe_capture.metric_values("RecordsStale") == [0, 2]
    versions = boto3.client("s3").list_object_versions(Bucket=ingest_aws.bucket, Prefix="raw/")["Versions"]
    by_key: dict[str, int] = {}
    for v in versions:
        by_key[v["Key"]] = by_key.get(v["Key"], 0) + 1
    assert by_key == {"raw/source/_/page-000001.json": 2, "raw/source/_/page-000002.json": 2}


def test_pushed_records_are_upserted_and_an_older_push_is_a_counted_no_op(
    ingest_aws: Resources, source: SourceAPI, observe_capture: Any
) -> None:
    send(ingest_aws, [{"records": [rec("p", 5, amount=1.0)]}])
    assert drain(worker.handler, ingest_aws.queue_url, ingest_aws.queue_arn).errors == []
    send(ingest_aws, [{"records": [rec("p", 4, amount=99.0), rec("p", 5, amount=98.0)]}])
    drain(worker.handler, ingest_aws.queue_url, ingest_aws.queue_arn)
    item = table_state(ingest_aws)["p"]
    assert int(item["version"]) == 5 and float(item["amount"]) == 1.0
    assert sum(observe_capture.metric_values("RecordsStale")) == 1
    assert sum(observe_capture.metric_values("DuplicatesDropped")) == 1
    assert len(objects(ingest_aws, "raw/source/push/")) == 2  # two different bodies


def test_a_429_fails_the_current_and_remaining_messages_with_one_warning(
    ingest_aws: Resources, source: SourceAPI, observe_capture: Any, lambda_context: Any, monkeypatch: Any
) -> None:
    monkeypatch.setenv("TASK_CONCURRENCY", "1")
    monkeypatch.setenv("FETCH_CONCURRENCY", "1")
    monkeypatch.setenv("PAGES_PER_TASK", "1")
    source.set_pages([[rec(f"k{p}", 1)] for p in range(1, 5)])
    scheduler.handler({"pages": 4}, lambda_context)
    event = receive_event(ingest_aws, 4)
    pages_in_order = [json.loads(r["body"])["task"]["start_page"] for r in event["Records"]]
    throttled_page = pages_in_order[1]
    source.script(Fault("429", page=throttled_page, retry_after=3))
    observe_capture.clear()

    response = worker.handler(event, lambda_context)

    failed = [f["itemIdentifier"] for f in response["batchItemFailures"]]
    assert failed == [r["messageId"] for r in event["Records"][1:]]
    requested = [r.page for r in source.requests]
    assert requested == pages_in_order[:2], "no request after the 429"
    assert observe_capture.metric_values("Throttles", source="http-429") == [1]
    warnings = [x for x in observe_capture.logs if x["level"] == "warning" and "throttled" in x["message"]]
    assert len(warnings) == 1
    assert warnings[0]["message_id"] == event["Records"][1]["messageId"]
    assert warnings[0]["retry_after_s"] == 3.0
    throttled_cid = event["Records"][1]["messageAttributes"]["correlation_id"]["stringValue"]
    assert warnings[0]["correlation_id"] == throttled_cid
    assert list(table_state(ingest_aws)) == [f"k{pages_in_order[0]}"]


def test_dynamodb_throttles_that_outlast_retries_stop_the_batch_then_redelivery_converges(
    ingest_aws: Resources, source: SourceAPI, observe_capture: Any, lambda_context: Any, monkeypatch: Any
) -> None:
    source.set_pages([[rec(f"k{i}", 1) for i in range(30)]])
    with fault_proxy(os.environ["AWS_ENDPOINT_URL"]) as proxy:
        monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", proxy.url)
        monkeypatch.setenv("AWS_MAX_ATTEMPTS", "2")
        proxy.throttle_next(1000, operations={"PutItem"})
        scheduler.handler({"pages": 1}, lambda_context)
        response = worker.handler(receive_event(ingest_aws, 1), lambda_context)
        assert len(response["batchItemFailures"]) == 1
        assert observe_capture.metric_values("Throttles", source="aws-throttling") == [1]
        assert proxy.throttled["PutItem"] <= 2 * 16, "writes stop at the first throttle that outlasts retries"
        proxy.reset()
        drain(worker.handler, ingest_aws.queue_url, ingest_aws.queue_arn)
    monkeypatch.delenv("AWS_ENDPOINT_URL_DYNAMODB")
    assert len(table_state(ingest_aws)) == 30


def test_one_bad_task_fails_alone_and_ends_in_the_dlq_with_its_correlation_id(
    ingest_aws: Resources, source: SourceAPI, lambda_context: Any, monkeypatch: Any
) -> None:
    monkeypatch.setenv("PAGES_PER_TASK", "1")
    source.set_pages([[rec("a", 1)], [rec("b", 1)], [rec("c", 1)]])
    source.script(Fault("5xx", page=2, times=100, status=500))
    scheduler.handler({"pages": 3, "correlation_id": "run-dlq"}, lambda_context)
    drain(worker.handler, ingest_aws.queue_url, ingest_aws.queue_arn, timeout=60)
    assert sorted(table_state(ingest_aws)) == ["a", "c"]
    dead = read_queue(ingest_aws.dlq_url)
    assert len(dead) == 1
    assert json.loads(dead[0]["Body"])["task"]["start_page"] == 2
    assert dead[0]["MessageAttributes"]["correlation_id"]["StringValue"] == "run-dlq"


def test_unprocessable_messages_are_quarantined_whole_and_acknowledged(
    ingest_aws: Resources, source: SourceAPI, observe_capture: Any, lambda_context: Any
) -> None:
    send(ingest_aws, ["not json", {"what": 1}, {"task": {"start_page": 3, "end_page": 1}}])
    response = worker.handler(receive_event(ingest_aws, 3), lambda_context)
    assert response == {"batchItemFailures": []}
    docs = objects(ingest_aws, "quarantine/messages/")
    reasons = sorted(d["body"]["reasons"][0].split(" (")[0].split(":")[0] for d in docs.values())
    assert reasons == ["bad task", "body is neither {'task'", "body is not JSON"]
    assert {d["body"]["body"] for d in docs.values()} >= {"not json"}


def test_personal_data_in_records_never_reaches_the_logs(
    ingest_aws: Resources, source: SourceAPI, observe_capture: Any, lambda_context: Any
) -> None:
    send(
        ingest_aws,
        [{"records": [rec("x", 1, nric="S1234567D", amount="12,50"), rec("y", 1, nric="T7654321A")]}],
    )
    worker.handler(receive_event(ingest_aws, 1), lambda_context)
    assert sum(observe_capture.metric_values("RecordsQuarantined")) == 1
    assert "S1234567D" not in observe_capture.text and "T7654321A" not in observe_capture.text
    stored = objects(ingest_aws, "quarantine/")
    assert any(r["record"]["nric"] == "S1234567D" for d in stored.values() for r in d["body"]["records"])


def test_s3_notification_ingests_an_uploaded_object(
    ingest_aws: Resources, source: SourceAPI, lambda_context: Any, monkeypatch: Any
) -> None:
    body = "\n".join(json.dumps(r) for r in [rec("s1", 1), rec("s2", 2), rec("s1", 3)])
    put = boto3.client("s3").put_object(Bucket=ingest_aws.bucket, Key="drops/day 1.jsonl", Body=body.encode())
    event = {
        "Records": [
            {
                "eventSource": "aws:s3",
                "responseElements": {"x-amz-request-id": "REQ123"},
                "s3": {
                    "bucket": {"name": ingest_aws.bucket},
                    "object": {"key": "drops/day+1.jsonl", "versionId": put["VersionId"]},
                },
            }
        ]
    }
    assert scheduler.handler(event, lambda_context)["tasks"] == 1
    drain(worker.handler, ingest_aws.queue_url, ingest_aws.queue_arn)
    assert {k: int(v["version"]) for k, v in table_state(ingest_aws).items()} == {"s1": 3, "s2": 2}


def test_a_missing_setting_fails_the_cold_start_naming_it(
    ingest_aws: Resources, observe_capture: Any, lambda_context: Any, monkeypatch: Any
) -> None:
    monkeypatch.delenv("SOURCE_URL", raising=False)
    with pytest.raises(ConfigError, match="SOURCE_URL"):
        worker.handler({"Records": []}, lambda_context)
    failed = [x for x in observe_capture.logs if x["message"] == "invocation failed"]
    assert len(failed) == 1 and "SOURCE_URL" in json.dumps(failed[0])
