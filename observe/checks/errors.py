"""Exceptions raised by ``observe.checks``.

Two families:

* load-time errors (:class:`SuiteError` and subclasses): the suite file itself is wrong. They name
  the file, the expectation (index, id, type) and the field, and say how to fix it, so a bad suite
  fails the deploy, not the night's data.
* action errors (:class:`InputAnomalyError` and subclasses): raised by the drift detector when a
  configured action asks the worker to quarantine the batch or to fail the task. The worker catches
  them by type; each carries the anomalies that caused it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from observe.checks.drift import DriftReport


class SuiteError(ValueError):
    """A suite cannot be loaded: bad JSON, a missing or malformed field, a bad kwarg value."""

    def __init__(
        self,
        message: str,
        *,
        source: str = "<dict>",
        index: int | None = None,
        expectation_type: str | None = None,
        expectation_id: str | None = None,
        field: str | None = None,
    ) -> None:
        self.source = source
        self.index = index
        self.expectation_type = expectation_type
        self.expectation_id = expectation_id
        self.field = field
        where = [f"suite {source}"]
        if index is not None:
            where.append(f"expectations[{index}]")
        if expectation_type:
            where.append(expectation_type)
        if expectation_id:
            where.append(f"id={expectation_id}")
        if field:
            where.append(f"field {field!r}")
        super().__init__(f"{', '.join(where)}: {message}")


class UnsupportedExpectationError(SuiteError):
    """The suite uses an expectation type (or feature) this evaluator does not implement.

    Raised at load time so that an unsupported check can never pass silently.
    """


class InputAnomalyError(Exception):
    """Base for the actions the drift detector takes by raising: the worker catches these."""

    action: str = ""

    def __init__(self, report: DriftReport) -> None:
        self.report = report
        self.anomalies = list(report.anomalies)
        checks = sorted({a.check for a in self.anomalies if a.action == self.action})
        super().__init__(
            f"input anomalies in pipeline={report.pipeline} source={report.source}: "
            f"{', '.join(checks) or 'none'} -> {self.action}"
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary (for a quarantine manifest or a task failure record)."""
        return self.report.to_dict()


class BatchQuarantined(InputAnomalyError):
    """An anomaly whose action is ``quarantine_batch``: quarantine the whole batch, load none of it."""

    action = "quarantine_batch"


class TaskFailed(InputAnomalyError):
    """An anomaly whose action is ``fail_task``: fail the task so the message is retried / goes to the DLQ."""

    action = "fail_task"
