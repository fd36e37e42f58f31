"""Input-anomaly checks: Great Expectations suites evaluated with plain pandas, plus drift detection.

``import observe.checks`` is cheap: names are resolved on first use, and pandas is imported only
when a suite validates or splits a DataFrame. great_expectations and scipy are never imported.

    from observe.checks import load_suite, DriftDetector, DynamoBaselineStore

    SUITE = load_suite("suites/orders.json")           # at module load: a bad suite fails the deploy
    passing, failing = SUITE.split(df)                 # failing has a _failed_expectations column
    result = SUITE.validate(df)                        # GE's validation result JSON shape
    DriftDetector("ingest", "orders", store=DynamoBaselineStore("baselines")).observe(df, result)

See docs/checks.md.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from observe.checks.baselines import BaselineStore, DynamoBaselineStore, InMemoryBaselineStore
    from observe.checks.drift import Anomaly, DriftDetector, DriftReport
    from observe.checks.errors import (
        BatchQuarantined,
        InputAnomalyError,
        SuiteError,
        TaskFailed,
        UnsupportedExpectationError,
    )
    from observe.checks.profile import profile_suite, save_suite
    from observe.checks.report import report_validation
    from observe.checks.suite import FAILED_COLUMN, Suite, load_suite

_LAZY = {
    "load_suite": "observe.checks.suite",
    "Suite": "observe.checks.suite",
    "FAILED_COLUMN": "observe.checks.suite",
    "SuiteError": "observe.checks.errors",
    "UnsupportedExpectationError": "observe.checks.errors",
    "InputAnomalyError": "observe.checks.errors",
    "BatchQuarantined": "observe.checks.errors",
    "TaskFailed": "observe.checks.errors",
    "DriftDetector": "observe.checks.drift",
    "DriftReport": "observe.checks.drift",
    "Anomaly": "observe.checks.drift",
    "BaselineStore": "observe.checks.baselines",
    "InMemoryBaselineStore": "observe.checks.baselines",
    "DynamoBaselineStore": "observe.checks.baselines",
    "profile_suite": "observe.checks.profile",
    "save_suite": "observe.checks.profile",
    "report_validation": "observe.checks.report",
}

__all__ = [
    "FAILED_COLUMN",
    "Anomaly",
    "BaselineStore",
    "BatchQuarantined",
    "DriftDetector",
    "DriftReport",
    "DynamoBaselineStore",
    "InMemoryBaselineStore",
    "InputAnomalyError",
    "Suite",
    "SuiteError",
    "TaskFailed",
    "UnsupportedExpectationError",
    "load_suite",
    "profile_suite",
    "report_validation",
    "save_suite",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'observe.checks' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
