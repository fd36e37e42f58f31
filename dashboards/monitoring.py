"""The monitoring layer: which widgets and which alarms, per pipeline, and the checks they pass.

A dashboard reads from the top: row 0 is the state of the pipeline's alarms; then its error rate,
the depth of its dead-letter queues and its counts (the records funnel); then a widget of its own
for each alarmed pipeline metric, with the threshold; then per service its duration, errors (and
by exception class), throttles by source, memory and other counts; latencies and breakdowns of
the pipeline's groups; and log widgets running the saved triage queries.

Every widget keeps one unit per axis (a second unit, a percentage, goes on the right axis), draws
the thresholds of the alarms on what it shows once each, on the axis of their metric, and starts
count axes at zero. :func:`validate` checks all of it; the build refuses a dashboard it rejects.

The AWS metrics of the functions and queues a pipeline declares (``AWS/Lambda``, ``AWS/SQS``:
what EMF cannot see) come from :mod:`dashboards.aws`, after the alarmed metrics. More widgets
join through :data:`WIDGETS` (functions of a :class:`PipelineSpec` giving widgets, placed after
the pipeline's own), more alarms through :data:`ALARMS`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from dashboards import aws, factory
from dashboards.config import AlarmChoice, PipelineSpec
from observe import catalogue
from observe.catalogue import LOG_FIELDS

COLOURS = {"critical": "#d62728", "warning": "#ff7f0e", "info": "#1f77b4"}
OPERATORS = {
    "GreaterThanOrEqualToThreshold": ">=",
    "GreaterThanThreshold": ">",
    "LessThanThreshold": "<",
    "LessThanOrEqualToThreshold": "<=",
}
WIDTH, HEIGHT, PER_ROW, GRID = 8, 6, 3, 24
#: How an axis is labelled for each unit.
AXIS_LABELS = {
    "Count": "count",
    "Milliseconds": "ms",
    "Percent": "%",
    "Megabytes": "MB",
    "Bytes": "bytes",
    "Seconds": "s",
    "None": "value",
}
#: Widgets later features add to every pipeline's dashboard (each: PipelineSpec -> widgets).
WIDGETS: list[Callable[[PipelineSpec], list[dict[str, Any]]]] = []
#: Alarms later features add to every pipeline (each: PipelineSpec -> alarm specs).
ALARMS: list[Callable[[PipelineSpec], list[dict[str, Any]]]] = []
#: The dead-letter queues of a pipeline are found by these words in their names (and the pipeline's).
DLQ_TERM = "dlq"


def _services_for(spec: PipelineSpec, metric: str) -> tuple[str, ...]:
    if metric == factory.ERROR_RATE or catalogue.get(metric).group == "invocation":
        return spec.services
    try:
        return spec.emitters[metric]
    except KeyError:
        raise ValueError(
            f"pipeline {spec.name!r}: no service emits {metric!r}; list it in [pipelines.{spec.name}.emits]"
        ) from None


def axis(unit: str) -> str:
    return AXIS_LABELS.get(unit, unit)


def _annotations(
    spec: PipelineSpec, metrics: list[str], services: list[str], *, right: bool = False
) -> list[Any]:
    """The thresholds of the alarms on ``metrics`` of ``services``, each drawn once."""
    out: list[dict[str, Any]] = []
    for a in spec.alarms:
        if a.metric not in metrics or not set(services) & set(_services_for(spec, a.metric)):
            continue
        assert a.threshold is not None  # only an AWS metric's may be derived
        unit = axis(factory.unit_of(a.metric))
        ann: dict[str, Any] = {
            "label": f"{a.severity}: {a.metric} {OPERATORS[a.comparison]} {a.threshold:g} {unit}",
            "value": a.threshold,
            "color": COLOURS[a.severity],
        }
        if right:
            ann["yAxis"] = "right"
        if ann not in out:
            out.append(ann)
    return out


def title(text: str, width: int = WIDTH) -> str:
    """``text`` short enough to show whole in a widget ``width`` columns wide, cut at a word if need be."""
    limit = max_title(width)
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0].rstrip(" ,:;")
    return cut + "…"


def fit(width: int, *candidates: str) -> str:
    """The first of ``candidates`` that shows whole in a widget ``width`` columns wide, else the last, cut."""
    return next((c for c in candidates if len(c) <= max_title(width)), title(candidates[-1], width))


def human(name: str) -> str:
    """``BatchItemFailures`` -> ``batch item failures``."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", name).lower()


def max_title(width: int) -> int:
    """The longest title a widget of ``width`` columns shows without cutting it."""
    return int(width * 5.5)


def widget(
    name: str,
    metrics: list[Any],
    *,
    left: str,
    right: str | None = None,
    annotations: list[dict[str, Any]] | None = None,
    stat: str = "Sum",
    width: int = WIDTH,
    height: int = HEIGHT,
    stacked: bool = False,
) -> dict[str, Any]:
    """A time-series widget: ``left`` (and ``right``): the units of its axes, labelled; counts from zero."""
    y_axis: dict[str, Any] = {"left": {"label": axis(left), "showUnits": False}}
    if left in ("Count", "Percent", "Milliseconds", "Megabytes"):
        y_axis["left"]["min"] = 0
    if right is not None:
        y_axis["right"] = {"label": axis(right), "showUnits": False, "min": 0}
    props: dict[str, Any] = {
        "title": title(name, width),
        "view": "timeSeries",
        "stacked": stacked,
        "region": "${region}",
        "period": 300,
        "stat": stat,
        "metrics": metrics,
        "yAxis": y_axis,
    }
    if annotations:
        props["annotations"] = {"horizontal": annotations}
    return {"type": "metric", "width": width, "height": height, "properties": props}


# --- the rows -------------------------------------------------------------------------------------------


def alarm_names(spec: PipelineSpec) -> list[str]:
    return [a["name"] for a in build_alarms(spec)]


def _alarm_status(spec: PipelineSpec) -> dict[str, Any]:
    """Row 0: the state of every alarm of the pipeline (``${alarm_arn_prefix}`` is filled by Terraform)."""
    names = alarm_names(spec)
    return {
        "type": "alarm",
        "width": GRID,
        "height": 2 + (len(names) + 3) // 4,
        "properties": {
            "title": title(f"{spec.title} (${{environment}}): alarms", GRID),
            "alarms": [f"${{alarm_arn_prefix}}{n}" for n in names],
            "sortBy": "stateUpdatedTimestamp",
            "states": ["ALARM", "INSUFFICIENT_DATA", "OK"],
        },
    }


def _error_rate(spec: PipelineSpec) -> dict[str, Any]:
    rows = [r for i, s in enumerate(spec.services) for r in factory.error_rate_rows(spec.name, s, i)]
    return widget(
        "error rate per service (%)",
        rows,
        left="Percent",
        annotations=_annotations(spec, [factory.ERROR_RATE], list(spec.services)),
    )


def _dlq_depth(spec: PipelineSpec) -> dict[str, Any]:
    """Messages waiting in the pipeline's dead-letter queues: the ones it declares, with the alarm's
    threshold; else AWS/SQS queues whose names hold ``dlq`` and the pipeline's name."""
    rows = aws.dlq_rows(spec)
    if rows:
        anns = [
            a
            for q in spec.queues.values()
            if q.is_dlq
            for a in aws.threshold_lines(spec, [aws.VISIBLE], q.name)
        ]
        return widget(
            "dead-letter queues: messages waiting",
            rows,
            left="Count",
            stat="Maximum",
            annotations=aws.unique(anns),
        )
    # unquoted values match words of the queue name (partial match); quoted ones would need it whole
    query = (
        '{"AWS/SQS","QueueName"} MetricName="ApproximateNumberOfMessagesVisible" '
        f"QueueName={DLQ_TERM} QueueName={spec.name}"
    )
    return widget(
        "dead-letter queues: messages waiting",
        [[{"expression": f"SEARCH('{query}', 'Maximum', 300)", "label": "", "id": "dlq"}]],
        left="Count",
        stat="Maximum",
    )


def _counts(spec: PipelineSpec, group: str) -> dict[str, Any] | None:
    """The records funnel: a group's count metrics, every service that emits them, no thresholds
    (each alarmed one has its own widget at its own scale)."""
    rows = []
    for d in catalogue.CATALOGUE.values():
        if d.group == group and d.unit == "Count" and d.name in spec.emitters:
            rows += [
                factory.metric(d.name, spec.name, s, label=f"{d.name} ({s})")
                for s in _services_for(spec, d.name)
            ]
    return widget(f"{group}: counts", rows, left="Count") if rows else None


def _alarmed(spec: PipelineSpec) -> list[dict[str, Any]]:
    """One widget per alarmed metric of the pipeline's own groups: its values and its thresholds."""
    out = []
    seen: list[str] = []
    for a in spec.alarms:
        if (
            a.metric == factory.ERROR_RATE
            or a.metric in catalogue.AWS_METRICS  # drawn by dashboards.aws, per function and queue
            or a.metric in seen
            or catalogue.get(a.metric).group == "invocation"
            or factory.unit_of(a.metric) != "Count"  # levels are drawn, thresholds and all, with their group
        ):
            continue
        seen.append(a.metric)
        unit = factory.unit_of(a.metric)
        services = list(_services_for(spec, a.metric))
        rows = [factory.metric(a.metric, spec.name, s, stat=a.statistic, label=s) for s in services]
        out.append(
            widget(
                f"{a.metric} ({axis(unit)})",
                rows,
                left=unit,
                annotations=_annotations(spec, [a.metric], services),
                stat=a.statistic,
            )
        )
    return out


def _invocation_widgets(spec: PipelineSpec, service: str) -> list[dict[str, Any]]:
    """Per service: duration, errors, errors by exception class, throttles by source, memory, other counts."""
    p, m = spec.name, factory.metric
    members = [d for d in catalogue.CATALOGUE.values() if d.group == "invocation"]
    out: list[dict[str, Any]] = []
    for d in members:
        if d.unit == "Milliseconds":
            out.append(
                widget(
                    f"{service}: {d.name.lower()} (ms)",
                    [
                        m(d.name, p, service, stat="p50", label="p50"),
                        m(d.name, p, service, stat="p99", label="p99"),
                    ],
                    left="Milliseconds",
                    annotations=_annotations(spec, [d.name], [service]),
                    stat="p99",
                )
            )
    for d in members:
        if d.unit != "Count" or not d.dimensions:
            continue
        breakdown = d.dimensions[0]
        out.append(
            widget(
                f"{service}: {d.name.lower()} by {breakdown.replace('_', ' ')}",
                [m(d.name, p, service, label="all"), [factory.search(d.name, p, breakdown, service=service)]],
                left="Count",
                annotations=_annotations(spec, [d.name], [service]),
            )
        )
    sizes = [d for d in members if d.unit not in ("Count", "Milliseconds")]
    if sizes:
        units = list(dict.fromkeys(d.unit for d in sizes))
        left, right = units[0], (units[1] if len(units) > 1 else None)
        rows = [
            m(d.name, p, service, right=d.unit == right, label=f"{d.name} ({axis(d.unit)})") for d in sizes
        ]
        anns = _annotations(spec, [d.name for d in sizes if d.unit == left], [service])
        anns += _annotations(spec, [d.name for d in sizes if d.unit == right], [service], right=True)
        out.append(
            widget(
                f"{service}: memory ({' and '.join(axis(u) for u in units)})",
                rows,
                left=left,
                right=right,
                annotations=anns,
                stat="Maximum",
            )
        )
    others = [d for d in members if d.unit == "Count" and not d.dimensions]
    if others:
        out.append(
            widget(
                fit(
                    WIDTH,
                    f"{service}: {', '.join(human(d.name) for d in others)}",
                    f"{service}: other counts",
                ),
                [m(d.name, p, service, label=d.name) for d in others],
                left="Count",
                annotations=_annotations(spec, [d.name for d in others], [service]),
            )
        )
    return out


def _group_widgets(spec: PipelineSpec, group: str) -> list[dict[str, Any]]:
    """A group's latencies (one widget per unit other than counts) and its breakdowns, per emitter."""
    members = [d for d in catalogue.CATALOGUE.values() if d.group == group and d.name in spec.emitters]
    widgets = []
    by_unit: dict[str, list[catalogue.MetricDef]] = {}
    for d in members:
        if d.unit != "Count":
            by_unit.setdefault(d.unit, []).append(d)
    for unit, defs in by_unit.items():
        rows = [
            factory.metric(d.name, spec.name, s, stat=d.statistic, label=f"{d.name} {d.statistic} ({s})")
            for d in defs
            for s in _services_for(spec, d.name)
        ]
        widgets.append(
            widget(
                f"{group}: {', '.join(d.name for d in defs)} ({axis(unit)})",
                rows,
                left=unit,
                annotations=_annotations(spec, [d.name for d in defs], list(spec.services)),
                stat=defs[0].statistic,
            )
        )
    for d in members:
        for breakdown in d.dimensions:
            for s in _services_for(spec, d.name):
                widgets.append(
                    widget(
                        fit(WIDTH, f"{s}: {d.name} by {breakdown}", f"{d.name} by {breakdown}"),
                        [[factory.search(d.name, spec.name, breakdown, service=s)]],
                        left=d.unit,
                    )
                )
    return widgets


# --- log widgets: the saved triage queries ---------------------------------------------------------------


def errors_query() -> str:
    """Errors by service and exception type, newest first (the saved ``errors`` triage query)."""
    f = LOG_FIELDS
    return (
        f"fields @timestamp, {f.service}, {f.message}, {f.exception}.type, {f.exception}.message, "
        f"{f.correlation_id}\n"
        f'| filter {f.level} = "error" or {f.level} = "critical"\n'
        "| sort @timestamp desc\n"
        "| limit 200"
    )


def throttles_query() -> str:
    """Throttles by service and source per 5 minutes (the saved ``throttles`` triage query)."""
    f = LOG_FIELDS
    return (
        f"fields @timestamp, {f.service}, {f.throttle_source}, {f.throttle_code}, {f.retry_after_s}, "
        f"{f.correlation_id}\n"
        f"| filter ispresent({f.throttle_source})\n"
        f"| stats count(*) as throttles by {f.service}, {f.throttle_source}, bin(5m)"
    )


#: The saved triage queries shown as log widgets: (file name in the observability module, title, text).
LOG_QUERIES: tuple[tuple[str, str, Callable[[], str]], ...] = (
    ("errors", "errors, newest first", errors_query),
    ("throttles", "throttles by source", throttles_query),
)


def _log_widgets(spec: PipelineSpec) -> list[dict[str, Any]]:
    """The saved triage queries over the pipeline's log groups (``${log_group_prefix}`` + service)."""
    sources = " | ".join(f"SOURCE '${{log_group_prefix}}{s}'" for s in spec.services)
    return [
        {
            "type": "log",
            "width": GRID // 2,
            "height": HEIGHT,
            "properties": {
                "title": title(f"{spec.name}: {what}", GRID // 2),
                "region": "${region}",
                "query": f"{sources} | {make().replace(chr(10), ' ')}",
                "view": "table",
            },
        }
        for _, what, make in LOG_QUERIES
    ]


# --- the dashboard -------------------------------------------------------------------------------------


def _layout(widgets: list[dict[str, Any]], top: int) -> tuple[list[dict[str, Any]], int]:
    """Widgets left to right, as many to a row as fit; returns them and the first free row."""
    x, y, row_height = 0, top, 0
    for w in widgets:
        if x + w["width"] > GRID:
            x, y, row_height = 0, y + row_height, 0
        w["x"], w["y"] = x, y
        x += w["width"]
        row_height = max(row_height, w["height"])
    return widgets, y + row_height


def build_dashboard(spec: PipelineSpec) -> dict[str, Any]:
    """The dashboard body for one pipeline, with terraform placeholders; refused unless it validates."""
    status = _alarm_status(spec)
    status["x"], status["y"] = 0, 0
    groups = [g for g in spec.groups if g != "invocation"]
    first = [_error_rate(spec), _dlq_depth(spec)]
    counts = [w for w in (_counts(spec, g) for g in groups) if w is not None]
    first += counts[:1]
    widgets, y = _layout(first, status["height"])
    placed = [status, *widgets]
    rest: list[dict[str, Any]] = [*counts[1:], *_alarmed(spec), *aws.widgets(spec)]
    for service in spec.services:
        rest += _invocation_widgets(spec, service)
    for group in groups:
        rest += _group_widgets(spec, group)
    for extra in WIDGETS:
        rest += extra(spec)
    more, y = _layout(rest, y)
    logs, _ = _layout(_log_widgets(spec), y)
    body = {"widgets": [*placed, *more, *logs]}
    problems = validate(body)
    if problems:
        raise ValueError(
            f"pipeline {spec.name!r}: the dashboard breaks its own rules:\n- " + "\n- ".join(problems)
        )
    return body


# --- the checks a dashboard must pass ------------------------------------------------------------------

_SEARCH = re.compile(r"SEARCH\('\{((?:\$\{[^}]*\}|[^}])*)\}(.*?)',")  # the schema may hold ${namespace}


def _row_unit(row: list[Any]) -> tuple[str | None, str, bool]:
    """(unit, axis, visible) of one metric row (None: not known)."""
    options = row[-1] if isinstance(row[-1], dict) else {}
    axis = options.get("yAxis", "left")
    visible = options.get("visible", True)
    if isinstance(row[0], dict):
        expr = row[0].get("expression", "")
        m = _SEARCH.search(expr)
        if m:
            name = re.search(r'MetricName="([^"]+)"', m.group(2))
            if '"AWS/' not in m.group(1) and name and name.group(1) in catalogue.CATALOGUE:
                return catalogue.get(name.group(1)).unit, axis, True
            if '"AWS/SQS"' in m.group(1):
                return "Count", axis, True
            return None, axis, True
        ident = str(row[0].get("id", ""))
        unit = next((u for prefix, u in factory.EXPRESSION_UNITS.items() if ident.startswith(prefix)), None)
        return unit, row[0].get("yAxis", "left"), row[0].get("visible", True)
    if str(row[0]).startswith("AWS/"):
        return catalogue.AWS_UNITS.get((row[0], row[1])), axis, visible
    return (catalogue.get(row[1]).unit if row[1] in catalogue.CATALOGUE else None), axis, visible


def validate(body: dict[str, Any]) -> list[str]:
    """What is wrong with a dashboard body, one problem per line (empty: nothing).

    Refused: two units on one axis; a metric whose unit cannot be told; a SEARCH over a schema
    with ``service`` that does not name the service; a SEARCH whose namespace is not quoted; an
    annotation drawn twice on one widget; a title longer than its widget shows or cut mid-word;
    a count axis that may go below zero; widgets off the grid or on top of each other; row 0
    not the alarm states.
    """
    problems: list[str] = []
    widgets = body.get("widgets") or []
    cells: set[tuple[int, int]] = set()
    for w in widgets:
        props = w.get("properties", {})
        name = props.get("title", "?")
        if w["x"] < 0 or w["x"] + w["width"] > GRID:
            problems.append(f"{name!r}: off the {GRID}-column grid")
        for x in range(w["x"], w["x"] + w["width"]):
            for y in range(w["y"], w["y"] + w["height"]):
                if (x, y) in cells:
                    problems.append(f"{name!r}: overlaps another widget at {(x, y)}")
                cells.add((x, y))
        if len(name) > max_title(w["width"]):
            problems.append(
                f"{name!r}: longer than a {w['width']}-column widget shows ({max_title(w['width'])})"
            )
        if name.endswith("…") and not re.search(r"\w…$", name):
            problems.append(f"{name!r}: cut mid-word")
        if w["type"] != "metric":
            continue
        units: dict[str, set[str]] = {}
        for row in props.get("metrics", []):
            unit, axis, visible = _row_unit(row)
            if unit is None:
                problems.append(f"{name!r}: the unit of {row!r:.80} is not known")
                continue
            if visible:
                units.setdefault(axis, set()).add(unit)
            if isinstance(row[0], dict) and "SEARCH" in row[0].get("expression", ""):
                m = _SEARCH.search(row[0]["expression"])
                schema = m.group(1) if m else ""
                terms = [t.strip() for t in schema.split(",")]
                if terms and not terms[0].startswith('"'):
                    problems.append(f"{name!r}: the namespace {terms[0]} is not quoted in SEARCH")
                if any(t.strip('"') == "service" for t in terms[1:]) and 'service="' not in (
                    m.group(2) if m else ""
                ):
                    problems.append(f"{name!r}: a per-service SEARCH that does not name the service")
        for axis, found in units.items():
            if len(found) > 1:
                problems.append(f"{name!r}: {axis} axis mixes units {sorted(found)}")
        y_axis = props.get("yAxis", {})
        for axis, found in units.items():
            label = y_axis.get(axis, {}).get("label")
            if label is None:
                problems.append(f"{name!r}: the {axis} axis has no unit label")
            if "Count" in found and y_axis.get(axis, {}).get("min") != 0:
                problems.append(f"{name!r}: the {axis} count axis may go below zero (min must be 0)")
        anns = props.get("annotations", {}).get("horizontal", [])
        for i, a in enumerate(anns):
            if a in anns[:i]:
                problems.append(f"{name!r}: annotation {a.get('label')!r} drawn twice")
            if a.get("yAxis", "left") not in units:
                problems.append(f"{name!r}: annotation {a.get('label')!r} on an axis without metrics")
    if widgets and (widgets[0].get("type") != "alarm" or widgets[0].get("y") != 0):
        problems.append("row 0 must be the alarm-status widget of the pipeline's alarms")
    return problems


# --- alarms ----------------------------------------------------------------------------------------------


def build_alarms(spec: PipelineSpec) -> list[dict[str, Any]]:
    """The alarm specs of one pipeline (the JSON terraform's observability module reads)."""
    alarms = []
    for a in spec.alarms:
        if a.metric in catalogue.AWS_METRICS:
            continue
        for service in _services_for(spec, a.metric):
            alarms.append(_alarm(spec, a, service))
    alarms += aws.alarms(spec)
    for extra in ALARMS:
        alarms += extra(spec)
    return alarms


def alarm_spec(
    spec: PipelineSpec, a: AlarmChoice, *, name: str, watched: str, service: str, value: float
) -> dict[str, Any]:
    """The parts of an alarm spec every alarm has: its name, the sentence on-call reads, the rule,
    and what diagnostics needs to find its logs (``pipeline``, ``service``, ``metric``)."""
    return {
        "name": name,
        "description": (
            f"{a.severity}: {watched} {OPERATORS[a.comparison]} {value:g} "
            f"({a.statistic} over {a.period}s, {a.datapoints_to_alarm} of {a.evaluation_periods}). "
            f"Triage: observe diag alarm {name}."
        ),
        "severity": a.severity,
        "threshold": value,
        "comparison_operator": a.comparison,
        "evaluation_periods": a.evaluation_periods,
        "datapoints_to_alarm": a.datapoints_to_alarm,
        "treat_missing_data": "notBreaching",
        "pipeline": spec.name,
        "service": service,
        "metric": a.metric,
    }


def _alarm(spec: PipelineSpec, a: AlarmChoice, service: str) -> dict[str, Any]:
    name = f"{service}-{a.metric}-${{environment}}"  # service names already carry the pipeline
    assert a.threshold is not None  # only an AWS metric's may be derived
    base = alarm_spec(
        spec, a, name=name, watched=f"{a.metric} of {service}", service=service, value=a.threshold
    )
    if a.metric == factory.ERROR_RATE:
        base["metric_queries"] = factory.error_rate_queries(spec.name, service, a.period)
    else:
        base.update(factory.alarm_metric(a.metric, spec.name, service, a.statistic, a.period))
    return base
