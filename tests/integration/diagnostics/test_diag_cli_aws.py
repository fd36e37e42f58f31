"""observe-diag as a subprocess, reading CloudWatch Logs, S3 and SQS on moto over HTTP."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import boto3
import pytest

from tests.integration.diagnostics.conftest import Incident

pytestmark = pytest.mark.integration

CLI = str(Path(sys.executable).parent / "observe-diag")
REPO = Path(__file__).resolve().parents[3]


def cli(incident: Incident, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**incident.env(), "COLUMNS": "200"}  # content assertions read unwrapped lines
    return subprocess.run(
        [CLI, *args], env=env, cwd=REPO, capture_output=True, text=True, timeout=120, check=False
    )


def aws_sources(incident: Incident) -> list[str]:
    r = incident.result
    return [
        "--log-group", *incident.log_groups, "--since", "1h", "--bucket", r.bucket, "--dlq-url", r.dlq_url,
        "--alarms-dir", "terraform/generated",
    ]  # fmt: skip


def quarantine_keys(bucket: str) -> list[str]:
    listing = boto3.client("s3").list_objects_v2(Bucket=bucket, Prefix="quarantine/")
    return sorted(o["Key"] for o in listing.get("Contents", []))


def dlq_depth(url: str) -> int:
    attrs = boto3.client("sqs").get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return int(attrs["ApproximateNumberOfMessages"]) + int(attrs["ApproximateNumberOfMessagesNotVisible"])


def test_alarm_names_the_failing_records_their_reasons_and_correlation_ids(diag_aws: Incident) -> None:
    r = diag_aws.result
    assert diag_aws.log_groups == ["/aws/lambda/ingest-scheduler", "/aws/lambda/ingest-worker"]
    keys = quarantine_keys(r.bucket)
    assert len(keys) >= 9 and any(k.endswith(".malformed.json") for k in keys)
    assert any(k.startswith("quarantine/messages/") for k in keys)

    proc = cli(diag_aws, "alarm", r.quarantine_alarm, *aws_sources(diag_aws))
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert f"ALARM: {r.quarantine_alarm} (warning)" in out and "in ALARM from" in out
    assert "log groups /aws/lambda/ingest-scheduler, /aws/lambda/ingest-worker" in out
    for key in keys:  # every failing record's document, by key
        assert key in out, key
    for reason in (
        "expect_column_values_to_be_between:amount",
        "expect_column_values_to_be_in_type_list:amount",
        "version: missing or not a number / ISO-8601 timestamp",
        "body is not JSON",
    ):
        assert reason in out, reason
    for cid in (r.run_id, r.push_id, r.junk_id):
        assert cid in out, cid
    assert f"page-{r.failing_page:06d}: source answered HTTP 500" in out  # why the DLQ message is there
    assert "failed in these invocations" in out
    for secret in r.secrets:
        assert secret not in out

    dead = json.loads(cli(diag_aws, "alarm", r.quarantine_alarm, "--json", *aws_sources(diag_aws)).stdout)
    assert sorted(dead["record_keys"]) == keys
    assert [d["description"] for d in dead["dlq"]] == [
        f"task source pages {r.failing_page}..{r.failing_page}"
    ]
    assert dlq_depth(r.dlq_url) == 1, "the DLQ is peeked, never drained"


def test_the_throttles_alarm_leads_to_the_429_and_the_run_it_stopped(diag_aws: Incident) -> None:
    r = diag_aws.result
    proc = cli(diag_aws, "alarm", f"ingest-worker-Throttles-{r.environment}", *aws_sources(diag_aws))
    assert proc.returncode == 0, proc.stderr  # a breaching datapoint, though 1 of 3 periods does not fire it
    assert "state   OK; did not fire in the window; 1 breaching of" in proc.stdout
    assert "throttled by http-429 (429, retry after 1 s) 1 time(s)" in proc.stdout
    listed = cli(diag_aws, "throttles", "--log-group", "/aws/lambda/ingest-worker", "--json")
    events = json.loads(listed.stdout)
    assert [(e["source"], e["retry_after_s"], e["messages_returned"]) for e in events] == [
        ("http-429", 1.0, 1)
    ]
    trace = cli(diag_aws, "trace", r.throttled_id, "--log-group", *diag_aws.log_groups)
    assert trace.returncode == 0
    assert "throttled: stopping this batch; unfinished messages go back to the queue" in trace.stdout
    assert 'throttle_source="http-429"' in trace.stdout
    assert (
        "batch ingested" in trace.stdout and 'prefix="source/eu/page-000001"' in trace.stdout
    )  # redelivered


def test_trace_follows_the_run_across_both_functions(diag_aws: Incident) -> None:
    r = diag_aws.result
    proc = cli(diag_aws, "trace", r.run_id, "--log-group", *diag_aws.log_groups, "--since", "1h")
    assert proc.returncode == 0, proc.stderr
    assert "across ingest-scheduler, ingest-worker" in proc.stdout
    assert "tasks planned" in proc.stdout and "record failed; it goes back to the queue" in proc.stdout
    listing = proc.stdout.split("\nLines\n", 1)[1].splitlines()
    stamps = [ln.split()[0] for ln in listing if re.match(r"^  \d\d:\d\d:\d\d\.\d{3}  ", ln)]
    assert len(stamps) > 10 and stamps == sorted(stamps), "time order"


def test_windows_and_bad_sources_are_handled_client_side(diag_aws: Incident) -> None:
    r = diag_aws.result
    old = cli(
        diag_aws, "alarm", r.quarantine_alarm, "--log-group", *diag_aws.log_groups,
        "--start", "2020-01-01T00:00:00Z", "--end", "2020-01-01T01:00:00Z",
    )  # fmt: skip
    assert old.returncode == 1 and "0 breaching of 12 period(s)" in old.stdout
    assert "CloudWatch returned no datapoints for RecordsQuarantined" in old.stdout
    missing = cli(diag_aws, "failures", "--log-group", "/aws/lambda/nope")
    assert missing.returncode == 2 and "--log-group /aws/lambda/nope: no such log group" in missing.stderr
    no_bucket = cli(diag_aws, "quarantine", "--bucket", "no-such-bucket-here")
    assert no_bucket.returncode == 2 and "--bucket no-such-bucket-here: no such bucket" in no_bucket.stderr


def test_quarantine_dlq_and_report_over_aws(diag_aws: Incident, tmp_path: Path) -> None:
    r = diag_aws.result
    q = json.loads(cli(diag_aws, "quarantine", "--bucket", r.bucket, "--json").stdout)
    assert q["documents"] == len(quarantine_keys(r.bucket)) and q["by_kind"]["malformed-page"] == 1
    assert q["records"] >= 200 and "S1234567D" not in json.dumps(q)
    d = cli(diag_aws, "dlq", "--dlq-url", r.dlq_url, "--log-group", *diag_aws.log_groups)
    assert d.returncode == 0 and "DLQ: 1 message(s)" in d.stdout and r.run_id in d.stdout
    assert dlq_depth(r.dlq_url) == 1

    target = tmp_path / "report.html"
    rep = cli(diag_aws, "report", "--out", str(target), *aws_sources(diag_aws))
    assert rep.returncode == 0, rep.stderr
    html = target.read_text()

    class Ids(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.ids: set[str] = set()

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            self.ids |= {str(v) for k, v in attrs if k == "id"}

    parser = Ids()
    parser.feed(html)
    assert f"trace-{r.run_id}" in parser.ids and f"alarm-{r.quarantine_alarm}" in parser.ids
    assert "S1234567D" not in html
