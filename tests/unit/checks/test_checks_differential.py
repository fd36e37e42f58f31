"""Differential test: observe.checks against Great Expectations 1.x itself, on generated frames.

For every supported expectation type, hypothesis draws a frame (nulls, duplicates, mixed-type
object columns, unicode, empty frames, named indexes) and kwargs for the type; GE validates it
with a pandas ephemeral context and ``observe.checks`` validates the same suite JSON. For
BOOLEAN_ONLY, SUMMARY and COMPLETE, each result (matched by expectation id) must agree on
``success``, on the whole ``result`` dict (counts, percents as exact floats, partial lists and
counts, index lists, observed values) and on whether an exception was raised.

GE is a dev-only dependency: imported once per session here and nowhere else.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import uuid
import warnings
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from observe.checks import SuiteError, load_suite
from observe.checks._spec import EXPECTATION_TYPES

FORMATS = ("BOOLEAN_ONLY", "SUMMARY", "COMPLETE")
_UNSERIALISABLE = "<GE cannot serialise this result>"
COLUMNS = ("f", "i", "n", "s", "o", "d", "t", "b")
EXAMPLES = 40


@pytest.fixture(scope="session")
def ge_batch() -> Any:
    """A function df -> GE batch, from one ephemeral pandas context (GE takes seconds to import)."""
    warnings.filterwarnings("ignore", module="great_expectations")
    logging.getLogger("great_expectations").setLevel(logging.ERROR)
    gx = pytest.importorskip("great_expectations", reason="great_expectations is in the dev extra")
    ctx = gx.get_context(mode="ephemeral")
    definition = (
        ctx.data_sources.add_pandas("observe_checks_diff")
        .add_dataframe_asset("frame")
        .add_batch_definition_whole_dataframe("whole")
    )

    def run(suite_dict: dict[str, Any], df: pd.DataFrame, result_format: str) -> dict[str, Any]:
        suite = gx.ExpectationSuite(**json.loads(json.dumps(suite_dict)))
        batch = definition.get_batch(batch_parameters={"dataframe": df})
        validation = batch.validate(suite, result_format=result_format)
        try:
            return validation.to_json_dict()
        except TypeError:
            # GE cannot serialise some observed values (a Timedelta stdev of a datetime column):
            # keep what it decided, mark the result as not comparable.
            return {
                "success": validation.success,
                "statistics": validation.statistics,
                "results": [
                    {
                        "success": evr.success,
                        "expectation_config": {"id": evr.expectation_config.id},
                        "result": _UNSERIALISABLE,
                        "exception_info": evr.exception_info,
                    }
                    for evr in validation.results
                ],
            }

    def build(suite_dict: dict[str, Any]) -> Any:
        return gx.ExpectationSuite(**json.loads(json.dumps(suite_dict)))

    run.build = build  # type: ignore[attr-defined]
    return run


# ---------------------------------------------------------------------------------------------------
# Frames

_floats = st.one_of(
    st.none(),
    st.just(np.nan),
    st.sampled_from([0.0, 1.5, -2.0, 3.25, 10.0, 1e6]),
    st.floats(-100, 100, allow_nan=False, width=32),
)
_ints = st.sampled_from([0, 1, 2, 3, 5, 8, -1, 42])
_texts = st.one_of(
    st.none(),
    st.sampled_from(["a", "ab", "abc", "A1", "é", "naïve", "日本", "", " ", "x\ny", "2024-01-31", "12,50"]),
    st.text(alphabet=st.sampled_from("aAbZ9é日 -_"), max_size=5),
)
_objects = st.one_of(st.none(), _ints, st.sampled_from([1.5, -0.5]), _texts, st.booleans())
_dates = st.one_of(
    st.none(), st.sampled_from(["2024-01-31", "2024-02-30", "31/01/2024", "2024-1-5", "x", "12:30"])
)


@st.composite
def frames(draw: st.DrawFn) -> pd.DataFrame:
    n = draw(st.integers(0, 30))

    def col(strategy: st.SearchStrategy[Any]) -> list[Any]:
        return draw(st.lists(strategy, min_size=n, max_size=n))

    t0 = pd.Timestamp("2024-01-01")
    df = pd.DataFrame(
        {
            "f": pd.Series(col(_floats), dtype="float64"),
            "i": pd.Series(col(_ints), dtype="int64"),
            "n": pd.Series(col(st.one_of(st.none(), _ints)), dtype="Int64"),
            "s": pd.Series(col(_texts), dtype="str"),
            "o": pd.Series(col(_objects), dtype=object),
            "d": pd.Series(col(_dates), dtype=object),
            "t": pd.Series(
                [t0 + pd.Timedelta(hours=h) for h in col(st.integers(0, 96))], dtype="datetime64[ns]"
            ),
            "b": pd.Series(col(st.booleans()), dtype=bool),
        }
    )
    index = draw(st.sampled_from(["range", "shuffled", "named"]))
    if index == "shuffled":
        df.index = pd.Index(draw(st.permutations(list(range(100, 100 + n)))), dtype="int64")
    elif index == "named":
        df.index = pd.Index(range(500, 500 + n), name="row_id")
    return df


# ---------------------------------------------------------------------------------------------------
# kwargs per type

_column = st.sampled_from(COLUMNS)
_mostly = st.one_of(st.none(), st.sampled_from([0.0, 0.5, 0.8, 0.95, 1.0]))
_bound = st.one_of(st.none(), st.sampled_from([-1, 0, 1, 2.5, 3, 8, 50]))
_date_bound = st.one_of(st.none(), st.sampled_from(["2024-01-02", "2024-01-03T12:00:00"]))
_value_pool = st.sampled_from([0, 1, 2, 1.5, "a", "ab", "é", "", True, "2024-01-31"])
_regexes = st.sampled_from(["^a", "b$", r"\d", "é", "^$", "(?s).*", "[A-Z]", r"^\w+$", "a|b"])
_types = st.sampled_from(
    ["int", "float", "str", "bool", "int64", "float64", "object", "Int64Dtype", "datetime64", "StringDtype",
     "bool_", "NoneType", "list", "float32"]
)  # fmt: skip


def _between(draw: st.DrawFn, column: str) -> dict[str, Any]:
    bound = _date_bound if column == "t" else _bound
    kw: dict[str, Any] = {"min_value": draw(bound), "max_value": draw(bound)}
    if draw(st.booleans()):
        kw["strict_min"] = draw(st.booleans())
        kw["strict_max"] = draw(st.booleans())
    return kw


@st.composite
def kwargs_for(draw: st.DrawFn, etype: str) -> dict[str, Any]:
    family = EXPECTATION_TYPES[etype][0]
    if etype == "expect_column_to_exist":
        kw: dict[str, Any] = {"column": draw(st.sampled_from([*COLUMNS, "missing"]))}
        if draw(st.booleans()):
            kw["column_index"] = draw(st.integers(0, 9))
        return kw
    if etype == "expect_table_row_count_to_be_between":
        return {"min_value": draw(st.one_of(st.none(), st.integers(0, 20))),
                "max_value": draw(st.one_of(st.none(), st.integers(10, 40)))}  # fmt: skip
    if etype == "expect_table_columns_to_match_set":
        cols = draw(st.lists(st.sampled_from([*COLUMNS, "extra"]), unique=True))
        return {"column_set": cols, "exact_match": draw(st.sampled_from([True, False, None]))}
    if etype == "expect_table_columns_to_match_ordered_list":
        return {"column_list": draw(st.one_of(st.permutations(list(COLUMNS)), st.lists(_column, max_size=9)))}
    if etype == "expect_compound_columns_to_be_unique":
        kw = {"column_list": draw(st.lists(_column, min_size=2, max_size=3, unique=True))}
        if draw(st.booleans()):
            kw["ignore_row_if"] = draw(
                st.sampled_from(["all_values_are_missing", "any_value_is_missing", "never"])
            )
    else:
        column = draw(_column)
        kw = {"column": column}
        if etype in ("expect_column_values_to_be_between",) or family == "column_aggregate":
            kw.update(_between(draw, column))
            if (
                etype == "expect_column_values_to_be_between"
                and kw["min_value"] is None
                and kw["max_value"] is None
            ):
                kw["max_value"] = (
                    "2024-01-03" if column == "t" else 3
                )  # both null is a load error (tested elsewhere)
        elif etype in ("expect_column_values_to_be_in_set", "expect_column_values_to_not_be_in_set"):
            kw["value_set"] = draw(st.lists(_value_pool, max_size=5))
        elif etype in ("expect_column_values_to_match_regex", "expect_column_values_to_not_match_regex"):
            kw["regex"] = draw(_regexes)
        elif etype == "expect_column_values_to_match_regex_list":
            kw["regex_list"] = draw(st.lists(_regexes, min_size=1, max_size=3))
            kw["match_on"] = draw(st.sampled_from(["any", "all"]))
        elif etype == "expect_column_values_to_be_of_type":
            kw["type_"] = draw(_types)
        elif etype == "expect_column_values_to_be_in_type_list":
            kw["type_list"] = draw(st.lists(_types, min_size=1, max_size=3))
        elif etype == "expect_column_value_lengths_to_be_between":
            kw["min_value"] = draw(st.one_of(st.none(), st.integers(0, 3)))
            kw["max_value"] = draw(st.one_of(st.none(), st.integers(3, 5)))
            if kw["min_value"] is None and kw["max_value"] is None:
                kw["max_value"] = 2
        elif etype == "expect_column_values_to_match_strftime_format":
            kw["strftime_format"] = draw(st.sampled_from(["%Y-%m-%d", "%d/%m/%Y", "%H:%M"]))
    if family in ("column_map", "multicolumn_map"):
        mostly = draw(_mostly)
        if mostly is not None:
            kw["mostly"] = mostly
    return {k: v for k, v in kw.items() if v is not None or k in ("column_set", "column_list", "exact_match")}


# ---------------------------------------------------------------------------------------------------
# Comparison


def _jsonify(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def _ge_raised(evr: dict[str, Any]) -> bool:
    info = evr.get("exception_info") or {}
    if info.get("raised_exception"):
        return True
    # GE 1.x files metric errors under their metric configuration id instead of the flat keys
    return any(k not in ("raised_exception", "exception_traceback", "exception_message") for k in info)


def _compare(ge_batch: Any, suite_dict: dict[str, Any], df: pd.DataFrame) -> None:
    try:
        ge_batch.build(suite_dict)
        ge_ok = True
    except Exception:
        ge_ok = False
    try:
        mine = load_suite(suite_dict)
    except SuiteError:
        mine = None
    if not ge_ok:
        assert mine is None, f"GE refuses this suite but observe.checks loads it: {suite_dict}"
        return
    for fmt in FORMATS:
        theirs = ge_batch(suite_dict, df, fmt)
        if mine is None:
            # observe.checks refuses at load what GE accepts but can only fail at every run
            assert all(not r["success"] for r in theirs["results"]), suite_dict
            return
        ours = mine.validate(df, result_format=fmt)
        by_id = {r["expectation_config"]["id"]: r for r in theirs["results"]}
        assert len(by_id) == len(ours["results"])
        for res in ours["results"]:
            ge_res = by_id[res["expectation_config"]["id"]]
            context = (
                f"{fmt} {res['expectation_config']['type']} {res['expectation_config']['kwargs']}\n{df!r}"
            )
            assert res["success"] == ge_res["success"], context
            assert res["exception_info"]["raised_exception"] == _ge_raised(ge_res), context
            if ge_res["result"] != _UNSERIALISABLE:
                assert _jsonify(res["result"]) == _jsonify(ge_res["result"]), context
        assert _jsonify(ours["statistics"]) == _jsonify(theirs["statistics"])
        assert ours["success"] == theirs["success"]


def _suite_for(etype: str, kwargs: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": f"diff-{etype}",
        "expectations": [
            {"type": etype, "kwargs": kwargs, "meta": {}, "id": str(uuid.uuid4()), "severity": "critical"}
        ],
        "meta": {},
    }


@pytest.mark.parametrize("etype", sorted(EXPECTATION_TYPES))
def test_same_results_as_great_expectations(ge_batch: Any, etype: str) -> None:
    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow],
              derandomize=True)  # fmt: skip
    @given(df=frames(), kwargs=kwargs_for(etype))
    def check(df: pd.DataFrame, kwargs: dict[str, Any]) -> None:
        _compare(ge_batch, _suite_for(etype, kwargs), df)

    check()


def test_a_realistic_multi_expectation_suite_matches_ge(ge_batch: Any) -> None:
    """The benchmark's suite on a dirty 2,000-row frame (partial lists truncated, COMPLETE capped)."""
    from pathlib import Path

    rng = np.random.default_rng(7)
    n = 2000
    df = pd.DataFrame(
        {
            "order_id": np.where(rng.random(n) < 0.01, 5, np.arange(n)),
            "customer": pd.Series(np.where(rng.random(n) < 0.01, None, "c"), dtype="str"),
            "amount": np.where(rng.random(n) < 0.01, -5.0, rng.uniform(1, 900, n)),
            "currency": np.where(rng.random(n) < 0.01, "JPY", rng.choice(["SGD", "USD", "EUR"], n)),
            "sku": [f"ABC-{i:04d}" if i % 97 else f"bad{i}" for i in range(n)],
            "quantity": rng.integers(1, 9, n),
        }
    )
    suite_dict = json.loads((Path(__file__).resolve().parents[2] / "fixtures/suites/bench8.json").read_text())
    _compare(ge_batch, suite_dict, df)


def test_profiled_suite_is_valid_ge_json(ge_batch: Any) -> None:
    from observe.checks import profile_suite

    df = pd.DataFrame(
        {
            "id": [1, 2, 3, 4],
            "cur": ["SGD", "USD", "SGD", None],
            "amount": [1.5, 2.0, 3.0, 4.0],
            "when": pd.date_range("2024-01-01", periods=4),
            "ok": [True, False, True, True],
        }
    )
    suite = profile_suite(df, "profiled")
    ge_suite = ge_batch.build(suite.to_json_dict())  # GE's own models accept every expectation
    assert len(ge_suite.expectations) == len(suite.expectations)
    _compare(ge_batch, suite.to_json_dict(), df)
    assert ge_batch(suite.to_json_dict(), df, "SUMMARY")["success"] is True


def test_dates_and_datetimes_in_kwargs_round_trip_like_ge(ge_batch: Any) -> None:
    df = pd.DataFrame({"t": pd.date_range("2024-01-01", periods=48, freq="h")})
    suite = _suite_for(
        "expect_column_values_to_be_between",
        {"column": "t", "min_value": "2024-01-01T06:00:00", "max_value": dt.date(2024, 1, 2).isoformat()},
    )
    _compare(ge_batch, suite, df)


# ---------------------------------------------------------------------------------------------------
# Suites as GE itself writes them: catch_exceptions and result_format in the kwargs of every type

_OPTIONS = st.fixed_dictionaries(
    {},
    optional={
        "catch_exceptions": st.booleans(),
        "result_format": st.one_of(
            st.sampled_from((*FORMATS, "BASIC")),
            st.builds(lambda f, n: {"result_format": f, "partial_unexpected_count": n},
                      st.sampled_from(FORMATS), st.integers(1, 5)),
        ),
    },
)  # fmt: skip


@pytest.mark.parametrize("etype", sorted(EXPECTATION_TYPES))
def test_suites_written_by_ge_load_unchanged_and_validate_like_ge(ge_batch: Any, etype: str) -> None:
    """GE's own models build the expectation (with catch_exceptions / result_format, which it puts
    into the kwargs) and GE's ``to_json_dict()`` writes the suite; observe.checks loads that file
    unchanged, keeps both options in its own ``to_json_dict()``, and validates exactly as GE does
    (which ignores them when it validates a suite)."""
    from great_expectations.expectations.registry import get_expectation_impl

    impl = get_expectation_impl(etype)

    @settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True)
    @given(df=frames(), kwargs=kwargs_for(etype), options=_OPTIONS)
    def check(df: pd.DataFrame, kwargs: dict[str, Any], options: dict[str, Any]) -> None:
        try:
            expectation = impl(**kwargs, **options)
        except Exception:
            return  # GE refuses these kwargs: nothing it could have written
        import great_expectations as gx

        written = json.loads(
            json.dumps(gx.ExpectationSuite(name=f"ge-{etype}", expectations=[expectation]).to_json_dict())
        )
        written["expectations"][0]["id"] = str(uuid.uuid4())  # as a saved suite has (results match by id)
        kwargs_written = written["expectations"][0]["kwargs"]
        # GE writes each option it was given, unless it equals that type's default
        kept = {k: kwargs_written[k] for k in ("catch_exceptions", "result_format") if k in kwargs_written}
        assert kept == {k: v for k, v in options.items() if k in kept}
        try:
            mine = load_suite(written)
        except SuiteError:  # refused at load what GE can only fail at run time: _compare checks that
            mine = None
        if mine is not None:
            ours = mine.to_json_dict()["expectations"][0]["kwargs"]
            assert {k: ours[k] for k in kept} == kept  # kept as written
        _compare(ge_batch, written, df)

    check()


@pytest.mark.parametrize(
    ("options", "problem"),
    [
        ({"result_format": "VERBOSE"}, "result_format"),
        ({"result_format": None}, "result_format"),
        ({"result_format": {"partial_unexpected_count": 3}}, "result_format"),
        ({"catch_exceptions": None}, "catch_exceptions"),
        ({"catch_exceptions": "maybe"}, "catch_exceptions"),
    ],
)
def test_bad_validation_options_are_refused_like_ge_refuses_them(
    ge_batch: Any, options: dict[str, Any], problem: str
) -> None:
    for etype, kwargs in (
        ("expect_column_values_to_not_be_null", {"column": "f"}),
        ("expect_column_mean_to_be_between", {"column": "f", "min_value": 0}),
        ("expect_table_row_count_to_be_between", {"min_value": 1}),
    ):
        suite = _suite_for(etype, {**kwargs, **options})
        with pytest.raises(Exception):  # noqa: B017 - GE's pydantic error type is an implementation detail
            ge_batch.build(suite)
        with pytest.raises(SuiteError, match=problem):
            load_suite(suite)


def test_ge_writes_the_options_into_aggregate_and_table_kwargs_and_they_load_and_are_ignored(
    ge_batch: Any,
) -> None:
    import great_expectations as gx
    from great_expectations.expectations.registry import get_expectation_impl

    made = [
        get_expectation_impl("expect_column_mean_to_be_between")(
            column="f", min_value=0, result_format="COMPLETE", catch_exceptions=True
        ),
        get_expectation_impl("expect_table_row_count_to_be_between")(
            min_value=1, result_format={"result_format": "SUMMARY"}, catch_exceptions=False
        ),
    ]
    written = json.loads(
        json.dumps(gx.ExpectationSuite(name="written-by-ge", expectations=made).to_json_dict())
    )
    for e in written["expectations"]:
        e["id"] = str(uuid.uuid4())
    assert [e["kwargs"]["result_format"] for e in written["expectations"]] == [
        "COMPLETE",
        {"result_format": "SUMMARY"},
    ]  # GE put them into the kwargs of an aggregate and a table expectation
    suite = load_suite(written)
    assert suite.to_json_dict()["expectations"][1]["kwargs"]["result_format"] == {"result_format": "SUMMARY"}
    df = pd.DataFrame({"f": [1.0, 2.0]})
    result = suite.validate(df, result_format="BOOLEAN_ONLY")  # the validation's format wins, as in GE
    assert all(r["result"] == {} for r in result["results"])
    _compare(ge_batch, written, df)
