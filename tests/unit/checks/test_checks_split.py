"""``Suite.split``: every row ends up on exactly one side; failing rows say which expectations they broke."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from observe.checks import FAILED_COLUMN, load_suite

SUITES = Path(__file__).resolve().parents[2] / "fixtures" / "suites"


def _suite(*exps: tuple[str, dict], severities: list[str] | None = None):
    return load_suite(
        {
            "name": "s",
            "expectations": [
                {
                    "type": t,
                    "kwargs": kw,
                    "id": f"e{i}",
                    "severity": (severities or ["critical"] * len(exps))[i],
                }
                for i, (t, kw) in enumerate(exps)
            ],
        }
    )


def test_failing_rows_carry_their_reasons_in_suite_order() -> None:
    suite = _suite(
        ("expect_column_values_to_not_be_null", {"column": "id"}),
        ("expect_column_values_to_be_between", {"column": "amount", "min_value": 0}),
        ("expect_column_values_to_be_in_set", {"column": "cur", "value_set": ["SGD", "USD"]}),
        ("expect_table_row_count_to_be_between", {"min_value": 100}),  # batch-level: ignored by split
    )
    df = pd.DataFrame(
        {"id": [1, None, 3, 4], "amount": [5.0, -1.0, 2.0, None], "cur": ["SGD", "EUR", "USD", "SGD"]},
        index=[10, 11, 12, 13],
    )
    passing, failing = suite.split(df)
    assert list(passing.index) == [10, 12, 13]  # a null amount is not a range failure (GE skips nulls)
    assert list(failing.index) == [11]
    assert failing.loc[11, FAILED_COLUMN] == [
        "expect_column_values_to_not_be_null:id",
        "expect_column_values_to_be_between:amount",
        "expect_column_values_to_be_in_set:cur",
    ]
    assert list(failing.columns) == [*df.columns, FAILED_COLUMN]
    assert FAILED_COLUMN not in passing.columns


def test_split_agrees_with_validate_row_by_row() -> None:
    suite = load_suite(SUITES / "orders.json")
    df = pd.DataFrame(
        {
            "order_id": [1, 2, 2, 4, None],
            "customer": ["a", "b", "c", "d", "e"],
            "amount": [10.0, 20000.0, 30.0, 1.0, 2.0],
            "currency": ["SGD", "USD", "JPY", "EUR", "SGD"],
            "email": ["a@x.io", "nope", "c@x.io", "d@x.io", "e@x.io"],
            "created": ["2024-01-01", "2024-01-02", "2024-13-01", "2024-02-02", "x"],
        }
    )
    result = suite.validate(df, result_format="COMPLETE")
    expected: dict[int, list[str]] = {}
    for res, spec in zip(result["results"], suite.expectations, strict=True):
        if spec in suite.row_level:
            for idx in res["result"].get("unexpected_index_list", []):
                expected.setdefault(idx, []).append(spec.label)
    _passing, failing = suite.split(df)
    assert {i: list(v) for i, v in failing[FAILED_COLUMN].items()} == expected


def test_min_severity_leaves_out_lower_severities() -> None:
    suite = _suite(
        ("expect_column_values_to_be_in_set", {"column": "c", "value_set": ["a"]}),
        ("expect_column_values_to_match_regex", {"column": "c", "regex": "^a"}),
        severities=["info", "critical"],
    )
    df = pd.DataFrame({"c": ["a", "b", "ab"]})
    _p, failing = suite.split(df)
    assert failing[FAILED_COLUMN].to_dict() == {
        1: ["expect_column_values_to_be_in_set:c", "expect_column_values_to_match_regex:c"],
        2: ["expect_column_values_to_be_in_set:c"],
    }
    _p, failing = suite.split(df, min_severity="critical")
    assert failing[FAILED_COLUMN].to_dict() == {1: ["expect_column_values_to_match_regex:c"]}


def test_missing_column_and_wrong_dtype_fail_every_row() -> None:
    suite = _suite(
        ("expect_column_values_to_not_be_null", {"column": "gone"}),
        ("expect_column_values_to_be_of_type", {"column": "n", "type_": "str"}),
    )
    df = pd.DataFrame({"n": [1, 2]})
    passing, failing = suite.split(df)
    assert passing.empty
    assert (
        failing[FAILED_COLUMN].tolist()
        == [["expect_column_values_to_not_be_null:gone", "expect_column_values_to_be_of_type:n"]] * 2
    )


def test_values_that_cannot_be_compared_fail_only_their_own_row() -> None:
    # validate() reports the whole expectation as an exception (as GE does); split() must still
    # quarantine exactly the bad rows: "12,50" is a string where a number was expected.
    suite = _suite(("expect_column_values_to_be_between", {"column": "amount", "min_value": 0}))
    df = pd.DataFrame({"amount": pd.Series([5, "12,50", -3, 7.5], dtype=object)})
    passing, failing = suite.split(df)
    assert list(passing.index) == [0, 3]
    assert list(failing.index) == [1, 2]


def test_compound_uniqueness_is_row_level() -> None:
    suite = _suite(("expect_compound_columns_to_be_unique", {"column_list": ["a", "b"]}))
    df = pd.DataFrame({"a": [1, 1, 2, None, None], "b": ["x", "x", "x", None, None]})
    passing, failing = suite.split(df)
    assert list(failing.index) == [0, 1]  # all-missing rows are ignored, as in GE
    assert failing[FAILED_COLUMN].tolist() == [["expect_compound_columns_to_be_unique:a,b"]] * 2
    assert list(passing.index) == [2, 3, 4]


def test_empty_and_clean_frames() -> None:
    suite = load_suite(SUITES / "orders.json")
    empty = pd.DataFrame({"order_id": pd.Series([], dtype="int64")})
    passing, failing = suite.split(empty)
    assert passing.empty and failing.empty and FAILED_COLUMN in failing.columns
    clean = pd.DataFrame({"c": ["a"]})
    p, f = _suite(("expect_column_values_to_be_in_set", {"column": "c", "value_set": ["a"]})).split(clean)
    assert p.equals(clean) and f.empty and FAILED_COLUMN in f.columns


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.one_of(st.none(), st.integers(-5, 15), st.floats(allow_nan=True, allow_infinity=False)),
            st.one_of(st.none(), st.sampled_from(["a", "b", "c", "ü", ""])),
        ),
        max_size=40,
    )
)
def test_no_row_is_lost_or_duplicated(rows: list[tuple[object, object]]) -> None:
    df = pd.DataFrame(rows, columns=["n", "s"])
    suite = _suite(
        ("expect_column_values_to_be_between", {"column": "n", "min_value": 0, "max_value": 10}),
        ("expect_column_values_to_be_in_set", {"column": "s", "value_set": ["a", "b"]}),
        ("expect_column_values_to_be_unique", {"column": "s"}),
        ("expect_column_values_to_not_be_null", {"column": "n"}),
    )
    passing, failing = suite.split(df)
    assert len(passing) + len(failing) == len(df)
    assert sorted([*passing.index, *failing.index]) == list(df.index)
    assert all(len(reasons) >= 1 for reasons in failing[FAILED_COLUMN])
    # the passing rows, validated as a batch of their own, pass every expectation
    assert suite.validate(passing, "BOOLEAN_ONLY")["success"]
