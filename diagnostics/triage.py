"""From an alarm to the failing records and their cause.

:func:`from_alarm` answers, for one alarm over a time window, asking the sources only for what
each step needs:

1. which metric of which service it watches (the alarms JSON terraform ships);
2. its datapoints and state (CloudWatch ``GetMetricData`` and the alarm's history, or a replay
   of the EMF documents of local files), and the periods that breached;
3. the EMF documents of those periods carrying the metric: each names its ``aws_request_id``,
   so the invocations behind the breach (largest contribution first, at most
   ``max_invocations``);
4. the lines of those invocations only (one query per request id, over the invocation's own
   time span): correlation ids of the work that went wrong, quarantine keys, failed SQS
   message ids;
5. the quarantine documents they name or wrote under those ids while they ran, and the DLQ
   messages they failed; the cause in words (exception, quarantine reasons, throttle source).

A source not given is said to be not read, with what it would have shown, never taken as empty.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from diagnostics.alarms import (
    REPLAYED,
    AlarmSpec,
    Datapoint,
    Evaluation,
    Sample,
    metric_queries,
    pick_culprits,
)
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
from diagnostics.model import COMMAND, DLQMessage, QuarantineDoc, Window, from_ms
from diagnostics.queries import Clause, Selection, is_emf
from observe import catalogue
from observe.catalogue import LOG_FIELDS

if TYPE_CHECKING:
    from diagnostics.core import Diagnostics


@dataclass
class BreachInvocation:
    """An invocation whose EMF values made a breaching datapoint."""

    request_id: str
    time: datetime
    value: float  # its contribution: the sum (counts) or the largest value (levels)
    function_name: str | None
    service: str | None
    correlation_id: str | None  # the invocation's own id (from its EMF document)
    invocation: Invocation | None  # rebuilt from its log lines, when they were read
    duration_ms: float | None = None

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
    """Everything :func:`from_alarm` found, ready to print or render.

    ``quarantine`` / ``dlq`` are empty lists when the source was read and held nothing, and
    ``quarantine_read`` / ``dlq_read`` say whether it was; ``logged_keys`` are the quarantine
    keys the invocations' lines name (known even when the quarantine was not read).
    """

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
    headline: str = ""
    quarantine_read: bool = True
    dlq_read: bool = True
    logs_read: bool = True
    logged_keys: list[str] = field(default_factory=list)
    invocations_left_out: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def alarm(self) -> AlarmSpec:
        return self.evaluation.alarm

    @property
    def breaching(self) -> list[Datapoint]:
        return self.evaluation.breaching

    @property
    def fired(self) -> bool:
        return self.evaluation.fired

    @property
    def record_keys(self) -> list[str]:
        return [d.key for d in self.quarantine]

    @property
    def next_command(self) -> str | None:
        """What to run next: a trace of the first failing id (or the alarm's runbook)."""
        if self.correlation_ids:
            return f"{COMMAND} trace {self.correlation_ids[0]} --level warning"
        return None


# --- what the cause is called -------------------------------------------------------------------------

#: Words in a metric's name or catalogue description that say which kind of evidence explains it,
#: tried in this order (so "reported back as failed" is the DLQ before "failed" is failures).
_LEADS = (
    ("throttles", ("throttl",)),
    ("quarantine", ("quarantin",)),
    ("anomalies", ("anomal", "expectation")),
    ("dlq", ("batchitemfailure", "reported back as failed")),
    ("failures", ("error", "fail", "raised")),
)


def lead_kind(metric: str) -> str | None:
    """Which evidence explains an alarm on ``metric`` best (from its name and catalogue description)."""
    text = metric.lower()
    with contextlib.suppress(KeyError):
        text += " " + catalogue.get(metric).description.lower()
    return next((kind for kind, words in _LEADS if any(w in text for w in words)), None)


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}" + ("" if n == 1 else "s")


def _causes(t: AlarmTriage) -> tuple[str, list[str]]:
    """(one-sentence headline, every cause found), the evidence that explains the metric first."""
    sections: dict[str, list[str]] = {
        k: [] for k in ("quarantine", "failures", "throttles", "dlq", "anomalies")
    }
    heads: dict[str, str] = {}
    q = t.quarantine_summary
    if q.records:
        reasons = ", ".join(f"{r} ({n})" for r, n in q.reasons.most_common(4))
        fields = ", ".join(f"{f} ({n})" for f, n in q.fields.most_common(4))
        sections["quarantine"].append(
            f"{q.records} record(s) quarantined in {q.documents} document(s); top reasons: {reasons}"
            + (f"; fields: {fields}" if fields else "")
        )
        top, n = q.reasons.most_common(1)[0]
        heads["quarantine"] = (
            f"{_plural(q.records, 'record')} quarantined in {_plural(q.documents, 'document')}, "
            f"mostly for {top} ({n})."
        )
    elif t.logged_keys and not t.quarantine_read:
        sections["quarantine"].append(
            f"the invocations' lines name {_plural(len(t.logged_keys), 'quarantine key')} "
            f"({', '.join(t.logged_keys[:3])}{'...' if len(t.logged_keys) > 3 else ''}); "
            "the quarantine was not read: pass --bucket or --quarantine-dir for the records and reasons"
        )
        heads["quarantine"] = (
            f"The invocations quarantined records under {_plural(len(t.logged_keys), 'key')} "
            "(quarantine not read: pass --bucket or --quarantine-dir for why)."
        )
    for g in t.failures[:3]:
        etype = f"{g.error_type}: " if g.error_type != "-" else ""
        sections["failures"].append(f"{g.count}x {g.what} [{g.service}]: {etype}{g.example}")
    if t.failures:
        g = t.failures[0]
        etype = f"{g.error_type}: " if g.error_type != "-" else ""
        heads["failures"] = f"{g.count}x {etype}{g.example or g.what} in {g.service}."
    by_source = Counter((e.source, e.code, e.retry_after_s) for e in t.throttles)
    for (source, code, retry), n in by_source.items():
        retry_text = f", retry after {retry:g} s" if retry is not None else ""
        sections["throttles"].append(
            f"throttled by {source} ({code or 'no code'}{retry_text}) {n} time(s): "
            "the batch stopped and its unfinished messages went back to the queue"
        )
        heads.setdefault(
            "throttles", f"Throttled by {source} ({code or 'no code'}{retry_text}) {_plural(n, 'time')}."
        )
    for m in t.dlq:
        if m.matched_by.startswith("failed"):
            last = f"; last error {m.row.last_error}" if m.row.last_error else ""
            sections["dlq"].append(f"in the DLQ: {m.row.description} (message {m.row.message_id}{last})")
            heads.setdefault("dlq", f"{m.row.description} gave up and sits in the DLQ{last}.")
    if t.anomalies.by_check:
        checks = ", ".join(f"{c} ({n})" for c, n in t.anomalies.by_check.most_common())
        sections["anomalies"].append("input anomalies: " + checks)
        heads["anomalies"] = f"Input anomalies: {checks}."
    first = lead_kind(t.alarm.metric)
    order = ([first] if first else []) + [k for k in sections if k != first]
    out = [text for k in order for text in sections[k]]
    headline = next((heads[k] for k in order if k in heads), "")
    if not out and t.invocations:
        biggest = max(t.invocations, key=lambda i: i.value)
        plain = (
            f"no failing records or errors in these invocations' logs; the largest {t.alarm.metric} "
            f"was {biggest.value:g} in {biggest.function_name or '?'} request {biggest.request_id}"
        )
        out.append(plain)
        headline = plain[0].upper() + plain[1:] + "."
    return headline, out


# --- the steps ------------------------------------------------------------------------------------------


def _breach_samples(diag: Diagnostics, spec: AlarmSpec, ev: Evaluation) -> dict[int, list[Sample]]:
    """The primary metric's values in each breaching period: from the replay, or from CloudWatch Logs
    (the EMF documents carrying the metric in those periods, one read)."""
    bad = ev.breaching
    if not bad:
        return {}
    if ev.source.startswith(REPLAYED) or not diag.has_logs:
        return {int(d.start.timestamp() * 1000): d.samples for d in bad}
    from diagnostics.alarms import Replay

    period_ms = spec.period * 1000
    metric = metric_queries(spec)[0][1]
    clauses = tuple(
        Clause(metric=metric, window=Window(d.start, from_ms(int(d.start.timestamp() * 1000) + period_ms)))
        for d in bad
    )
    replay = Replay([spec], Window())
    for doc in diag.read(Selection(diag.window, clauses)):
        replay.add(doc)
    got = replay.evaluation(spec)
    return {int(d.start.timestamp() * 1000): d.samples for d in got.datapoints if d.samples}


def _invocation_ranges(invs: Sequence[Invocation], slack_s: float = 2.0) -> list[tuple[datetime, datetime]]:
    from datetime import timedelta

    out = []
    for inv in invs:
        if inv.start is not None:
            out.append(
                (inv.start - timedelta(seconds=slack_s), (inv.end or inv.start) + timedelta(seconds=slack_s))
            )
    return out


def from_alarm(diag: Diagnostics, spec: AlarmSpec) -> AlarmTriage:
    """Trace the (resolved) alarm ``spec`` to its records and causes, over ``diag``'s window.

    When nothing breached in the window the triage is empty but for the evaluation, which still
    shows every datapoint.
    """
    from diagnostics.core import invocation_window

    with diag.progress.step(f"alarm {spec.name}: datapoints"):
        ev = diag.evaluate(spec)
    notes: list[str] = []
    by_rid: dict[str, list[Sample]] = {}
    with diag.progress.step("alarm: the invocations behind the breach"):
        per_period = _breach_samples(diag, spec, ev)
    for ss in per_period.values():
        for s in pick_culprits(spec, ss, limit=10_000):
            rid = str(s.doc.get(LOG_FIELDS.request_id) or f"unknown@{s.t_ms}")
            by_rid.setdefault(rid, []).append(s)
    count = bool(spec.queries) or (spec.statistic in ("Sum", "SampleCount"))
    ranked = sorted(
        by_rid.items(),
        key=lambda kv: -(sum(s.value for s in kv[1]) if count else max(s.value for s in kv[1])),
    )
    kept, left_out = ranked[: diag.max_invocations], ranked[diag.max_invocations :]
    if left_out:
        notes.append(
            f"{len(left_out)} more invocation(s) contributed; the {diag.max_invocations} largest were read "
            "(--max-invocations)"
        )

    # the lines of those invocations, and nothing else
    index: dict[str, Invocation] = {}
    lines: list[dict[str, Any]] = []
    emf_of_invs: list[dict[str, Any]] = []
    readable = [(rid, ss) for rid, ss in kept if not rid.startswith("unknown@")]
    if diag.has_logs and readable:
        clauses = tuple(
            Clause(
                field=LOG_FIELDS.request_id,
                values=frozenset([rid]),
                window=invocation_window(from_ms(max(s.t_ms for s in ss)), ss[0].doc.get("Duration")),
            )
            for rid, ss in readable
        )
        with diag.progress.step(f"alarm: lines of {len(readable)} invocation(s)", unit="lines"):
            for doc in diag.read(Selection(diag.window, clauses)):
                (emf_of_invs if is_emf(doc) else lines).append(doc)
        index = invocations(lines)
    breach_invs = []
    for rid, ss in kept:
        doc = ss[0].doc
        breach_invs.append(
            BreachInvocation(
                request_id=rid,
                time=from_ms(min(s.t_ms for s in ss)),
                value=sum(s.value for s in ss) if count else max(s.value for s in ss),
                function_name=doc.get(LOG_FIELDS.function_name),
                service=doc.get(LOG_FIELDS.service),
                correlation_id=doc.get(LOG_FIELDS.correlation_id),
                invocation=index.get(rid),
                duration_ms=doc.get("Duration"),
            )
        )
    breach_invs.sort(key=lambda b: b.time)
    invs = [b.invocation for b in breach_invs if b.invocation is not None]

    # ids of the work that went wrong, the most warning/error lines first (each list computed once)
    problems: Counter[str] = Counter()
    for inv in invs:
        wanted = set(inv.problem_correlation_ids)
        problems.update(
            str(x[LOG_FIELDS.correlation_id])
            for x in inv.lines
            if x.get(LOG_FIELDS.correlation_id) in wanted and level_of(x) >= 30
        )
    cids: list[str] = [c for c, _ in problems.most_common()]
    if not cids:
        for inv in invs:
            cids += [c for c in inv.record_correlation_ids if c not in cids]
    if not cids:
        cids = list(dict.fromkeys(b.correlation_id for b in breach_invs if b.correlation_id))
    keys = list(dict.fromkeys(k for inv in invs for k in inv.keys))
    mids = {m for inv in invs for m in inv.failed_message_ids}

    ranges = _invocation_ranges(invs)
    got = diag.quarantine_docs(keys=keys, ranges=ranges, whole_window=False) if (keys or ranges) else []
    quarantine_read = diag.quarantine is not None
    cid_set = set(cids)
    matched = [
        d
        for d in (got or [])
        if d.key in keys
        or (d.correlation_id in cid_set and any(inv.contains(d.quarantined_at) for inv in invs))
    ]
    messages: list[DLQMessage] | None = diag.dlq_messages()
    dlq_rows: list[DLQMatch] = []
    for row in dlq_summary(messages or [], lines if diag.has_logs else None).rows:
        if row.message_id in mids:
            dlq_rows.append(DLQMatch(row, "failed in these invocations"))
        elif row.correlation_id and row.correlation_id in cid_set:
            dlq_rows.append(DLQMatch(row, "same correlation id"))
    triage = AlarmTriage(
        evaluation=ev,
        invocations=breach_invs,
        correlation_ids=cids,
        quarantine=sorted(matched, key=lambda d: d.key),
        quarantine_summary=quarantine_summary(matched),
        dlq=dlq_rows,
        failures=failures(lines),
        throttles=throttles(lines),
        anomalies=anomalies(lines, emf_of_invs),
        quarantine_read=quarantine_read,
        dlq_read=messages is not None,
        logs_read=diag.has_logs,
        logged_keys=keys,
        invocations_left_out=len(left_out),
        notes=notes + ev.notes,
    )
    triage.headline, triage.causes = _causes(triage)
    return triage
