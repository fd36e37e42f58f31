"""From an alarm to the failing records and their cause.

:func:`from_alarm` answers, for one alarm over a time window: which metric of which service it
watches (the alarms JSON terraform ships), the datapoints that breached (replayed from the EMF
documents), the invocations behind them (each EMF document names its ``aws_request_id``), the
correlation ids of the work inside those invocations, the failing records (quarantine documents
those invocations logged by key or wrote under their correlation ids, DLQ messages they failed)
and the cause in words (exception type and message, quarantine reasons, throttle source).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from diagnostics.alarms import AlarmSpec, Evaluation, culprits, evaluate, find_alarm
from diagnostics.analysis import (
    AnomalySummary,
    DLQRow,
    FailureGroup,
    Invocation,
    QuarantineSummary,
    ThrottleEvent,
    anomalies,
    dlq_summary,
    failures,
    invocations,
    level_of,
    quarantine_summary,
    throttles,
)
from diagnostics.model import DLQMessage, QuarantineDoc, Window, from_ms


@dataclass
class BreachInvocation:
    """An invocation whose EMF values made a breaching datapoint."""

    request_id: str
    time: datetime
    value: float  # its contribution: the sum (counts) or the largest value (levels)
    function_name: str | None
    service: str | None
    correlation_id: str | None  # the invocation's own id (from its EMF document)
    invocation: Invocation | None  # reconstructed from its log lines, when the logs have them

    @property
    def outcome(self) -> str:
        return self.invocation.outcome if self.invocation else "no log lines"


@dataclass
class DLQMatch:
    """A DLQ message tied to the alarm's invocations, and how."""

    row: DLQRow
    matched_by: str  # "failed in these invocations" | "same correlation id"


@dataclass
class AlarmTriage:
    """Everything :func:`from_alarm` found, ready to print or render."""

    evaluation: Evaluation
    invocations: list[BreachInvocation]
    correlation_ids: list[str]
    quarantine: list[QuarantineDoc]
    quarantine_summary: QuarantineSummary
    dlq: list[DLQMatch]
    failures: list[FailureGroup]
    throttles: list[ThrottleEvent]
    anomalies: AnomalySummary
    causes: list[str] = field(default_factory=list)

    @property
    def alarm(self) -> AlarmSpec:
        return self.evaluation.alarm

    @property
    def breaching(self) -> list[Any]:
        return self.evaluation.breaching

    @property
    def fired(self) -> bool:
        return self.evaluation.fired

    @property
    def record_keys(self) -> list[str]:
        return [d.key for d in self.quarantine]


def _is_count(spec: AlarmSpec) -> bool:
    return bool(spec.queries) or (spec.statistic in ("Sum", "SampleCount"))


#: Which kind of cause to list first for an alarm on each metric.
_FIRST = {
    "RecordsQuarantined": "quarantine",
    "Throttles": "throttles",
    "TasksFailed": "failures",
    "ErrorRate": "failures",
    "Errors": "failures",
    "BatchItemFailures": "dlq",
    "InputAnomalies": "anomalies",
}


def _causes(t: AlarmTriage) -> list[str]:
    sections: dict[str, list[str]] = {
        k: [] for k in ("quarantine", "failures", "throttles", "dlq", "anomalies")
    }
    q = t.quarantine_summary
    if q.records:
        reasons = ", ".join(f"{r} ({n})" for r, n in q.reasons.most_common(4))
        fields = ", ".join(f"{f} ({n})" for f, n in q.fields.most_common(4))
        sections["quarantine"].append(
            f"{q.records} record(s) quarantined in {q.documents} document(s); top reasons: {reasons}"
            + (f"; fields: {fields}" if fields else "")
        )
    for g in t.failures[:3]:
        etype = f"{g.error_type}: " if g.error_type != "-" else ""
        sections["failures"].append(f"{g.count}x {g.what} [{g.service}]: {etype}{g.example}")
    by_source = Counter((e.source, e.code, e.retry_after_s) for e in t.throttles)
    for (source, code, retry), n in by_source.items():
        retry_text = f", retry after {retry:g}s" if retry is not None else ""
        sections["throttles"].append(
            f"throttled by {source} ({code or 'no code'}{retry_text}) {n} time(s): "
            "the batch stopped and its unfinished messages went back to the queue"
        )
    for m in t.dlq:
        if m.matched_by.startswith("failed"):
            last = f"; last error {m.row.last_error}" if m.row.last_error else ""
            sections["dlq"].append(f"in the DLQ: {m.row.description} (message {m.row.message_id}{last})")
    if t.anomalies.by_check:
        sections["anomalies"].append(
            "input anomalies: " + ", ".join(f"{c} ({n})" for c, n in t.anomalies.by_check.most_common())
        )
    first = _FIRST.get(t.alarm.metric)
    order = ([first] if first else []) + [k for k in sections if k != first]
    out = [line for k in order for line in sections[k]]
    if not out and t.invocations:
        top = max(t.invocations, key=lambda i: i.value)
        out.append(
            f"no failing records or errors in these invocations' logs; the largest {t.alarm.metric} "
            f"was {top.value:g} in {top.function_name or '?'} request {top.request_id}"
        )
    return out


def from_alarm(
    *,
    alarm_name: str,
    alarms: list[AlarmSpec],
    logs: list[dict[str, Any]],
    emf: list[dict[str, Any]],
    quarantine: Sequence[QuarantineDoc] = (),
    dlq: Sequence[DLQMessage] = (),
    window: Window | None = None,
) -> AlarmTriage:
    """Trace ``alarm_name`` (e.g. ``ingest-worker-RecordsQuarantined-dev``) to records and causes.

    Raises :class:`~diagnostics.alarms.UnknownAlarmError` (naming close matches) for a name no
    alarms file defines. When nothing breached in the window the triage is empty but for the
    evaluation, which still shows every datapoint.
    """
    spec = find_alarm(alarms, alarm_name)
    evaluation = evaluate(spec, emf, window)
    by_rid: dict[str, list[Any]] = {}
    for dp in evaluation.breaching:
        for s in culprits(spec, dp):
            rid = str(s.doc.get("aws_request_id") or f"unknown@{s.t_ms}")
            by_rid.setdefault(rid, []).append(s)
    index = invocations(logs)
    count = _is_count(spec)
    breach_invs = []
    for rid, ss in by_rid.items():
        doc = ss[0].doc
        breach_invs.append(
            BreachInvocation(
                request_id=rid,
                time=from_ms(min(s.t_ms for s in ss)),
                value=sum(s.value for s in ss) if count else max(s.value for s in ss),
                function_name=doc.get("function_name"),
                service=doc.get("service"),
                correlation_id=doc.get("correlation_id"),
                invocation=index.get(rid),
            )
        )
    breach_invs.sort(key=lambda b: b.time)
    invs = [b.invocation for b in breach_invs if b.invocation is not None]
    lines = [x for inv in invs for x in inv.lines]

    # ids of the work that went wrong, the most warning/error lines first
    problems: Counter[str] = Counter(
        str(x["correlation_id"])
        for inv in invs
        for x in inv.lines
        if x.get("correlation_id") in inv.problem_correlation_ids and level_of(x) >= 30
    )
    cids: list[str] = [c for c, _ in problems.most_common()]
    if not cids:
        for inv in invs:
            cids += [c for c in inv.record_correlation_ids if c not in cids]
    if not cids:
        cids = [b.correlation_id for b in breach_invs if b.correlation_id and b.correlation_id not in cids]
    keys = {k for inv in invs for k in inv.keys}
    mids = {m for inv in invs for m in inv.failed_message_ids}

    matched = [
        d
        for d in quarantine
        if d.key in keys or (d.correlation_id in cids and any(inv.contains(d.quarantined_at) for inv in invs))
    ]
    dlq_rows = []
    for row in dlq_summary(dlq, logs).rows:
        if row.message_id in mids:
            dlq_rows.append(DLQMatch(row, "failed in these invocations"))
        elif row.correlation_id and row.correlation_id in cids:
            dlq_rows.append(DLQMatch(row, "same correlation id"))
    rids = {b.request_id for b in breach_invs}
    triage = AlarmTriage(
        evaluation=evaluation,
        invocations=breach_invs,
        correlation_ids=cids,
        quarantine=sorted(matched, key=lambda d: d.key),
        quarantine_summary=quarantine_summary(matched),
        dlq=dlq_rows,
        failures=failures(lines),
        throttles=throttles(lines),
        anomalies=anomalies(lines, [d for d in emf if d.get("aws_request_id") in rids]),
    )
    triage.causes = _causes(triage)
    return triage
