"""Drift detection in the ingest worker, on moto over HTTP and the local source API.

Each test builds a baseline from a few normal batches (DRIFT_MIN_HISTORY=3), then sends one that
drifts and checks that the configured action happened and that no record was lost: it is in
DynamoDB, in the quarantine document, or in the DLQ message (which replays once the change is
accepted).
"""

from __future__ import annotations

import json
import os
from typing import Any

import boto3
import pytest

from emulator.fault_proxy import fault_proxy
from emulator.source_api import SourceAPI
from observe.checks import DynamoBaselineStore
from observe.config import ConfigError
from pipelines.ingest import scheduler, worker
from pipelines.ingest.local import Resources, drain, lambda_sqs_record, read_queue

pytestmark = pytest.mark.integration


def page(prefix: str, n: int, **extra: Any) -> list[dict[str, Any]]:
    """``n`` valid records of the ingest schema, keys ``{prefix}-NNN``."""
    return [
        {
            "id": f"{prefix}-{i:03d}",
            "version": 1,
            "updated_at": "2026-01-02T03:04:05Z",
            "name": f"customer {prefix} {i}",
            "amount": float(i),
            "currency": ("SGD", "USD", "EUR")[i % 3],
            **extra,
        }
        for i in range(n)
    ]


def table_keys(res: Resources) -> set[str]:
    items = boto3.resource("dynamodb").Table(res.table).scan(ConsistentRead=True)["Items"]
    return {i["pk"] for i in items}


def objects(res: Resources, prefix: str) -> dict[str, Any]:
    s3 = boto3.client("s3")
    listed = s3.list_objects_v2(Bucket=res.bucket, Prefix=prefix).get("Contents", [])
    return {
        o["Key"]: json.loads(s3.get_object(Bucket=res.bucket, Key=o["Key"])["Body"].read()) for o in listed
    }


def receive_one(res: Resources) -> dict[str, Any]:
    msgs = boto3.client("sqs").receive_message(
        QueueUrl=res.queue_url, MaxNumberOfMessages=1, MessageAttributeNames=["All"], AttributeNames=["All"]
    )["Messages"]
    return {"Records": [lambda_sqs_record(m, res.queue_arn) for m in msgs]}


def anomaly_lines(capture: Any) -> list[dict[str, Any]]:
    return [x for x in capture.logs if x["message"] == "input anomaly"]


def baseline(table: str, source: str) -> list[dict[str, Any]]:
    return DynamoBaselineStore(table).history(f"ingest#{source}")


def build_baseline(res: Resources, source: SourceAPI, ctx: Any, partition: str, pages: int) -> None:
    scheduler.handler({"pages": pages, "partitions": [partition], "correlation_id": "run-base"}, ctx)
    stats = drain(worker.handler, res.queue_url, res.queue_arn)
    assert stats.reported_failed == 0 and stats.died == 0


def test_a_new_column_with_fail_task_fails_the_task_into_the_dlq_and_replays_once_accepted(
    ingest_drift: str,
    ingest_aws: Resources,
    source: SourceAPI,
    observe_capture: Any,
    lambda_context: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DRIFT_ACTIONS", "row_count=warn, schema=fail_task")
    monkeypatch.setenv("PAGES_PER_TASK", "1")
    changed = page("x", 40, loyalty_tier="gold")
    source.set_pages([page("a", 40), page("b", 40), page("c", 40), changed], partition="eu")
    build_baseline(ingest_aws, source, lambda_context, "eu", 3)
    assert len(table_keys(ingest_aws)) == 120
    assert len(baseline(ingest_drift, "source/eu")) == 3
    assert anomaly_lines(observe_capture) == []
    observe_capture.clear()

    scheduler.handler(
        {"pages": 1, "start_page": 4, "partitions": ["eu"], "correlation_id": "run-x"}, lambda_context
    )
    event = receive_one(ingest_aws)
    response = worker.handler(event, lambda_context)

    assert response == {"batchItemFailures": [{"itemIdentifier": event["Records"][0]["messageId"]}]}
    assert observe_capture.metric_values("InputAnomalies", check="schema") == [1]
    assert observe_capture.metric_values("TasksFailed") == [1]
    [line] = anomaly_lines(observe_capture)
    assert (line["check"], line["kind"], line["column"], line["action"]) == (
        "schema",
        "new_column",
        "loyalty_tier",
        "fail_task",
    )
    assert line["correlation_id"] == "run-x" and line["baseline_key"] == "ingest#source/eu"
    assert "gold" not in observe_capture.text, "no data values in the logs"
    assert not any(k.startswith("x-") for k in table_keys(ingest_aws)), "nothing of the batch is loaded"
    assert objects(ingest_aws, "quarantine/") == {} and "processed/source/eu/page-000004.json" not in objects(
        ingest_aws, "processed/"
    )
    assert objects(ingest_aws, "raw/source/eu/page-000004.json"), "the page as fetched is kept"

    # SQS redelivers it; it fails again (the baseline did not learn from it), then goes to the DLQ.
    drain(worker.handler, ingest_aws.queue_url, ingest_aws.queue_arn, timeout=60)
    [dead] = read_queue(ingest_aws.dlq_url)
    assert json.loads(dead["Body"])["task"]["start_page"] == 4
    assert dead["MessageAttributes"]["correlation_id"]["StringValue"] == "run-x"
    assert len(baseline(ingest_drift, "source/eu")) == 3
    assert not any(k.startswith("x-") for k in table_keys(ingest_aws))

    # Nothing is lost: once the new column is accepted, the DLQ message replays and loads the batch.
    monkeypatch.setenv("DRIFT_ACTIONS", "schema=warn")
    boto3.client("sqs").send_message(
        QueueUrl=ingest_aws.queue_url, MessageBody=dead["Body"], MessageAttributes=dead["MessageAttributes"]
    )
    assert drain(worker.handler, ingest_aws.queue_url, ingest_aws.queue_arn).reported_failed == 0
    assert {k for k in table_keys(ingest_aws) if k.startswith("x-")} == {r["id"] for r in changed}
    assert len(baseline(ingest_drift, "source/eu")) == 4


def test_a_missing_column_with_quarantine_batch_keeps_the_whole_push_with_the_report_and_loads_none(
    ingest_drift: str,
    ingest_aws: Resources,
    source: SourceAPI,
    observe_capture: Any,
    lambda_context: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DRIFT_ACTIONS", "schema=quarantine_batch,unexpected_rate=fail_task")
    sqs = boto3.client("sqs")
    for n in range(3):
        sqs.send_message(
            QueueUrl=ingest_aws.queue_url, MessageBody=json.dumps({"records": page(f"p{n}", 20)})
        )
    assert drain(worker.handler, ingest_aws.queue_url, ingest_aws.queue_arn).reported_failed == 0
    loaded = table_keys(ingest_aws)
    assert len(loaded) == 60 and len(baseline(ingest_drift, "source/push")) == 3
    observe_capture.clear()

    # updated_at is gone (the suite does not check it, so without drift these rows would load),
    # one row also fails a row-level check, and one entry is not even an object.
    records: list[Any] = [{k: v for k, v in r.items() if k != "updated_at"} for r in page("q", 20)]
    records[3]["amount"] = "12,50"
    records.append("not a record")
    body = json.dumps({"records": records})
    sqs.send_message(QueueUrl=ingest_aws.queue_url, MessageBody=body)
    response = worker.handler(receive_one(ingest_aws), lambda_context)

    assert response == {"batchItemFailures": []}, "the message succeeds"
    key = f"quarantine/source/push/{worker.push_digest(body.encode())}.anomaly.json"
    docs = objects(ingest_aws, "quarantine/")
    assert list(docs) == [key]
    doc = docs[key]
    assert [e["record"] for e in doc["records"]] == records and doc["count"] == 21, "every record, as sent"
    assert doc["reasons"] == ["input anomaly: schema -> quarantine_batch"]
    assert all(e["reasons"][0] == doc["reasons"][0] for e in doc["records"])
    assert doc["records"][3]["reasons"][1:] == [
        "expect_column_values_to_be_in_type_list:amount",
        "expect_column_values_to_be_between:amount",
    ]
    assert doc["records"][20]["reasons"][1:] == ["not a JSON object"]
    assert doc["records"][0]["reasons"][1:] == []
    report = doc["anomaly"]
    assert report["action"] == "quarantine_batch" and report["source"] == "source/push"
    assert [(a["check"], a["kind"], a["column"]) for a in report["anomalies"]] == [
        ("schema", "missing_column", "updated_at")
    ], "the one rejected '12,50' is not taken for a type change"
    assert doc["correlation_id"] and doc["message_id"]

    assert table_keys(ingest_aws) == loaded, "no DynamoDB writes"
    assert len(objects(ingest_aws, "processed/source/push/")) == 3, "only the three accepted pushes"
    assert observe_capture.metric_values("RecordsQuarantined") == [21]
    assert observe_capture.metric_values("InputAnomalies", check="schema") == [1]
    assert observe_capture.metric_values("RecordsUpserted") == []
    assert len(baseline(ingest_drift, "source/push")) == 3, "a rejected batch does not move the baseline"
    assert read_queue(ingest_aws.queue_url) == [] and read_queue(ingest_aws.dlq_url) == []
    warn = [x for x in observe_capture.logs if x["message"].startswith("batch quarantined: input anomaly")]
    assert len(warn) == 1 and warn[0]["key"] == key and warn[0]["count"] == 21


def test_a_row_count_collapse_warns_with_the_correlation_id_and_still_loads(
    ingest_drift: str,
    ingest_aws: Resources,
    source: SourceAPI,
    observe_capture: Any,
    lambda_context: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PAGES_PER_TASK", "1")  # DRIFT_ACTIONS unset: every check warns
    small = page("s", 2)
    source.set_pages([page("a", 40), page("b", 41), page("c", 39), small], partition="ap")
    build_baseline(ingest_aws, source, lambda_context, "ap", 3)
    observe_capture.clear()

    scheduler.handler(
        {"pages": 1, "start_page": 4, "partitions": ["ap"], "correlation_id": "run-small"}, lambda_context
    )
    assert drain(worker.handler, ingest_aws.queue_url, ingest_aws.queue_arn).reported_failed == 0

    assert observe_capture.metric_values("InputAnomalies", check="row_count") == [1]
    assert observe_capture.metric_values("InputAnomalies") == [1], "no other check fired"
    [line] = anomaly_lines(observe_capture)
    assert line["level"] == "warning" and line["action"] == "warn"
    assert (line["observed"], line["baseline"], line["baseline_batches"]) == (2, 40, 3)
    assert line["correlation_id"] == "run-small" and line["source"] == "source/ap"
    assert "fewer than the baseline median 40" in line["detail"]
    assert {r["id"] for r in small} <= table_keys(ingest_aws), "warn does not hold the data back"
    history = baseline(ingest_drift, "source/ap")
    assert [p["rows"] for p in history][-1] == 2 and len(history) == 4


def test_a_throttled_baseline_read_stops_the_batch_and_redelivery_loads_it(
    ingest_drift: str,
    ingest_aws: Resources,
    source: SourceAPI,
    observe_capture: Any,
    lambda_context: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    source.set_pages([page("t", 10)])
    with fault_proxy(os.environ["AWS_ENDPOINT_URL"]) as proxy:
        monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", proxy.url)
        monkeypatch.setenv("AWS_MAX_ATTEMPTS", "2")
        proxy.throttle_next(1000, operations={"GetItem"})  # only the baseline store reads items
        scheduler.handler({"pages": 1}, lambda_context)
        response = worker.handler(receive_one(ingest_aws), lambda_context)
        assert len(response["batchItemFailures"]) == 1
        assert observe_capture.metric_values("Throttles", source="aws-throttling") == [1]
        assert table_keys(ingest_aws) == set(), "no write after the throttle"
        proxy.reset()
        drain(worker.handler, ingest_aws.queue_url, ingest_aws.queue_arn)
    monkeypatch.delenv("AWS_ENDPOINT_URL_DYNAMODB")
    assert table_keys(ingest_aws) == {r["id"] for r in page("t", 10)}
    assert len(baseline(ingest_drift, "source/_")) == 1


def test_a_bad_drift_action_fails_the_cold_start_naming_the_entry(
    ingest_drift: str, observe_capture: Any, lambda_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOURCE_URL", "http://127.0.0.1:9/records")
    monkeypatch.setenv("DRIFT_ACTIONS", "row_count=warn,schema=drop")
    with pytest.raises(ConfigError, match=r"DRIFT_ACTIONS entry 2 'schema=drop': unknown action 'drop'"):
        worker.handler({"Records": []}, lambda_context)
