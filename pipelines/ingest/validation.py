"""Row-level validation behind one small interface.

A validator takes the batch as a DataFrame and answers, for each failing row (by index), the
reasons it fails. The pipeline's rules are a Great Expectations 1.x ExpectationSuite JSON
document (``suites/records.json``, or ``SUITE_PATH``), evaluated row by row by ``observe.checks``
(:class:`SuiteValidator`): no great_expectations import at run time, and a bad suite fails the
cold start naming the file, the expectation and the field. Another rule engine plugs in by
implementing :class:`RowValidator`.
"""

from __future__ import annotations

from collections.abc import Hashable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import pandas as pd

Failures = dict[Hashable, list[str]]


class RowValidator(Protocol):
    """Validates a batch row by row."""

    name: str

    def failures(self, df: pd.DataFrame) -> Failures:
        """Reasons per failing row index; rows not in the answer pass."""
        ...


class SuiteValidator:
    """Uses ``observe.checks``' GE-compatible evaluator: ``suite.split(df)`` -> passing, failing."""

    name = "observe.checks"

    def __init__(self, suite: Any):
        self.suite = suite

    def failures(self, df: pd.DataFrame) -> Failures:
        _passing, failing = self.suite.split(df)
        out: Failures = {}
        if len(failing):
            # each cell: the labels ("type:column") of the expectations the row failed
            for idx, failed in failing["_failed_expectations"].items():
                out[idx] = [str(label) for label in failed]
        return out


def make_validator(suite_path: str | Path) -> RowValidator:
    """The validator for the suite at ``suite_path`` (raises ``observe.checks.SuiteError`` if bad)."""
    from observe.checks import load_suite

    return SuiteValidator(load_suite(str(suite_path)))
