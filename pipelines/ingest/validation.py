"""Row-level validation behind one small interface.

A validator takes the batch as a DataFrame and answers, for each failing row (by index), the
reasons it fails. The pipeline's rules are a Great Expectations 1.x ExpectationSuite JSON
document (``SUITE_PATH``), evaluated row by row by ``observe.checks`` (:class:`SuiteValidator`):
no great_expectations import at run time, and a bad suite fails the cold start naming the file,
the expectation and the field. Without ``SUITE_PATH`` the suite is :func:`default_suite`: only
what the configuration says every record must have, its key and its version (``KEY_FIELD``,
``VERSION_FIELD``), so no team's records are held to another team's schema. Another rule engine
plugs in by implementing :class:`RowValidator`.
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


def default_suite(key_field: str, version_field: str) -> dict[str, Any]:
    """The suite used without ``SUITE_PATH``: the key and the version must be present, nothing else."""
    return {
        "name": "ingest_default",
        "id": None,
        "expectations": [
            {
                "type": "expect_column_values_to_not_be_null",
                "kwargs": {"column": key_field},
                "meta": {"why": "the key of the DynamoDB item (KEY_FIELD)"},
                "severity": "critical",
            },
            {
                "type": "expect_column_values_to_not_be_null",
                "kwargs": {"column": version_field},
                "meta": {"why": "recency of the record (VERSION_FIELD)"},
                "severity": "critical",
            },
        ],
        "meta": {},
        "notes": "Only what every record needs; set SUITE_PATH to a suite of your own domain rules.",
    }


def make_validator(
    suite_path: str | Path | None, *, key_field: str = "id", version_field: str = "version"
) -> RowValidator:
    """The validator for the suite at ``suite_path``, or for :func:`default_suite` when it is empty.

    Raises ``observe.checks.SuiteError`` naming the file, expectation and field of a bad suite.
    """
    from observe.checks import load_suite

    if not suite_path:
        return SuiteValidator(load_suite(default_suite(key_field, version_field)))
    return SuiteValidator(load_suite(str(suite_path)))
