"""Drift and anomaly detection across batches, per pipeline and source, against rolling baselines.

One line in a worker::

    report = DriftDetector("ingest", "orders", store=DynamoBaselineStore("baselines")).observe(df, result)

For each batch it profiles the frame (row count, null rate per column, dtypes) and, when given a
suite validation result, the unexpected rate of each column map expectation; compares them with
the last ``window`` accepted batches of the same source; reports every anomaly as an
``InputAnomalies`` metric (dimension ``check``) and one structured warning line (the correlation id
comes from the current context); then applies the configured action.

Checks (the ``check`` dimension, also the keys of ``actions``):

``row_count``        robust z-score against the median and MAD of past row counts
``null_rate``        per column, distance from the median past null rate
``unexpected_rate``  per expectation (``type:column``), distance from the median past unexpected rate
``schema``           new, missing and type-changed columns against the previous accepted batch

Actions: ``warn`` (log + metric, the batch goes on), ``quarantine_batch`` (raise
:class:`BatchQuarantined`) and ``fail_task`` (raise :class:`TaskFailed`); the strongest wins.
Only accepted batches (no quarantine / failure) update the baseline, so a rejected batch cannot
drag the baseline towards itself. Statistical checks wait for ``min_history`` batches; the schema
check runs from the second batch on.
"""

from __future__ import annotations

import datetime as _dt
import math
import statistics
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from observe.checks.baselines import BaselineStore, Profile
from observe.checks.errors import BatchQuarantined, TaskFailed

if TYPE_CHECKING:
    import pandas as pd

CHECKS = ("row_count", "null_rate", "unexpected_rate", "schema")
ACTIONS = ("warn", "quarantine_batch", "fail_task")
_ACTION_RANK = {a: i for i, a in enumerate(ACTIONS)}
MAD_SCALE = 1.4826  # MAD -> standard deviation for normal data


@dataclass
class Anomaly:
    """One finding: which check, on what, the value seen and what the baseline expected."""

    check: str
    action: str
    message: str
    column: str | None = None
    kind: str | None = None
    observed: Any = None
    baseline: Any = None
    deviation: float | None = None
    threshold: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}


@dataclass
class DriftReport:
    """The outcome of one ``observe``: anomalies, the action taken and the batch's profile."""

    pipeline: str
    source: str
    anomalies: list[Anomaly]
    action: str | None
    profile: Profile
    baseline_batches: int
    baseline_updated: bool = False
    skipped: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when nothing anomalous was found."""
        return not self.anomalies

    def to_dict(self) -> dict[str, Any]:
        return {
            "pipeline": self.pipeline,
            "source": self.source,
            "action": self.action,
            "baseline_batches": self.baseline_batches,
            "baseline_updated": self.baseline_updated,
            "anomalies": [a.to_dict() for a in self.anomalies],
            "skipped": self.skipped,
            "rows": self.profile.get("rows"),
        }


def _dtype_family(dtype: Any) -> str:
    """Coarse type of a column: an int column that gained a null (int64 -> float64) is still a number."""
    kind = getattr(dtype, "kind", "O")
    name = str(dtype)
    if kind in "iuf" or name.startswith(("Int", "UInt", "Float")):
        return "number"
    if kind == "b" or name == "boolean":
        return "bool"
    if kind == "M" or name.startswith("datetime64"):
        return "datetime"
    if kind == "m":
        return "timedelta"
    if name in ("str", "string") or name.startswith("string"):
        return "string"
    if name == "category":
        return "category"
    return "object"


def profile_frame(df: pd.DataFrame, suite_result: dict[str, Any] | None = None) -> Profile:
    """The numbers the drift checks compare, for one batch (JSON-ready; no data values)."""
    rows = len(df)
    nulls = df.isna().sum() if rows else None
    columns: dict[str, dict[str, Any]] = {}
    for name in df.columns:
        dtype = df[name].dtype
        null_count = int(nulls[name]) if nulls is not None else 0
        columns[str(name)] = {
            "dtype": str(dtype),
            "family": _dtype_family(dtype),
            "null_rate": (null_count / rows) if rows else None,
            "all_null": rows > 0 and null_count == rows,
        }
    unexpected: dict[str, float] = {}
    for res in (suite_result or {}).get("results", []):
        cfg = res.get("expectation_config", {})
        column = cfg.get("kwargs", {}).get("column")
        pct = (res.get("result") or {}).get("unexpected_percent")
        if column is None or pct is None:
            continue
        unexpected[f"{cfg.get('type')}:{column}"] = pct / 100.0
    return {
        "at": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "rows": rows,
        "columns": columns,
        "unexpected_rate": unexpected,
    }


def _median_mad(values: list[float]) -> tuple[float, float]:
    med = statistics.median(values)
    mad = statistics.median([abs(v - med) for v in values])
    return med, mad


class DriftDetector:
    """Compare each batch of ``pipeline``/``source`` with its rolling baseline and act on anomalies.

    Args:
        pipeline, source: the baseline key (``pipeline#source``) and log/metric context.
        store: a :class:`~observe.checks.baselines.BaselineStore` (DynamoDB in Lambda).
        window: how many past accepted batches form the baseline.
        min_history: batches needed before the statistical checks run.
        actions: per check, ``warn`` | ``quarantine_batch`` | ``fail_task`` (default ``warn``).
        row_count_z: robust z-score above which the row count is anomalous.
        row_count_floor: smallest scale, as a fraction of the median, for sources whose row count
            never varies (MAD 0): ``max(1, floor * median)`` rows.
        rate_tolerance: smallest change of a null / unexpected rate that counts (absolute, 0..1).
        rate_z: robust z-score above which a rate change counts (when larger than the tolerance).
        checks: which checks run (default all).
    """

    def __init__(
        self,
        pipeline: str,
        source: str,
        *,
        store: BaselineStore,
        window: int = 30,
        min_history: int = 5,
        actions: dict[str, str] | None = None,
        row_count_z: float = 3.5,
        row_count_floor: float = 0.05,
        rate_tolerance: float = 0.05,
        rate_z: float = 3.5,
        checks: tuple[str, ...] = CHECKS,
    ) -> None:
        unknown = set(checks) - set(CHECKS)
        if unknown:
            raise ValueError(f"unknown drift checks {sorted(unknown)}; known: {', '.join(CHECKS)}")
        self.actions = {c: "warn" for c in CHECKS}
        for check, action in (actions or {}).items():
            if check not in CHECKS:
                raise ValueError(f"actions: unknown check {check!r}; known: {', '.join(CHECKS)}")
            if action not in ACTIONS:
                raise ValueError(f"actions[{check!r}]: unknown action {action!r}; use {', '.join(ACTIONS)}")
            self.actions[check] = action
        if window < 1 or min_history < 1 or min_history > window:
            raise ValueError("need 1 <= min_history <= window")
        self.pipeline, self.source = pipeline, source
        self.key = f"{pipeline}#{source}"
        self.store = store
        self.window, self.min_history = window, min_history
        self.row_count_z, self.row_count_floor = row_count_z, row_count_floor
        self.rate_tolerance, self.rate_z = rate_tolerance, rate_z
        self.checks = tuple(checks)

    # -- the one call ---------------------------------------------------------------------------

    def observe(self, df: pd.DataFrame, suite_result: dict[str, Any] | None = None) -> DriftReport:
        """Profile ``df``, compare with the baseline, emit, update the baseline, apply the action.

        Returns the :class:`DriftReport` (action ``warn`` or ``None``), or raises
        :class:`BatchQuarantined` / :class:`TaskFailed` carrying it.
        """
        return self.observe_profile(profile_frame(df, suite_result))

    def observe_profile(self, profile: Profile) -> DriftReport:
        """:meth:`observe` for a profile the caller built (e.g. volume from what arrived, columns
        from what was accepted): compare, emit, update the baseline, apply the action."""
        history = self.store.history(self.key)
        report = self.compare(profile, history)
        self._emit(report)
        if report.action in (None, "warn"):
            self.store.append(self.key, profile, keep=self.window)
            report.baseline_updated = True
        if report.action == "fail_task":
            raise TaskFailed(report)
        if report.action == "quarantine_batch":
            raise BatchQuarantined(report)
        return report

    # -- pure comparison (unit-testable without a store) ----------------------------------------

    def compare(self, profile: Profile, history: list[Profile]) -> DriftReport:
        """The anomalies of ``profile`` against ``history`` (oldest first); no side effects."""
        history = history[-self.window :]
        anomalies: list[Anomaly] = []
        skipped: list[str] = []
        enough = len(history) >= self.min_history
        if "row_count" in self.checks:
            if enough:
                anomalies.extend(self._row_count(profile, history))
            else:
                skipped.append("row_count")
        if "null_rate" in self.checks:
            if enough:
                anomalies.extend(self._rates(profile, history, "null_rate"))
            else:
                skipped.append("null_rate")
        if "unexpected_rate" in self.checks:
            if enough:
                anomalies.extend(self._rates(profile, history, "unexpected_rate"))
            else:
                skipped.append("unexpected_rate")
        if "schema" in self.checks:
            if history:
                anomalies.extend(self._schema(profile, history[-1]))
            else:
                skipped.append("schema")
        action = max((a.action for a in anomalies), key=_ACTION_RANK.__getitem__, default=None)
        return DriftReport(
            self.pipeline, self.source, anomalies, action, profile, len(history), skipped=skipped
        )

    def _row_count(self, profile: Profile, history: list[Profile]) -> list[Anomaly]:
        counts = [float(p["rows"]) for p in history]
        med, mad = _median_mad(counts)
        scale = max(MAD_SCALE * mad, 1.0, self.row_count_floor * abs(med))
        rows = profile["rows"]
        z = abs(rows - med) / scale
        if z <= self.row_count_z:
            return []
        direction = "more" if rows > med else "fewer"
        return [
            Anomaly(
                check="row_count",
                action=self.actions["row_count"],
                message=f"{rows} rows, {direction} than the baseline median {med:g} (robust z {z:.1f})",
                observed=rows,
                baseline=med,
                deviation=round(z, 3),
                threshold=self.row_count_z,
            )
        ]

    def _rates(self, profile: Profile, history: list[Profile], check: str) -> list[Anomaly]:
        if check == "null_rate":
            now = {c: v["null_rate"] for c, v in profile["columns"].items() if v["null_rate"] is not None}
            past = [
                {c: v["null_rate"] for c, v in p["columns"].items() if v["null_rate"] is not None}
                for p in history
            ]
        else:
            now = profile["unexpected_rate"]
            past = [p.get("unexpected_rate", {}) for p in history]
        out = []
        for name, rate in now.items():
            values = [p[name] for p in past if name in p]
            if len(values) < self.min_history:
                continue  # a new column / expectation has no baseline yet
            med, mad = _median_mad(values)
            limit = max(self.rate_tolerance, self.rate_z * MAD_SCALE * mad)
            delta = rate - med
            if abs(delta) <= limit or math.isclose(abs(delta), limit):
                continue
            what = "null rate" if check == "null_rate" else "unexpected rate"
            out.append(
                Anomaly(
                    check=check,
                    action=self.actions[check],
                    column=name,
                    message=f"{what} of {name} is {rate:.2%}, baseline median {med:.2%} (limit ±{limit:.2%})",
                    observed=round(rate, 6),
                    baseline=round(med, 6),
                    deviation=round(delta, 6),
                    threshold=round(limit, 6),
                )
            )
        return out

    def _schema(self, profile: Profile, previous: Profile) -> list[Anomaly]:
        now, before = profile["columns"], previous["columns"]
        action = self.actions["schema"]
        out = []
        for name in now.keys() - before.keys():
            out.append(
                Anomaly(
                    "schema",
                    action,
                    f"new column {name} ({now[name]['dtype']})",
                    name,
                    "new_column",
                    observed=now[name]["dtype"],
                )
            )
        for name in before.keys() - now.keys():
            out.append(
                Anomaly(
                    "schema",
                    action,
                    f"column {name} is missing (was {before[name]['dtype']})",
                    name,
                    "missing_column",
                    baseline=before[name]["dtype"],
                )
            )
        for name in now.keys() & before.keys():
            a, b = now[name], before[name]
            if a["family"] != b["family"] and not a["all_null"] and not b["all_null"]:
                out.append(
                    Anomaly(
                        "schema",
                        action,
                        f"column {name} changed type {b['dtype']} -> {a['dtype']}",
                        name,
                        "type_changed",
                        observed=a["dtype"],
                        baseline=b["dtype"],
                    )
                )
        return sorted(out, key=lambda a: (a.kind or "", a.column or ""))

    def _emit(self, report: DriftReport) -> None:
        """One ``InputAnomalies`` metric and one warning line per anomaly (no data values, only stats)."""
        if not report.anomalies:
            return
        from observe import get_logger, metric

        log = get_logger("observe.checks.drift")
        for a in report.anomalies:
            metric("InputAnomalies", 1, check=a.check)
            fields = a.to_dict()
            fields["detail"] = fields.pop("message")
            log.warning(
                "input anomaly",
                source=report.source,
                baseline_key=self.key,
                baseline_batches=report.baseline_batches,
                **fields,
            )
