"""One object for a triage session: load the evidence once, then ask it questions.

    from diagnostics import Diagnostics

    diag = Diagnostics.load(logs="out/demo/ingest.jsonl", quarantine_dir="out/demo/s3",
                            alarms_dir="terraform/generated")
    t = diag.from_alarm("ingest-worker-RecordsQuarantined-dev")
    diag.trace(t.correlation_ids[0])

The CLI, the HTML report and the notebooks all go through this class; the analyses themselves
are pure functions in :mod:`diagnostics.analysis`, :mod:`diagnostics.alarms` and
:mod:`diagnostics.triage`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from diagnostics import analysis
from diagnostics.alarms import AlarmSpec, Evaluation, evaluate_all, load_alarms
from diagnostics.model import DLQMessage, QuarantineDoc, SourceError, Window
from diagnostics.sources import (
    CloudWatchLogSource,
    DirQuarantineSource,
    FileDLQSource,
    FileLogSource,
    LogSource,
    S3QuarantineSource,
    SQSDLQSource,
)
from diagnostics.triage import AlarmTriage, from_alarm

if TYPE_CHECKING:
    import pandas as pd

DEFAULT_ALARMS_DIR = Path("terraform/generated")


@dataclass
class Evidence:
    """Everything read for one session."""

    logs: list[dict[str, Any]]
    emf: list[dict[str, Any]]
    quarantine: list[QuarantineDoc] = field(default_factory=list)
    dlq: list[DLQMessage] = field(default_factory=list)
    alarms: list[AlarmSpec] = field(default_factory=list)
    window: Window = field(default_factory=Window)
    sources: dict[str, str] = field(default_factory=dict)  # what was read from where
    skipped_lines: int = 0  # lines that held no JSON object (runtime START/END/REPORT ...)


class Diagnostics:
    """A triage session over one :class:`Evidence`."""

    def __init__(self, evidence: Evidence):
        self.evidence = evidence
        self._invocations: dict[str, analysis.Invocation] | None = None

    @classmethod
    def load(
        cls,
        *,
        logs: str | Path | Sequence[str | Path] | None = None,
        log_groups: Sequence[str] | None = None,
        window: Window | None = None,
        bucket: str | None = None,
        quarantine_dir: str | Path | None = None,
        dlq_url: str | None = None,
        dlq_file: str | Path | None = None,
        alarms_dir: str | Path | None = None,
        region: str | None = None,
        log_source: LogSource | None = None,
        allow_no_logs: bool = False,
    ) -> Diagnostics:
        """Read the sources given: log lines (files or log groups), quarantine, DLQ, alarm specs.

        ``alarms_dir`` defaults to ``terraform/generated`` when that exists. Without a log source
        (``allow_no_logs``: quarantine or DLQ questions only) the lines are empty. Raises
        :class:`~diagnostics.model.SourceError` naming the source that could not be read.
        """
        window = window or Window()
        sources: list[LogSource] = []
        if log_source is not None:
            sources.append(log_source)
        if logs is not None:
            paths = [logs] if isinstance(logs, str | Path) else list(logs)
            sources += [FileLogSource(p) for p in paths]
        if log_groups:
            sources.append(CloudWatchLogSource(log_groups, region=region))
        if not sources and not allow_no_logs:
            raise SourceError("no log source: give --logs PATH or --log-group NAME")
        docs = [d for s in sources for d in s.read(window)]
        log_lines, emf = analysis.split_docs(docs)
        described = {"logs": "; ".join(s.description for s in sources) or "no log source"}
        quarantine: list[QuarantineDoc] = []
        if bucket:
            q = S3QuarantineSource(bucket, region=region)
            quarantine += q.read()
            described["quarantine"] = q.description
        if quarantine_dir:
            qd = DirQuarantineSource(quarantine_dir)
            quarantine += qd.read()
            described["quarantine"] = "; ".join(filter(None, [described.get("quarantine"), qd.description]))
        dlq: list[DLQMessage] = []
        if dlq_url:
            dq = SQSDLQSource(dlq_url)
            dlq += dq.read()
            described["dlq"] = dq.description
        if dlq_file:
            df = FileDLQSource(dlq_file)
            dlq += df.read()
            described["dlq"] = "; ".join(filter(None, [described.get("dlq"), df.description]))
        alarms: list[AlarmSpec] = []
        if alarms_dir is None and DEFAULT_ALARMS_DIR.is_dir():
            alarms_dir = DEFAULT_ALARMS_DIR
        if alarms_dir is not None:
            alarms = load_alarms(alarms_dir)
            described["alarms"] = str(alarms_dir)
        return cls(
            Evidence(
                logs=log_lines,
                emf=emf,
                quarantine=quarantine,
                dlq=dlq,
                alarms=alarms,
                window=window,
                sources=described,
                skipped_lines=sum(s.skipped for s in sources),
            )
        )

    # --- questions ----------------------------------------------------------------------------
    def describe(self) -> str:
        """What was read, in one short paragraph."""
        e = self.evidence
        parts = [
            f"{len(e.logs)} log lines and {len(e.emf)} EMF documents ({e.window}) "
            f"from {e.sources.get('logs')}",
        ]
        if e.skipped_lines:
            parts.append(f"{e.skipped_lines} non-JSON lines skipped")
        if "quarantine" in e.sources:
            parts.append(f"{len(e.quarantine)} quarantine documents from {e.sources['quarantine']}")
        if "dlq" in e.sources:
            parts.append(f"{len(e.dlq)} DLQ messages from {e.sources['dlq']}")
        if "alarms" in e.sources:
            parts.append(f"{len(e.alarms)} alarm specs from {e.sources['alarms']}")
        return "; ".join(parts)

    def invocations(self) -> dict[str, analysis.Invocation]:
        """Invocations reconstructed from the lines, by request id."""
        if self._invocations is None:
            self._invocations = analysis.invocations(self.evidence.logs)
        return self._invocations

    def trace(self, correlation_id: str) -> analysis.Trace:
        """Every line of ``correlation_id`` across services, in time order."""
        return analysis.trace(self.evidence.logs, correlation_id, self.evidence.emf)

    def failures(self) -> list[analysis.FailureGroup]:
        """Failed invocations and records, grouped, most frequent first."""
        return analysis.failures(self.evidence.logs)

    def throttles(self) -> list[analysis.ThrottleEvent]:
        """Every throttle met, with source, retry-after and when."""
        return analysis.throttles(self.evidence.logs)

    def metrics_frame(self) -> pd.DataFrame:
        """The EMF documents as a DataFrame (one row per value)."""
        return analysis.metrics_frame(self.evidence.emf)

    def quarantine_docs(self) -> list[QuarantineDoc]:
        """Quarantine documents written inside the window."""
        w = self.evidence.window
        return [d for d in self.evidence.quarantine if w.contains(d.quarantined_at)]

    def quarantine_summary(self) -> analysis.QuarantineSummary:
        """Reasons, fields and masked examples of the quarantine documents in the window."""
        return analysis.quarantine_summary(self.quarantine_docs())

    def dlq_summary(self) -> analysis.DLQSummary:
        """The DLQ messages, each with its last logged failure."""
        return analysis.dlq_summary(self.evidence.dlq, self.evidence.logs)

    def anomalies(self) -> analysis.AnomalySummary:
        """Input anomalies and failed expectations."""
        return analysis.anomalies(self.evidence.logs, self.evidence.emf)

    def alarm_states(self, window: Window | None = None) -> list[Evaluation]:
        """Every alarm (per environment seen in the data) replayed over the window; firing first."""
        evs = evaluate_all(self.evidence.alarms, self.evidence.emf, window or self.evidence.window)
        return sorted(evs, key=lambda e: (not e.fired, e.state != "OK", e.alarm.name))

    def from_alarm(self, alarm_name: str, window: Window | None = None) -> AlarmTriage:
        """From ``alarm_name`` to the failing records and the cause (see :mod:`diagnostics.triage`)."""
        if not self.evidence.alarms:
            raise SourceError("no alarm specs loaded: give --alarms-dir (terraform/generated)")
        return from_alarm(
            alarm_name=alarm_name,
            alarms=self.evidence.alarms,
            logs=self.evidence.logs,
            emf=self.evidence.emf,
            quarantine=self.evidence.quarantine,
            dlq=self.evidence.dlq,
            window=window or self.evidence.window,
        )
