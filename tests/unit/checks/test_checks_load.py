"""Loading GE 1.x suites: what loads, and what fails at load time naming file, expectation and field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from observe.checks import SuiteError, UnsupportedExpectationError, load_suite
from observe.checks._spec import EXPECTATION_TYPES

SUITES = Path(__file__).resolve().parents[2] / "fixtures" / "suites"


def _suite(*expectations: dict, **top: object) -> dict:
    return {"name": "s", "expectations": list(expectations), "meta": {}, **top}


def _exp(etype: str, **kwargs: object) -> dict:
    return {"type": etype, "kwargs": kwargs, "meta": {}, "id": "e-1", "severity": "critical"}


def test_loads_the_sample_suite_file_with_its_ids_severities_and_coerced_kwargs() -> None:
    suite = load_suite(SUITES / "orders.json")
    assert suite.name == "orders"
    assert len(suite.expectations) == 10
    by_id = {e.id: e for e in suite.expectations}
    between = by_id["8f9a6a44-7f47-4b57-9f0e-4d5a3f6b0005"]
    assert between.kwargs["min_value"] == 0.0 and between.kwargs["mostly"] == 1.0
    assert between.kwargs["strict_min"] is False  # GE's default filled in
    assert by_id["8f9a6a44-7f47-4b57-9f0e-4d5a3f6b0007"].severity == "warning"
    assert [e.label for e in suite.row_level][:2] == [
        "expect_column_values_to_not_be_null:order_id",
        "expect_column_values_to_be_unique:order_id",
    ]


def test_loading_does_not_import_pandas_or_great_expectations() -> None:
    import subprocess
    import sys

    code = (
        "import sys; from observe.checks import load_suite;"
        f"load_suite({str(SUITES / 'orders.json')!r});"
        "print(sorted(m for m in ('pandas', 'numpy', 'great_expectations', 'scipy') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_round_trip_keeps_the_ge_shape(tmp_path: Path) -> None:
    suite = load_suite(SUITES / "orders.json")
    saved = suite.save(tmp_path / "copy.json")
    again = load_suite(saved)
    assert again.to_json_dict() == suite.to_json_dict()
    original = json.loads((SUITES / "orders.json").read_text())
    assert [e["id"] for e in again.to_json_dict()["expectations"]] == [
        e["id"] for e in original["expectations"]
    ]


def test_pydantic_style_coercion_matches_ge_models() -> None:
    suite = load_suite(
        _suite(
            _exp("expect_column_values_to_be_between", column="a", min_value=2, max_value="5"),
            _exp("expect_table_row_count_to_be_between", min_value=2.7),
            _exp("expect_column_max_to_be_between", column="t", min_value="2024-01-05"),
        )
    )
    between, rows, dates = suite.expectations
    assert between.kwargs["min_value"] == 2.0 and isinstance(between.kwargs["min_value"], float)
    assert between.kwargs["max_value"] == 5.0
    assert rows.kwargs["min_value"] == 2  # GE's int field truncates
    import datetime as dt

    assert dates.kwargs["min_value"] == dt.date(2024, 1, 5)
    assert suite.to_json_dict()["expectations"][2]["kwargs"]["min_value"] == "2024-01-05"


def test_unsupported_type_fails_at_load_naming_type_and_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(_suite(_exp("expect_column_kl_divergence_to_be_less_than", column="a"))))
    with pytest.raises(UnsupportedExpectationError) as err:
        load_suite(path)
    msg = str(err.value)
    assert "expect_column_kl_divergence_to_be_less_than" in msg
    assert str(path) in msg and "expectations[0]" in msg
    assert err.value.field == "type"


@pytest.mark.parametrize(
    ("expectation", "field", "fragment"),
    [
        (_exp("expect_column_values_to_be_between", column="a"), "min_value", "cannot both be null"),
        (_exp("expect_column_values_to_be_between", column="a", min_value=5, max_value=1), "min_value", "<="),
        (
            _exp("expect_column_values_to_be_between", column="a", min_value="abc"),
            "min_value",
            "number or a date",
        ),
        (_exp("expect_column_values_to_be_in_set", column="a"), "value_set", "missing required"),
        (
            _exp("expect_column_values_to_match_regex", column="a", regex="(unclosed"),
            "regex",
            "invalid regular",
        ),
        (_exp("expect_column_values_to_not_be_null", column="a", mostly=1.5), "mostly", "between 0 and 1"),
        (_exp("expect_column_values_to_not_be_null", column="a", mostyl=0.5), "mostyl", "unknown kwarg"),
        (_exp("expect_column_values_to_not_be_null"), "column", "missing required"),
        (_exp("expect_compound_columns_to_be_unique", column_list=["a"]), "column_list", "at least two"),
        (
            _exp("expect_column_values_to_match_regex_list", column="a", regex_list=[]),
            "regex_list",
            "non-empty",
        ),
        (
            _exp("expect_column_values_to_match_strftime_format", column="a", strftime_format="%Q"),
            "strftime_format",
            "strftime",
        ),
        (
            {**_exp("expect_column_values_to_not_be_null", column="a"), "severity": "fatal"},
            "severity",
            "one of",
        ),
    ],
)
def test_bad_kwargs_fail_at_load_naming_the_field(expectation: dict, field: str, fragment: str) -> None:
    with pytest.raises(SuiteError) as err:
        load_suite(_suite(expectation))
    assert err.value.field == field
    assert fragment in str(err.value)
    assert "expectations[0]" in str(err.value)


def test_row_condition_and_suite_parameters_are_refused_not_ignored() -> None:
    with pytest.raises(UnsupportedExpectationError, match="row_condition"):
        load_suite(_suite(_exp("expect_column_values_to_not_be_null", column="a", row_condition='a>"1"')))
    with pytest.raises(UnsupportedExpectationError, match=r"\$PARAMETER"):
        load_suite(
            _suite(_exp("expect_column_mean_to_be_between", column="a", min_value={"$PARAMETER": "lo"}))
        )
    with pytest.raises(UnsupportedExpectationError, match="suite_parameters"):
        load_suite(_suite(suite_parameters={"lo": 1}))


def test_bad_json_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text('{"name": "x",\n "expectations": [,]}')
    with pytest.raises(SuiteError, match=r"line 2") as err:
        load_suite(path)
    assert str(path) in str(err.value)


def test_missing_file_and_legacy_suite_have_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(SuiteError, match="cannot read"):
        load_suite(tmp_path / "nope.json")
    with pytest.raises(SuiteError, match=r"GE 0\.x"):
        load_suite({"expectation_suite_name": "old", "expectation_configurations": []})


def test_every_type_of_the_issue_is_supported() -> None:
    wanted = {
        "expect_column_to_exist", "expect_column_values_to_not_be_null", "expect_column_values_to_be_null",
        "expect_column_values_to_be_unique", "expect_column_values_to_be_between",
        "expect_column_values_to_be_in_set", "expect_column_values_to_not_be_in_set",
        "expect_column_values_to_match_regex", "expect_column_values_to_not_match_regex",
        "expect_column_values_to_match_regex_list", "expect_column_values_to_be_of_type",
        "expect_column_values_to_be_in_type_list", "expect_column_value_lengths_to_be_between",
        "expect_column_values_to_match_strftime_format", "expect_column_mean_to_be_between",
        "expect_column_median_to_be_between", "expect_column_min_to_be_between",
        "expect_column_max_to_be_between",
        "expect_column_stdev_to_be_between", "expect_column_sum_to_be_between",
        "expect_column_proportion_of_unique_values_to_be_between", "expect_compound_columns_to_be_unique",
        "expect_table_row_count_to_be_between", "expect_table_columns_to_match_set",
        "expect_table_columns_to_match_ordered_list",
    }  # fmt: skip
    assert wanted <= set(EXPECTATION_TYPES)
