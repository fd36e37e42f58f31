"""Input-anomaly (drift) checks of the ingest worker: one ``DriftDetector.observe`` per batch.

On when ``BASELINE_TABLE`` is set. For each batch (a fetch task or a push message), after the
suite has split the rows, the worker calls :meth:`BatchDrift.check`:

- the whole batch is validated with the suite (GE ``BASIC`` result) for the unexpected rates;
- the batch is profiled: ``row_count`` is every JSON-object record that arrived; columns, dtypes
  and null rates are those of the *accepted* rows (structural and row-level checks passed, before
  deduplication; dtypes inferred from accepted values only), so one rejected ``"12,50"`` in a
  number column stays the row-level check's business instead of reading as a schema change, and
  a surge of invalid rows is an ``unexpected_rate`` anomaly, not a ``row_count`` one;
- the profile is compared with the baseline of ``ingest#{source}/{partition}`` (``{source}/push``
  for pushes);
- anomalies are logged (``input anomaly``) and counted (``InputAnomalies{check}``) by the detector,
  which then applies ``DRIFT_ACTIONS``: ``warn`` returns, ``quarantine_batch`` raises
  ``BatchQuarantined``, ``fail_task`` raises ``TaskFailed``; the worker acts on them.

A batch without any JSON-object record (an empty page past the end of a source) is not profiled:
it has no columns, so every column would look missing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from observe.checks import BaselineStore, DriftReport
    from pipelines.ingest.config import IngestConfig
    from pipelines.ingest.transform import Prepared

PIPELINE = "ingest"


def baseline_source(source: Any, partition: Any = None, *, push: bool = False) -> str:
    """The detector's ``source`` (baseline key ``ingest#<this>``), mirroring the S3 key prefix."""
    name = str(source or "source")
    if push:
        return f"{name}/push"
    return f"{name}/{partition if partition not in (None, '') else '_'}"


@dataclass
class BatchDrift:
    """What the worker keeps warm for the drift checks: the store, the actions, the suite."""

    store: BaselineStore
    actions: dict[str, str]
    window: int = 30
    min_history: int = 5
    suite: Any = None  # an observe.checks Suite; None: no unexpected-rate check input

    @classmethod
    def from_config(cls, cfg: IngestConfig, *, client: Any, suite: Any) -> BatchDrift:
        """The drift checks for ``cfg`` (``cfg.drift_enabled`` must be true), on ``client``."""
        from observe.checks import DynamoBaselineStore

        return cls(
            store=DynamoBaselineStore(cfg.baseline_table, client=client),
            actions=dict(cfg.drift_actions),
            window=cfg.drift_window,
            min_history=cfg.drift_min_history,
            suite=suite,
        )

    def check(self, prepared: Prepared, source: str) -> DriftReport | None:
        """Profile and compare one batch; None when there was nothing to profile.

        Raises ``BatchQuarantined`` / ``TaskFailed`` (``observe.checks``) when an anomaly's action
        says so, and DynamoDB errors (throttles included) from the baseline store.
        """
        from observe.checks import DriftDetector
        from observe.checks.drift import profile_frame

        if prepared.frame is None or prepared.accepted is None or len(prepared.frame) == 0:
            return None
        suite_result = self.suite.validate(prepared.frame, "BASIC") if self.suite is not None else None
        detector = DriftDetector(
            PIPELINE,
            source,
            store=self.store,
            window=self.window,
            min_history=self.min_history,
            actions=self.actions,
        )
        # The volume is what arrived; the columns and rates are what was accepted (see the module
        # docstring): build that profile, then let the detector do the rest.
        profile = profile_frame(prepared.accepted, suite_result)
        profile["rows"] = len(prepared.frame)
        return detector.observe_profile(profile)
