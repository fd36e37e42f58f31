"""Drift detection: the statistics, the actions, what is emitted, and what the baseline learns."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from observe import correlation
from observe.checks import (
    BatchQuarantined,
    DriftDetector,
    InMemoryBaselineStore,
    InputAnomalyError,
    TaskFailed,
    load_suite,
)
from observe.checks.drift import profile_frame


def _frame(rows: int = 100, null_every: int = 0, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    amount = rng.normal(50, 5, rows)
    if null_every:
        amount[::null_every] = np.nan
    return pd.DataFrame({"id": np.arange(rows), "amount": amount, "cur": ["SGD"] * rows})


def _profile(
    rows: int, null_rate: float = 0.0, columns: dict[str, str] | None = None, **unexpected: float
) -> dict:
    cols = columns or {"id": "int64", "amount": "float64"}
    return {
        "rows": rows,
        "columns": {
            c: {
                "dtype": d,
                "family": "number" if d[:3] in ("int", "flo") else "string",
                "null_rate": null_rate,
                "all_null": False,
            }
            for c, d in cols.items()
        },
        "unexpected_rate": unexpected,
    }


def _detector(**kw: Any) -> DriftDetector:
    return DriftDetector("ingest", "orders", store=InMemoryBaselineStore(), min_history=5, **kw)


def test_row_count_uses_median_and_mad() -> None:
    history = [_profile(n) for n in (1000, 1010, 990, 1005, 995, 1002)]
    det = _detector()
    assert det.compare(_profile(1020), history).anomalies == []
    report = det.compare(_profile(400), history)
    (a,) = report.anomalies
    assert a.check == "row_count" and a.observed == 400 and a.baseline == 1001.0
    assert a.deviation is not None and a.deviation > 3.5
    assert "fewer than the baseline median" in a.message


def test_row_count_with_a_constant_history_uses_a_floor_not_zero() -> None:
    history = [_profile(1000)] * 6  # MAD 0: any change would be infinitely many MADs away
    det = _detector()
    assert det.compare(_profile(1001), history).ok
    assert det.compare(_profile(1150), history).ok  # within 3.5 * 5% of 1000
    assert not det.compare(_profile(1200), history).ok


def test_one_outlier_in_the_history_does_not_move_the_baseline() -> None:
    history = [_profile(n) for n in (1000, 1000, 50000, 1000, 1000, 1000)]
    assert not _detector().compare(_profile(1300), history).ok  # a mean/stdev baseline would accept it


def test_null_rate_drift_per_column() -> None:
    history = [_profile(100, null_rate=r) for r in (0.01, 0.02, 0.0, 0.01, 0.02)]
    det = _detector()
    assert det.compare(_profile(100, null_rate=0.04), history).ok  # within the 5-point tolerance
    report = det.compare(_profile(100, null_rate=0.30), history)
    assert {a.column for a in report.anomalies} == {"id", "amount"}
    assert all(a.check == "null_rate" and a.baseline == 0.01 for a in report.anomalies)


def test_unexpected_rate_drift_per_expectation() -> None:
    key = "expect_column_values_to_be_in_set:cur"
    history = [_profile(100, **{key: r}) for r in (0.0, 0.01, 0.0, 0.0, 0.01)]
    (a,) = _detector().compare(_profile(100, **{key: 0.2}), history).anomalies
    assert a.check == "unexpected_rate" and a.column == key and a.observed == 0.2


def test_schema_drift_new_missing_and_type_changed() -> None:
    before = _profile(100, columns={"id": "int64", "amount": "float64", "cur": "str"})
    now = _profile(100, columns={"id": "int64", "amount": "str", "extra": "int64"})
    kinds = {(a.kind, a.column) for a in _detector().compare(now, [before]).anomalies}
    assert kinds == {("new_column", "extra"), ("missing_column", "cur"), ("type_changed", "amount")}


def test_int_column_gaining_a_null_is_not_a_type_change() -> None:
    a = profile_frame(pd.DataFrame({"n": [1, 2, 3]}))
    b = profile_frame(pd.DataFrame({"n": [1, None, 3]}))
    assert a["columns"]["n"]["dtype"] == "int64" and b["columns"]["n"]["dtype"] == "float64"
    assert _detector().compare(b, [a]).ok


def test_statistical_checks_wait_for_min_history() -> None:
    report = _detector().compare(_profile(10), [_profile(1000)] * 4)
    assert report.ok and set(report.skipped) == {"row_count", "null_rate", "unexpected_rate"}


def test_profile_takes_unexpected_rates_from_a_suite_result() -> None:
    suite = load_suite(
        {
            "name": "s",
            "expectations": [
                {
                    "type": "expect_column_values_to_be_in_set",
                    "kwargs": {"column": "cur", "value_set": ["SGD"]},
                },
                {"type": "expect_column_mean_to_be_between", "kwargs": {"column": "amount", "min_value": 0}},
            ],
        }
    )
    df = _frame(10).assign(cur=["SGD"] * 8 + ["XXX", None])
    prof = profile_frame(df, suite.validate(df))
    assert prof["unexpected_rate"] == {"expect_column_values_to_be_in_set:cur": 1 / 9}
    assert prof["columns"]["cur"]["null_rate"] == 0.1 and prof["rows"] == 10


def test_observe_emits_metric_and_warning_with_correlation_id_and_no_values(observe_capture: Any) -> None:
    store = InMemoryBaselineStore()
    det = DriftDetector("ingest", "orders", store=store, min_history=3)
    for seed in range(3):
        assert det.observe(_frame(100, seed=seed)).ok
    assert len(store.history("ingest#orders")) == 3
    observe_capture.clear()
    secret_df = _frame(100).assign(nric=["S1234567D"] * 100)  # a new column holding personal data
    with correlation.scope("cid-drift-1"):
        report = det.observe(secret_df.iloc[:20])
    assert {a.check for a in report.anomalies} == {"row_count", "schema"}
    assert report.action == "warn" and report.baseline_updated
    assert observe_capture.metric_values("InputAnomalies", check="row_count") == [1]
    assert observe_capture.metric_values("InputAnomalies", check="schema") == [1]
    warnings = [log for log in observe_capture.logs if log["message"] == "input anomaly"]
    assert {w["check"] for w in warnings} == {"row_count", "schema"}
    assert all(w["level"] == "warning" and w["correlation_id"] == "cid-drift-1" for w in warnings)
    assert all(w["source"] == "orders" for w in warnings)
    assert "S1234567D" not in observe_capture.text


def test_quarantine_and_fail_actions_raise_and_do_not_teach_the_baseline(observe_capture: Any) -> None:
    store = InMemoryBaselineStore()
    det = DriftDetector(
        "ingest",
        "orders",
        store=store,
        min_history=3,
        actions={"row_count": "quarantine_batch", "schema": "fail_task"},
    )
    for seed in range(3):
        det.observe(_frame(100, seed=seed))
    with pytest.raises(BatchQuarantined) as q:
        det.observe(_frame(5))
    assert isinstance(q.value, InputAnomalyError) and q.value.report.action == "quarantine_batch"
    assert q.value.anomalies[0].check == "row_count" and "row_count -> quarantine_batch" in str(q.value)
    assert q.value.to_dict()["baseline_updated"] is False
    assert len(store.history("ingest#orders")) == 3  # the rejected batch is not in the baseline
    with pytest.raises(TaskFailed) as f:  # both anomalies: the strongest action wins
        det.observe(_frame(5).drop(columns=["cur"]))
    assert f.value.report.action == "fail_task"
    assert {a.action for a in f.value.anomalies} == {"quarantine_batch", "fail_task"}
    assert len(observe_capture.metric_values("InputAnomalies", check="row_count")) == 2


def test_baseline_window_is_bounded() -> None:
    store = InMemoryBaselineStore()
    det = DriftDetector("p", "s", store=store, window=4, min_history=2)
    for _ in range(7):
        det.observe(_frame(50))
    assert len(store.history("p#s")) == 4


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"actions": {"row_count": "explode"}}, "unknown action"),
        ({"actions": {"rows": "warn"}}, "unknown check"),
        ({"checks": ("row_count", "vibes")}, "unknown drift checks"),
        ({"window": 3, "min_history": 5}, "min_history"),
    ],
)
def test_bad_configuration_is_refused(kwargs: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment):
        DriftDetector("p", "s", store=InMemoryBaselineStore(), **kwargs)
