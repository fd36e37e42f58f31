"""One self-contained HTML triage report, read at a glance: what is firing first, the evidence after.

The first screen says what is in ALARM now and since when, what fired and recovered, the cause
in one sentence, the affected correlation ids (linked to their traces) and the next command or
the alarm's runbook; then the alarms of the pipelines whose data was read, each firing one with
its datapoints, invocations, failing records and DLQ messages; activity per service; the
pipelines' counts; durations; the Lambda platform's telemetry (cold starts, init and billed
duration, memory against its size and a right-sizing); quarantine reasons; the invocations Lambda
ended (timeout, out of memory, failed init, runtime exit: cause, request id, correlation id,
records in flight, last lines); failures; throttles; the DLQ; traces; and, last, what was read,
what was not, and the lines skipped.

The file has no external reference (no script, stylesheet, font or image URL), so it can be
attached to an incident ticket or opened offline. Plots are drawn with matplotlib's Agg canvas
(no pyplot, so a notebook's backend is left alone): clock-time axes in UTC, a zero baseline for
counts, the unit on every axis, thresholds labelled on the right-hand axis. Every value from the
logs, quarantine documents and DLQ is masked with observe's redaction and HTML-escaped.
"""

from __future__ import annotations

import base64
import io
import json
import re
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any

from diagnostics import analysis
from diagnostics.alarms import statistic
from diagnostics.lambda_view import InvocationFailure, LambdaView
from diagnostics.model import COMMAND, iso
from diagnostics.text import LINE_FIELDS, clip
from diagnostics.units import axis_label, axis_scale, clock, duration, fmt, when
from observe import catalogue
from observe.redact import redact_text

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from diagnostics.alarms import Evaluation
    from diagnostics.core import Activity, Diagnostics, Overview
    from diagnostics.triage import AlarmTriage

#: Bucket sizes for the activity charts (seconds); the smallest giving at most 60 buckets is used.
BUCKETS = (1, 5, 10, 30, 60, 300, 900, 3600, 21600, 86400)
#: Loggers of libraries whose lines below warning are folded away in the report's traces.
LIBRARY_LOGGERS = analysis.LIBRARY_LOGGERS
#: How many alarms get their own section (firing first).
MAX_ALARM_SECTIONS = 6
RED, AMBER, GREEN, GREY = "#b00020", "#b26a00", "#2e7d32", "#6b6b6b"
PALETTE = ("#4c72b0", "#dd8452", "#55a868", "#8172b3", "#937860", "#da8bc3", "#8c8c8c", "#ccb974")

STYLE = """
body{font:15px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0 auto;max-width:1120px;
padding:.6em 1.6em 3em;color:#1d1d1d}
h1{font-size:1.45em;margin:.3em 0 .1em}h2{font-size:1.2em;border-bottom:2px solid #ddd;padding-bottom:.15em;
margin-top:1.8em}h3{font-size:1.05em;margin:1.2em 0 .3em}h4{margin:.9em 0 .3em;font-size:.98em}
table{border-collapse:collapse;margin:.4em 0;font-size:13px}th,td{border:1px solid #ddd;padding:3px 7px;
text-align:left;vertical-align:top}th{background:#f4f4f4}td.n,th.n{text-align:right;white-space:nowrap}
code,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:12.5px}a.mono,.nw{white-space:nowrap}
img{max-width:100%;border:1px solid #eee;display:block;margin:.4em 0}.muted{color:#666}
nav{font-size:13px;margin:.4em 0 .8em}nav a{margin-right:.9em}.t{white-space:nowrap}
.now{border-left:6px solid;padding:.5em .9em;margin:.55em 0;border-radius:3px}
.now.ALARM{border-color:#b00020;background:#fdecee}.now.RECOVERED{border-color:#b26a00;background:#fff4e5}
.now.OK{border-color:#2e7d32;background:#edf7ee}.now b.state{font-size:1.05em}
.now .what{font-size:1.08em;margin:.25em 0}.now .meta{font-size:13.5px;margin:.2em 0}
.notread{background:#fff8e1;border:1px solid #f0d48a;padding:.35em .7em;margin:.3em 0;font-size:13.5px}
.cause{background:#fff4e5;border-left:4px solid #ff9800;padding:.35em .8em;margin:.3em 0}
tr.lf td{border-bottom:none}tr.lf+tr td{border-top:none}tr.lf+tr ul{margin:.2em 0}
.lvl-error,.lvl-critical{color:#b00020;font-weight:600}.lvl-warning{color:#a15c00}
.st-ALARM{color:#b00020;font-weight:700}.st-OK{color:#2e7d32}.st-NODATA{color:#6b6b6b}
footer{margin-top:2.5em;border-top:2px solid #ddd;font-size:13px;color:#444}
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
    text = "-" if value is None else str(value)
    cls = "mono nw" if len(text) <= 40 else "mono"  # an id stays on one line; a long key may wrap
    return f'<span class="{cls}">{escape(text)}</span>'


def _t(value: datetime | None, millis: bool = False) -> str:
    return f'<span class="t" title="{escape(iso(value))}">{escape(clock(value, millis=millis))}</span>'


def _table(headers: list[str], rows: list[list[str]], *, numeric: set[int] | None = None) -> str:
    """Cells must already be HTML (escaped); ``numeric`` columns are right-aligned."""
    if not rows:
        return '<p class="muted">(none)</p>'
    num = numeric or set()
    head = "".join(f"<th{' class=n' if i in num else ''}>{escape(h)}</th>" for i, h in enumerate(headers))
    body = "".join(
        "<tr>" + "".join(f"<td{' class=n' if i in num else ''}>{c}</td>" for i, c in enumerate(r)) + "</tr>"
        for r in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _cid_link(cid: str | None, known: set[str]) -> str:
    if not cid:
        return "-"
    if cid in known:
        return f'<a class="mono" href="#{trace_anchor(cid)}">{escape(cid)}</a>'
    return _id(cid)


def _state_cell(state: str) -> str:
    word = "NO DATA" if state == "INSUFFICIENT_DATA" else state
    return f'<span class="st-{escape(word.replace(" ", ""))}">{escape(word)}</span>'


# --- plots -----------------------------------------------------------------------------------------


def _figure(width: float = 10, height: float = 3.0) -> Figure:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100, layout="constrained")
    return fig


#: Tick spacings for clock-time axes (seconds): the smallest giving at most 8 ticks is used.
TICKS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400)


def _clock_axis(ax: Any, start: datetime, end: datetime) -> None:
    """The x axis in UTC clock time at round spacings (seconds shown when the span is short), the date
    in the label."""
    import matplotlib.dates as mdates

    span = max(1.0, (end - start).total_seconds())
    every = next((t for t in TICKS if span / t <= 8), TICKS[-1])
    if every < 60:
        locator: Any = mdates.SecondLocator(bysecond=range(0, 60, every), tz=UTC)
    elif every < 3600:
        locator = mdates.MinuteLocator(byminute=range(0, 60, every // 60), tz=UTC)
    elif every < 86400:
        locator = mdates.HourLocator(byhour=range(0, 24, every // 3600), tz=UTC)
    else:
        locator = mdates.DayLocator(tz=UTC)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M:%S" if every < 60 else "%H:%M", tz=UTC))
    days = sorted({start.astimezone(UTC).date(), end.astimezone(UTC).date()})
    ax.set_xlabel("time (UTC, " + " to ".join(d.isoformat() for d in days) + ")")
    ax.set_xlim(mdates.date2num(start), mdates.date2num(end))


def _num(t: datetime) -> float:
    """A time as matplotlib's date number."""
    import matplotlib.dates as mdates

    return float(mdates.date2num(t))


def _png(fig: Figure) -> str:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _img(b64: str | None, alt: str) -> str:
    if b64 is None:
        return f'<p class="muted">({escape(alt)}: no data in the window)</p>'
    return f'<img alt="{escape(alt)}" src="data:image/png;base64,{b64}">'


def _is_count(unit: str) -> bool:
    return unit in ("Count", "None", "")


def plot_alarm(ev: Evaluation) -> str | None:
    """One alarm's value per period: bars from zero for counts, a line for levels; breaching periods red;
    the threshold dashed, labelled on the right-hand axis; the unit on the y axis."""
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    a = ev.alarm
    pts = [(d.start, d.value, d.breaching) for d in ev.datapoints if d.value is not None]
    if not pts:
        return None
    step = timedelta(seconds=a.period)
    first = min(d.start for d in ev.datapoints)
    last = max(d.start for d in ev.datapoints) + step
    if (last - first) < 6 * step:  # a lone period gets context either side
        first, last = first - 2 * step, last + 2 * step
    fig = _figure(10, 2.8)
    ax = fig.subplots()
    unit = a.unit
    count = (a.statistic in ("Sum", "SampleCount") or _is_count(unit)) and not a.queries
    colours = [RED if b else "#4c72b0" for _, _, b in pts]
    xs = [_num(p[0] + step / 2) for p in pts]
    ys = [float(p[1]) for p in pts]
    if count:
        ax.bar(xs, ys, width=0.85 * a.period / 86400.0, color=colours, zorder=2)
    else:
        ax.plot(xs, ys, color="#4c72b0", zorder=2)
        ax.scatter(xs, ys, color=colours, zorder=3, s=22)
    ax.axhline(a.threshold, color="#ff7f0e", linestyle="--", linewidth=1.4, zorder=1)
    top = max(max(p[1] for p in pts), a.threshold) * 1.18 or 1.0
    ax.set_ylim(0, top)
    if count:
        ax.yaxis.set_major_locator(MaxNLocator(integer=True, nbins=5))
    tick, label = axis_scale(unit, top)
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: tick(v)))
    stat = a.statistic or "value"
    ax.set_ylabel(f"{stat} per {duration(a.period)} ({label})")
    right = ax.twinx()  # the threshold, labelled on its own axis so it never sits on a point
    right.set_ylim(ax.get_ylim())
    right.set_yticks([a.threshold], [f"threshold {a.threshold_text}"], color="#c25400")
    right.tick_params(axis="y", length=0)
    _clock_axis(ax, first, last)
    ax.grid(axis="y", alpha=0.3)
    ax.set_title(f"{a.metric} of {a.service} (breaching periods in red)", fontsize=10, loc="left")
    return _png(fig)


def _bucket(span_s: float) -> int:
    return next((b for b in BUCKETS if span_s / b <= 60), BUCKETS[-1])


def plot_activity(activity: Activity) -> str | None:
    """Invocations, errors and throttles per bucket, stacked by service: bars from zero, whole-number axes."""
    from matplotlib.ticker import MaxNLocator

    rows = activity.rows
    if not rows:
        return None
    start = min(r[0] for r in rows)
    end = max(r[0] for r in rows)
    size = _bucket(max(1.0, (end - start).total_seconds()))
    t0 = datetime.fromtimestamp(int(start.timestamp()) // size * size, UTC)
    t1 = datetime.fromtimestamp((int(end.timestamp()) // size + 1) * size, UTC)
    services = sorted({r[1] for r in rows})
    sums: dict[tuple[int, str], list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0])
    for t, service, inv, err, thr in rows:
        b = int(t.timestamp()) // size * size
        acc = sums[(b, service)]
        acc[0] += inv
        acc[1] += err
        acc[2] += thr
    buckets = list(range(int(t0.timestamp()), int(t1.timestamp()), size))
    fig = _figure(10, 5.6)
    axes = fig.subplots(3, 1, sharex=True)
    width = 0.85 * size / 86400.0  # matplotlib dates are in days
    label = duration(size)
    for ax, (col, name) in zip(axes, ((0, "invocations"), (1, "errors"), (2, "throttles")), strict=True):
        base = [0.0] * len(buckets)
        for k, service in enumerate(services):
            values = [sums.get((b, service), [0.0, 0.0, 0.0])[col] for b in buckets]
            xs = [_num(datetime.fromtimestamp(b + size / 2, UTC)) for b in buckets]
            ax.bar(
                xs, values, width=width, bottom=base, color=PALETTE[k % len(PALETTE)], label=service, zorder=2
            )
            base = [x + y for x, y in zip(base, values, strict=True)]
        ax.set_ylim(0, max(1.0, max(base) * 1.15))
        ax.yaxis.set_major_locator(MaxNLocator(integer=True, nbins=4))
        ax.set_ylabel(f"{name}\nper {label}")
        ax.grid(axis="y", alpha=0.3)
    _clock_axis(axes[-1], t0, t1)
    # above the bars, right of the title, so it never covers them
    axes[0].legend(
        loc="lower right", bbox_to_anchor=(1.0, 1.0), fontsize=8, ncols=min(4, len(services)), frameon=False
    )
    axes[0].set_title("Invocations, errors and throttles per service (count)", fontsize=10, loc="left")
    return _png(fig)


def plot_counts(title: str, values: list[tuple[str, float]]) -> str | None:
    """Totals of one group's count metrics over the window, as labelled horizontal bars."""
    from matplotlib.ticker import FuncFormatter

    shown = [(n, v) for n, v in values if v]
    if not shown:
        return None
    fig = _figure(10, 0.9 + 0.36 * len(values))
    ax = fig.subplots()
    names = [n for n, _ in values][::-1]
    bars = ax.barh(names, [v for _, v in values][::-1], color="#4c72b0", zorder=2)
    ax.bar_label(bars, labels=[f"{v:,.0f}" for _, v in values][::-1], padding=3, fontsize=8)
    ax.set_xlim(0, max(v for _, v in values) * 1.15)
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
    ax.set_xlabel("count over the window")
    ax.grid(axis="x", alpha=0.3)
    ax.set_title(title, fontsize=10, loc="left")
    return _png(fig)


def plot_reasons(reasons: list[tuple[str, int]]) -> str | None:
    """Quarantine reasons, most frequent first (records)."""
    if not reasons:
        return None
    top = reasons[:12][::-1]
    fig = _figure(10, 0.9 + 0.32 * len(top))
    ax = fig.subplots()
    bars = ax.barh([clip(r, 70) for r, _ in top], [n for _, n in top], color="#c44e52", zorder=2)
    ax.bar_label(bars, labels=[f"{n:,}" for _, n in top], padding=3, fontsize=8)
    ax.set_xlim(0, max(n for _, n in top) * 1.15)
    ax.set_xlabel("records (count)")
    ax.grid(axis="x", alpha=0.3)
    ax.tick_params(axis="y", labelsize=8)
    ax.set_title("Quarantine reasons", fontsize=10, loc="left")
    return _png(fig)


def duration_rows(ov: Overview) -> list[tuple[str, float | None, float | None, float | None, int | None]]:
    """(service, p50 ms, p99 ms, max ms, invocations): nearest-rank percentiles of the raw durations,
    or CloudWatch's own (with a CloudWatch source)."""
    out: list[tuple[str, float | None, float | None, float | None, int | None]] = []
    for service, values in sorted(ov.durations.items()):
        out.append(
            (
                service,
                statistic(values, "p50"),
                statistic(values, "p99"),
                statistic(values, "Maximum"),
                len(values),
            )
        )
    for service, stats in sorted(ov.duration_stats.items()):
        out.append((service, stats.get("p50"), stats.get("p99"), None, None))
    return out


def plot_durations(
    rows: list[tuple[str, float | None, float | None, float | None, int | None]],
) -> str | None:
    from matplotlib.ticker import FuncFormatter

    rows = [r for r in rows if r[1] is not None]
    if not rows:
        return None
    fig = _figure(8, 2.8)
    ax = fig.subplots()
    xs = range(len(rows))
    p50 = [r[1] or 0.0 for r in rows]
    p99 = [r[2] or 0.0 for r in rows]
    b1 = ax.bar([x - 0.2 for x in xs], p50, width=0.4, label="p50", color="#4c72b0", zorder=2)
    b2 = ax.bar([x + 0.2 for x in xs], p99, width=0.4, label="p99", color="#dd8452", zorder=2)
    ax.bar_label(b1, labels=[fmt(v, "Milliseconds") for v in p50], fontsize=8, padding=2)
    ax.bar_label(b2, labels=[fmt(v, "Milliseconds") for v in p99], fontsize=8, padding=2)
    ax.set_xticks(list(xs), [r[0] for r in rows])
    top = max(p99 + p50) * 1.2 or 1.0
    ax.set_ylim(0, top)
    tick, label = axis_scale("Milliseconds", top)
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: tick(v)))
    ax.set_ylabel(f"duration ({label})")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title("Invocation duration per service, p50 and p99 (nearest rank)", fontsize=10, loc="left")
    return _png(fig)


# --- sections ------------------------------------------------------------------------------------------


def _now_box(ev: Evaluation, t: AlarmTriage | None, known: set[str], now: datetime) -> str:
    """The first-screen box of one alarm: state and since when, cause, ids, next step."""
    a = ev.alarm
    entered = ev.entered_alarm
    if ev.state == "ALARM":
        kind = "ALARM"
        since = f"in ALARM since {_t(entered)} UTC" if entered else "in ALARM"
        end = min(now, ev.window.end) if ev.window.end else now  # a past window: as of its end
        if entered and (end - entered).total_seconds() >= 60:
            since += f" ({escape(duration((end - entered).total_seconds()))}"
            since += ")" if end == now else " by the end of the window)"
    else:
        kind = "RECOVERED"
        rec = ev.recovered_at
        since = (
            f"fired {_t(entered)}" + (f", recovered {_t(rec)} UTC" if rec else " UTC") if entered else "fired"
        )
    parts = [
        f'<div class="now {kind}"><b class="state">{"ALARM" if kind == "ALARM" else "Recovered"}</b> '
        f'<a href="#alarm-{slug(a.name)}"><b>{_e(a.name)}</b></a> '
        f'<span class="muted">({_e(a.severity)}; {_e(a.metric)} {_e(a.condition_text)}, peak '
        f"{_e(fmt(ev.peak, a.unit))})</span> — {since}"
    ]
    if t is not None and t.headline:
        parts.append(f'<div class="what">{_e(t.headline)}</div>')
    if t is not None and t.correlation_ids:
        ids = ", ".join(_cid_link(c, known) for c in t.correlation_ids[:6])
        more = f" and {len(t.correlation_ids) - 6} more" if len(t.correlation_ids) > 6 else ""
        parts.append(f'<div class="meta">Affected correlation ids: {ids}{escape(more)}</div>')
    nxt = []
    if t is not None and t.next_command:
        nxt.append(f"<code>{escape(t.next_command)}</code>")
    if a.runbook:
        link = escape(a.runbook)
        nxt.append(
            f'runbook <a href="{link}">{link}</a>' if a.runbook.startswith(("http://", "https://")) else link
        )
    if nxt:
        parts.append(f'<div class="meta">Next: {" · ".join(nxt)}</div>')
    return "".join(parts) + "</div>"


def _not_read(diag: Diagnostics) -> str:
    notes = [
        s.description for s in diag.sources_read() if not s.given and s.role in ("quarantine", "dlq", "logs")
    ]
    return "".join(f'<div class="notread">{escape(n)}</div>' for n in notes)


def _triage_html(t: AlarmTriage, known: set[str], chart: str | None) -> str:
    a, ev = t.alarm, t.evaluation
    parts = [
        f'<section id="alarm-{slug(a.name)}">'
        f'<h3>{_e(a.name)} <span class="muted">({_e(a.severity)})</span></h3>',
        f"<p>{_e(a.rule)}. Now {_e(ev.summary())}. <span class=muted>From {_e(ev.source)}.</span></p>",
    ]
    parts += [f'<p class="muted">Note: {_e(n)}</p>' for n in t.notes]
    parts.append(_img(chart, f"{a.name} datapoints"))
    parts += [f'<div class="cause">{_e(c)}</div>' for c in t.causes]
    parts.append(f"<h4>Invocations behind the breaching datapoints ({len(t.invocations)})</h4>")
    parts.append(
        _table(
            [
                "time (UTC)",
                "function",
                "request id",
                f"value ({axis_label(a.unit)})",
                "outcome",
                "duration",
                "correlation id of the invocation",
            ],
            [
                [
                    _t(b.time),
                    _e(b.function_name),
                    _id(b.request_id),
                    _e(fmt(b.value, a.unit)),
                    _e(b.outcome),
                    _e(fmt(b.invocation.duration_ms if b.invocation else b.duration_ms, "Milliseconds")),
                    _cid_link(b.correlation_id, known),
                ]
                for b in t.invocations
            ],
            numeric={3, 5},
        )
    )
    if t.invocations_left_out:
        parts.append(f'<p class="muted">... and {t.invocations_left_out} more invocation(s) not read.</p>')
    parts.append(
        "<h4>Correlation ids of the failing work</h4><p>"
        + (", ".join(_cid_link(c, known) for c in t.correlation_ids) or "-")
        + "</p>"
    )
    q = t.quarantine_summary
    if not t.quarantine_read:
        parts.append("<h4>Failing records</h4>")
        parts.append('<div class="notread">quarantine not read: pass --bucket or --quarantine-dir</div>')
        if t.logged_keys:
            parts.append(
                f"<p>The invocations' lines name {len(t.logged_keys)} quarantine key(s): "
                + ", ".join(_id(k) for k in t.logged_keys[:20])
                + "</p>"
            )
    else:
        parts.append(f"<h4>Failing records: {q.records:,} in {q.documents:,} quarantine document(s)</h4>")
        parts.append(
            _table(
                ["key", "kind", "records", "correlation id", "top reasons"],
                [
                    [
                        _id(d["key"]),
                        _e(d["kind"]),
                        _e(f"{d['count']:,}"),
                        _cid_link(d["correlation_id"], known),
                        _e("; ".join(d["reasons"])),
                    ]
                    for d in q.by_key
                ],
                numeric={2},
            )
        )
    if not t.dlq_read:
        parts.append('<div class="notread">DLQ not read: pass --dlq-url or --dlq-file</div>')
    elif t.dlq:
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
                numeric={3},
            )
        )
    parts.append("</section>")
    return "".join(parts)


_library_noise = analysis.routine_line


def _trace_html(tr: analysis.Trace, max_lines: int) -> str:
    """One trace: its lines, or when there are more than ``max_lines`` its warnings and errors only."""
    rows = []
    shown = [x for x in tr.lines if not _library_noise(x)]
    hidden = len(tr.lines) - len(shown) if tr.total is None else 0
    quiet = 0
    if tr.total is not None or len(shown) > max_lines:  # a long trace: what went wrong, not the routine
        loud = [x for x in shown if analysis.level_of(x) >= 30]
        quiet = tr.count - len(loud)
        shown = loud
    for x in shown[:max_lines]:
        extra = {k: v for k, v in x.items() if k not in LINE_FIELDS}
        fields = ", ".join(
            f"{k}={clip(json.dumps(analysis.shown_field(k, v), default=str), 120)}" for k, v in extra.items()
        )
        exc = x.get("exception")
        if isinstance(exc, dict):
            fields = f"{exc.get('type')}: {exc.get('message')}" + (f"; {fields}" if fields else "")
        level = str(x.get("level", ""))
        ts = str(x.get("timestamp") or "")
        rows.append(
            [
                f'<span class="t" title="{escape(ts)}">{escape(ts[11:23] or "-")}</span>',
                _e(x.get("service")),
                f'<span class="lvl-{escape(level)}">{_e(level)}</span>',
                _e(x.get("message")),
                f'<span class="mono">{_e(fields)}</span>',
            ]
        )
    more = (
        f'<p class="muted">... and {len(shown) - max_lines} more line(s): '
        f"<code>{COMMAND} trace {escape(tr.correlation_id)}</code></p>"
        if len(shown) > max_lines
        else ""
    )
    if quiet:
        more = (
            f'<p class="muted">{quiet:,} line(s) below warning not shown (a long trace): '
            f"<code>{COMMAND} trace {escape(tr.correlation_id)}</code> shows every line.</p>" + more
        )
    noise = (
        f'<p class="muted">{hidden:,} routine line(s) below warning hidden (libraries\' '
        f"{', '.join(LIBRARY_LOGGERS[:4])} ..., HTTP requests answered 1xx-3xx): "
        f"<code>{COMMAND} trace {escape(tr.correlation_id)}</code> shows them.</p>"
        if hidden
        else ""
    )
    return (
        f'<section id="{trace_anchor(tr.correlation_id)}"><h3>Trace {_id(tr.correlation_id)}</h3>'
        f"<p>{tr.count:,} line(s) across {_e(', '.join(tr.services) or '-')}; "
        f"{len(tr.errors)} error(s); "
        f"{len(tr.invocations)} invocation(s). Times UTC.</p>"
        + _table(["time", "service", "level", "message", "fields"], rows)
        + more
        + noise
        + "</section>"
    )


def _flying_ids(f: InvocationFailure) -> list[str]:
    return [str(r["correlation_id"]) for r in f.in_flight if r.get("correlation_id")]


def _in_flight_html(f: InvocationFailure, known: set[str]) -> str:
    if not f.in_flight:
        return '<span class="muted">unknown</span>'
    rows = []
    for r in f.in_flight:
        bits = [_e(r.get("batch_kind")) if r.get("batch_kind") else ""]
        if isinstance(r.get("running_ms"), int | float):
            bits.append(f"running {_e(fmt(r['running_ms'], 'Milliseconds'))}")
        said = ", ".join(b for b in bits if b)
        cid = f" {_cid_link(r.get('correlation_id'), known)}" if r.get("correlation_id") else ""
        rows.append(
            f"{_id(r.get('record_id'))}{cid}" + (f' <span class="muted">({said})</span>' if said else "")
        )
    return "<br>".join(rows) + f'<br><span class="muted">from the {escape(f.in_flight_from)}</span>'


def _last_lines_html(f: InvocationFailure, max_lines: int = 10) -> str:
    """The invocation's last lines (masked), folded away under a summary."""
    if not f.last_lines:
        return ""
    rows = []
    for x in f.last_lines[-max_lines:]:
        ts = str(x.get("timestamp") or "")
        level = str(x.get("level", ""))
        record = next((f"{k}={x[k]}" for k in ("message_id", "sequence_number", "record_id") if x.get(k)), "")
        rows.append(
            [
                f'<span class="t" title="{escape(ts)}">{escape(ts[11:23] or "-")}</span>',
                f'<span class="lvl-{escape(level)}">{_e(level)}</span>',
                _e(x.get("message")),
                f'<span class="mono">{_e(record)}</span>',
            ]
        )
    shown_n = len(rows)
    of = f" of {f.line_count:,}" if f.line_count > shown_n else ""
    return (
        f"<details><summary>last {shown_n}{of} line(s) of {_id(f.request_id)}</summary>"
        + _table(["time", "level", "message", "record"], rows)
        + "</details>"
    )


def lambda_failures_html(view: LambdaView, known: set[str]) -> str:
    """The invocations the platform ended: one row each, the last lines under each row."""
    counts = "; ".join(f"{c} {n:,}" for c, n in view.counts.items())
    html = [f'<section id="lambda"><h2>Invocations Lambda ended: {view.total:,}</h2>']
    if not view.total:
        html.append(
            '<p class="muted">No timeout, out-of-memory kill, failed init or runtime exit in the '
            f"platform's lines ({view.reports:,} REPORT line(s) read).</p></section>"
        )
        return "".join(html)
    html.append(f"<p>{_e(counts)}. Times UTC; under each, what the platform (and observe) said.</p>")
    head = ["time", "cause", "function", "request id", "correlation id", "records in flight"]
    body = []
    for f in view.failures:
        said = "".join(f"<li>{_e(e)}</li>" for e in f.evidence)
        cells = [
            _t(f.time, millis=True),
            f"<b>{_e(f.cause)}</b>",
            _e(f.function or "-"),
            _id(f.request_id),
            _cid_link(f.correlation_id, known),
            _in_flight_html(f, known),
        ]
        body.append("<tr class=lf>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
        what = _e(f.detail) + (f'<ul class="muted">{said}</ul>' if said else "") + _last_lines_html(f)
        body.append(f'<tr><td></td><td colspan="{len(head) - 1}">{what}</td></tr>')
    html.append(
        "<table><thead><tr>"
        + "".join(f"<th>{escape(h)}</th>" for h in head)
        + "</tr></thead><tbody>"
        + "".join(body)
        + "</tbody></table>"
    )
    if view.not_detailed:
        html.append(f'<p class="muted">{view.not_detailed:,} earlier failure(s) counted, not listed.</p>')
    if view.unreported:
        html.append(
            f'<p class="muted">{view.unreported:,} invocation(s) started with no REPORT line in the window '
            "(still running at its end, or their lines were lost).</p>"
        )
    html.append("</section>")
    return "".join(html)


def lambda_telemetry_html(view: LambdaView) -> str:
    """The REPORT lines per function and memory size, with the memory recommendation."""
    ms = "Milliseconds"
    rows = []
    for t in view.telemetry:
        r = t.recommendation
        if r is None:
            advice = "-"
        elif r.memory_mb == r.current_mb:
            advice = f"keep {r.current_mb:,} MB"
        else:
            pct = f" ({r.difference_gb_seconds / r.gb_seconds_now:+.0%})" if r.gb_seconds_now else ""
            advice = f"<b>{r.memory_mb:,} MB</b>: {r.difference_gb_seconds:+,.1f} GB-s{pct}"
        rows.append(
            [
                _e(t.function),
                _e(f"{t.memory_mb:,} MB" if t.memory_mb else "-"),
                _e(f"{t.invocations:,}"),
                _e(f"{t.cold_start_rate:.1%}" if t.cold_start_rate is not None else "-"),
                _e(f"{fmt(t.init_p50_ms, ms)} / {fmt(t.init_p99_ms, ms)}"),
                _e(f"{fmt(t.billed_p50_ms, ms)} / {fmt(t.billed_p99_ms, ms)}"),
                _e(f"{t.gb_seconds:,.1f}"),
                _e(f"{fmt(t.max_memory_p99_mb)} / {fmt(t.max_memory_mb)} MB"),
                advice + (f'<br><span class="muted">{_e(r.reason)}</span>' if r is not None else ""),
            ]
        )
    return (
        '<section id="lambda-telemetry"><h2>Lambda telemetry (REPORT lines)</h2>'
        + _table(
            [
                "function",
                "memory",
                "invocations",
                "cold starts",
                "init p50 / p99",
                "billed p50 / p99",
                "GB-s",
                "max memory p99 / max",
                "memory size",
            ],
            rows,
            numeric={1, 2, 3, 4, 5, 6, 7},
        )
        + '<p class="muted">Cold starts: the REPORTs with Init Duration (an init after a crash or a '
        "timeout has none: it is in Duration). Memory size: the smallest standard size holding p99 Max "
        "Memory Used + 20 %, one size up after an out-of-memory kill; GB-s are billed duration x memory "
        "size over the window, the same billed durations assumed at the new size.</p></section>"
    )


def _count_groups(ov: Overview, services: list[str]) -> list[tuple[str, list[tuple[str, float]]]]:
    """Per catalogue group other than the per-invocation one: the totals of its count metrics that were
    written in the window (all services together), in catalogue order."""
    written = {m for _, m in ov.totals}
    groups: dict[str, list[tuple[str, float]]] = defaultdict(list)
    for d in catalogue.CATALOGUE.values():
        if d.unit == "Count" and d.group != "invocation" and d.name in written:
            groups[d.group].append((d.name, sum(ov.totals.get((s, d.name), 0.0) for s in services)))
    return [(g, values) for g, values in groups.items() if any(v for _, v in values)]


def _sources_html(diag: Diagnostics) -> str:
    from diagnostics.sources import SKIP_KINDS

    items = []
    for s in diag.sources_read():
        text = f"<b>{escape(s.role)}</b>: {escape(s.description)}" + (
            f" ({escape(s.detail)})" if s.detail else ""
        )
        if not s.given:
            text = escape(s.description)
        notes = "".join(f"<br><span class=muted>note: {_e(n)}</span>" for n in s.notes)
        items.append(f"<li>{text}{notes}</li>")
    skipped = diag.skipped()
    skip = ""
    if skipped:
        skip = "<h3>Lines skipped</h3>" + _table(
            ["where", "what", "detail", "start of the line (masked)"],
            [
                [_id(k.where), _e(SKIP_KINDS.get(k.kind, k.kind)), _e(k.detail), _e(k.preview)]
                for k in skipped
            ],
        )
    return f"<h2>What was read</h2><ul>{''.join(items)}</ul>{skip}"


def build_report(
    diag: Diagnostics,
    *,
    title: str | None = None,
    max_traces: int = 25,
    max_trace_lines: int = 150,
    now: datetime | None = None,
) -> str:
    """The report as one HTML string (see the module docstring)."""
    at = now or datetime.now(UTC)
    with diag.progress.step("report: the window"):
        ov = diag.overview()
    states = ov.evaluations
    firing = [e for e in states if e.state == "ALARM" and e.fired]
    recovered = [e for e in states if e.fired and e.state != "ALARM"]
    chosen = (firing + recovered)[:MAX_ALARM_SECTIONS]
    triages: dict[str, AlarmTriage] = {}
    with diag.progress.step("report: alarms", total=len(chosen)) as step:
        for e in chosen:
            triages[e.alarm.name] = diag.from_alarm(e.alarm.name)
            step.advance(1)
    with diag.progress.step("report: quarantine and DLQ"):
        qdocs = diag.quarantine_docs()
        q = analysis.quarantine_summary(qdocs or [])
        msgs = diag.dlq_messages()
        dlq = analysis.dlq_summary(msgs or [], diag.failure_lines_for([m.message_id for m in msgs or []]))
    with diag.progress.step("report: the platform's lines"):
        lam = diag.lambda_view() if diag.has_logs else None
    groups, thr, anomalies = ov.failures, ov.throttles, ov.anomalies

    # the ids that get a trace section: the failing work first
    cids: list[str] = []
    for cid in [
        *(c for t in triages.values() for c in t.correlation_ids),
        *(c for f in (lam.failures if lam else []) for c in (f.correlation_id, *_flying_ids(f))),
        *(c for g in groups for c in g.correlation_ids),
        *(e.correlation_id for e in thr),
        *(r.correlation_id for r in dlq.rows),
        *(d["correlation_id"] for d in q.by_key),
    ]:
        if cid and cid not in cids:
            cids.append(cid)
    with diag.progress.step(f"report: {min(len(cids), max_traces)} trace(s)"):
        traces = [tr for tr in diag.traces(cids[:max_traces], keep=max_trace_lines) if tr.found]
    known = {tr.correlation_id for tr in traces}
    services = sorted({s for s, _ in ov.totals} | {r[1] for r in ov.activity.rows})
    title = title or "Pipeline triage report"
    window = diag.window
    span = str(window) if window.start or window.end else "all the data read"

    html = [
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<style>{STYLE}</style></head><body>",
        f"<h1>{escape(title)}</h1>",
        f'<p class="muted">{escape(when(at))} · window {escape(span)} · times UTC · '
        f"{len(states)} alarm(s) of the pipelines read</p>",
    ]
    # --- the first screen: what is firing now
    html.append('<section id="now">')
    if firing:
        html += [_now_box(e, triages.get(e.alarm.name), known, at) for e in firing]
    else:
        html.append(
            '<div class="now OK"><b class="state">No alarm in ALARM now</b> '
            f'<span class="muted">({len(states)} evaluated over the window)</span></div>'
        )
    html += [_now_box(e, triages.get(e.alarm.name), known, at) for e in recovered]
    if lam is not None and lam.total:
        timed = [f for f in lam.failures if f.time is not None]
        last = max(timed, key=lambda f: f.time or at) if timed else lam.failures[-1]
        when_ = f" at {_t(last.time)} UTC" if last.time else ""
        html.append(
            f'<div class="now ALARM"><b class="state">Lambda ended {lam.total:,} invocation(s)</b> '
            f'<a href="#lambda">{_e("; ".join(f"{c} {n:,}" for c, n in lam.counts.items()))}</a>'
            f'<div class="meta">Latest: {_e(last.cause)} of {_id(last.request_id)}{when_}, '
            f"correlation id {_cid_link(last.correlation_id, known)}; in flight: "
            f"{', '.join(_id(r.get('record_id')) for r in last.in_flight) or 'unknown'}</div></div>"
        )
    html.append(_not_read(diag))
    html.append("</section>")
    html.append(
        '<nav><a href="#alarms">Alarms</a><a href="#activity">Activity</a><a href="#counts">Counts</a>'
        '<a href="#durations">Durations</a><a href="#quarantine">Quarantine</a>'
        + ('<a href="#lambda">Lambda</a>' if lam is not None else "")
        + '<a href="#failures">Failures</a>'
        '<a href="#throttles">Throttles</a><a href="#dlq">DLQ</a><a href="#traces">Traces</a>'
        '<a href="#read">What was read</a></nav>'
    )

    # --- alarms
    html.append('<section id="alarms"><h2>Alarms</h2>')
    if not diag.alarms:
        html.append('<p class="muted">No alarm specs loaded (--alarms-dir).</p>')
    else:
        html.append(
            _table(
                ["state now", "alarm", "in ALARM (UTC)", "peak", "alarm if", "severity"],
                [
                    [
                        _state_cell(e.state),
                        f'<a href="#alarm-{slug(e.alarm.name)}">{_e(e.alarm.name)}</a>'
                        if e.alarm.name in triages
                        else _e(e.alarm.name),
                        (f"{_t(e.entered_alarm)} → " + (_t(e.recovered_at) if e.recovered_at else "now"))
                        if e.entered_alarm
                        else "-",
                        _e(fmt(e.peak, e.alarm.unit)),
                        _e(e.alarm.condition_text),
                        _e(e.alarm.severity),
                    ]
                    for e in states
                ],
                numeric={3},
            )
        )
        with diag.progress.step("report: charts"):
            for e in chosen:
                html.append(_triage_html(triages[e.alarm.name], known, plot_alarm(e)))
    html.append("</section>")

    # --- activity, counts, durations
    html.append(
        '<section id="activity"><h2>Activity</h2>'
        + _img(plot_activity(ov.activity), "invocations, errors and throttles over time")
        + "</section>"
    )
    html.append('<section id="counts"><h2>Counts over the window</h2>')
    counted = _count_groups(ov, services)
    for group, values in counted:
        html.append(_img(plot_counts(f"{group} metrics, all services (count)", values), f"{group} counts"))
    if not counted:
        html.append('<p class="muted">(no count metrics in the window)</p>')
    html.append("</section>")
    durations = duration_rows(ov)
    html.append(
        '<section id="durations"><h2>Durations</h2>' + _img(plot_durations(durations), "duration p50/p99")
    )
    html.append(
        _table(
            ["service", "p50", "p99", "max", "invocations"],
            [
                [
                    _e(s),
                    _e(fmt(a, "Milliseconds")),
                    _e(fmt(b, "Milliseconds")),
                    _e(fmt(c, "Milliseconds")),
                    _e(f"{n:,}" if n is not None else "-"),
                ]
                for s, a, b, c, n in durations
            ],
            numeric={1, 2, 3, 4},
        )
        + "</section>"
    )
    if lam is not None and lam.reports:
        html.append(lambda_telemetry_html(lam))

    # --- quarantine, failures, throttles, DLQ, anomalies
    html.append('<section id="quarantine">')
    if qdocs is None:
        html.append(
            "<h2>Quarantine</h2>"
            '<div class="notread">quarantine not read: pass --bucket or --quarantine-dir</div>'
        )
    else:
        html.append(f"<h2>Quarantine: {q.records:,} record(s) in {q.documents:,} document(s)</h2>")
        html.append(_img(plot_reasons(q.reasons.most_common()), "quarantine reasons"))
        html.append(
            "<h3>Per field</h3>"
            + _table(
                ["field", "records"], [[_e(f), _e(f"{n:,}")] for f, n in q.fields.most_common()], numeric={1}
            )
        )
        html.append(
            "<h3>Documents</h3>"
            + _table(
                ["key", "kind", "records", "correlation id", "quarantined at (UTC)", "top reasons"],
                [
                    [
                        _id(d["key"]),
                        _e(d["kind"]),
                        _e(f"{d['count']:,}"),
                        _cid_link(d["correlation_id"], known),
                        _t(d["quarantined_at"]),
                        _e("; ".join(d["reasons"])),
                    ]
                    for d in q.by_key
                ],
                numeric={2},
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
        )
    html.append("</section>")
    if lam is not None:
        html.append(lambda_failures_html(lam, known))
    html.append(
        f'<section id="failures"><h2>Failures: {sum(g.count for g in groups):,} '
        f"in {len(groups)} group(s)</h2>"
    )
    html.append(
        _table(
            ["count", "service", "kind", "type", "message", "first seen", "last seen", "correlation ids"],
            [
                [
                    _e(f"{g.count:,}"),
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
            numeric={0},
        )
        + "</section>"
    )
    html.append(f'<section id="throttles"><h2>Throttles ({len(thr)})</h2>')
    html.append(
        _table(
            ["time (UTC)", "service", "source", "code", "retry after", "messages returned", "correlation id"],
            [
                [
                    _t(e.time),
                    _e(e.service),
                    _e(e.source),
                    _e(e.code),
                    _e(fmt(e.retry_after_s, "Seconds") if e.retry_after_s is not None else "-"),
                    _e(e.messages_returned),
                    _cid_link(e.correlation_id, known),
                ]
                for e in thr
            ],
            numeric={4, 5},
        )
        + "</section>"
    )
    html.append('<section id="dlq">')
    if msgs is None:
        html.append('<h2>DLQ</h2><div class="notread">DLQ not read: pass --dlq-url or --dlq-file</div>')
    else:
        html.append(f"<h2>DLQ ({dlq.count})</h2>")
        html.append(
            _table(
                [
                    "message id",
                    "correlation id",
                    "what",
                    "sent (UTC)",
                    "receives",
                    "failures in the logs",
                    "last error",
                ],
                [
                    [
                        _id(r.message_id),
                        _cid_link(r.correlation_id, known),
                        _e(r.description),
                        _t(r.sent_at),
                        _e(r.receive_count),
                        _e("not looked up" if r.failures is None else r.failures),
                        _e(r.last_error),
                    ]
                    for r in dlq.rows
                ],
                numeric={4, 5},
            )
        )
    html.append("</section>")
    if anomalies.by_check or anomalies.expectation_failures:
        html.append('<section id="anomalies"><h2>Input anomalies and failed expectations</h2>')
        if anomalies.by_check:
            html.append(
                _table(
                    ["check", "anomalies"],
                    [[_e(c), _e(f"{n:,}")] for c, n in anomalies.by_check.most_common()],
                    numeric={1},
                )
            )
        html.append(
            _table(
                ["expectation", "records failing"],
                [[_e(c), _e(f"{n:,}")] for c, n in anomalies.expectation_failures.most_common()],
                numeric={1},
            )
            + "</section>"
        )
    html.append('<section id="traces"><h2>Traces</h2>')
    html += [_trace_html(tr, max_trace_lines) for tr in traces] or [
        '<p class="muted">(no correlation ids to trace)</p>'
    ]
    html.append("</section>")
    html.append('<footer id="read">' + _sources_html(diag))
    html.append(
        "<p>Percentiles (p50, p99 ...) are nearest-rank over the raw values: the smallest value with "
        "at least "
        "that share of the values at or below it, as the alarm replay computes them; figures from CloudWatch "
        "are CloudWatch's own. Alarm states come from CloudWatch when it was asked, else from the datapoints "
        "(the state moves at the end of the period where the N-of-M rule starts or stops holding).</p>"
    )
    html.append("</footer></body></html>")
    return "\n".join(html)


def write_report(diag: Diagnostics, path: str | Path, *, title: str | None = None) -> Path:
    """Write :func:`build_report` to ``path`` (parents created); returns the path."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(build_report(diag, title=title), encoding="utf-8")
    return out
