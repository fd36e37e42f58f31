"""Author a suite from a sample: profile a DataFrame, get a GE 1.x suite, save it as GE JSON.

The profile is a starting point for a person to edit, not a contract by itself: it writes down
what the sample shows (columns and their order, nulls, uniqueness, ranges, small value sets,
string lengths, dtypes) with a little slack on the row count. Each expectation's ``meta`` says it
was profiled and from how many rows, so a reviewer can tell generated rules from chosen ones.
The JSON loads in Great Expectations 1.x (``ExpectationSuite(**json.load(f))``) and in
:func:`observe.checks.load_suite`.
"""

from __future__ import annotations

import math
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

from observe.checks._spec import parse_suite
from observe.checks.suite import Suite

if TYPE_CHECKING:
    import pandas as pd


def _exp(etype: str, rows: int, **kwargs: Any) -> dict[str, Any]:
    return {
        "type": etype,
        "kwargs": kwargs,
        "meta": {"profiled": True, "sample_rows": rows},
        "id": str(uuid.uuid4()),
        "severity": "critical",
    }


def _number(value: Any) -> float | int:
    as_float = float(value)
    return int(value) if as_float.is_integer() and abs(as_float) < 2**53 else as_float


def profile_suite(
    df: pd.DataFrame,
    name: str,
    *,
    max_set_size: int = 20,
    row_count_slack: float = 0.5,
    null_slack: float = 0.02,
) -> Suite:
    """Build a suite describing ``df``.

    Args:
        df: the sample batch.
        name: the suite name.
        max_set_size: columns of strings / objects with at most this many distinct values get
            ``expect_column_values_to_be_in_set``.
        row_count_slack: row count bounds are ``rows * (1 - slack)`` .. ``rows * (1 + 2 * slack)``
            (more room above: batches tend to grow).
        null_slack: columns with some nulls get ``not_be_null`` with ``mostly`` lowered by this much.
    """
    import pandas as pd

    rows = len(df)
    exps: list[dict[str, Any]] = [
        _exp("expect_table_columns_to_match_ordered_list", rows, column_list=[str(c) for c in df.columns]),
        _exp(
            "expect_table_row_count_to_be_between",
            rows,
            min_value=max(0, math.floor(rows * (1 - row_count_slack))),
            max_value=math.ceil(rows * (1 + 2 * row_count_slack)) if rows else None,
        ),
    ]
    for col_name in df.columns:
        col = str(col_name)
        s = df[col_name]
        nonnull = s.dropna()
        null_rate = 1 - len(nonnull) / rows if rows else 0.0
        if rows and null_rate == 0:
            exps.append(_exp("expect_column_values_to_not_be_null", rows, column=col))
        elif rows and null_rate < 1:
            mostly = max(0.0, math.floor((1 - null_rate - null_slack) * 100) / 100)
            exps.append(_exp("expect_column_values_to_not_be_null", rows, column=col, mostly=mostly))
        if nonnull.empty:
            continue
        dtype = s.dtype
        if pd.api.types.is_bool_dtype(dtype):
            exps.append(_exp("expect_column_values_to_be_of_type", rows, column=col, type_="bool"))
            continue
        if pd.api.types.is_numeric_dtype(dtype):
            lo, hi = _number(nonnull.min()), _number(nonnull.max())
            exps.append(
                _exp("expect_column_values_to_be_between", rows, column=col, min_value=lo, max_value=hi)
            )
            if str(dtype) in ("int64", "float64"):
                exps.append(_exp("expect_column_values_to_be_of_type", rows, column=col, type_=str(dtype)))
            if nonnull.is_unique and len(nonnull) > 1 and pd.api.types.is_integer_dtype(dtype):
                exps.append(_exp("expect_column_values_to_be_unique", rows, column=col))
            continue
        if pd.api.types.is_datetime64_any_dtype(dtype):
            continue  # ranges of timestamps go stale at once; left to the author
        values = nonnull.tolist()
        if not all(isinstance(v, str) for v in values):
            continue  # mixed objects: nothing safe to infer
        distinct = nonnull.nunique()
        if nonnull.is_unique and len(nonnull) > 1:
            exps.append(_exp("expect_column_values_to_be_unique", rows, column=col))
        elif distinct <= max_set_size:
            exps.append(
                _exp("expect_column_values_to_be_in_set", rows, column=col, value_set=sorted(set(values)))
            )
        lengths = nonnull.str.len()
        exps.append(
            _exp(
                "expect_column_value_lengths_to_be_between",
                rows,
                column=col,
                min_value=int(lengths.min()),
                max_value=int(lengths.max()),
            )
        )
        if str(dtype) == "str":
            exps.append(_exp("expect_column_values_to_be_of_type", rows, column=col, type_="str"))
    suite = {
        "name": name,
        "id": str(uuid.uuid4()),
        "expectations": exps,
        "meta": {"great_expectations_version": "1.24.1", "profiled_by": "observe.checks.profile_suite"},
        "notes": f"Profiled from a sample of {rows} rows; review before use.",
    }
    return Suite(parse_suite(suite, source=f"<profile {name}>"))


def save_suite(suite: Suite, path: str | Path) -> Path:
    """Write ``suite`` as GE 1.x JSON at ``path`` (parents created); return the path."""
    return suite.save(path)
