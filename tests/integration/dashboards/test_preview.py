"""`observe dashboards preview` on seeded data: three hours of the ingest pipeline's EMF documents put
into CloudWatch on a moto server over HTTP, drawn widget by widget from GetMetricData."""

from __future__ import annotations

import datetime as dt
import json
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dashboards.config import load
from emulator.moto_server import FAKE_ENV, moto_server
from observe.metrics import MetricsBuffer, documents
from observe_cli.main import main
from observe_cli.preview import PreviewError, emf_to_metric_data, preview

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[3]
NOW = dt.datetime(2026, 11, 26, 12, 0, tzinfo=dt.UTC)
SPIKE = NOW - dt.timedelta(minutes=52)  # the quarantine spike: past the alarm's 100


@pytest.fixture
def cloudwatch(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    import boto3

    with moto_server(set_env=False) as url:
        for k, v in FAKE_ENV.items():
            monkeypatch.setenv(k, v)
        monkeypatch.setenv("AWS_ENDPOINT_URL", url)
        yield boto3.client("cloudwatch")


def ingest_emf(seed: int = 5) -> list[dict[str, Any]]:
    """What the scheduler and the worker would have written over the last three hours."""
    rng = random.Random(seed)
    docs = []
    for i in range(36):
        at = NOW - dt.timedelta(minutes=5 * i + 2)
        ts = int(at.timestamp() * 1000)
        for service in ("ingest-scheduler", "ingest-worker"):
            buf = MetricsBuffer()
            failed = rng.random() < 0.15
            buf.add("Duration", rng.uniform(200, 900) if service == "ingest-worker" else rng.uniform(20, 60))
            buf.add("MaxMemoryUsed", rng.uniform(150, 260))
            buf.add("MemoryUtilization", rng.uniform(30, 55))
            buf.add("ColdStart", 1 if i == 35 else 0)
            if failed:
                buf.add("Errors", 1, error_type=rng.choice(["ReadTimeout", "ThrottledError"]))
            else:
                buf.add("Errors", 0)
            buf.add("Throttles", 1 if failed and service == "ingest-worker" else 0)
            if service == "ingest-scheduler":
                buf.add("TasksPlanned", 4)
            else:
                buf.add("RecordsFetched", 500)
                bad = 140 if abs((at - SPIKE).total_seconds()) < 150 else rng.randint(0, 6)
                buf.add("RecordsQuarantined", bad)
                buf.add("RecordsValid", 500 - bad)
                buf.add("RecordsUpserted", 480 - bad)
                for _ in range(3):
                    buf.add("FetchLatency", rng.uniform(80, 400))
                if bad > 100:
                    buf.add("InputAnomalies", 1, check="unexpected_rate")
                    buf.add("ExpectationFailures", bad, expectation="expect_column_values_to_be_in_set")
            dims = {"service": service, "pipeline": "ingest", "environment": "dev"}
            docs += documents(buf, dims, {"aws_request_id": f"r-{i}"}, timestamp_ms=ts)
    return docs


def test_emf_documents_become_the_datapoints_cloudwatch_would_extract() -> None:
    docs = ingest_emf()[:2]
    data = emf_to_metric_data(docs)
    (namespace,) = data
    names = {d["MetricName"] for d in data[namespace]}
    assert {"Duration", "TasksPlanned", "Errors"} <= names
    assert all(d["Timestamp"].tzinfo is not None and isinstance(d["Value"], float) for d in data[namespace])


def test_seeding_is_refused_against_real_aws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL_CLOUDWATCH", raising=False)
    (tmp_path / "x.jsonl").write_text("")
    with pytest.raises(PreviewError, match="only against the local emulator"):
        preview(load(ROOT / "observe.toml"), "ingest", tmp_path, emf=tmp_path / "x.jsonl", client=object())


def test_preview_draws_every_widget_from_getmetricdata(cloudwatch: Any, tmp_path: Path) -> None:
    emf = tmp_path / "ingest.jsonl"
    emf.write_text("\n".join(json.dumps(d) for d in ingest_emf()) + "\n")
    out = tmp_path / "preview"
    config = load(ROOT / "observe.toml")
    files = preview(config, "ingest", out, environment="dev", since="3h", emf=emf, now=NOW)
    assert [f.name for f in files] == ["ingest.dev.png", "ingest.dev.html"]
    widgets = json.loads((out / "ingest.dev.json").read_text())
    body = json.loads((ROOT / "terraform" / "generated" / "ingest.dev.dashboard.json").read_text())
    assert [(w["x"], w["y"], w["width"], w["height"]) for w in widgets] == [
        (w["x"], w["y"], w["width"], w["height"]) for w in body["widgets"]
    ]  # the deployed layout, on the 24-column grid
    by_title = {w["title"]: w for w in widgets}
    assert by_title["Ingestion pipeline (dev): alarms"]["kind"] == "alarm"
    counts = by_title["ingest: counts"]["series"]
    quarantined = counts["RecordsQuarantined (ingest-worker)"]
    assert max(quarantined) == 140 and len(quarantined) == 35  # every period in the 3 h, the spike too
    alarmed = by_title["RecordsQuarantined (count)"]
    assert alarmed["thresholds"] == [100] and max(alarmed["series"]["ingest-worker"]) == 140
    rate = by_title["error rate per service (%)"]["series"]["ingest-worker error rate (%)"]
    assert rate and all(v in (0.0, 100.0) for v in rate) and 100.0 in rate  # metric math per period
    breakdown = by_title["ingest-worker: errors by error type"]["series"]
    assert "all" in breakdown and set(breakdown) - {"all"} <= {"ReadTimeout", "ThrottledError"}
    assert set(breakdown) - {"all"}, "the per-service SEARCH expanded into one line per class"
    anomalies = by_title["ingest-worker: InputAnomalies by check"]["series"]
    assert anomalies == {"unexpected_rate": [1.0]}
    page = (out / "ingest.dev.html").read_text()
    assert "the emulator computes no percentiles" in page and "seeded" in page
    assert (out / "ingest.dev.png").stat().st_size > 50_000


def aws_datapoints(client: Any) -> None:
    """What Lambda and SQS would have published for the deployed functions and queues (the emulator's
    resources carry no deployment prefix): a worker near its timeout, a backlog, one dead letter."""
    lam, sqs = [], []
    for i in range(36):
        at = NOW - dt.timedelta(minutes=5 * i + 2)
        slow = i in (3, 4)
        for name, value in (("Duration", 115_000 if slow else 900), ("Errors", 1 if slow else 0)):
            dims = [{"Name": "FunctionName", "Value": "ingest-worker"}]
            lam.append({"MetricName": name, "Dimensions": dims, "Timestamp": at, "Value": value})
        for queue, name, value in (
            ("ingest-tasks", "ApproximateAgeOfOldestMessage", 1500 if slow else 40),
            ("ingest-tasks", "ApproximateNumberOfMessagesVisible", 30 if slow else 2),
            ("ingest-tasks-dlq", "ApproximateNumberOfMessagesVisible", 1 if i < 3 else 0),
        ):
            dims = [{"Name": "QueueName", "Value": queue}]
            sqs.append({"MetricName": name, "Dimensions": dims, "Timestamp": at, "Value": value})
    for namespace, data in (("AWS/Lambda", lam), ("AWS/SQS", sqs)):
        for i in range(0, len(data), 500):
            client.put_metric_data(Namespace=namespace, MetricData=data[i : i + 500])


def test_preview_draws_the_aws_metrics_of_the_declared_functions_and_queues(
    cloudwatch: Any, tmp_path: Path
) -> None:
    aws_datapoints(cloudwatch)
    out = tmp_path / "preview"
    preview(load(ROOT / "observe.toml"), "ingest", out, environment="prd", since="3h", now=NOW)
    by_title = {w["title"]: w for w in json.loads((out / "ingest.prd.json").read_text())}
    duration = by_title["ingest-worker: Lambda duration (ms)"]
    assert max(duration["series"]["max"]) == 115_000 and len(duration["series"]["max"]) == 35
    assert duration["thresholds"] == [108_000, 120_000]  # the alarm at 90 % of the timeout, the timeout
    errors = by_title["ingest-worker: Lambda errors, throttles"]["series"]
    assert sum(errors["errors"]) == 2 and errors["throttles"] == []  # AWS published no throttles
    tasks = by_title["ingest-tasks: depth, oldest (s)"]
    assert max(tasks["series"]["oldest"]) == 1500 and tasks["thresholds"] == [720]
    assert max(tasks["series"]["visible"]) == 30
    dlq = by_title["dead-letter queues: messages waiting"]["series"]
    assert max(dlq["ingest-tasks-dlq"]) == 1 and dlq["ingest-scheduler-dlq"] == []


def test_the_cli_previews_and_names_a_pipeline_that_is_not_there(
    cloudwatch: Any, tmp_path: Path, capsys
) -> None:
    cli = ["dashboards", "preview", "--out", str(tmp_path), "--pipeline"]
    assert main([*cli, "ingets"]) == 2
    assert "no pipeline 'ingets'" in capsys.readouterr().err
    assert main([*cli, "auth", "--since", "3x"]) == 2
    assert "--since '3x'" in capsys.readouterr().err
    assert main([*cli, "auth", "--since", "30m"]) == 0
    assert (tmp_path / "auth.dev.png").is_file()
