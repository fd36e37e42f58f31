"""Vectorised pandas evaluation of supported expectations, result-for-result identical to GE 1.x.

Each function below is a port of the pandas code path GE 1.24 runs for that expectation (its
``column_condition_partial`` / ``column_aggregate_value`` / ``_validate``): the same pandas calls
on the same data, so dtype quirks (pandas 3 ``str`` columns, object columns of mixed types,
``astype(str)`` before a regex) come out the same. What is left out is GE's machinery around them:
metric graphs, pydantic models, per-metric re-filtering of the frame. Work shared between
expectations on one column (the null mask, the non-null slice) is done once per validation.

This module imports pandas and numpy at the top: it is only imported when a suite is validated.
"""

from __future__ import annotations

import datetime as _dt
import decimal
import re
import traceback
from collections import Counter
from collections.abc import Callable
from itertools import zip_longest
from typing import Any

import numpy as np
import pandas as pd

from observe.checks._spec import AGGREGATE, MAP, MULTIMAP, TABLE, ExpectationSpec

MAX_RESULT_RECORDS = 200  # great_expectations.constants.MAX_RESULT_RECORDS
RESULT_FORMATS = ("BOOLEAN_ONLY", "BASIC", "SUMMARY", "COMPLETE")


class MissingColumnError(KeyError):
    """The expectation's column is not in the batch (GE reports it as an exception, success False)."""

    def __str__(self) -> str:
        return f'Error: The column "{self.args[0]}" in BatchData does not exist.'


def parse_result_format(result_format: str | dict[str, Any]) -> dict[str, Any]:
    """GE's ``parse_result_format``: a name, or a dict with defaults filled in."""
    if isinstance(result_format, str):
        if result_format not in RESULT_FORMATS:
            raise ValueError(
                f"result_format must be one of {', '.join(RESULT_FORMATS)}, got {result_format!r}"
            )
        return {
            "result_format": result_format,
            "partial_unexpected_count": 20,
            "include_unexpected_rows": False,
        }
    out = dict(result_format)
    if out.get("result_format") not in RESULT_FORMATS:
        raise ValueError(f"result_format['result_format'] must be one of {', '.join(RESULT_FORMATS)}")
    out.setdefault("partial_unexpected_count", 20)
    out.setdefault("include_unexpected_rows", False)
    return out


class Frame:
    """One batch under validation, with per-column work cached across expectations."""

    def __init__(self, df: pd.DataFrame) -> None:
        self.df = df
        self.n = len(df)
        self.columns = list(df.columns)
        self._colset = set(self.columns)
        self._isnull: dict[str, np.ndarray] = {}
        self._nonnull: dict[str, pd.Series] = {}
        self._named_index = df.index.name is not None

    def column(self, name: str) -> pd.Series:
        if name not in self._colset:
            raise MissingColumnError(name)
        return self.df[name]

    def isnull(self, name: str) -> np.ndarray:
        got = self._isnull.get(name)
        if got is None:
            got = self._isnull[name] = self.column(name).isnull().to_numpy()
        return got

    def null_count(self, name: str) -> int:
        return int(np.count_nonzero(self.isnull(name)))

    def nonnull(self, name: str) -> pd.Series:
        """``df[df[col].notnull()][col]``: what GE's column map conditions see."""
        got = self._nonnull.get(name)
        if got is None:
            col = self.column(name)
            nulls = self.isnull(name)
            got = col[~nulls] if nulls.any() else col
            self._nonnull[name] = got
        return got


# --------------------------------------------------------------------------------------------------
# Column map conditions: each returns the "meets the expectation" mask over the series it is given
# (non-null values, except for the null / not-null pair). ``safe`` turns per-value errors into a
# failing value instead of an exception: used by ``split``, never by ``validate``.


def _c_not_null(s: pd.Series, kw: dict[str, Any], safe: bool) -> Any:
    return ~s.isnull()


def _c_null(s: pd.Series, kw: dict[str, Any], safe: bool) -> Any:
    return s.isnull()


def _c_unique(s: pd.Series, kw: dict[str, Any], safe: bool) -> Any:
    return ~s.duplicated(keep=False)


def _parse_dt(value: Any) -> Any:
    from dateutil.parser import parse

    return parse(value)


def _between_vectorized(col: Any, lo: Any, hi: Any, strict_min: bool, strict_max: bool) -> Any:
    if lo is None:
        return col < hi if strict_max else col <= hi
    if hi is None:
        return lo < col if strict_min else lo <= col
    if strict_min and strict_max:
        return (lo < col) & (col < hi)
    if strict_min:
        return (lo < col) & (col <= hi)
    if strict_max:
        return (lo <= col) & (col < hi)
    return (lo <= col) & (col <= hi)


def _c_between(s: pd.Series, kw: dict[str, Any], safe: bool) -> Any:
    lo, hi = kw["min_value"], kw["max_value"]
    strict_min, strict_max = kw["strict_min"], kw["strict_max"]
    if lo is None and hi is None:
        raise ValueError("min_value and max_value cannot both be None")
    if lo is not None and hi is not None and lo > hi:
        raise ValueError("min_value cannot be greater than max_value")
    if s.dtype in [int, float]:
        return _between_vectorized(s, lo, hi, strict_min, strict_max)
    if isinstance(s.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_ns_dtype(s.dtype):
        if lo is not None and isinstance(lo, str):
            lo = _parse_dt(lo)
        if hi is not None and isinstance(hi, str):
            hi = _parse_dt(hi)
        return _between_vectorized(s, lo, hi, strict_min, strict_max)

    def is_between(val: Any) -> bool:
        if lo is not None and hi is not None:
            if (isinstance(val, str) != isinstance(lo, str)) or (isinstance(val, str) != isinstance(hi, str)):
                raise TypeError(
                    "Column values, min_value, and max_value must either be None or of the same type."
                )
            if strict_min and strict_max:
                return (val > lo) and (val < hi)
            if strict_min:
                return (val > lo) and (val <= hi)
            if strict_max:
                return (val >= lo) and (val < hi)
            return (val >= lo) and (val <= hi)
        if lo is None and hi is not None:
            if isinstance(val, str) != isinstance(hi, str):
                raise TypeError(
                    "Column values, min_value, and max_value must either be None or of the same type."
                )
            return val < hi if strict_max else val <= hi
        if lo is not None and hi is None:
            if isinstance(val, str) != isinstance(lo, str):
                raise TypeError(
                    "Column values, min_value, and max_value must either be None or of the same type."
                )
            return val > lo if strict_min else val >= lo
        return False

    return s.map(_safe(is_between) if safe else is_between)


def _safe(fn: Callable[[Any], bool]) -> Callable[[Any], bool]:
    def wrapped(val: Any) -> bool:
        try:
            return bool(fn(val))
        except Exception:
            return False

    return wrapped


def _c_in_set(s: pd.Series, kw: dict[str, Any], safe: bool) -> Any:
    if kw["value_set"] is None:
        return np.ones(len(s), dtype=np.bool_)
    return s.isin(kw["value_set"])


def _c_not_in_set(s: pd.Series, kw: dict[str, Any], safe: bool) -> Any:
    value_set = kw["value_set"]
    if value_set is None:
        return np.ones(len(s), dtype=np.bool_)
    if pd.api.types.is_datetime64_any_dtype(s):
        value_set = [_parse_dt(v) if isinstance(v, str) else v for v in value_set]
    return ~s.isin(value_set)


def _str_contains(s: pd.Series, regex: str) -> Any:
    """``s.astype(str).str.contains(regex)`` as GE calls it, with a tighter loop where that is exact.

    For Python-backed strings pandas runs ``re.compile(regex).search(v) is not None`` per value
    inside a generic mapping helper; doing that search directly over the values gives the same
    booleans in about half the time. Other storages (pyarrow's own regex engine) keep pandas' path.
    """
    as_str = s.astype(str)
    dtype = as_str.dtype
    if isinstance(dtype, pd.StringDtype) and dtype.storage == "python":
        search = re.compile(regex).search
        values = as_str.to_numpy(dtype=object)
        return np.fromiter((search(v) is not None for v in values), dtype=bool, count=len(values))
    return as_str.str.contains(regex)


def _c_match_regex(s: pd.Series, kw: dict[str, Any], safe: bool) -> Any:
    return _str_contains(s, kw["regex"])


def _c_not_match_regex(s: pd.Series, kw: dict[str, Any], safe: bool) -> Any:
    return ~_str_contains(s, kw["regex"])


def _c_match_regex_list(s: pd.Series, kw: dict[str, Any], safe: bool) -> Any:
    as_str = s.astype(str)
    matches = [as_str.str.contains(regex) for regex in kw["regex_list"]]
    frame = pd.concat(matches, axis=1, ignore_index=True)
    if kw["match_on"] == "any":
        return frame.any(axis="columns")
    return frame.all(axis="columns")


def _native_types(type_: str) -> tuple[type, ...] | None:
    """GE's ``native_type_type_map``."""
    t = type_.lower()
    table: dict[str, tuple[type, ...]] = {
        "none": (type(None),),
        "bool": (bool,),
        "int": (int,),
        "long": (int,),
        "float": (float,),
        "bytes": (bytes,),
        "complex": (complex,),
        "str": (str,),
        "string_types": (str,),
        "list": (list,),
        "dict": (dict,),
    }
    return table.get(t)


def _element_types(type_: str) -> list[Any]:
    """The classes GE's ``column_values.of_type`` map checks ``isinstance`` against, for one type name."""
    comp: list[Any] = []
    try:
        comp.append(np.dtype(type_).type)
    except TypeError:
        for ns in (pd, pd.core.dtypes.dtypes):
            pd_type = getattr(ns, type_, None)
            if isinstance(pd_type, type):
                comp.append(pd_type)
    native = _native_types(type_)
    if native is not None:
        comp.extend(native)
    return comp


def _c_of_type(s: pd.Series, kw: dict[str, Any], safe: bool) -> Any:
    comp = _element_types(kw["type_"])
    if not comp:
        raise ValueError(f"Unrecognized numpy/python type: {kw['type_']}")
    classes = tuple(comp)
    return s.map(lambda x: isinstance(x, classes))


def _c_in_type_list(s: pd.Series, kw: dict[str, Any], safe: bool) -> Any:
    comp: list[Any] = []
    for type_ in kw["type_list"]:
        comp.extend(_element_types(type_))
    if not comp:
        raise ValueError(f"No recognized numpy/python type in list: {kw['type_list']}")
    classes = tuple(comp)
    return s.map(lambda x: isinstance(x, classes))


def _c_value_lengths(s: pd.Series, kw: dict[str, Any], safe: bool) -> Any:
    lengths = s.astype(str).str.len()
    lo, hi = kw["min_value"], kw["max_value"]
    strict_min, strict_max = kw["strict_min"], kw["strict_max"]
    if lo is not None and hi is not None:
        inclusive = {
            (True, True): "neither",
            (True, False): "right",
            (False, True): "left",
            (False, False): "both",
        }
        return lengths.between(lo, hi, inclusive=inclusive[(bool(strict_min), bool(strict_max))])
    if lo is None and hi is not None:
        return lengths < hi if strict_max else lengths <= hi
    if lo is not None and hi is None:
        return lengths > lo if strict_min else lengths >= lo
    raise ValueError("Invalid configuration")


def _c_strftime(s: pd.Series, kw: dict[str, Any], safe: bool) -> Any:
    fmt = kw["strftime_format"]

    def parseable(val: Any) -> bool:
        try:
            _dt.datetime.strptime(val, fmt)
            return True
        except TypeError:
            if safe:
                return False
            raise TypeError(
                "Values passed to expect_column_values_to_match_strftime_format must be of type string."
            ) from None
        except ValueError:
            return False

    return s.map(parseable)


CONDITIONS: dict[str, Callable[[pd.Series, dict[str, Any], bool], Any]] = {
    "expect_column_values_to_not_be_null": _c_not_null,
    "expect_column_values_to_be_null": _c_null,
    "expect_column_values_to_be_unique": _c_unique,
    "expect_column_values_to_be_between": _c_between,
    "expect_column_values_to_be_in_set": _c_in_set,
    "expect_column_values_to_not_be_in_set": _c_not_in_set,
    "expect_column_values_to_match_regex": _c_match_regex,
    "expect_column_values_to_not_match_regex": _c_not_match_regex,
    "expect_column_values_to_match_regex_list": _c_match_regex_list,
    "expect_column_values_to_be_of_type": _c_of_type,
    "expect_column_values_to_be_in_type_list": _c_in_type_list,
    "expect_column_value_lengths_to_be_between": _c_value_lengths,
    "expect_column_values_to_match_strftime_format": _c_strftime,
}
# These two look at every row (nulls included) and report no missing_* fields.
_NULL_TYPES = {"expect_column_values_to_not_be_null", "expect_column_values_to_be_null"}
# These two run row by row only on object columns (GE), else on the column's dtype.
_TYPE_TYPES = {"expect_column_values_to_be_of_type", "expect_column_values_to_be_in_type_list"}


def _type_uses_map(spec: ExpectationSpec, frame: Frame) -> bool:
    """GE runs the type expectations row by row only on object columns; otherwise on the dtype."""
    dtype = frame.column(spec.kwargs["column"]).dtype
    if dtype.type.__name__ != "object_":
        return False
    if spec.type == "expect_column_values_to_be_of_type":
        return spec.kwargs["type_"] not in ("object", "object_", "O", None)
    return spec.kwargs["type_list"] is not None


def _unexpected_mask(spec: ExpectationSpec, frame: Frame, safe: bool = False) -> tuple[pd.Series, np.ndarray]:
    """(the series the condition ran on, boolean 'unexpected' mask over it) for a column map expectation."""
    col = spec.kwargs["column"]
    series = frame.column(col) if spec.type in _NULL_TYPES else frame.nonnull(col)
    meets = CONDITIONS[spec.type](series, spec.kwargs, safe)
    unexpected = ~meets
    return series, np.asarray(unexpected, dtype=bool)


# --------------------------------------------------------------------------------------------------
# Result assembly (GE's ``_format_map_output`` and friends).


def _mostly_success(considered: int, unexpected: int, mostly: float) -> bool:
    return (float(considered) - float(unexpected)) / float(considered) >= mostly


def _index_entries(labels: list[Any], values: list[Any], domain: list[str], frame: Frame) -> list[Any]:
    """GE's unexpected index list: labels (unnamed index), or ``{column: value, index_name: label}``."""
    if not frame._named_index:
        return labels
    name = frame.df.index.name
    if len(domain) == 1:
        return [{domain[0]: v, name: lab} for lab, v in zip(labels, values, strict=False)]
    return [{**dict(zip(domain, v, strict=False)), name: lab} for lab, v in zip(labels, values, strict=False)]


def format_map_output(
    rf: dict[str, Any],
    success: bool,
    element_count: int,
    nonnull_count: int | None,
    unexpected_count: int,
    unexpected_list: list[Any] | None,
    unexpected_index_list: list[Any] | None,
    unexpected_index_query: str | None,
) -> dict[str, Any]:
    """Port of GE 1.24 ``_format_map_output`` (without the unexpected-rows / index-column options)."""
    out: dict[str, Any] = {"success": success}
    fmt = rf["result_format"]
    if fmt == "BOOLEAN_ONLY":
        return out
    skip_missing = nonnull_count is None
    missing_count = None if skip_missing else element_count - nonnull_count  # type: ignore[operator]
    missing_percent = unexpected_percent_total = unexpected_percent_nonmissing = None
    if unexpected_count is not None and element_count > 0:
        unexpected_percent_total = unexpected_count / element_count * 100
        if not skip_missing and missing_count is not None:
            missing_percent = missing_count / element_count * 100
            if nonnull_count is not None and nonnull_count > 0:
                unexpected_percent_nonmissing = unexpected_count / nonnull_count * 100
        else:
            unexpected_percent_nonmissing = unexpected_percent_total
    result: dict[str, Any] = {
        "element_count": element_count,
        "unexpected_count": unexpected_count,
        "unexpected_percent": unexpected_percent_nonmissing,
    }
    out["result"] = result
    partial = rf["partial_unexpected_count"]
    if unexpected_list is not None:
        result["partial_unexpected_list"] = unexpected_list[:partial]
    if not skip_missing:
        result["missing_count"] = missing_count
        result["missing_percent"] = missing_percent
        result["unexpected_percent_total"] = unexpected_percent_total
        result["unexpected_percent_nonmissing"] = unexpected_percent_nonmissing
    if fmt == "BASIC":
        return out
    if partial is not None and partial > 0:
        try:
            if unexpected_list is not None:
                items = unexpected_list
                if len(items) and isinstance(items[0], dict):
                    items = [tuple(item.values()) for item in items]
                counts = sorted(Counter(items).most_common(partial), key=lambda x: (-x[1], x[0]))
                result["partial_unexpected_counts"] = [{"value": k, "count": v} for k, v in counts]
        except TypeError:
            pass  # GE drops the counts when values are unhashable or not orderable
        finally:
            if unexpected_index_list is not None:
                result["partial_unexpected_index_list"] = unexpected_index_list[:partial]
    if fmt == "SUMMARY":
        return out
    if unexpected_list is not None:
        result["unexpected_list"] = unexpected_list
    if unexpected_index_list is not None:
        result["unexpected_index_list"] = unexpected_index_list
    if unexpected_index_query is not None and rf.get("return_unexpected_index_query") is not False:
        result["unexpected_index_query"] = unexpected_index_query
    return out


def _evaluate_map(spec: ExpectationSpec, frame: Frame, rf: dict[str, Any]) -> dict[str, Any]:
    col = spec.kwargs["column"]
    if spec.type in _TYPE_TYPES and not _type_uses_map(spec, frame):
        return _evaluate_dtype(spec, frame)
    series, unexpected = _unexpected_mask(spec, frame)
    total = frame.n
    unexpected_count = int(np.count_nonzero(unexpected))
    mostly = spec.kwargs["mostly"]
    if spec.type in _NULL_TYPES:
        nonnull_count = None
        success = True if total == 0 else (total - unexpected_count) / total >= mostly
    else:
        nonnull_count = total - frame.null_count(col)
        success = (
            True
            if total == 0 or nonnull_count == 0
            else _mostly_success(nonnull_count, unexpected_count, mostly)
        )
    if rf["result_format"] == "BOOLEAN_ONLY":
        return {"success": success}
    return _map_details(series, unexpected, [col], rf, frame, success, total, nonnull_count, unexpected_count)


def _map_details(
    domain: Any,
    unexpected: np.ndarray,
    columns: list[str],
    rf: dict[str, Any],
    frame: Frame,
    success: bool,
    total: int,
    nonnull_count: int | None,
    unexpected_count: int,
) -> dict[str, Any]:
    complete = rf["result_format"] == "COMPLETE"
    positions = np.flatnonzero(unexpected)
    limit = MAX_RESULT_RECORDS if complete else min(rf["partial_unexpected_count"], MAX_RESULT_RECORDS)
    if isinstance(domain, pd.DataFrame):
        values: list[Any] = domain.iloc[positions[:limit]].to_dict("records")
    else:
        values = list(domain.iloc[positions[:limit]])
    index_positions = positions if complete else positions[: rf["partial_unexpected_count"]]
    labels = list(domain.index[index_positions])
    if frame._named_index:
        if isinstance(domain, pd.DataFrame):
            idx_values: list[Any] = [tuple(r) for r in domain.iloc[index_positions].itertuples(index=False)]
        else:
            idx_values = list(domain.iloc[index_positions])
        index_list = _index_entries(labels, idx_values, columns, frame)
    else:
        index_list = labels
    query = f"df.filter(items={domain.index[positions].to_list()}, axis=0)" if complete else None
    return format_map_output(rf, success, total, nonnull_count, unexpected_count, values, index_list, query)


def _evaluate_multimap(spec: ExpectationSpec, frame: Frame, rf: dict[str, Any]) -> dict[str, Any]:
    cols = spec.kwargs["column_list"]
    for c in cols:
        frame.column(c)
    sub, unexpected, _kept = _multimap_mask(spec, frame)
    total = frame.n
    filtered = len(sub)
    unexpected_count = int(np.count_nonzero(unexpected))
    if total == 0 or filtered == 0:
        success = True
    else:
        success = _mostly_success(filtered, unexpected_count, spec.kwargs["mostly"])
    if rf["result_format"] == "BOOLEAN_ONLY":
        return {"success": success}
    return _map_details(sub, unexpected, cols, rf, frame, success, total, filtered, unexpected_count)


def _multimap_mask(spec: ExpectationSpec, frame: Frame) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """(the rows GE considers, their 'unexpected' mask, which frame rows were considered).

    Same rows as GE's ``dropna(how=all|any, subset=column_list)``, chosen by position so that a
    frame with a repeated index label still maps back to its rows.
    """
    cols = spec.kwargs["column_list"]
    sub = frame.df[cols]
    how = spec.kwargs["ignore_row_if"]
    if how == "never":
        keep = np.ones(frame.n, dtype=bool)
    else:
        missing = sub.isna().to_numpy()
        keep = ~missing.all(axis=1) if how == "all_values_are_missing" else ~missing.any(axis=1)
        if not keep.all():
            sub = sub[keep]
    return sub, np.asarray(sub.duplicated(keep=False), dtype=bool), keep


# --------------------------------------------------------------------------------------------------
# Aggregates and table-level expectations.


def _decimals_to_float(col: pd.Series) -> pd.Series:
    if col.dtype != object:
        return col  # only object columns can hold decimal.Decimal
    values = col.to_numpy()
    if not any(isinstance(v, decimal.Decimal) for v in values):
        return col
    conv = np.vectorize(lambda d: float(d) if isinstance(d, decimal.Decimal) else d)(values)
    col = col.copy()
    col.update(pd.Series(conv))
    return col


def _agg_value(spec: ExpectationSpec, frame: Frame) -> Any:
    col_name = spec.kwargs["column"]
    col = frame.column(col_name)
    t = spec.type
    if t == "expect_column_mean_to_be_between":
        return _decimals_to_float(col).mean()
    if t == "expect_column_median_to_be_between":
        return col[~col.isnull()].median()
    if t == "expect_column_min_to_be_between":
        return col.min()
    if t == "expect_column_max_to_be_between":
        return col.max()
    if t == "expect_column_sum_to_be_between":
        return _decimals_to_float(col).sum()
    if t == "expect_column_stdev_to_be_between":
        return _decimals_to_float(col).std()
    if t == "expect_column_proportion_of_unique_values_to_be_between":
        total = frame.n
        nulls = frame.null_count(col_name)
        if total > 0 and total != nulls:
            return col.nunique() / (total - nulls)
        return 0
    raise AssertionError(t)  # pragma: no cover


def _metric_between(value: Any, kw: dict[str, Any]) -> dict[str, Any]:
    """Port of GE's ``BatchExpectation._validate_metric_value_between``."""
    if value is None:
        return {"success": False, "result": {"observed_value": value}}
    lo, hi = kw.get("min_value"), kw.get("max_value")
    strict_min, strict_max = kw.get("strict_min"), kw.get("strict_max")
    if not isinstance(value, _dt.datetime) and pd.isnull(value):
        return {"success": False, "result": {"observed_value": None}}
    if isinstance(value, _dt.datetime):
        if isinstance(lo, str):
            lo = _parse_dt(lo)
        if isinstance(hi, str):
            hi = _parse_dt(hi)
    if (isinstance(lo, _dt.datetime) or isinstance(hi, _dt.datetime)) and not isinstance(value, _dt.datetime):
        value = _parse_dt(value)
    if (isinstance(lo, _dt.date) or isinstance(hi, _dt.date)) and not isinstance(value, _dt.date):
        value = _parse_dt(value).date()
    above = True if lo is None else (value > lo if strict_min else value >= lo)
    below = True if hi is None else (value < hi if strict_max else value <= hi)
    return {"success": bool(above and below), "result": {"observed_value": value}}


def _evaluate_dtype(spec: ExpectationSpec, frame: Frame) -> dict[str, Any]:
    """The dtype-level branch of the two type expectations (non-object columns)."""
    dtype = frame.column(spec.kwargs["column"]).dtype
    observed = dtype.type.__name__
    if spec.type == "expect_column_values_to_be_of_type":
        expected = spec.kwargs["type_"]
        success = True if expected is None else dtype.type in _element_types(expected)
        return {"success": success, "result": {"observed_value": observed}}
    type_list = spec.kwargs["type_list"]
    if type_list is None:
        return {"success": True, "result": {"observed_value": observed}}
    comp: list[Any] = []
    for type_ in type_list:
        try:
            comp.append(np.dtype(type_).type)
            comp.append(np.dtype(type_))
        except TypeError:
            pd_type = getattr(pd, type_, None)
            if isinstance(pd_type, type):
                comp.append(pd_type)
                try:
                    if isinstance(pd_type(), pd.api.extensions.ExtensionDtype):
                        comp.append(pd_type())
                except TypeError:
                    pass
            inner = getattr(pd.core.dtypes.dtypes, type_, None)
            if isinstance(inner, type):
                comp.append(inner)
        native = _native_types(type_)
        if native is not None:
            comp.extend(native)
    return {"success": dtype in comp, "result": {"observed_value": observed}}


def _evaluate_table(spec: ExpectationSpec, frame: Frame) -> dict[str, Any]:
    kw = spec.kwargs
    t = spec.type
    if t == "expect_table_row_count_to_be_between":
        return _metric_between(frame.n, kw)
    if t == "expect_column_to_exist":
        idx = kw["column_index"]
        if idx:  # GE tests truthiness: column_index 0 means "anywhere"
            try:
                success = frame.columns[idx] == kw["column"]
            except IndexError:
                success = False
        else:
            success = kw["column"] in frame.columns
        return {"success": success}
    if t == "expect_table_columns_to_match_set":
        expected = set(kw["column_set"]) if kw["column_set"] is not None else set()
        actual = set(frame.columns)
        extra, missing = actual - expected, expected - actual
        observed = sorted(str(c) for c in actual)
        if not extra and not missing:
            return {"success": True, "result": {"observed_value": observed}}
        mismatched: dict[str, Any] = {}
        if extra:
            mismatched["unexpected"] = sorted(str(c) for c in extra)
        if missing:
            mismatched["missing"] = sorted(str(c) for c in missing)
        result = {"observed_value": observed, "details": {"mismatched": mismatched}}
        return {"success": (not missing) and not kw["exact_match"], "result": result}
    if t == "expect_table_columns_to_match_ordered_list":
        expected_list = kw["column_list"]
        actual_list = list(frame.columns)
        if expected_list is None or actual_list == list(expected_list):
            return {"success": True, "result": {"observed_value": actual_list}}
        n = max(len(expected_list), len(actual_list))
        mism = [
            {"Expected Column Position": i, "Expected": k, "Found": v}
            for i, k, v in zip_longest(range(n), list(expected_list), actual_list)
            if k != v
        ]
        return {"success": False, "result": {"observed_value": actual_list, "details": {"mismatched": mism}}}
    raise AssertionError(t)  # pragma: no cover


def evaluate(spec: ExpectationSpec, frame: Frame, rf: dict[str, Any]) -> dict[str, Any]:
    """Evaluate one expectation; return ``{"success", "result", "exception_info"}`` like a GE EVR."""
    try:
        if spec.family == MAP:
            raw = _evaluate_map(spec, frame, rf)
        elif spec.family == MULTIMAP:
            raw = _evaluate_multimap(spec, frame, rf)
        elif spec.family == AGGREGATE:
            raw = _metric_between(_agg_value(spec, frame), spec.kwargs)
        elif spec.family == TABLE:
            raw = _evaluate_table(spec, frame)
        else:  # pragma: no cover
            raise AssertionError(spec.family)
    except Exception as exc:
        return {
            "success": False,
            "result": {},
            "exception_info": {
                "raised_exception": True,
                "exception_message": str(exc),
                "exception_traceback": traceback.format_exc(),
            },
        }
    result = raw.get("result") or {}
    if rf["result_format"] == "BOOLEAN_ONLY":
        result = {}
    return {
        "success": bool(raw["success"]),
        "result": result,
        "exception_info": {"raised_exception": False, "exception_traceback": None, "exception_message": None},
    }


# --------------------------------------------------------------------------------------------------
# Row-level failures for ``split``.


def row_failures(spec: ExpectationSpec, frame: Frame) -> np.ndarray:
    """Boolean mask over the frame's rows: True where the row fails this row-level expectation.

    A missing column, a column of the wrong dtype (type expectations on non-object columns) or a
    condition that cannot be evaluated fails every row it covers: nothing is loaded unchecked.
    """
    n = frame.n
    if spec.family == MULTIMAP:
        try:
            _sub, dup, kept = _multimap_mask(spec, frame)
        except KeyError:
            return np.ones(n, dtype=bool)
        multi = np.zeros(n, dtype=bool)
        multi[np.flatnonzero(kept)[dup]] = True
        return multi
    col = spec.kwargs["column"]
    if col not in frame._colset:
        return np.ones(n, dtype=bool)
    if spec.type in _TYPE_TYPES and not _type_uses_map(spec, frame):
        ok = _evaluate_dtype(spec, frame)["success"]
        return np.zeros(n, dtype=bool) if ok else np.ones(n, dtype=bool)
    bad: np.ndarray | None
    try:
        bad = _unexpected_mask(spec, frame, safe=True)[1]
    except Exception:
        bad = None
    if spec.type in _NULL_TYPES:
        return bad if bad is not None else np.ones(n, dtype=bool)
    nulls = frame.isnull(col)
    full = np.zeros(n, dtype=bool)
    full[~nulls] = True if bad is None else bad
    return full


def to_jsonable(data: Any) -> Any:
    """GE's ``convert_to_json_serializable`` for the values a validation result can hold."""
    if isinstance(data, float) and np.isnan(data):
        return None
    if isinstance(data, str | int | float | bool):
        return data
    if isinstance(data, dict):
        return {str(k): to_jsonable(v) for k, v in data.items()}
    if isinstance(data, list | tuple | set):
        return [to_jsonable(v) for v in data]
    if isinstance(data, np.ndarray | pd.Index):
        return [to_jsonable(x) for x in data.tolist()]
    if isinstance(data, np.int64):
        return int(data)
    if isinstance(data, np.float64):
        return float(data)
    if isinstance(data, _dt.datetime | _dt.date | _dt.time):
        return data.isoformat()
    if isinstance(data, np.datetime64):
        return np.datetime_as_string(data)
    if isinstance(data, bytes):
        return str(data)
    if np.issubdtype(type(data), np.bool_):
        return bool(data)
    if np.issubdtype(type(data), np.integer):
        return int(data)
    if np.issubdtype(type(data), np.floating):
        import sys

        return float(round(data, sys.float_info.dig))
    if data is None:
        return None
    try:
        if pd.isna(data):
            return None
    except (TypeError, ValueError):
        pass
    if isinstance(data, decimal.Decimal):
        return float(data)
    return str(data)
