"""Readable terminal output for the CLI: short headings, aligned tables, masked values.

Every value that came from a log line, a quarantine document or a DLQ message passes through
``observe.redact`` before it is printed.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from diagnostics.alarms import Evaluation
from diagnostics.analysis import (
    AnomalySummary,
    DLQSummary,
    FailureGroup,
    QuarantineSummary,
    ThrottleEvent,
    Trace,
    level_of,
    shown_field,
)
from diagnostics.model import iso
from diagnostics.triage import AlarmTriage
from observe.redact import redact_text

LEVELS = {"debug": 10, "info": 20, "warning": 30, "error": 40, "critical": 50}

#: Fields every line has; a trace prints the others after the message.
LINE_FIELDS = {
    "timestamp", "level", "message", "logger", "service", "pipeline", "environment", "function_name",
    "function_version", "cold_start", "aws_request_id", "correlation_id", "exception", "trace_id", "span_id",
    "@log",
}  # fmt: skip


def clip(text: Any, width: int) -> str:
    s = "" if text is None else str(text)
    s = s.replace("\n", " ")
    return s if len(s) <= width else s[: max(1, width - 1)] + "…"


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]], *, max_width: int = 60) -> str:
    """A plain aligned table; cells are clipped at ``max_width`` characters."""
    body = [[clip(c, max_width) for c in r] for r in rows]
    if not body:
        return "  (none)"
    widths = [max(len(h), *(len(r[i]) for r in body)) for i, h in enumerate(headers)]
    fmt = "  " + "  ".join(f"{{:<{w}}}" for w in widths)
    lines = [fmt.format(*headers).rstrip(), fmt.format(*("-" * w for w in widths))]
    lines += [fmt.format(*r).rstrip() for r in body]
    return "\n".join(lines)


def heading(text: str) -> str:
    return f"\n{text}\n{'=' * len(text)}" if not text.startswith("  ") else text


def section(text: str) -> str:
    return f"\n{text}\n{'-' * len(text)}"


def _num(v: float | None) -> str:
    return "-" if v is None else f"{v:g}"


def render_alarm_states(evaluations: Sequence[Evaluation]) -> str:
    rows = [
        (
            e.state,
            e.alarm.name,
            e.alarm.severity,
            len(e.breaching),
            _num(e.peak),
            e.alarm.rule,
        )
        for e in evaluations
    ]
    return (
        section("Alarms replayed over the window")
        + "\n"
        + table(["state", "alarm", "severity", "breaching", "max", "rule"], rows, max_width=80)
    )


def render_triage(t: AlarmTriage, *, max_rows: int = 20) -> str:
    """The alarm, its breaching datapoints, the invocations, ids, failing records, DLQ and the cause."""
    a, ev = t.alarm, t.evaluation
    out = [heading(f"Alarm {a.name} ({a.severity})")]
    dims = ", ".join(f"{k}={v}" for k, v in a.dimensions) or f"service={a.service}, pipeline={a.pipeline}"
    out.append(f"  watches   {a.metric} of {a.service} ({dims})")
    out.append(f"  rule      {a.rule}")
    out.append(f"  window    {ev.window}")
    out.append(f"  state     {ev.summary()}")
    out.append(f"  defined   {a.file}")
    out.append(f"  source    {ev.source}")
    out += [f"  note      {n}" for n in t.notes]

    out.append(section(f"Breaching datapoints ({len(t.breaching)})"))
    out.append(
        table(
            ["period start", "value", "threshold", "in alarm"],
            [
                (iso(d.start), _num(d.value), f"{a.symbol} {a.threshold:g}", "yes" if d.in_alarm else "no")
                for d in t.breaching
            ],
        )
    )
    if not t.breaching:
        out.append(
            "  Nothing breached in this window: widen it (--since / --start) or check the environment."
        )
        return "\n".join(out)

    out.append(section(f"Invocations behind them ({len(t.invocations)})"))
    rows = []
    for b in t.invocations[:max_rows]:
        inv = b.invocation
        rows.append(
            (
                iso(b.time),
                b.function_name or "-",
                b.request_id,
                _num(b.value),
                b.outcome,
                _num(inv.duration_ms) if inv else "-",
                inv.batch_item_failures if inv and inv.batch_item_failures is not None else "-",
            )
        )
    out.append(table(["time", "function", "request id", a.metric, "outcome", "ms", "batch failures"], rows))
    if len(t.invocations) > max_rows:
        out.append(f"  ... and {len(t.invocations) - max_rows} more")

    out.append(section("Correlation ids"))
    out.append("  " + (", ".join(t.correlation_ids) if t.correlation_ids else "(none in the logs)"))

    q = t.quarantine_summary
    if not t.quarantine_read:
        out.append(section("Failing records: quarantine not read"))
        out.append("  quarantine not read: pass --bucket or --quarantine-dir")
        if t.logged_keys:
            out.append(f"  the invocations' lines name {len(t.logged_keys)} quarantine key(s):")
            out += [f"    {k}" for k in t.logged_keys[:max_rows]]
    else:
        out.append(section(f"Failing records: {q.records} quarantined in {q.documents} document(s)"))
    out.append(
        table(
            ["key", "kind", "records", "correlation id", "top reasons"],
            [
                (d["key"], d["kind"], d["count"], d["correlation_id"] or "-", "; ".join(d["reasons"]))
                for d in q.by_key[:max_rows]
            ],
            max_width=70,
        )
    )
    if q.reasons:
        out.append("\n  reasons: " + ", ".join(f"{r} ({n})" for r, n in q.reasons.most_common(8)))
    if q.fields:
        out.append("  fields:  " + ", ".join(f"{f} ({n})" for f, n in q.fields.most_common(8)))
    for ex in q.examples[:3]:
        out.append(f"  example ({ex['key']}): {clip(json.dumps(ex['record'], default=str), 140)}")
        out.append(f"           reasons: {'; '.join(ex['reasons'])}")

    out.append(section(f"DLQ messages ({len(t.dlq)})" if t.dlq_read else "DLQ messages: DLQ not read"))
    out.append(
        table(
            ["message id", "correlation id", "what", "receives", "failures", "last error", "matched by"],
            [
                (
                    m.row.message_id,
                    m.row.correlation_id or "-",
                    m.row.description,
                    m.row.receive_count or "-",
                    "-" if m.row.failures is None else m.row.failures,
                    m.row.last_error or "-",
                    m.matched_by,
                )
                for m in t.dlq
            ],
            max_width=60,
        )
    )
    if t.throttles:
        out.append(section(f"Throttles ({len(t.throttles)})"))
        out.append(render_throttle_rows(t.throttles))
    if t.failures:
        out.append(section("Errors in these invocations"))
        out.append(render_failure_rows(t.failures))

    out.append(section("Cause"))
    out += [f"  - {c}" for c in t.causes] or ["  (nothing found in the logs of these invocations)"]
    if t.correlation_ids:
        out.append(f"\n  next: observe-diag trace {t.correlation_ids[0]} ...")
    return "\n".join(out)


def render_failure_rows(groups: Sequence[FailureGroup], max_rows: int = 30) -> str:
    rows = [
        (
            g.count,
            g.service,
            g.kind,
            g.error_type,
            g.example or g.what,
            iso(g.first_seen),
            iso(g.last_seen),
            ", ".join(g.correlation_ids[:3]),
        )
        for g in groups[:max_rows]
    ]
    return table(
        ["count", "service", "kind", "type", "message", "first seen", "last seen", "correlation ids"],
        rows,
        max_width=70,
    )


def render_failures(groups: Sequence[FailureGroup]) -> str:
    total = sum(g.count for g in groups)
    return section(f"Failures: {total} in {len(groups)} group(s)") + "\n" + render_failure_rows(groups)


def render_throttle_rows(events: Sequence[ThrottleEvent]) -> str:
    rows = [
        (
            iso(e.time),
            e.service or "-",
            e.source,
            e.code or "-",
            _num(e.retry_after_s),
            e.messages_returned if e.messages_returned is not None else "-",
            e.message_id or "-",
            e.request_id or "-",
        )
        for e in events
    ]
    return table(
        ["time", "service", "source", "code", "retry after s", "returned", "message id", "request id"], rows
    )


def render_throttles(events: Sequence[ThrottleEvent]) -> str:
    return section(f"Throttles ({len(events)})") + "\n" + render_throttle_rows(events)


def render_trace(tr: Trace, *, max_lines: int = 300, min_level: str = "debug") -> str:
    """The id's lines in time order, each with its extra fields; exceptions by type and message.

    ``min_level`` (``info``, ``warning``, ``error``) leaves quieter lines out of the listing.
    """
    out = [heading(f"Trace {tr.correlation_id}")]
    out.append(
        f"  {len(tr.lines)} line(s) across {', '.join(tr.services) or 'no service'}; "
        f"{len(tr.errors)} error(s)"
    )
    if tr.invocations:
        out.append(section(f"Invocations ({len(tr.invocations)})"))
        out.append(
            table(
                ["start", "function", "request id", "outcome", "ms", "batch failures"],
                [
                    (
                        iso(i.start),
                        i.function_name or "-",
                        i.request_id,
                        i.outcome,
                        _num(i.duration_ms),
                        i.batch_item_failures if i.batch_item_failures is not None else "-",
                    )
                    for i in tr.invocations
                ],
            )
        )
    floor = LEVELS.get(min_level.lower(), 10)
    lines = [x for x in tr.lines if level_of(x) >= floor]
    out.append(section("Lines" if floor <= 10 else f"Lines at {min_level} or above ({len(lines)})"))
    for x in lines[:max_lines]:
        extra = {k: v for k, v in x.items() if k not in LINE_FIELDS}
        fields = " ".join(
            f"{k}={clip(json.dumps(shown_field(k, v), default=str), 80)}" for k, v in extra.items()
        )
        out.append(
            f"  {x.get('timestamp', '-')}  {clip(x.get('service') or '-', 18):<18}  "
            f"{x.get('level', '-')!s:<7}  "
            f"{redact_text(str(x.get('message', '')))}" + (f"  {fields}" if fields else "")
        )
        exc = x.get("exception")
        if isinstance(exc, dict):
            out.append(f"      {exc.get('type')}: {redact_text(str(exc.get('message')))}")
    if len(lines) > max_lines:
        out.append(f"  ... and {len(lines) - max_lines} more line(s)")
    return "\n".join(out)


def render_quarantine(q: QuarantineSummary, *, max_rows: int = 30) -> str:
    out = [section(f"Quarantine: {q.records} record(s) in {q.documents} document(s)")]
    out.append(table(["reason", "records"], q.reasons.most_common(max_rows), max_width=90))
    if q.fields:
        out.append(section("Per field"))
        out.append(table(["field", "records"], q.fields.most_common(max_rows)))
    out.append(section("Documents"))
    out.append(
        table(
            ["key", "kind", "records", "correlation id", "quarantined at"],
            [
                (d["key"], d["kind"], d["count"], d["correlation_id"] or "-", iso(d["quarantined_at"]))
                for d in q.by_key[:max_rows]
            ],
            max_width=70,
        )
    )
    if q.examples:
        out.append(section("Examples (masked)"))
        for ex in q.examples:
            out.append(f"  {ex['key']}: {clip(json.dumps(ex['record'], default=str), 160)}")
            out.append(f"      reasons: {'; '.join(ex['reasons'])}")
    return "\n".join(out)


def render_dlq(d: DLQSummary) -> str:
    out = [section(f"DLQ: {d.count} message(s)")]
    if d.count:
        out.append(
            f"  oldest {iso(d.oldest)}, newest {iso(d.newest)}; by kind: "
            + ", ".join(f"{k} ({n})" for k, n in d.by_kind.items())
        )
    out.append(
        table(
            ["message id", "correlation id", "what", "sent", "receives", "failures", "last error"],
            [
                (
                    r.message_id,
                    r.correlation_id or "-",
                    r.description,
                    iso(r.sent_at),
                    r.receive_count or "-",
                    "not looked up" if r.failures is None else r.failures,
                    r.last_error or "-",
                )
                for r in d.rows
            ],
            max_width=70,
        )
    )
    return "\n".join(out)


def render_anomalies(a: AnomalySummary) -> str:
    out = [section(f"Input anomalies: {a.total}")]
    out.append(table(["check", "count"], a.by_check.most_common()))
    if a.expectation_failures:
        out.append(section("Failed expectations (records)"))
        out.append(table(["expectation", "count"], a.expectation_failures.most_common(), max_width=80))
    for x in a.lines[:20]:
        extra = {k: v for k, v in x.items() if k not in LINE_FIELDS}
        out.append(
            f"  {x.get('timestamp')}  {x.get('service', '-')}  {x.get('message')}  "
            + clip(json.dumps(extra, default=str), 120)
        )
    return "\n".join(out)


def render_sources(diag: Any, roles: Iterable[str] | None = None) -> str:
    """What was read, what was not (and what that means), and the lines skipped as malformed.

    ``roles`` limits it to the kinds of source the command uses (all when None).
    """
    from diagnostics.sources import SKIP_KINDS

    wanted = set(roles) if roles is not None else None
    out = [section("Sources")]
    for s in diag.sources_read():
        if wanted is not None and s.role not in wanted:
            continue
        if s.given:
            out.append(f"  {s.role}: {s.description}" + (f" ({s.detail})" if s.detail else ""))
        else:
            out.append(f"  {s.description}")
        out += [f"    note: {n}" for n in s.notes]
    for sk in diag.skipped():
        out.append(f"  skipped {sk.where}: {SKIP_KINDS.get(sk.kind, sk.kind)}: {sk.detail}")
    return "\n".join(out)
