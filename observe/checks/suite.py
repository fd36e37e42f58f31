"""A Great Expectations suite, compiled for pandas: ``load_suite(path).validate(df)`` / ``.split(df)``.

Loading reads GE 1.x ``ExpectationSuite.to_json_dict()`` JSON and checks every expectation against
the supported table (see ``_spec``); it imports neither great_expectations nor pandas. pandas is
imported on the first ``validate`` / ``split``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from observe.checks._spec import (
    MAP,
    MULTIMAP,
    SEVERITY_RANK,
    ExpectationSpec,
    SuiteSpec,
    parse_suite,
    read_suite_source,
)

if TYPE_CHECKING:
    import pandas as pd

FAILED_COLUMN = "_failed_expectations"
ROW_LEVEL_FAMILIES = (MAP, MULTIMAP)


class Suite:
    """A loaded, checked suite. Cheap to keep in a module global across warm invocations."""

    def __init__(self, spec: SuiteSpec) -> None:
        self.spec = spec
        self.name = spec.name
        self.source = spec.source

    @property
    def expectations(self) -> list[ExpectationSpec]:
        """The expectations, in suite order, with coerced kwargs."""
        return self.spec.expectations

    @property
    def row_level(self) -> list[ExpectationSpec]:
        """Expectations judged row by row (column map and multicolumn map): the ones ``split`` uses."""
        return [e for e in self.spec.expectations if e.family in ROW_LEVEL_FAMILIES]

    def __repr__(self) -> str:
        return f"Suite(name={self.name!r}, expectations={len(self.expectations)}, source={self.source!r})"

    def validate(self, df: pd.DataFrame, result_format: str | dict[str, Any] = "SUMMARY") -> dict[str, Any]:
        """Validate ``df``; return GE's ``ExpectationSuiteValidationResult.to_json_dict()`` shape.

        ``result_format`` is ``BOOLEAN_ONLY``, ``BASIC``, ``SUMMARY`` or ``COMPLETE`` (or GE's dict
        form with ``partial_unexpected_count``). Each result carries its expectation's config, id and
        severity. An expectation that cannot be evaluated (a missing column, values of a type the check
        cannot compare) fails with ``exception_info.raised_exception`` true, as in GE.
        """
        from observe.checks._evaluate import Frame, evaluate, parse_result_format, to_jsonable

        rf = parse_result_format(result_format)
        frame = Frame(df)
        started = time.perf_counter()
        results = []
        for spec in self.spec.expectations:
            evr = evaluate(spec, frame, rf)
            results.append(
                {
                    "success": evr["success"],
                    "expectation_config": spec.to_json_dict(),
                    "result": to_jsonable(evr["result"]),
                    "meta": {},
                    "exception_info": evr["exception_info"],
                }
            )
        evaluated = len(results)
        successful = sum(1 for r in results if r["success"])
        return {
            "success": successful == evaluated,
            "results": results,
            "suite_name": self.name,
            "suite_parameters": {},
            "statistics": {
                "evaluated_expectations": evaluated,
                "successful_expectations": successful,
                "unsuccessful_expectations": evaluated - successful,
                "success_percent": (successful / evaluated * 100) if evaluated else None,
            },
            "meta": {
                "great_expectations_version": self.spec.meta.get("great_expectations_version"),
                "validator": "observe.checks",
                "row_count": frame.n,
                "validation_time_ms": round((time.perf_counter() - started) * 1000, 3),
            },
            "id": None,
        }

    def split(self, df: pd.DataFrame, *, min_severity: str = "info") -> tuple[pd.DataFrame, pd.DataFrame]:
        """Split ``df`` into (rows passing every row-level expectation, failing rows).

        ``failing_df`` keeps the original columns and index plus ``_failed_expectations``: for each row
        the labels (``type:column``) of the expectations it failed, in suite order: the quarantine
        reason. Row-level means column map and compound-columns expectations; ``mostly`` does not
        excuse a failing row (the row still breaks the rule). Only expectations of severity
        ``min_severity`` or above count (``info`` < ``warning`` < ``critical``; default: all).
        A missing column, or a column of the wrong dtype for a type expectation, fails every row.
        """
        import numpy as np

        from observe.checks._evaluate import Frame, row_failures

        if min_severity not in SEVERITY_RANK:
            raise ValueError(f"min_severity must be one of {', '.join(SEVERITY_RANK)}, got {min_severity!r}")
        floor = SEVERITY_RANK[min_severity]
        specs = [e for e in self.row_level if SEVERITY_RANK[e.severity] >= floor]
        frame = Frame(df)
        n = frame.n
        if not specs or n == 0:
            return df, _no_failures(df)
        masks = np.vstack([row_failures(spec, frame) for spec in specs])
        any_fail = masks.any(axis=0)
        if not any_fail.any():
            return df, _no_failures(df)
        labels = [spec.label for spec in specs]
        fail_pos = np.flatnonzero(any_fail)
        sub = masks[:, fail_pos]
        reasons = [[labels[i] for i in np.flatnonzero(sub[:, j])] for j in range(sub.shape[1])]
        passing = df.iloc[np.flatnonzero(~any_fail)]
        failing = df.iloc[fail_pos].copy()
        failing[FAILED_COLUMN] = pd_object_column(reasons, failing.index)
        return passing, failing

    def to_json_dict(self) -> dict[str, Any]:
        """The suite in GE ``ExpectationSuite.to_json_dict()`` form."""
        return self.spec.to_json_dict()

    def save(self, path: str | Path) -> Path:
        """Write the suite as GE JSON (loadable by GE 1.x and by :func:`load_suite`)."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(self.to_json_dict(), indent=2, sort_keys=False) + "\n", encoding="utf-8")
        return target


def pd_object_column(values: list[Any], index: Any) -> Any:
    """An object-dtype Series of python lists (pandas would otherwise try to broadcast them)."""
    import pandas as pd

    return pd.Series(values, index=index, dtype=object)


def _no_failures(df: pd.DataFrame) -> pd.DataFrame:
    failing = df.iloc[0:0].copy()
    failing[FAILED_COLUMN] = pd_object_column([], failing.index)
    return failing


def load_suite(path_or_dict: str | Path | Mapping[str, Any]) -> Suite:
    """Load a GE 1.x suite (a JSON file path or its dict) and check it; see :class:`Suite`.

    Raises :class:`~observe.checks.errors.SuiteError` (bad file or field) or
    :class:`~observe.checks.errors.UnsupportedExpectationError` (a type this evaluator does not
    implement), each naming the file, the expectation and the field. Never imports great_expectations.
    """
    data, source = read_suite_source(path_or_dict)
    return Suite(parse_suite(data, source))
