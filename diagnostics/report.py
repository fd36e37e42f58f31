"""One self-contained HTML triage report: plots as embedded PNGs, tables, per-id trace sections.

The file has no external reference at all (no script, stylesheet, font or image URL), so it can
be attached to an incident ticket or opened offline. Plots are drawn with matplotlib's Agg canvas
directly (no pyplot, so a notebook's backend is left alone). Every value from the logs,
quarantine documents and DLQ is masked with observe's redaction and HTML-escaped.
"""

from __future__ import annotations

import base64
import io
import json
import re
from datetime import UTC, datetime
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any

from diagnostics import analysis
from diagnostics.model import iso
from diagnostics.text import LINE_FIELDS, clip
from observe.redact import redact_text

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

    from diagnostics.alarms import Evaluation
    from diagnostics.core import Diagnostics
    from diagnostics.triage import AlarmTriage

FUNNEL = [
    "RecordsFetched",
    "RecordsValid",
    "RecordsUpserted",
    "RecordsStale",
    "RecordsQuarantined",
    "DuplicatesDropped",
]
BUCKETS = [("1s", 1), ("5s", 5), ("10s", 10), ("30s", 30), ("1min", 60), ("5min", 300), ("15min", 900),
           ("1h", 3600), ("6h", 21600), ("1D", 86400)]  # fmt: skip
STYLE = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0 auto;max-width:1200px;
padding:1em 2em;color:#222}
h1{margin-bottom:.2em}h2{border-bottom:2px solid #ddd;padding-bottom:.2em;margin-top:2em}
table{border-collapse:collapse;margin:.5em 0;font-size:13px}
th,td{border:1px solid #ddd;padding:3px 7px;text-align:left;vertical-align:top}
th{background:#f4f4f4}tr.ALARM td:first-child,.bad{color:#b00020;font-weight:600}.OK{color:#2e7d32}
code,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:12px}
img{max-width:100%;border:1px solid #eee}.muted{color:#777}nav a{margin-right:1em}
.cause{background:#fff4e5;border-left:4px solid #ff9800;padding:.4em .8em;margin:.3em 0}
.lvl-error,.lvl-critical{color:#b00020}.lvl-warning{color:#a15c00}.t{white-space:nowrap}
"""


def slug(text: str) -> str:
    """An HTML id fragment for ``text`` (ids, alarm names)."""
    return re.sub(r"[^A-Za-z0-9_-]", "_", text)[:120]


def trace_anchor(cid: str) -> str:
    return f"trace-{slug(cid)}"


def _e(value: Any) -> str:
    """Masked and escaped."""
    return escape(redact_text("" if value is None else str(value)))


def _id(value: Any) -> str:
    """An identifier (request / message / correlation id, S3 key): escaped, never masked.

    Ids are structural (uuids, pipeline-built keys; correlation ids are checked by observe), and
    the value patterns would mangle some of them (a hex run like ``f7200773e`` reads as a FIN).
    """
    return f'<span class="mono">{escape("-" if value is None else str(value))}</span>'


def _t(value: datetime | None) -> str:
    return f'<span class="t">{escape(iso(value))}</span>'


def _table(headers: list[str], rows: list[list[str]], cls: list[str] | None = None) -> str:
    """Cells must already be HTML (escaped)."""
    if not rows:
        return '<p class="muted">(none)</p>'
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join(
        f'<tr class="{escape(cls[i]) if cls else ""}">' + "".join(f"<td>{c}</td>" for c in r) + "</tr>"
        for i, r in enumerate(rows)
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _cid_link(cid: str | None, known: set[str]) -> str:
    if not cid:
        return "-"
    if cid in known:
        return f'<a class="mono" href="#{trace_anchor(cid)}">{escape(cid)}</a>'
    return _id(cid)


# --- plots -----------------------------------------------------------------------------------------


def _figure(width: float = 10, height: float = 3.2) -> Figure:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=100, layout="constrained")


def _dates(ax: Any) -> None:
    import matplotlib.dates as mdates

    locator = mdates.AutoDateLocator()
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))


def _png(fig: Figure) -> str:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _img(b64: str | None, alt: str) -> str:
    if b64 is None:
        return f'<p class="muted">({escape(alt)}: no data)</p>'
    return f'<img alt="{escape(alt)}" src="data:image/png;base64,{b64}">'


def _bucket(frame: pd.DataFrame) -> tuple[str, int]:
    span = (frame["timestamp"].max() - frame["timestamp"].min()).total_seconds()
    for freq, seconds in BUCKETS:
        if span / seconds <= 60:
            return freq, seconds
    return BUCKETS[-1]


def plot_activity(frame: pd.DataFrame) -> str | None:
    """Invocations, errors and throttles per service over time (standard-dimension documents only)."""
    totals = frame[frame["is_total"] & frame["metric"].isin(["Duration", "Errors", "Throttles"])]
    if totals.empty:
        return None
    freq, _ = _bucket(totals)
    fig = _figure(10, 6.5)
    axes = fig.subplots(3, 1, sharex=True)
    panels = [
        ("Duration", "count", "invocations"),
        ("Errors", "sum", "errors"),
        ("Throttles", "sum", "throttles"),
    ]
    for ax, (metric, how, label) in zip(axes, panels, strict=True):
        part = totals[totals["metric"] == metric]
        for service, rows in part.groupby("service"):
            series = rows.set_index("timestamp")["value"].resample(freq)
            values = series.count() if how == "count" else series.sum()
            ax.plot(values.index, values.to_numpy(), marker="o", markersize=3, label=str(service))
        ax.set_ylabel(f"{label} / {freq}")
        ax.grid(alpha=0.3)
        _dates(ax)
    axes[0].legend(loc="upper left", fontsize=8)
    axes[0].set_title("Invocations, errors and throttles per service")
    return _png(fig)


def plot_funnel(values: dict[str, float]) -> str | None:
    """The records funnel: fetched -> valid -> upserted / stale / quarantined (and duplicates dropped)."""
    if not any(values.values()):
        return None
    fig = _figure(8, 3.2)
    ax = fig.subplots()
    names = [n for n in FUNNEL if n in values]
    colours = ["#4c72b0", "#55a868", "#2e7d32", "#8c8c8c", "#c44e52", "#dd8452"]
    bars = ax.barh(names[::-1], [values[n] for n in names][::-1], color=colours[: len(names)][::-1])
    ax.bar_label(bars, fmt="%g", padding=3, fontsize=8)
    ax.set_title("Records funnel (all services, the whole window)")
    ax.grid(axis="x", alpha=0.3)
    return _png(fig)


def plot_reasons(reasons: list[tuple[str, int]]) -> str | None:
    """Quarantine reasons, most frequent first."""
    if not reasons:
        return None
    top = reasons[:12][::-1]
    fig = _figure(10, 0.9 + 0.32 * len(top))
    ax = fig.subplots()
    bars = ax.barh([clip(r, 70) for r, _ in top], [n for _, n in top], color="#c44e52")
    ax.bar_label(bars, padding=3, fontsize=8)
    ax.set_title("Quarantine reasons (records)")
    ax.tick_params(axis="y", labelsize=8)
    return _png(fig)


def duration_table(frame: pd.DataFrame) -> list[tuple[str, float, float, int]]:
    """(service, p50 ms, p99 ms, invocations) from the Duration values."""
    part = frame[frame["is_total"] & (frame["metric"] == "Duration")]
    out = []
    for service, rows in part.groupby("service"):
        v = rows["value"]
        out.append((str(service), float(v.quantile(0.5)), float(v.quantile(0.99)), len(v)))
    return out


def plot_durations(rows: list[tuple[str, float, float, int]]) -> str | None:
    if not rows:
        return None
    fig = _figure(8, 3)
    ax = fig.subplots()
    xs = range(len(rows))
    b1 = ax.bar([x - 0.2 for x in xs], [r[1] for r in rows], width=0.4, label="p50")
    b2 = ax.bar([x + 0.2 for x in xs], [r[2] for r in rows], width=0.4, label="p99")
    ax.bar_label(b1, fmt="%.0f", fontsize=8)
    ax.bar_label(b2, fmt="%.0f", fontsize=8)
    ax.set_xticks(list(xs), [r[0] for r in rows])
    ax.set_ylabel("ms")
    ax.set_title("Invocation duration p50 / p99 per service")
    ax.legend(fontsize=8)
    return _png(fig)


def plot_alarm(ev: Evaluation) -> str | None:
    """One alarm's datapoints per period, the threshold drawn, breaching points marked."""
    import matplotlib.dates as mdates

    pts = [(mdates.date2num(d.start), d.value, d.breaching) for d in ev.datapoints if d.value is not None]
    if not pts:
        return None
    fig = _figure(8, 2.6)
    ax = fig.subplots()
    ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=ev.alarm.metric)
    bad = [p for p in pts if p[2]]
    ax.scatter([p[0] for p in bad], [p[1] for p in bad], color="#b00020", zorder=3, label="breaching")
    ax.axhline(
        ev.alarm.threshold,
        color="#ff7f0e",
        linestyle="--",
        label=f"threshold {ev.alarm.symbol} {ev.alarm.threshold:g}",
    )
    pad = ev.alarm.period / 86400.0  # matplotlib dates are in days
    ax.set_xlim(pts[0][0] - pad, pts[-1][0] + pad)
    _dates(ax)
    ax.set_title(f"{ev.alarm.name}: per {ev.alarm.period}s (period start)")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return _png(fig)


# --- sections ----------------------------------------------------------------------------------------


def _triage_html(t: AlarmTriage, known: set[str], chart: str | None) -> str:
    a = t.alarm
    parts = [
        f'<section id="alarm-{slug(a.name)}">'
        f'<h3>{_e(a.name)} <span class="muted">({_e(a.severity)})</span></h3>'
    ]
    parts.append(
        f"<p>Watches <b>{_e(a.metric)}</b> of <b>{_e(a.service)}</b>: {_e(a.rule)}. "
        f"{_e(t.evaluation.summary())}</p>"
    )
    parts.append(_img(chart, f"{a.name} datapoints"))
    parts += [f'<div class="cause">{_e(c)}</div>' for c in t.causes]
    parts.append("<h4>Invocations behind the breaching datapoints</h4>")
    parts.append(
        _table(
            ["time", "function", "request id", a.metric, "outcome", "invocation id"],
            [
                [
                    _t(b.time),
                    _e(b.function_name),
                    _id(b.request_id),
                    _e(f"{b.value:g}"),
                    _e(b.outcome),
                    _cid_link(b.correlation_id, known),
                ]
                for b in t.invocations
            ],
        )
    )
    parts.append(
        "<h4>Correlation ids of the failing work</h4><p>"
        + (", ".join(_cid_link(c, known) for c in t.correlation_ids) or "-")
        + "</p>"
    )
    q = t.quarantine_summary
    parts.append(f"<h4>Failing records: {q.records} in {q.documents} quarantine document(s)</h4>")
    parts.append(
        _table(
            ["key", "kind", "records", "correlation id", "top reasons"],
            [
                [
                    _id(d["key"]),
                    _e(d["kind"]),
                    _e(d["count"]),
                    _cid_link(d["correlation_id"], known),
                    _e("; ".join(d["reasons"])),
                ]
                for d in q.by_key
            ],
        )
    )
    if t.dlq:
        parts.append("<h4>DLQ messages</h4>")
        parts.append(
            _table(
                ["message id", "correlation id", "what", "receives", "last error", "matched by"],
                [
                    [
                        _id(m.row.message_id),
                        _cid_link(m.row.correlation_id, known),
                        _e(m.row.description),
                        _e(m.row.receive_count),
                        _e(m.row.last_error),
                        _e(m.matched_by),
                    ]
                    for m in t.dlq
                ],
            )
        )
    parts.append("</section>")
    return "".join(parts)


def _trace_html(tr: analysis.Trace, max_lines: int) -> str:
    rows = []
    for x in tr.lines[:max_lines]:
        extra = {k: v for k, v in x.items() if k not in LINE_FIELDS}
        fields = ", ".join(f"{k}={clip(analysis.shown_field(k, v), 100)}" for k, v in extra.items())
        exc = x.get("exception")
        if isinstance(exc, dict):
            fields = f"{exc.get('type')}: {exc.get('message')}" + (f"; {fields}" if fields else "")
        level = str(x.get("level", ""))
        rows.append(
            [
                f'<span class="t">{_e(x.get("timestamp"))}</span>',
                _e(x.get("service")),
                f'<span class="lvl-{escape(level)}">{_e(level)}</span>',
                _e(x.get("message")),
                f'<span class="mono">{escape(fields)}</span>',
            ]
        )
    more = (
        f'<p class="muted">... and {len(tr.lines) - max_lines} more line(s): '
        f"observe-diag trace {escape(tr.correlation_id)}</p>"
        if len(tr.lines) > max_lines
        else ""
    )
    return (
        f'<section id="{trace_anchor(tr.correlation_id)}"><h3>Trace {_id(tr.correlation_id)}</h3>'
        f"<p>{len(tr.lines)} line(s) across {_e(', '.join(tr.services) or '-')}; {len(tr.errors)} error(s); "
        f"{len(tr.invocations)} invocation(s)</p>"
        + _table(["time", "service", "level", "message", "fields"], rows)
        + more
        + "</section>"
    )


def build_report(
    diag: Diagnostics,
    *,
    title: str | None = None,
    max_traces: int = 25,
    max_trace_lines: int = 150,
    now: datetime | None = None,
) -> str:
    """The report as one HTML string (see the module docstring)."""
    frame = diag.metrics_frame()
    ov = diag.overview()
    states = ov.evaluations
    firing = [e for e in states if e.fired]
    triages = [diag.from_alarm(e.alarm.name) for e in firing[:6]]
    groups = ov.failures
    thr = ov.throttles
    qdocs = diag.quarantine_docs()
    q = analysis.quarantine_summary(qdocs or [])
    msgs = diag.dlq_messages()
    dlq = analysis.dlq_summary(msgs or [], diag.failure_lines_for([m.message_id for m in msgs or []]))
    anomalies = ov.anomalies

    # the ids that get a trace section: the failing work first
    cids: list[str] = []
    for cid in [
        *(c for t in triages for c in t.correlation_ids),
        *(c for g in groups for c in g.correlation_ids),
        *(e.correlation_id for e in thr),
        *(r.correlation_id for r in dlq.rows),
        *(d["correlation_id"] for d in q.by_key),
    ]:
        if cid and cid not in cids:
            cids.append(cid)
    traces = [tr for tr in diag.traces(cids[:max_traces]) if tr.found]
    known = {tr.correlation_id for tr in traces}

    funnel_values = {n: sum(v for (_, m), v in ov.totals.items() if m == n) for n in FUNNEL}
    durations = duration_table(frame) if not frame.empty else []
    title = title or "Pipeline triage report"
    generated = iso(now or datetime.now(UTC))
    html = [
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
        f"<style>{STYLE}</style></head><body>",
        f'<h1>{escape(title)}</h1><p class="muted">Generated {generated}. {_e(diag.describe())}.</p>',
        '<nav><a href="#alarms">Alarms</a><a href="#activity">Activity</a><a href="#funnel">Funnel</a>'
        '<a href="#quarantine">Quarantine</a><a href="#failures">Failures</a>'
        '<a href="#throttles">Throttles</a>'
        '<a href="#dlq">DLQ</a><a href="#traces">Traces</a></nav>',
    ]
    html.append('<section id="alarms"><h2>Alarms</h2>')
    if diag.alarms:
        html.append(
            _table(
                ["state", "alarm", "severity", "breaching periods", "max", "rule"],
                [
                    [
                        _e(e.state),
                        f'<a href="#alarm-{slug(e.alarm.name)}">{_e(e.alarm.name)}</a>'
                        if e.fired
                        else _e(e.alarm.name),
                        _e(e.alarm.severity),
                        _e(len(e.breaching)),
                        _e(max((d.value for d in e.datapoints if d.value is not None), default="-")),
                        _e(e.alarm.rule),
                    ]
                    for e in states
                ],
                [e.state for e in states],
            )
        )
        for t, e in zip(triages, firing, strict=False):
            html.append(_triage_html(t, known, plot_alarm(e)))
    else:
        html.append('<p class="muted">No alarm specs loaded (--alarms-dir).</p>')
    html.append("</section>")

    html.append(
        '<section id="activity"><h2>Activity</h2>'
        + _img(
            plot_activity(frame) if not frame.empty else None, "invocations, errors and throttles over time"
        )
        + "</section>"
    )
    html.append(
        '<section id="funnel"><h2>Records funnel</h2>' + _img(plot_funnel(funnel_values), "records funnel")
    )
    html.append(_table(["metric", "total"], [[_e(n), _e(f"{funnel_values[n]:g}")] for n in FUNNEL]))
    html.append("<h3>Duration</h3>" + _img(plot_durations(durations), "duration p50/p99"))
    html.append(
        _table(
            ["service", "p50 ms", "p99 ms", "invocations"],
            [[_e(s), _e(f"{a:.1f}"), _e(f"{b:.1f}"), _e(n)] for s, a, b, n in durations],
        )
        + "</section>"
    )

    html.append(
        f'<section id="quarantine"><h2>Quarantine: {q.records} record(s) in {q.documents} document(s)</h2>'
    )
    html.append(_img(plot_reasons(q.reasons.most_common()), "quarantine reasons"))
    html.append(
        "<h3>Per field</h3>"
        + _table(["field", "records"], [[_e(f), _e(n)] for f, n in q.fields.most_common()])
    )
    html.append(
        "<h3>Documents</h3>"
        + _table(
            ["key", "kind", "records", "correlation id", "quarantined at", "top reasons"],
            [
                [
                    _id(d["key"]),
                    _e(d["kind"]),
                    _e(d["count"]),
                    _cid_link(d["correlation_id"], known),
                    _t(d["quarantined_at"]),
                    _e("; ".join(d["reasons"])),
                ]
                for d in q.by_key
            ],
        )
    )
    html.append(
        "<h3>Examples (masked)</h3>"
        + _table(
            ["key", "record", "reasons"],
            [
                [
                    _id(x["key"]),
                    f'<span class="mono">{_e(json.dumps(x["record"], default=str))}</span>',
                    _e("; ".join(x["reasons"])),
                ]
                for x in q.examples
            ],
        )
        + "</section>"
    )

    html.append(
        f'<section id="failures"><h2>Failures: {sum(g.count for g in groups)} in {len(groups)} group(s)</h2>'
    )
    html.append(
        _table(
            ["count", "service", "kind", "type", "message", "first seen", "last seen", "correlation ids"],
            [
                [
                    _e(g.count),
                    _e(g.service),
                    _e(g.kind),
                    _e(g.error_type),
                    _e(g.example or g.what),
                    _t(g.first_seen),
                    _t(g.last_seen),
                    ", ".join(_cid_link(c, known) for c in g.correlation_ids),
                ]
                for g in groups
            ],
        )
        + "</section>"
    )
    html.append(f'<section id="throttles"><h2>Throttles ({len(thr)})</h2>')
    html.append(
        _table(
            ["time", "service", "source", "code", "retry after s", "messages returned", "correlation id"],
            [
                [
                    _t(e.time),
                    _e(e.service),
                    _e(e.source),
                    _e(e.code),
                    _e(e.retry_after_s),
                    _e(e.messages_returned),
                    _cid_link(e.correlation_id, known),
                ]
                for e in thr
            ],
        )
        + "</section>"
    )
    html.append(f'<section id="dlq"><h2>DLQ ({dlq.count})</h2>')
    html.append(
        _table(
            ["message id", "correlation id", "what", "sent", "receives", "failures", "last error"],
            [
                [
                    _id(r.message_id),
                    _cid_link(r.correlation_id, known),
                    _e(r.description),
                    _t(r.sent_at),
                    _e(r.receive_count),
                    _e(r.failures),
                    _e(r.last_error),
                ]
                for r in dlq.rows
            ],
        )
        + "</section>"
    )
    if anomalies.by_check or anomalies.expectation_failures:
        html.append('<section id="anomalies"><h2>Input anomalies and failed expectations</h2>')
        html.append(
            _table(["check", "anomalies"], [[_e(c), _e(n)] for c, n in anomalies.by_check.most_common()])
        )
        html.append(
            _table(
                ["expectation", "records failing"],
                [[_e(c), _e(n)] for c, n in anomalies.expectation_failures.most_common()],
            )
            + "</section>"
        )
    html.append('<section id="traces"><h2>Traces</h2>')
    html += [_trace_html(tr, max_trace_lines) for tr in traces] or [
        '<p class="muted">(no correlation ids to trace)</p>'
    ]
    html.append("</section></body></html>")
    return "\n".join(html)


def write_report(diag: Diagnostics, path: str | Path, *, title: str | None = None) -> Path:
    """Write :func:`build_report` to ``path`` (parents created); returns the path."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(build_report(diag, title=title), encoding="utf-8")
    return out
