"""Reporting a validation (metrics, one log line, no data values) and authoring suites by profiling."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from observe import correlation
from observe.checks import load_suite, profile_suite, report_validation, save_suite

SUITES = Path(__file__).resolve().parents[2] / "fixtures" / "suites"


def _orders(n: int = 50, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "order_id": np.arange(1, n + 1),
            "customer": [f"cust-{i % 7}" for i in range(n)],
            "amount": rng.uniform(1, 100, n).round(2),
            "currency": rng.choice(["SGD", "USD", "EUR"], n),
            "nric": [f"S{1000000 + i}D" for i in range(n)],
            "paid": rng.random(n) < 0.5,
        }
    )


def test_report_validation_emits_failures_without_data_values(observe_capture: Any) -> None:
    suite = load_suite(SUITES / "orders.json")
    df = pd.DataFrame(
        {
            "order_id": [1, 1],
            "customer": ["a", "b"],
            "amount": [10.0, 20.0],
            "currency": ["SGD", "S7654321Z"],  # personal data in the wrong column
            "email": ["a@x.io", "b@x.io"],
            "created": ["2024-01-01", "2024-01-02"],
        }
    )
    result = suite.validate(df)
    assert "S7654321Z" in json.dumps(result)  # GE's partial lists hold values...
    with correlation.scope("cid-report"):
        failed = report_validation(result, source="orders")
    assert [f["expectation"] for f in failed] == [
        "expect_column_values_to_be_unique:order_id",
        "expect_column_values_to_be_in_set:currency",
    ]
    assert failed[1]["unexpected_count"] == 1 and failed[1]["severity"] == "critical"
    assert observe_capture.metric_values(
        "ExpectationFailures", expectation="expect_column_values_to_be_unique"
    ) == [1]
    (line,) = [log for log in observe_capture.logs if log["message"] == "expectations failed"]
    assert line["correlation_id"] == "cid-report" and line["suite"] == "orders" and line["rows"] == 2
    assert "S7654321Z" not in observe_capture.text  # ...which never reach a log line


def test_report_validation_is_silent_when_everything_passes(observe_capture: Any) -> None:
    suite = load_suite(
        {
            "name": "s",
            "expectations": [{"type": "expect_table_row_count_to_be_between", "kwargs": {"min_value": 0}}],
        }
    )
    assert report_validation(suite.validate(pd.DataFrame({"a": [1]}))) == []
    assert observe_capture.text == ""


def test_profiled_suite_passes_its_sample_and_catches_dirty_rows(tmp_path: Path) -> None:
    sample = _orders()
    suite = profile_suite(sample, "orders-profiled")
    path = save_suite(suite, tmp_path / "suites" / "orders.json")
    loaded = load_suite(path)
    assert loaded.validate(sample)["success"] is True
    types = {(e.type, e.kwargs.get("column")) for e in loaded.expectations}
    assert ("expect_column_values_to_be_unique", "order_id") in types
    assert ("expect_column_values_to_be_in_set", "currency") in types
    assert ("expect_column_values_to_be_of_type", "paid") in types
    dirty = sample.copy()
    dirty.loc[3, "currency"] = "JPY"
    dirty.loc[4, "amount"] = 1e6
    dirty.loc[5, "order_id"] = 1
    _passing, failing = loaded.split(dirty)
    assert set(failing.index) == {0, 3, 4, 5}
    assert failing.loc[3, "_failed_expectations"] == ["expect_column_values_to_be_in_set:currency"]


def test_profile_of_columns_with_nulls_uses_mostly() -> None:
    df = pd.DataFrame({"x": [1.0, None, 3.0, 4.0] * 25})
    (nn,) = [
        e for e in profile_suite(df, "n").expectations if e.type == "expect_column_values_to_not_be_null"
    ]
    assert nn.kwargs["mostly"] == 0.73  # 75% present, minus 2 points of slack
