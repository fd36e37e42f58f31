"""Terminal output for the CLI: the answer first, tables that fit the terminal's width, masked values.

Tables are drawn with rich at the width of the terminal (``COLUMNS``, else 80 when the output
is not a terminal); identifiers fold onto the next line rather than being cut, free text is
shortened with ``…``. Times are clock times in UTC, with the date in the heading. Every value that
came from a log line, a quarantine document or a DLQ message passes through ``observe.redact``.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
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
from diagnostics.lambda_view import InvocationFailure, LambdaView
from diagnostics.model import iso
from diagnostics.queries import LEVELS
from diagnostics.triage import AlarmTriage
from diagnostics.units import clock, fmt, when
from observe.catalogue import LOG_FIELDS
from observe.redact import redact_text

#: Fields every line has; a trace prints the others after the message.
LINE_FIELDS = {
    *(
        getattr(LOG_FIELDS, name)
        for name in ("timestamp", "level", "message", "logger", "service", "pipeline", "environment",
                     "function_name", "request_id", "correlation_id", "exception")
    ),
    "function_version", "cold_start", "trace_id", "span_id",  # observe's context fields
    "@log",  # the log group a CloudWatch line came from
}  # fmt: skip
#: How a state is written in tables (INSUFFICIENT_DATA does not fit a narrow column).
STATE_WORDS = {"INSUFFICIENT_DATA": "NO DATA"}


def clip(text: Any, width: int) -> str:
    s = "" if text is None else str(text)
    s = s.replace("\n", " ")
    return s if len(s) <= width else s[: max(1, width - 1)] + "…"


def width() -> int:
    """The terminal's width; ``COLUMNS`` (or 80) when the output is not a terminal."""
    if sys.stdout.isatty():
        return shutil.get_terminal_size((80, 24)).columns
    try:
        return max(40, int(os.environ.get("COLUMNS", "80")))
    except ValueError:
        return 80


def _render(*parts: Any) -> str:
    """Renderables (text, tables) as plain text at the terminal's width (colour on a terminal)."""
    from rich.console import Console

    tty = sys.stdout.isatty()
    buf = io.StringIO()
    console = Console(
        file=buf,
        width=width(),
        force_terminal=tty,
        no_color=not tty,
        highlight=False,
        emoji=False,
        markup=False,
    )
    for p in parts:
        console.print(p, soft_wrap=isinstance(p, str))
    return buf.getvalue().rstrip("\n")


@dataclass(frozen=True)
class Col:
    """One table column: header, alignment, and what happens when the text is too long.

    Identifiers and short values keep their whole width (an id is for copying); ``wrap`` text
    wraps onto more lines and ``shrink`` text is shortened with an ellipsis when the table is too
    wide for the terminal.
    """

    header: str
    right: bool = False
    ident: bool = False
    wrap: bool = False
    shrink: bool = False
    ratio: int = 0


def table(columns: Sequence[Col], rows: Iterable[Sequence[Any]], *, title: str | None = None) -> Any:
    """A rich table that fits the width: ids and short values whole, free text wrapped or shortened."""
    from rich import box
    from rich.table import Table

    data = [["-" if v is None else str(v) for v in r] for r in rows]
    if not data:
        return "  (none)"
    t = Table(
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
        padding=(0, 1),
        collapse_padding=True,
        title=title,
        title_justify="left",
    )
    for i, c in enumerate(columns):
        longest = max(len(c.header), *(len(r[i]) for r in data))
        t.add_column(
            c.header,
            justify="right" if c.right else "left",
            overflow="fold" if (c.ident or c.wrap) else "ellipsis",
            no_wrap=not c.wrap,
            ratio=c.ratio or None,
            min_width=min(len(c.header), 8) if (c.wrap or c.shrink) else longest,
        )
    for r in data:
        t.add_row(*r)
    return t


def para(prefix: str, text: str, *, indent: int | None = None) -> str:
    """``prefix`` then ``text`` wrapped to the width, continuation lines under the text's start."""
    import textwrap

    hang = " " * (len(prefix) if indent is None else indent)
    return textwrap.fill(
        text, width=max(40, width()), initial_indent=prefix, subsequent_indent=hang, break_on_hyphens=False
    )


def heading(text: str) -> str:
    return f"\n{text}\n{'=' * min(len(text), width())}"


def section(text: str) -> str:
    return f"\n{text}\n{'-' * min(len(text), width())}"


def _state(e: Evaluation) -> str:
    return STATE_WORDS.get(e.state, e.state)


def _since(e: Evaluation) -> str:
    if e.entered_alarm is None:
        return "-"
    rec = e.recovered_at
    return f"{clock(e.entered_alarm, seconds=False)}→{clock(rec, seconds=False) if rec else 'now'}"


def render_alarm_states(evaluations: Sequence[Evaluation]) -> str:
    """Every alarm: state now, when it was in ALARM (from → to), its peak, its threshold and periods."""
    firing = [e for e in evaluations if e.state == "ALARM"]
    fired = [e for e in evaluations if e.fired and e.state != "ALARM"]
    window = evaluations[0].window if evaluations else None
    head = f"Alarms: {len(firing)} in ALARM now, {len(fired)} fired and recovered, {len(evaluations)} in all"
    wide = width() >= 100
    rows = []
    for e in evaluations:
        a = e.alarm
        # at 80 columns the periods (2 of 3) go under the threshold, else beside it
        when = a.condition_text if wide or not a.periods_text else f"{a.threshold_text}\n{a.periods_text}"
        row = [_state(e), a.name, _since(e), fmt(e.peak, a.unit), when]
        rows.append([*row, a.severity] if wide else row)
    cols = [
        Col("state"),
        Col("alarm", ident=True),
        Col("in ALARM"),
        Col("peak", right=True),
        Col("alarm if"),
    ]
    lines = [section(head)]
    if window is not None:
        lines.append(para("  ", f"window {window}; times UTC; percentiles nearest-rank"))
    return "\n".join(lines) + "\n" + _render(table([*cols, Col("severity")] if wide else cols, rows))


def render_triage(t: AlarmTriage, *, max_rows: int = 20, broken: Sequence[str] = ()) -> str:
    """First what is firing, since when, why, which ids and what to run next; then the evidence.

    ``broken``: the EMF documents that failed to parse (:func:`broken_emf`), called out beside the
    datapoints they are missing from.
    """
    a, ev = t.alarm, t.evaluation
    out = [heading(f"{_state(ev)}: {a.name} ({a.severity})")]
    if ev.entered_alarm is not None:
        rec = ev.recovered_at
        out.append(
            para(
                "  ",
                f"in ALARM from {when(ev.entered_alarm)}"
                + (f", recovered {when(rec)}" if rec else ", not recovered"),
            )
        )
    elif t.breaching:
        out.append(
            para("  ", f"{len(t.breaching)} breaching period(s), but the rule did not hold: not fired")
        )
    if t.headline:
        out.append(para("  cause:   ", t.headline))
    if t.correlation_ids:
        more = f" (+{len(t.correlation_ids) - 5} more)" if len(t.correlation_ids) > 5 else ""
        out.append(para("  ids:     ", ", ".join(t.correlation_ids[:5]) + more))
    if t.next_command:
        out.append(para("  next:    ", t.next_command))
    if a.runbook:
        out.append(para("  runbook: ", a.runbook))

    out.append(section("The alarm"))
    dims = ", ".join(f"{k}={v}" for k, v in a.dimensions) or f"service={a.service}, pipeline={a.pipeline}"
    out.append(para("  watches ", f"{a.metric} of {a.service} ({dims})"))
    out.append(para("  rule    ", a.rule))
    out.append(para("  window  ", str(ev.window)))
    out.append(para("  state   ", ev.summary()))
    out.append(para("  from    ", f"{ev.source}; spec in {a.file}"))
    out += [para("  note    ", n) for n in t.notes]

    out.append(section(f"Breaching datapoints ({len(t.breaching)})"))
    out.append(
        _render(
            table(
                [Col("period start (UTC)"), Col(a.metric, right=True), Col("threshold"), Col("rule held")],
                [
                    (iso(d.start), fmt(d.value, a.unit), a.threshold_text, "yes" if d.in_alarm else "no")
                    for d in t.breaching
                ],
            )
        )
    )
    if broken:
        out.append(
            para(
                "  ! ",
                f"{len(broken)} EMF document(s) failed to parse: their values are missing from these "
                "datapoints",
            )
        )
        out += [para("    ", b) for b in broken[:10]]
    if not t.breaching:
        out.append(
            para(
                "  ",
                "Nothing breached in this window: widen it (--since / --start) or check the environment.",
            )
        )
        if broken:
            out.append("  (with the broken EMF documents above, that is not certain)")
        return "\n".join(out)

    functions = sorted({b.function_name or "-" for b in t.invocations})
    out.append(section(f"Invocations behind them ({len(t.invocations)}; {', '.join(functions)})"))
    rows = [
        (
            clock(b.time),
            b.request_id,
            fmt(b.value, a.unit),
            b.outcome,
            fmt(b.invocation.duration_ms if b.invocation else b.duration_ms, "Milliseconds"),
        )
        for b in t.invocations[:max_rows]
    ]
    cols = [
        Col("time"),
        Col("request id", ident=True),
        Col("value", right=True),
        Col("outcome"),
        Col("duration", right=True),
    ]
    out.append(_render(table(cols, rows)))
    left = len(t.invocations) - max_rows + t.invocations_left_out
    if left > 0:
        out.append(f"  ... and {left} more")

    out.append(section("Correlation ids of the failing work"))
    out.append(para("  ", ", ".join(t.correlation_ids) if t.correlation_ids else "(none in the logs)"))

    q = t.quarantine_summary
    if not t.quarantine_read:
        out.append(section("Failing records: quarantine not read"))
        out.append(
            para(
                "  ",
                "quarantine not read: pass --bucket or --quarantine-dir for the records and their reasons",
            )
        )
        if t.logged_keys:
            out.append(f"  the invocations' lines name {len(t.logged_keys)} quarantine key(s):")
            out += [f"    {k}" for k in t.logged_keys[:max_rows]]
    else:
        out.append(section(f"Failing records: {q.records:,} quarantined in {q.documents:,} document(s)"))
        out.append(_documents(q, max_rows, reasons=True))
        if q.reasons:
            out.append(para("  reasons: ", "; ".join(f"{r} ({n:,})" for r, n in q.reasons.most_common(6))))
        if q.fields:
            out.append(para("  fields:  ", ", ".join(f"{f} ({n:,})" for f, n in q.fields.most_common(6))))
        out += _examples(q.examples[:3])

    if not t.dlq_read:
        out.append(section("DLQ: not read"))
        out.append(para("  ", "DLQ not read: pass --dlq-url or --dlq-file for the messages that gave up"))
    else:
        out.append(section(f"DLQ messages tied to these invocations ({len(t.dlq)})"))
        out.append(_dlq_rows([m.row for m in t.dlq], [m.matched_by for m in t.dlq]))
    if t.throttles:
        out.append(section(f"Throttles ({len(t.throttles)})"))
        out.append(render_throttle_rows(t.throttles))
    if t.failures:
        out.append(section("Errors in these invocations"))
        out.append(render_failure_rows(t.failures))

    out.append(section("Cause"))
    out += [para("  - ", c) for c in t.causes] or ["  (nothing found in the logs of these invocations)"]
    return "\n".join(out)


def _documents(q: QuarantineSummary, max_rows: int, *, reasons: bool) -> str:
    """Quarantine documents as blocks: records and key, then (indented) kind, id, time, top reason."""
    if not q.by_key:
        return "  (none)"
    out = []
    for d in q.by_key[:max_rows]:
        out.append(f"  {d['count']:>6,}  {d['key']}")
        bits = [d["kind"], d["correlation_id"] or "-", clock(d["quarantined_at"])]
        if reasons and d["reasons"]:
            bits.append(d["reasons"][0])
        out.append(para("          ", " · ".join(bits)))
    if len(q.by_key) > max_rows:
        out.append(f"  ... and {len(q.by_key) - max_rows} more document(s)")
    return "\n".join(out)


def _examples(examples: Sequence[dict[str, Any]]) -> list[str]:
    out = []
    for ex in examples:
        out.append(f"  example {ex['key']}:")
        out.append(f"    {clip(json.dumps(ex['record'], default=str), max(20, width() - 6))}")
        out.append(para("    reasons: ", "; ".join(ex["reasons"])))
    return out


def _dlq_rows(rows: Sequence[Any], matched: Sequence[str] | None = None) -> str:
    """DLQ messages as blocks: the message id, what it asked for, its receives and last error."""
    if not rows:
        return "  (none)"
    out = []
    for i, r in enumerate(rows):
        fails = "failures not looked up" if r.failures is None else f"{r.failures} failure(s) in the logs"
        out.append(f"  {r.message_id}")
        out.append(
            para(
                "      ",
                f"{r.description}; correlation id {r.correlation_id or '-'}; "
                f"received {r.receive_count or '?'} time(s); {fails}",
            )
        )
        if r.last_error:
            out.append(para("      last error: ", r.last_error))
        if matched is not None:
            out.append(para("      ", matched[i]))
    return "\n".join(out)


def render_failure_rows(groups: Sequence[FailureGroup], max_rows: int = 30) -> str:
    """Failure groups as blocks: count, what, service and when; then the exception; then the ids."""
    if not groups:
        return "  (none)"
    out = []
    for g in groups[:max_rows]:
        first, last = clock(g.first_seen), clock(g.last_seen)
        seen = first if first == last else f"{first}–{last}"
        out.append(para("  ", f"{g.count:,}x {g.what} [{g.service}, {g.kind}] {seen}", indent=6))
        detail = f"{g.error_type}: {g.example}" if g.error_type != "-" else g.example
        if detail:
            out.append(para("      ", detail))
        if g.correlation_ids:
            out.append(para("      ids: ", ", ".join(g.correlation_ids[:5])))
    if len(groups) > max_rows:
        out.append(f"  ... and {len(groups) - max_rows} more group(s)")
    return "\n".join(out)


def render_failures(groups: Sequence[FailureGroup]) -> str:
    total = sum(g.count for g in groups)
    return section(f"Failures: {total:,} in {len(groups)} group(s)") + "\n" + render_failure_rows(groups)


def render_throttle_rows(events: Sequence[ThrottleEvent]) -> str:
    rows = [
        (
            clock(e.time),
            e.source,
            e.code or "-",
            fmt(e.retry_after_s, "Seconds") if e.retry_after_s is not None else "-",
            e.messages_returned if e.messages_returned is not None else "-",
            e.correlation_id or "-",
        )
        for e in events
    ]
    cols = [
        Col("time"),
        Col("source"),
        Col("code"),
        Col("retry after", right=True),
        Col("returned", right=True),
        Col("correlation id", ident=True),
    ]
    services = sorted({e.service or "-" for e in events})
    return (f"  services: {', '.join(services)}\n" if events else "") + _render(table(cols, rows))


def render_throttles(events: Sequence[ThrottleEvent]) -> str:
    return section(f"Throttles ({len(events)})") + "\n" + render_throttle_rows(events)


def _date_of(x: dict[str, Any]) -> str:
    ts = x.get("timestamp")
    return str(ts)[:10] if isinstance(ts, str) else "-"


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
        rows = [
            (
                clock(i.start, millis=True),
                i.request_id,
                i.function_name or "-",
                "-" if i.outcome == "unfinished" else f"{i.outcome} {fmt(i.duration_ms, 'Milliseconds')}",
            )
            for i in tr.invocations
        ]
        cols = [
            Col("start (UTC)"),
            Col("request id", ident=True),
            Col("function", shrink=True),
            Col("outcome"),
        ]
        out.append(_render(table(cols, rows)))
        if any(i.outcome == "unfinished" for i in tr.invocations):
            out.append("  (outcome -: a batch invocation ends under its own id, not this one)")
    floor = LEVELS.get(min_level.lower(), 10)
    lines = [x for x in tr.lines if level_of(x) >= floor]
    out.append(section("Lines" if floor <= 10 else f"Lines at {min_level} or above ({len(lines)})"))
    day = None
    w = width()
    for x in lines[:max_lines]:
        if _date_of(x) != day:
            day = _date_of(x)
            out.append(f"  {day} (UTC)")
        ts = str(x.get("timestamp", "-"))
        stamp = ts[11:23] if len(ts) >= 23 else ts
        head = f"  {stamp}  {clip(x.get('service') or '-', 16):<16} {x.get('level', '-')!s:<7} "
        out.append(para(head, redact_text(str(x.get("message", ""))), indent=6))
        extra = {k: v for k, v in x.items() if k not in LINE_FIELDS}
        if extra:
            fields = " ".join(f"{k}={json.dumps(shown_field(k, v), default=str)}" for k, v in extra.items())
            out.append("      " + clip(fields, max(20, w - 6)))
        exc = x.get("exception")
        if isinstance(exc, dict):
            out.append(
                "      " + clip(f"{exc.get('type')}: {redact_text(str(exc.get('message')))}", max(20, w - 6))
            )
    if len(lines) > max_lines:
        out.append(f"  ... and {len(lines) - max_lines} more line(s) (--max-lines)")
    return "\n".join(out)


def render_quarantine(q: QuarantineSummary, *, max_rows: int = 30) -> str:
    out = [section(f"Quarantine: {q.records:,} record(s) in {q.documents:,} document(s)")]
    out.append(
        _render(
            table(
                [Col("reason", wrap=True, ratio=1), Col("records", right=True)],
                [(r, f"{n:,}") for r, n in q.reasons.most_common(max_rows)],
            )
        )
    )
    if q.fields:
        out.append(section("Per field"))
        out.append(
            _render(
                table(
                    [Col("field"), Col("records", right=True)],
                    [(f, f"{n:,}") for f, n in q.fields.most_common(max_rows)],
                )
            )
        )
    out.append(section("Documents"))
    out.append(_documents(q, max_rows, reasons=False))
    if q.examples:
        out.append(section("Examples (masked)"))
        out += _examples(q.examples)
    return "\n".join(out)


def render_dlq(d: DLQSummary) -> str:
    out = [section(f"DLQ: {d.count} message(s)")]
    if d.count:
        kinds = ", ".join(f"{k} ({n})" for k, n in d.by_kind.items())
        out.append(para("  ", f"oldest {when(d.oldest)}, newest {when(d.newest)}; by kind: {kinds}"))
    out.append(_dlq_rows(d.rows))
    if any(r.failures is None for r in d.rows):
        out.append(para("  ", "failures not looked up: no logs were read (pass --logs or --log-group)"))
    return "\n".join(out)


def render_anomalies(a: AnomalySummary) -> str:
    out = [section(f"Input anomalies: {a.total:,}")]
    out.append(
        _render(
            table(
                [Col("check"), Col("count", right=True)], [(c, f"{n:,}") for c, n in a.by_check.most_common()]
            )
        )
    )
    if a.expectation_failures:
        out.append(section("Failed expectations (records)"))
        out.append(
            _render(
                table(
                    [Col("expectation", wrap=True, ratio=1), Col("count", right=True)],
                    [(c, f"{n:,}") for c, n in a.expectation_failures.most_common()],
                )
            )
        )
    for x in a.lines[:20]:
        extra = {k: v for k, v in x.items() if k not in LINE_FIELDS}
        out.append(f"  {str(x.get('timestamp'))[11:19]}  {x.get('service', '-')}  {x.get('message')}")
        out.append("      " + clip(json.dumps(extra, default=str), max(20, width() - 6)))
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
            out.append(
                para("  ", f"{s.role}: {s.description}" + (f" ({s.detail})" if s.detail else ""), indent=4)
            )
        else:
            out.append(para("  ", s.description, indent=4))
        out += [para("    note: ", n) for n in s.notes]
    for sk in diag.skipped():
        out.append(
            para("  skipped ", f"{sk.where}: {SKIP_KINDS.get(sk.kind, sk.kind)}: {sk.detail}", indent=4)
        )
    return "\n".join(out)


def broken_emf(diag: Any) -> list[str]:
    """One line per EMF document that failed to parse (their values are missing from every alarm)."""
    return [f"{sk.where}: {sk.detail}" for sk in diag.skipped() if sk.kind == "malformed-emf"]


# --- the Lambda platform's view ---------------------------------------------------------------------


def _counts_text(view: LambdaView) -> str:
    return ", ".join(f"{cause} {n:,}" for cause, n in view.counts.items())


def _in_flight_lines(f: InvocationFailure) -> list[str]:
    """One line per record in flight: its id, then its correlation id, kind and time running."""
    out = []
    for r in f.in_flight:
        bits = [f"cid {r['correlation_id']}" if r.get("correlation_id") else None, r.get("batch_kind")]
        if isinstance(r.get("running_ms"), int | float):
            bits.append(f"running {fmt(r['running_ms'], 'Milliseconds')}")
        said = ", ".join(str(b) for b in bits if b)
        out.append(para("        ", f"{r.get('record_id', '?')}" + (f"  {said}" if said else ""), indent=10))
    return out


def _line_text(x: dict[str, Any]) -> str:
    """One of an invocation's last lines: time, level, message and the record it names (masked)."""
    ts = str(x.get(LOG_FIELDS.timestamp, "-"))
    stamp = ts[11:23] if len(ts) >= 23 else ts
    record = next((f" {k}={x[k]}" for k in ("message_id", "sequence_number", "record_id") if x.get(k)), "")
    message = redact_text(str(x.get(LOG_FIELDS.message, "")))
    return f"{stamp} {x.get(LOG_FIELDS.level, '-')!s:<7} {message}{record}"


def render_invocation_failures(view: LambdaView, *, max_rows: int = 20, max_lines: int = 5) -> str:
    """The invocations the platform ended, one block each: cause, function and time; the request id,
    the correlation id and the records in flight (for copying); what the platform said; last lines."""
    out = [section(f"Lambda invocation failures: {view.total:,}")]
    if view.total:
        out.append(para("  ", _counts_text(view)))
    if not view.failures:
        out.append(para("  ", "(none: no timeout, out-of-memory kill, failed init or runtime exit)"))
    shown_ = view.failures[-max_rows:]
    for f in shown_:
        out.append(
            para("  ", f"{clock(f.time, millis=True)}  {f.cause.upper()}  {f.function or '-'}", indent=6)
        )
        out.append(f"      request id:     {f.request_id}")
        out.append(f"      correlation id: {f.correlation_id or '- (no observe line of this request id)'}")
        if f.in_flight:
            source = "the watchdog's line" if f.in_flight_from == "watchdog" else f"its {f.in_flight_from}"
            out.append(f"      in flight ({len(f.in_flight)}, from {source}):")
            out += _in_flight_lines(f)
        else:
            out.append("      in flight:      unknown (no watchdog line, no record named in its lines)")
        out.append(para("      ", f.detail, indent=8))
        for e in f.evidence:
            out.append(para("        · ", e, indent=10))
        if f.last_lines:
            n = len(f.last_lines[-max_lines:])
            more = f" of {f.line_count:,}" if f.line_count > n else ""
            routine = f", {f.routine_lines:,} routine library line(s) left out" if f.routine_lines else ""
            out.append(f"      last {n}{more} line(s){routine}:")
            out += ["        " + clip(_line_text(x), max(20, width() - 8)) for x in f.last_lines[-max_lines:]]
    hidden = view.not_detailed + len(view.failures) - len(shown_)
    if hidden:
        out.append(f"  ... and {hidden:,} earlier failure(s) counted above, not shown (--max-invocations)")
    if view.unreported:
        out.append(
            para("  note: ", f"{view.unreported:,} invocation(s) started with no REPORT line in the window "
                 "(still running at its end, or their lines were lost)")
        )  # fmt: skip
    return "\n".join(out)


def _share(n: int, total: int) -> str:
    return f"{n / total:.1%}" if total else "-"


def render_lambda(view: LambdaView) -> str:
    """The REPORT telemetry per function and memory size, with the memory recommendation."""
    out = [heading(f"Lambda telemetry: {view.reports:,} REPORT line(s), {len(view.telemetry)} function(s)")]
    if not view.telemetry:
        out.append("  (no REPORT line in the window: are the function's log groups or files read?)")
    ms = "Milliseconds"
    for t in view.telemetry:
        size = f"{t.memory_mb:,} MB" if t.memory_mb else "? MB"
        out.append(section(f"{t.function} at {size}"))
        failed = ", ".join(f"{c} {n}" for c, n in t.failures.items())
        out.append(
            para("  invocations:  ", f"{t.invocations:,}" + (f" ({failed})" if failed else ""), indent=16)
        )
        out.append(
            para("  cold starts:  ", f"{_share(t.cold_starts, t.invocations)} ({t.cold_starts:,}); init p50 "
                 f"{fmt(t.init_p50_ms, ms)}, p99 {fmt(t.init_p99_ms, ms)}", indent=16)
        )  # fmt: skip
        out.append(
            para(
                "  duration:     ",
                f"p50 {fmt(t.duration_p50_ms, ms)}, p99 {fmt(t.duration_p99_ms, ms)}",
                indent=16,
            )
        )
        out.append(
            para("  billed:       ", f"{fmt(t.billed_ms_total, ms)} in all (p50 {fmt(t.billed_p50_ms, ms)}, "
                 f"p99 {fmt(t.billed_p99_ms, ms)}); {t.gb_seconds:,.1f} GB-s", indent=16)
        )  # fmt: skip
        out.append(
            para("  max memory:   ", f"p50 {fmt(t.max_memory_p50_mb)} MB, p99 {fmt(t.max_memory_p99_mb)} MB, "
                 f"max {fmt(t.max_memory_mb)} MB of {size}", indent=16)
        )  # fmt: skip
        r = t.recommendation
        if r is not None:
            if r.memory_mb == r.current_mb:
                verdict = f"keep {r.current_mb:,} MB"
            else:
                delta = r.difference_gb_seconds
                pct = f" ({delta / r.gb_seconds_now:+.0%})" if r.gb_seconds_now else ""
                verdict = f"{r.memory_mb:,} MB: {delta:+,.1f} GB-s{pct} over the window"
            out.append(para("  memory:       ", f"{verdict}; {r.reason}", indent=16))
    out.append("")
    out.append(
        para("  ", "Cold starts are the REPORTs with Init Duration (an init after a crash or timeout has "
             "none: it is counted in Duration). The memory rule: the smallest standard size holding "
             "p99 Max Memory Used + 20 %, one size up after an out-of-memory kill; the cost assumes "
             "the same billed durations at the new size.")
    )  # fmt: skip
    return "\n".join(out)
