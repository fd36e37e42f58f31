"""Real parts for the ingest integration tests: moto over HTTP and the local source API.

The moto server is started once per session, but the AWS variables point at it only inside the
tests that ask for ``ingest_aws`` (monkeypatched), so other suites' servers are left alone.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from emulator.moto_server import FAKE_ENV, moto_server
from emulator.source_api import DEMO_SUITE, SourceAPI, source_api
from pipelines.ingest import worker
from pipelines.ingest.local import Resources, create_resources


@pytest.fixture(scope="session")
def ingest_moto() -> Iterator[str]:
    with moto_server(set_env=False) as url:  # tests opt in to it, see the fixture below
        yield url


@pytest.fixture
def ingest_aws(ingest_moto: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Resources]:
    """Fresh table, versioned bucket, queue + DLQ (maxReceiveCount 2, visibility 1 s) on moto."""
    for k, v in FAKE_ENV.items():
        monkeypatch.setenv(k, v)
    monkeypatch.setenv("AWS_ENDPOINT_URL", ingest_moto)
    for k in ("AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL_SQS", "AWS_MAX_ATTEMPTS"):
        monkeypatch.delenv(k, raising=False)
    for k in ("BASELINE_TABLE", "DRIFT_ACTIONS", "DRIFT_WINDOW", "DRIFT_MIN_HISTORY"):
        monkeypatch.delenv(k, raising=False)  # drift detection is opt-in: see ingest_drift
    suffix = uuid.uuid4().hex[:10]
    res = create_resources(
        table=f"state-{suffix}",
        bucket=f"backup-{suffix}",
        queue=f"tasks-{suffix}",
        max_receive_count=2,
        visibility_timeout=1,
    )
    monkeypatch.setenv("TABLE_NAME", res.table)
    monkeypatch.setenv("BACKUP_BUCKET", res.bucket)
    monkeypatch.setenv("QUEUE_URL", res.queue_url)
    monkeypatch.setenv("HTTP_TIMEOUT", "2")
    monkeypatch.setenv("FETCH_RETRIES", "1")
    monkeypatch.setenv("SUITE_PATH", str(DEMO_SUITE))  # the served records are the demo's
    worker.reset_runtime()
    yield res
    worker.reset_runtime()


@pytest.fixture
def ingest_drift(ingest_aws: Resources, monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh drift baselines table on moto as BASELINE_TABLE (statistics after 3 batches)."""
    from observe.checks import DynamoBaselineStore

    name = f"baselines-{uuid.uuid4().hex[:10]}"
    DynamoBaselineStore(name).create_table()
    monkeypatch.setenv("BASELINE_TABLE", name)
    monkeypatch.setenv("DRIFT_MIN_HISTORY", "3")
    worker.reset_runtime()
    return name


@pytest.fixture
def source(monkeypatch: pytest.MonkeyPatch) -> Iterator[SourceAPI]:
    """The local paginated source API, as SOURCE_URL."""
    with source_api() as api:
        monkeypatch.setenv("SOURCE_URL", api.url)
        yield api
