"""``Suite.validate``: GE's result shape and numbers, checked by hand on small frames.

The exhaustive comparison with GE itself lives in test_checks_differential.py; these tests pin the
behaviour without GE installed, with values worked out by hand.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from observe.checks import load_suite

SUITES = Path(__file__).resolve().parents[2] / "fixtures" / "suites"


def _one(
    etype: str, result_format: str = "SUMMARY", df: pd.DataFrame | None = None, **kwargs: object
) -> dict:
    suite = load_suite(
        {"name": "s", "expectations": [{"type": etype, "kwargs": kwargs, "id": "x", "severity": "critical"}]}
    )
    return suite.validate(df if df is not None else FRAME, result_format=result_format)["results"][0]


FRAME = pd.DataFrame(
    {
        "a": [1.0, 2.0, None, 4.0, 4.0, 7.0],
        "s": ["x", "y", None, "zz", "x", "é"],
        "o": pd.Series([1, "x", 2.5, None, 1, "x"], dtype=object),
    }
)


def test_map_summary_numbers_follow_ge_formulas() -> None:
    r = _one("expect_column_values_to_be_between", column="a", min_value=2, max_value=5)
    assert r["success"] is False
    res = r["result"]
    # 6 rows, 1 null, 5 non-null of which 1.0 and 7.0 are out of range
    assert res["element_count"] == 6 and res["missing_count"] == 1
    assert res["unexpected_count"] == 2
    assert res["unexpected_percent"] == 2 / 5 * 100
    assert res["unexpected_percent_total"] == 2 / 6 * 100
    assert res["missing_percent"] == 1 / 6 * 100
    assert res["partial_unexpected_list"] == [1.0, 7.0]
    assert res["partial_unexpected_index_list"] == [0, 5]
    assert res["partial_unexpected_counts"] == [{"value": 1.0, "count": 1}, {"value": 7.0, "count": 1}]
    assert r["exception_info"]["raised_exception"] is False


def test_mostly_uses_non_null_rows_and_ge_comparison() -> None:
    # 2 of 5 non-null values fail -> 60% pass
    assert _one("expect_column_values_to_be_between", column="a", min_value=2, max_value=5, mostly=0.6)[
        "success"
    ]
    assert not _one("expect_column_values_to_be_between", column="a", min_value=2, max_value=5, mostly=0.61)[
        "success"
    ]


def test_null_expectations_count_all_rows_and_have_no_missing_fields() -> None:
    r = _one("expect_column_values_to_not_be_null", column="s")
    assert r["result"]["unexpected_count"] == 1
    assert r["result"]["unexpected_percent"] == 1 / 6 * 100  # GE's formula, to the last bit
    assert r["result"]["partial_unexpected_list"] == [None]
    assert "missing_count" not in r["result"]


def test_unique_flags_every_copy_and_counts_are_sorted_by_count() -> None:
    r = _one("expect_column_values_to_be_unique", column="s")
    assert r["result"]["partial_unexpected_list"] == ["x", "x"]
    assert r["result"]["partial_unexpected_index_list"] == [0, 4]
    assert r["result"]["partial_unexpected_counts"] == [{"value": "x", "count": 2}]


def test_partial_lists_are_the_first_twenty_in_index_order_and_complete_caps_values_at_200() -> None:
    df = pd.DataFrame({"v": np.arange(500)}, index=np.arange(1000, 1500))
    summary = _one("expect_column_values_to_be_between", df=df, column="v", max_value=9)
    assert summary["result"]["unexpected_count"] == 490
    assert summary["result"]["partial_unexpected_list"] == list(range(10, 30))
    assert summary["result"]["partial_unexpected_index_list"] == list(range(1010, 1030))
    assert "unexpected_list" not in summary["result"]
    complete = _one("expect_column_values_to_be_between", "COMPLETE", df=df, column="v", max_value=9)
    assert len(complete["result"]["unexpected_list"]) == 200  # GE's MAX_RESULT_RECORDS
    assert len(complete["result"]["unexpected_index_list"]) == 490  # the index list is not capped
    assert complete["result"]["unexpected_index_query"].startswith("df.filter(items=[1010, 1011,")


def test_boolean_only_has_an_empty_result() -> None:
    r = _one("expect_column_values_to_be_between", "BOOLEAN_ONLY", column="a", min_value=2, max_value=5)
    assert r == {**r, "success": False, "result": {}}
    assert _one("expect_column_mean_to_be_between", "BOOLEAN_ONLY", column="a", min_value=0)["result"] == {}


def test_aggregates_report_observed_value() -> None:
    assert _one("expect_column_mean_to_be_between", column="a", min_value=3, max_value=4)["result"] == {
        "observed_value": 18 / 5
    }
    assert (
        _one("expect_column_median_to_be_between", column="a", min_value=4)["result"]["observed_value"] == 4.0
    )
    stdev = _one("expect_column_stdev_to_be_between", column="a", max_value=1)
    assert stdev["success"] is False and stdev["result"]["observed_value"] == pytest.approx(
        np.std([1, 2, 4, 4, 7], ddof=1)
    )
    prop = _one("expect_column_proportion_of_unique_values_to_be_between", column="s", min_value=0.8)
    assert prop["result"]["observed_value"] == 4 / 5 and prop["success"]
    assert _one("expect_column_sum_to_be_between", column="a", max_value=18)["success"]


def test_aggregate_of_an_empty_column_fails_with_null_observed_value() -> None:
    empty = FRAME.iloc[0:0]
    r = _one("expect_column_mean_to_be_between", df=empty, column="a", min_value=0)
    assert r["success"] is False and r["result"] == {"observed_value": None}
    vacuous = _one("expect_column_values_to_be_unique", df=empty, column="s")
    assert vacuous["success"] is True and vacuous["result"]["unexpected_percent"] is None


def test_type_expectations_use_dtype_unless_object() -> None:
    assert _one("expect_column_values_to_be_of_type", column="a", type_="float64")["result"] == {
        "observed_value": "float64"
    }
    obj = _one("expect_column_values_to_be_of_type", column="o", type_="int")
    assert obj["result"]["unexpected_count"] == 3  # "x", 2.5, "x"; the null is skipped
    assert obj["result"]["partial_unexpected_counts"] == [
        {"value": "x", "count": 2},
        {"value": 2.5, "count": 1},
    ]
    tie = pd.DataFrame({"o": pd.Series(["x", 2.5], dtype=object)})
    # a tie between "x" and 2.5 makes GE's sort compare them: TypeError, and GE drops the counts
    assert (
        "partial_unexpected_counts"
        not in _one("expect_column_values_to_be_of_type", df=tie, column="o", type_="int")["result"]
    )


def test_errors_become_failed_results_with_exception_info_like_ge() -> None:
    missing = _one("expect_column_values_to_not_be_null", column="nope")
    assert missing["success"] is False and missing["result"] == {}
    assert missing["exception_info"]["raised_exception"] is True
    assert 'column "nope"' in missing["exception_info"]["exception_message"]
    mixed = _one("expect_column_values_to_be_between", column="o", min_value=0, max_value=5)
    assert mixed["exception_info"]["raised_exception"] is True  # "x" cannot be compared with 0


def test_table_expectations() -> None:
    r = _one("expect_table_columns_to_match_set", column_set=["a", "s", "extra"])
    assert r["success"] is False
    assert r["result"]["details"]["mismatched"] == {"unexpected": ["o"], "missing": ["extra"]}
    ordered = _one("expect_table_columns_to_match_ordered_list", column_list=["a", "o", "s"])
    assert ordered["result"]["details"]["mismatched"][0] == {
        "Expected Column Position": 1,
        "Expected": "o",
        "Found": "s",
    }
    assert _one("expect_table_row_count_to_be_between", min_value=6, max_value=6)["result"] == {
        "observed_value": 6
    }
    assert _one("expect_column_to_exist", column="s", column_index=1)["success"]
    assert not _one("expect_column_to_exist", column="s", column_index=2)["success"]


def test_suite_result_shape_statistics_and_json() -> None:
    suite = load_suite(SUITES / "orders.json")
    df = pd.DataFrame(
        {
            "order_id": [1, 2, 3],
            "customer": ["a", "b", "c"],
            "amount": [10.0, 20.0, 30.0],
            "currency": ["SGD", "USD", "JPY"],
            "email": ["a@x.io", "b@x.io", "c@x.io"],
            "created": ["2024-01-01", "2024-01-02", "2024-13-01"],
        }
    )
    out = suite.validate(df)
    json.dumps(out)  # fully JSON-serialisable
    assert out["suite_name"] == "orders"
    assert set(out) >= {"success", "results", "statistics", "meta", "suite_parameters"}
    failed = {r["expectation_config"]["id"][-4:] for r in out["results"] if not r["success"]}
    assert failed == {"0006", "0010"}  # currency JPY, month 13
    assert out["statistics"] == {
        "evaluated_expectations": 10,
        "successful_expectations": 8,
        "unsuccessful_expectations": 2,
        "success_percent": 80.0,
    }
    severities = {
        r["expectation_config"]["id"][-4:]: r["expectation_config"]["severity"] for r in out["results"]
    }
    assert severities["0010"] == "warning"


def test_bad_result_format_is_refused() -> None:
    with pytest.raises(ValueError, match="result_format"):
        load_suite(SUITES / "orders.json").validate(FRAME, result_format="VERBOSE")
