"""``observe dashboards preview``: a pipeline's dashboard as a picture, before it is deployed.

The dashboard body ``observe dashboards build`` would write for the environment is read widget by
widget; every metric a widget shows is fetched with ``GetMetricData`` (real AWS, or the local
emulator through ``AWS_ENDPOINT_URL``) and drawn with matplotlib, at its place on CloudWatch's
24-column grid, with its thresholds as horizontal annotations in their severity's colour. The
result is ``<pipeline>.<environment>.png`` and a small HTML page around it that lists what each
widget drew. On real AWS ``--aws-image`` also saves CloudWatch's own rendering of each widget
(``GetMetricWidgetImage``) beside it, for comparison.

What is computed here rather than by CloudWatch, so that the emulator (moto) can serve it: a
``SEARCH`` is expanded with ``ListMetrics`` into one query per dimension value; metric math (the
error rate) is evaluated per period with :func:`diagnostics.alarms.evaluate_expression`. moto
cannot compute percentiles: against the emulator a ``pNN`` line is drawn from ``Maximum`` and the
page says so.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import json
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dashboards.config import specs
from dashboards.monitoring import build_dashboard
from observe import catalogue
from observe.project import ProjectConfig

CELL_W, CELL_H = 60, 40  # pixels per grid column and per height unit (CloudWatch's proportions)
GRID = 24
_SEARCH = re.compile(r"SEARCH\('\{([^}]*)\}\s*(.*?)',\s*'(\w+)',\s*(\d+)\)")
_TERM = re.compile(r'(\w+)="([^"]*)"')
_SINCE = re.compile(r"^(\d+)([mhd])$")


class PreviewError(Exception):
    """The preview cannot be drawn (a bad option, no such pipeline, the endpoint refused)."""


@dataclass
class Series:
    """One line of a widget: its label, points and whether it is drawn."""

    label: str
    id: str
    unit: str = ""
    visible: bool = True
    points: list[tuple[dt.datetime, float]] = field(default_factory=list)
    right: bool = False  # drawn on the right-hand axis (a second unit)


@dataclass
class DrawnWidget:
    """What one widget showed, for the page (and the tests)."""

    title: str
    kind: str
    x: int
    y: int
    width: int
    height: int
    series: list[Series] = field(default_factory=list)
    thresholds: list[dict[str, Any]] = field(default_factory=list)
    text: str = ""
    axes: dict[str, str] = field(default_factory=dict)  # left/right -> the axis label the body gives


def parse_since(since: str) -> dt.timedelta:
    """``30m``, ``3h``, ``2d`` as a timedelta."""
    m = _SINCE.match(since.strip())
    if not m:
        raise PreviewError(f"--since {since!r}: give a number and m, h or d, e.g. 30m, 3h, 1d")
    n, unit = int(m.group(1)), m.group(2)
    return {"m": dt.timedelta(minutes=n), "h": dt.timedelta(hours=n), "d": dt.timedelta(days=n)}[unit]


def on_emulator() -> bool:
    """Whether CloudWatch calls go to a local endpoint (moto) rather than AWS."""
    return bool(os.environ.get("AWS_ENDPOINT_URL_CLOUDWATCH") or os.environ.get("AWS_ENDPOINT_URL"))


def body_for(
    config: ProjectConfig, pipeline: str, environment: str, region: str, resource_prefix: str = ""
) -> dict[str, Any]:
    """The dashboard body of ``pipeline`` with every placeholder filled in, as CloudWatch gets it.

    ``resource_prefix`` comes before each declared function's and queue's name (Terraform's
    ``<project>-<env>-``); the emulator's resources carry none.
    """
    spec = specs(config, environment)[pipeline]
    text = json.dumps(build_dashboard(spec))
    namespace = os.environ.get("METRICS_NAMESPACE") or config.effective_namespace
    fills = {
        "environment": environment,
        "region": region,
        "namespace": namespace,
        "alarm_arn_prefix": "",  # the alarm widget lists names; Terraform makes them ARNs
        "log_group_prefix": "/aws/lambda/" + resource_prefix,
        "resource_prefix": resource_prefix,
    }
    for key, value in fills.items():
        text = text.replace("${" + key + "}", value)
    body: dict[str, Any] = json.loads(text)
    return body


# --------------------------------------------------------------------------------- seeding


def emf_to_metric_data(docs: Iterable[Mapping[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """EMF documents as PutMetricData datums per namespace (what CloudWatch extracts from the logs)."""
    out: dict[str, list[dict[str, Any]]] = {}
    for doc in docs:
        aws = doc.get("_aws") or {}
        when = dt.datetime.fromtimestamp(int(aws.get("Timestamp", 0)) / 1000, tz=dt.UTC)
        for directive in aws.get("CloudWatchMetrics", []):
            for dim_set in directive.get("Dimensions", []):
                dims = [{"Name": d, "Value": str(doc[d])} for d in dim_set]
                for m in directive.get("Metrics", []):
                    raw = doc.get(m["Name"])
                    values = raw if isinstance(raw, list) else [raw]
                    for v in values:
                        if isinstance(v, int | float):
                            out.setdefault(directive["Namespace"], []).append(
                                {
                                    "MetricName": m["Name"],
                                    "Dimensions": dims,
                                    "Timestamp": when,
                                    "Value": float(v),
                                    "Unit": m.get("Unit", "None"),
                                }
                            )
    return out


def seed(client: Any, docs: Iterable[Mapping[str, Any]]) -> int:
    """Put EMF documents into the emulator's CloudWatch; refused against real AWS. Returns datums."""
    if not on_emulator():
        raise PreviewError("--emf writes metrics: only against the local emulator (set AWS_ENDPOINT_URL)")
    n = 0
    for namespace, datums in emf_to_metric_data(docs).items():
        for start in range(0, len(datums), 500):
            chunk = datums[start : start + 500]
            client.put_metric_data(Namespace=namespace, MetricData=chunk)
            n += len(chunk)
    return n


def read_emf(path: Path) -> list[dict[str, Any]]:
    """The EMF documents among the JSON lines of ``path`` (other lines are skipped)."""
    docs = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if '"_aws"' not in line:
            continue
        try:
            doc = json.loads(line)
        except ValueError:
            continue
        if isinstance(doc, dict) and "_aws" in doc:
            docs.append(doc)
    return docs


# --------------------------------------------------------------------------------- fetching


def _metric_row(row: list[Any]) -> tuple[str, str, dict[str, str], dict[str, Any]]:
    options = row[-1] if isinstance(row[-1], dict) else {}
    parts = row[:-1] if options else row
    namespace, name, rest = parts[0], parts[1], parts[2:]
    dims = {str(rest[i]): str(rest[i + 1]) for i in range(0, len(rest) - 1, 2)}
    return str(namespace), str(name), dims, options


def _unit(namespace: str, name: str) -> str:
    if namespace.startswith("AWS/"):
        return catalogue.AWS_UNITS.get((namespace, name), "")
    definition = catalogue.CATALOGUE.get(name)
    return definition.unit if definition else ""


class _Fetcher:
    """GetMetricData (and ListMetrics for SEARCH) for one time window."""

    def __init__(self, client: Any, start: dt.datetime, end: dt.datetime, emulator: bool) -> None:
        self.client, self.start, self.end, self.emulator = client, start, end, emulator
        self.notes: set[str] = set()

    def stat(self, stat: str) -> str:
        if self.emulator and stat.startswith("p"):
            self.notes.add(
                f"the emulator computes no percentiles: {stat} lines show Maximum (AWS draws {stat})"
            )
            return "Maximum"
        return stat

    def get(self, queries: list[dict[str, Any]]) -> dict[str, list[tuple[dt.datetime, float]]]:
        out: dict[str, list[tuple[dt.datetime, float]]] = {q["Id"]: [] for q in queries}
        for start in range(0, len(queries), 500):
            kwargs: dict[str, Any] = {
                "MetricDataQueries": queries[start : start + 500],
                "StartTime": self.start,
                "EndTime": self.end,
                "ScanBy": "TimestampAscending",
            }
            while True:
                try:
                    page = self.client.get_metric_data(**kwargs)
                except Exception as exc:  # botocore's errors, without importing botocore here
                    raise PreviewError(f"GetMetricData failed: {exc}") from None
                for r in page.get("MetricDataResults", []):
                    out[r["Id"]] += list(zip(r.get("Timestamps", []), r.get("Values", []), strict=False))
                token = page.get("NextToken")
                if not token:
                    break
                kwargs["NextToken"] = token
        return {k: sorted(v) for k, v in out.items()}

    def alarm_states(self, names: list[str]) -> dict[str, str]:
        """name -> state of the alarms that exist at the endpoint (none, before a deploy)."""
        states: dict[str, str] = {}
        for start in range(0, len(names), 100):
            try:
                page = self.client.describe_alarms(AlarmNames=names[start : start + 100])
            except Exception:  # an endpoint without alarms support: the states stay unknown
                return states
            for alarm in page.get("MetricAlarms", []) + page.get("CompositeAlarms", []):
                states[alarm["AlarmName"]] = alarm.get("StateValue", "?")
        return states

    def search(self, expression: str, default_label: str) -> list[Series]:
        m = _SEARCH.search(expression)
        if not m:
            raise PreviewError(f"cannot read the SEARCH expression {expression!r}")
        schema = [s.strip().strip('"') for s in m.group(1).split(",")]
        namespace, dim_names = schema[0], set(schema[1:])
        terms = dict(_TERM.findall(m.group(2)))
        name = terms.pop("MetricName", None)
        filters = [{"Name": k, "Value": v} for k, v in terms.items()]
        metrics: list[dict[str, Any]] = []
        seen: set[tuple[str, tuple[tuple[str, str], ...]]] = set()
        kwargs: dict[str, Any] = {"Namespace": namespace, "Dimensions": filters}
        if name:
            kwargs["MetricName"] = name
        while True:
            try:
                page = self.client.list_metrics(**kwargs)
            except Exception as exc:
                raise PreviewError(f"ListMetrics failed: {exc}") from None
            for x in page.get("Metrics", []):
                key = (x["MetricName"], tuple(sorted((d["Name"], d["Value"]) for d in x["Dimensions"])))
                if {d["Name"] for d in x["Dimensions"]} == dim_names and key not in seen:
                    seen.add(key)
                    metrics.append(x)
            if not page.get("NextToken"):
                break
            kwargs["NextToken"] = page["NextToken"]
        stat, period = self.stat(m.group(3)), int(m.group(4))
        queries, series = [], []
        for i, metric in enumerate(metrics[:100]):
            # labelled, as CloudWatch does, by the dimension values the search did not fix
            extra = [d["Value"] for d in metric["Dimensions"] if d["Name"] not in terms]
            qid = f"s{i}"
            queries.append({"Id": qid, "MetricStat": {"Metric": metric, "Period": period, "Stat": stat}})
            series.append(
                Series(
                    label=" ".join(extra) or default_label,
                    id=qid,
                    unit=_unit(metric["Namespace"], metric["MetricName"]),
                )
            )
        data = self.get(queries) if queries else {}
        for s in series:
            s.points = data.get(s.id, [])
        return series


def _math(
    expression: str, inputs: Mapping[str, list[tuple[dt.datetime, float]]]
) -> list[tuple[dt.datetime, float]]:
    from diagnostics.alarms import evaluate_expression

    times = sorted({t for points in inputs.values() for t, _ in points})
    by_id = {k: dict(v) for k, v in inputs.items()}
    out = []
    for t in times:
        value = evaluate_expression(expression, {k: pts.get(t) for k, pts in by_id.items()})
        if value is not None:
            out.append((t, value))
    return out


def fetch_widget(widget: Mapping[str, Any], fetcher: _Fetcher) -> DrawnWidget:
    """What one widget of the body shows over the window."""
    props = widget.get("properties", {})
    drawn = DrawnWidget(
        title=str(props.get("title", "")),
        kind=str(widget.get("type")),
        x=int(widget.get("x", 0)),
        y=int(widget.get("y", 0)),
        width=int(widget.get("width", 6)),
        height=int(widget.get("height", 6)),
        thresholds=list(props.get("annotations", {}).get("horizontal", [])),
        axes={
            k: str(v.get("label", "")) for k, v in (props.get("yAxis") or {}).items() if isinstance(v, dict)
        },
    )
    if drawn.kind == "text":
        drawn.text = str(props.get("markdown", ""))
        return drawn
    if drawn.kind == "alarm":
        names = [str(a) for a in props.get("alarms", [])]
        states = fetcher.alarm_states(names)
        drawn.text = "\n".join(f"* {n}: {states.get(n, 'not deployed here')}" for n in names)
        return drawn
    if drawn.kind == "log":
        drawn.text = "Logs Insights (not run by the preview):\n" + str(props.get("query", ""))
        return drawn
    period = int(props.get("period", 300))
    queries: list[dict[str, Any]] = []
    series: list[Series] = []
    expressions: list[tuple[Series, str]] = []
    for i, row in enumerate(props.get("metrics", [])):
        if row and isinstance(row[0], dict):
            options = row[0]
            expr = str(options.get("expression", ""))
            label = str(options.get("label") or options.get("id") or f"e{i}")
            if expr.startswith("SEARCH("):
                series += fetcher.search(expr, label)
            else:
                s = Series(
                    label=label,
                    id=str(options.get("id", f"e{i}")),
                    unit="Percent" if "100" in expr else "",
                    visible=options.get("visible", True) is not False,
                    right=options.get("yAxis") == "right",
                )
                expressions.append((s, expr))
                series.append(s)
            continue
        namespace, name, dims, options = _metric_row(row)
        qid = str(options.get("id") or f"m{i}")
        stat = fetcher.stat(str(options.get("stat") or props.get("stat", "Sum")))
        queries.append(
            {
                "Id": qid,
                "MetricStat": {
                    "Metric": {
                        "Namespace": namespace,
                        "MetricName": name,
                        "Dimensions": [{"Name": k, "Value": v} for k, v in dims.items()],
                    },
                    "Period": period,
                    "Stat": stat,
                },
            }
        )
        series.append(
            Series(
                label=str(options.get("label") or name),
                id=qid,
                unit="Count" if stat == "SampleCount" else _unit(namespace, name),
                visible=options.get("visible", True) is not False,
                right=options.get("yAxis") == "right",
            )
        )
    data = fetcher.get(queries) if queries else {}
    for s in series:
        if s.id in data:
            s.points = data[s.id]
    for s, expr in expressions:
        s.points = _math(expr, data)
    drawn.series = series
    return drawn


# --------------------------------------------------------------------------------- drawing


def _markdown_lines(text: str) -> list[tuple[str, str]]:
    """(style, text) per line of the small markdown the header widget uses."""
    out = []
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped:
            continue
        if stripped.startswith("#"):
            out.append(("heading", stripped.lstrip("#").strip()))
        elif stripped.startswith(("* ", "- ")):
            out.append(("bullet", "• " + stripped[2:].replace("**", "")))
        else:
            out.append(("text", stripped.replace("`", "")))
    return out


def _wrap(text: str, width: int) -> str:
    import textwrap

    return "\n".join(textwrap.wrap(text, width=max(20, width * 9)))


ALARM_COLUMN_W = 470  # pixels per column of alarm states (a long alarm name and its state)
LEGEND_ROW_H = 11  # pixels per legend row at font size 6
LEGEND_MAX_ROWS = 3


def _legend_grid(labels: Sequence[str], width: float) -> tuple[int, int]:
    """Columns and rows of a legend under a graph ``width`` pixels wide (rows capped; 0 rows if empty)."""
    if not labels:
        return 1, 0
    entry = 32 + 4.6 * max(len(label) for label in labels)  # handle, spacing and text at font size 6
    columns = max(1, min(len(labels), int(width // entry)))
    rows = -(-len(labels) // columns)
    return columns, min(rows, LEGEND_MAX_ROWS)


def draw(
    widgets: Sequence[DrawnWidget], path: Path, title: str, window: tuple[dt.datetime, dt.datetime]
) -> Path:
    """The widgets at their grid places, as one PNG, every graph over the same ``window``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.dates as mdates
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    rows = max((w.y + w.height for w in widgets), default=1)
    header = 40  # pixels above the grid, for the page title
    fig_w, fig_h = GRID * CELL_W, rows * CELL_H + header
    fig = Figure(figsize=(fig_w / 100, fig_h / 100), dpi=100)
    fig.patch.set_facecolor("#f2f3f3")
    fig.text(6 / fig_w, 1 - 18 / fig_h, title, fontsize=11, weight="bold", va="center")

    def box(x0: float, y0: float, width: float, height: float) -> tuple[float, float, float, float]:
        """A rectangle in pixels (from the top left) as figure fractions (from the bottom left)."""
        return (x0 / fig_w, 1 - (y0 + height) / fig_h, width / fig_w, height / fig_h)

    def card(x0: float, y0: float, width: float, height: float) -> Any:
        panel = fig.add_axes(box(x0, y0, width, height))
        panel.set_facecolor("white")
        panel.set_xticks([])
        panel.set_yticks([])
        for spine in panel.spines.values():
            spine.set_color("#d5dbdb")
        return panel

    for w in widgets:
        x0, y0 = w.x * CELL_W + 4, header + w.y * CELL_H + 4
        width, height = w.width * CELL_W - 8, w.height * CELL_H - 8
        panel = card(x0, y0, width, height)
        if w.kind in ("text", "alarm", "log"):
            lines = _markdown_lines(w.text if w.kind != "log" else _wrap(w.text, w.width))
            if w.kind != "text":
                lines.insert(0, ("heading", w.title))
            line_h = 15 / height
            rows = max(1, int(height // 15) - 1)
            # alarm states flow into columns, as CloudWatch tiles them, so a long list shows whole
            columns = max(1, int(width // ALARM_COLUMN_W)) if w.kind == "alarm" else 1
            per_column = max(1, -(-(len(lines) - 1) // columns)) if columns > 1 else rows
            placed = [(0, 0, lines[0])] if columns > 1 else []
            if columns > 1:
                placed += [(1 + i % per_column, i // per_column, line) for i, line in enumerate(lines[1:])]
            else:
                placed = [(i, 0, line) for i, line in enumerate(lines)]
            for row, column, (style, text) in placed:
                if row >= rows:
                    continue
                heading = style == "heading"
                panel.text(
                    0.01 + column * ALARM_COLUMN_W / width,
                    1 - (row + 0.9) * line_h,
                    text[:220],
                    transform=panel.transAxes,
                    va="center",
                    fontsize=10 if heading else 8,
                    weight="bold" if heading else "normal",
                )
            continue
        panel.text(
            6 / width,
            1 - 11 / height,
            w.title[:80],
            transform=panel.transAxes,
            fontsize=8,
            weight="bold",
            va="center",
        )
        shown = [s for s in w.series if s.visible]
        has_right = any(s.right for s in shown) or any(t.get("yAxis") == "right" for t in w.thresholds)
        labels = [s.label[:40] for s in shown if s.points]
        columns, legend_rows = _legend_grid(labels, width - 12)
        legend_h = legend_rows * LEGEND_ROW_H + (4 if legend_rows else 0)
        ax = fig.add_axes(
            box(x0 + 46, y0 + 24, width - 46 - (44 if has_right else 10), height - 24 - 22 - legend_h)
        )
        ax.set_facecolor("none")
        axes = {"left": ax, "right": ax.twinx() if has_right else ax}
        handles: list[Any] = []
        for n, s in enumerate(shown):
            if s.points:
                xs, ys = zip(*s.points, strict=True)
                target = axes["right" if s.right else "left"]
                (line,) = target.plot(
                    xs,
                    ys,
                    linewidth=1.3,
                    color=f"C{n % 10}",
                    marker="." if len(xs) < 3 else None,
                    label=s.label[:40],
                )
                handles.append(line)
        for t in w.thresholds:
            target = axes["right" if t.get("yAxis") == "right" else "left"]
            colour = t.get("color", "#d62728")
            target.axhline(float(t["value"]), color=colour, linestyle="--", linewidth=1)
            target.annotate(
                str(t.get("label", ""))[:40],
                xy=(1, float(t["value"])),
                xycoords=("axes fraction", "data"),
                ha="right",
                va="bottom",
                fontsize=6,
                color=colour,
                bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.8, "pad": 1},
            )
        if not handles:
            ax.text(0.5, 0.5, "No data", transform=ax.transAxes, ha="center", va="center", color="#687078")
        else:  # below the graph, as CloudWatch draws it, so it never covers a line
            kept = columns * legend_rows
            if len(handles) > kept:
                handles = handles[: kept - 1]
                handles.append(Line2D([], [], linestyle="none", label=f"+{len(labels) - kept + 1} more"))
            fig.legend(
                handles=handles,
                loc="upper left",
                bbox_to_anchor=box(x0 + 40, y0 + height - legend_h - 2, width - 46, legend_h),
                ncol=columns,
                fontsize=6,
                frameon=False,
                handlelength=1.5,
                columnspacing=1.2,
                borderaxespad=0,
                borderpad=0.2,
                labelspacing=0.3,
            )
        for side, target in axes.items():
            if side == "right" and target is ax:
                continue
            on_side = [s for s in shown if s.right == (side == "right")]
            values = [v for s in on_side for _, v in s.points]
            values += [
                float(t["value"]) for t in w.thresholds if (t.get("yAxis") == "right") == (side == "right")
            ]
            if values and min(values) >= 0:  # counts, latencies, percentages from 0, as CloudWatch draws them
                target.set_ylim(bottom=0, top=max(max(values) * 1.1, 1))
            label = w.axes.get(side) or " / ".join(sorted({s.unit for s in on_side if s.unit}))
            target.set_ylabel(label, fontsize=7)
            target.tick_params(labelsize=6)
        ax.set_xlim(mdates.date2num(window[0]), mdates.date2num(window[1]))
        ax.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M"))
        ax.xaxis.set_major_locator(mdates.AutoDateLocator(minticks=3, maxticks=6))
        ax.grid(True, color="#eaeded", linewidth=0.6)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, facecolor=fig.get_facecolor())
    return path


def page(
    widgets: Sequence[DrawnWidget], png: Path, title: str, notes: Iterable[str], images: Sequence[Path]
) -> str:
    """The HTML page: the picture, what each widget drew, the notes, CloudWatch's own images."""
    rows = []
    for w in widgets:
        if w.kind != "metric":
            continue
        series = "<br>".join(
            html.escape(
                f"{s.label}: {len(s.points)} point(s)"
                + (f", last {s.points[-1][1]:g}" if s.points else "")
                + ("" if s.visible else " (hidden, used by math)")
            )
            for s in w.series
        )
        marks = "<br>".join(html.escape(f"{t.get('label')} ({t.get('value')})") for t in w.thresholds) or "-"
        rows.append(
            f"<tr><td>{w.x},{w.y} {w.width}x{w.height}</td><td>{html.escape(w.title)}</td>"
            f"<td>{series or 'No data'}</td><td>{marks}</td></tr>"
        )
    data = base64.b64encode(png.read_bytes()).decode()
    extra = "".join(
        f'<figure><img src="{html.escape(p.name)}" alt="{html.escape(p.stem)}">'
        f"<figcaption>{html.escape(p.stem)}</figcaption></figure>"
        for p in images
    )
    notes_html = "".join(f"<li>{html.escape(n)}</li>" for n in notes)
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        f"<title>{html.escape(title)}</title><style>body{{font:14px system-ui,sans-serif;margin:24px;"
        "color:#16191f}table{border-collapse:collapse;margin-top:12px}td,th{border:1px solid #d5dbdb;"
        "padding:4px 8px;vertical-align:top;text-align:left}img{max-width:100%;border:1px solid #d5dbdb}"
        "figure{display:inline-block;margin:8px}</style></head><body>"
        f'<h1>{html.escape(title)}</h1><img src="data:image/png;base64,{data}" alt="dashboard preview">'
        f"<ul>{notes_html}</ul><table><tr><th>grid x,y w x h</th><th>widget</th><th>series</th>"
        f"<th>thresholds</th></tr>{''.join(rows)}</table>"
        + (f"<h2>CloudWatch's rendering (GetMetricWidgetImage)</h2>{extra}" if extra else "")
        + "</body></html>\n"
    )


def preview(
    config: ProjectConfig,
    pipeline: str,
    out: Path,
    *,
    environment: str = "dev",
    since: str = "3h",
    region: str | None = None,
    aws_image: bool = False,
    emf: Path | None = None,
    client: Any = None,
    now: dt.datetime | None = None,
    resource_prefix: str = "",
) -> list[Path]:
    """Draw ``pipeline``'s dashboard for ``environment``; returns the files written."""
    if pipeline not in config.pipelines:
        raise PreviewError(f"no pipeline {pipeline!r} (pipelines: {', '.join(config.pipelines) or 'none'})")
    window = parse_since(since)
    if emf is not None and not on_emulator():
        raise PreviewError("--emf writes metrics: only against the local emulator (set AWS_ENDPOINT_URL)")
    if client is None:
        import boto3

        client = boto3.client("cloudwatch", region_name=region)
    region = region or client.meta.region_name or "us-east-1"
    emulator = on_emulator()
    notes = [f"data: GetMetricData at {client.meta.endpoint_url} ({'local emulator' if emulator else 'AWS'})"]
    if emf is not None:
        notes.append(f"seeded {seed(client, read_emf(emf))} datapoints from {emf} into the emulator")
    end = (now or dt.datetime.now(dt.UTC)).replace(microsecond=0) + dt.timedelta(minutes=5)
    fetcher = _Fetcher(client, end - window, end, emulator)
    body = body_for(config, pipeline, environment, region, resource_prefix)
    widgets = [fetch_widget(w, fetcher) for w in body["widgets"]]
    title = f"{config.pipelines[pipeline].title}: {pipeline} dashboard, {environment}, last {since}"
    title += " (times in UTC)"
    out.mkdir(parents=True, exist_ok=True)
    png = draw(widgets, out / f"{pipeline}.{environment}.png", title, (fetcher.start, fetcher.end))
    images: list[Path] = []
    if aws_image:
        if emulator:
            notes.append("--aws-image: GetMetricWidgetImage exists on AWS only; the emulator has no renderer")
        else:
            for i, w in enumerate(body["widgets"]):
                if w.get("type") != "metric":
                    continue
                spec = {
                    **w["properties"],
                    "width": w["width"] * CELL_W,
                    "height": w["height"] * CELL_H,
                    "start": f"-PT{int(window.total_seconds() // 60)}M",
                }
                image = client.get_metric_widget_image(MetricWidget=json.dumps(spec), OutputFormat="png")
                path = out / f"{pipeline}.{environment}.widget-{i:02d}.png"
                path.write_bytes(image["MetricWidgetImage"])
                images.append(path)
    notes += sorted(fetcher.notes)
    page_path = out / f"{pipeline}.{environment}.html"
    page_path.write_text(page(widgets, png, title, notes, images), encoding="utf-8")
    (out / f"{pipeline}.{environment}.json").write_text(
        json.dumps(
            [
                {
                    "title": w.title,
                    "kind": w.kind,
                    "x": w.x,
                    "y": w.y,
                    "width": w.width,
                    "height": w.height,
                    "thresholds": [t.get("value") for t in w.thresholds],
                    "series": {s.label: [v for _, v in s.points] for s in w.series},
                }
                for w in widgets
            ],
            indent=1,
        ),
        encoding="utf-8",
    )
    return [png, page_path, *images]
