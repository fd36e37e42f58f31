"""Drift baselines in DynamoDB, on a moto server over real HTTP (the store never knows it is not AWS)."""

from __future__ import annotations

import json
import threading
from typing import Any

import boto3
import numpy as np
import pandas as pd
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from observe import correlation
from observe.checks import DriftDetector, DynamoBaselineStore, TaskFailed, load_suite
from observe.telemetry import classify_throttle

pytestmark = pytest.mark.integration


def _batch(rows: int, seed: int, bad_currency_every: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    currency = rng.choice(["SGD", "USD", "EUR"], rows).astype(object)
    if bad_currency_every:
        currency[::bad_currency_every] = "JPY"
    return pd.DataFrame(
        {"order_id": np.arange(rows), "amount": rng.uniform(1, 100, rows), "currency": currency}
    )


def test_append_trims_orders_and_versions_the_item(baseline_table: str) -> None:
    store = DynamoBaselineStore(baseline_table)
    for i in range(5):
        store.append("ingest#orders", {"rows": i}, keep=3)
    assert [p["rows"] for p in store.history("ingest#orders")] == [2, 3, 4]
    assert store.history("ingest#other") == []
    raw = boto3.client("dynamodb").get_item(TableName=baseline_table, Key={"pk": {"S": "ingest#orders"}})[
        "Item"
    ]
    assert raw["version"]["N"] == "5"
    assert json.loads(raw["history"]["S"]) == [{"rows": 2}, {"rows": 3}, {"rows": 4}]


def test_concurrent_workers_lose_no_update(baseline_table: str) -> None:
    errors: list[BaseException] = []

    def worker(w: int) -> None:
        store = DynamoBaselineStore(baseline_table, max_attempts=50)  # one client per "Lambda"
        try:
            for i in range(5):
                store.append("ingest#busy", {"w": w, "i": i}, keep=100)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(w,)) for w in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    history = DynamoBaselineStore(baseline_table).history("ingest#busy")
    assert len(history) == 30
    assert sorted((p["w"], p["i"]) for p in history) == [(w, i) for w in range(6) for i in range(5)]
    for w in range(6):  # each worker's own appends stay in order
        assert [p["i"] for p in history if p["w"] == w] == list(range(5))


def test_drift_detector_end_to_end_on_dynamodb(baseline_table: str, observe_capture: Any) -> None:
    suite = load_suite(
        {
            "name": "orders",
            "expectations": [
                {"type": "expect_column_values_to_be_in_set", "id": "cur",
                 "kwargs": {"column": "currency", "value_set": ["SGD", "USD", "EUR"]}},
            ],
        }
    )  # fmt: skip

    def detector() -> DriftDetector:  # a new one per invocation, as after a cold start
        return DriftDetector(
            "ingest",
            "orders",
            store=DynamoBaselineStore(baseline_table),
            min_history=4,
            actions={"unexpected_rate": "fail_task"},
        )

    for seed in range(4):
        df = _batch(200, seed)
        assert detector().observe(df, suite.validate(df)).ok
    dirty = _batch(200, 99, bad_currency_every=4)  # 25% JPY against a baseline of 0%
    with correlation.scope("cid-e2e-drift"), pytest.raises(TaskFailed) as failed:
        detector().observe(dirty, suite.validate(dirty))
    (anomaly,) = failed.value.anomalies
    assert anomaly.check == "unexpected_rate"
    assert anomaly.column == "expect_column_values_to_be_in_set:currency"
    assert anomaly.observed == 0.25 and anomaly.baseline == 0.0
    assert len(DynamoBaselineStore(baseline_table).history("ingest#orders")) == 4  # not learnt
    assert observe_capture.metric_values("InputAnomalies", check="unexpected_rate") == [1]
    (line,) = [x for x in observe_capture.logs if x["message"] == "input anomaly"]
    assert line["correlation_id"] == "cid-e2e-drift" and line["action"] == "fail_task"


def test_a_missing_table_is_an_error_not_a_silent_pass(checks_aws: str) -> None:
    store = DynamoBaselineStore("no-such-table")
    with pytest.raises(ClientError) as err:
        DriftDetector("ingest", "orders", store=store).observe(_batch(10, 0))
    assert err.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_table_name_is_required(checks_aws: str) -> None:
    with pytest.raises(ValueError, match="BASELINE_TABLE"):
        DynamoBaselineStore()


def test_dynamodb_throttling_propagates_and_is_recognised(baseline_table: str) -> None:
    """moto cannot throttle: a botocore before-send hook answers PutItem with a real 400 throttle."""
    client = boto3.client("dynamodb", config=Config(retries={"max_attempts": 1, "mode": "standard"}))
    calls = {"put": 0}

    def throttle(request: Any, **_: Any) -> Any:
        from botocore.awsrequest import AWSResponse

        if request.headers.get("X-Amz-Target", b"").endswith(b"PutItem"):
            calls["put"] += 1
            body = (
                b'{"__type":"com.amazonaws.dynamodb.v20120810#ThrottlingException","message":"Rate exceeded"}'
            )
            raw = _RawBody(body)
            return AWSResponse(request.url, 400, {"x-amzn-ErrorType": "ThrottlingException"}, raw)
        return None

    client.meta.events.register("before-send.dynamodb.PutItem", throttle)
    store = DynamoBaselineStore(baseline_table, client=client)
    with pytest.raises(ClientError) as err:
        DriftDetector("ingest", "orders", store=store).observe(_batch(10, 0))
    assert calls["put"] >= 1
    throttle_info = classify_throttle(err.value)
    assert throttle_info is not None and throttle_info.source == "aws-throttling"
    assert store.history("ingest#orders") == []  # nothing half-written


class _RawBody:
    """The minimal urllib3-like body botocore reads from a stubbed response."""

    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, *_: Any, **__: Any) -> Any:
        yield self._body

    def read(self, *_: Any) -> bytes:
        body, self._body = self._body, b""
        return body


def test_history_of_a_very_wide_table_is_trimmed_to_fit_an_item(baseline_table: str) -> None:
    store = DynamoBaselineStore(baseline_table)
    wide = {"rows": 1, "columns": {f"col_{i}": {"dtype": "float64", "null_rate": 0.0} for i in range(2500)}}
    for _ in range(5):
        kept = store.append("ingest#wide", wide, keep=30)
    assert 1 <= len(kept) < 5  # ~90 KB per profile: only what fits under the 400 KB item limit
    assert store.history("ingest#wide") == kept
