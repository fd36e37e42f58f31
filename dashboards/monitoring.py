"""The monitoring layer: which widgets and which alarms, per pipeline.

Widgets flow left to right, three to a row. Every alarm's threshold is drawn as a horizontal
annotation on the widget showing its metric for its service, coloured by severity.
"""

from __future__ import annotations

from typing import Any

from dashboards import factory
from dashboards.config import AlarmChoice, PipelineSpec
from observe import catalogue
from observe.telemetry import AWS_THROTTLING, HTTP_429

COLOURS = {"critical": "#d62728", "warning": "#ff7f0e", "info": "#1f77b4"}
OPERATORS = {
    "GreaterThanOrEqualToThreshold": ">=",
    "GreaterThanThreshold": ">",
    "LessThanThreshold": "<",
    "LessThanOrEqualToThreshold": "<=",
}
WIDTH, HEIGHT, PER_ROW = 8, 6, 3


def _services_for(spec: PipelineSpec, metric: str) -> tuple[str, ...]:
    if metric == "ErrorRate" or catalogue.get(metric).group == "invocation":
        return spec.services
    try:
        return spec.emitters[metric]
    except KeyError:
        raise ValueError(
            f"pipeline {spec.name!r}: no emitters listed for {metric!r} in dashboards/config.py"
        ) from None


def _annotations(spec: PipelineSpec, metric: str, service: str) -> list[dict[str, Any]]:
    out = []
    for a in spec.alarms:
        if a.metric == metric and service in _services_for(spec, metric):
            out.append(
                {
                    "label": f"{a.severity}: {metric} {OPERATORS[a.comparison]} {a.threshold:g}",
                    "value": a.threshold,
                    "color": COLOURS[a.severity],
                }
            )
    return out


def _widget(
    title: str,
    metrics: list[Any],
    annotations: list[dict[str, Any]] | None = None,
    *,
    stacked: bool = False,
    stat: str = "Sum",
) -> dict[str, Any]:
    props: dict[str, Any] = {
        "title": title,
        "view": "timeSeries",
        "stacked": stacked,
        "region": "${region}",
        "period": 300,
        "stat": stat,
        "metrics": metrics,
    }
    if annotations:
        props["annotations"] = {"horizontal": annotations}
    return {"type": "metric", "width": WIDTH, "height": HEIGHT, "properties": props}


def _invocation_widgets(spec: PipelineSpec, service: str) -> list[dict[str, Any]]:
    p = spec.name
    m = factory.metric
    rate = {
        "expression": "IF(invocations > 0, 100 * errors / invocations, 0)",
        "label": "error rate (%)",
        "id": "rate",
    }
    return [
        _widget(
            f"{service}: duration",
            [
                m("Duration", p, service, stat="p50", label="p50"),
                m("Duration", p, service, stat="p99", label="p99"),
            ],
            _annotations(spec, "Duration", service),
        ),
        _widget(
            f"{service}: errors and error rate",
            [
                [rate],
                m("Errors", p, service, stat="Sum", id="errors", label="errors"),
                m("Duration", p, service, stat="SampleCount", id="invocations", label="invocations"),
            ],
            _annotations(spec, "ErrorRate", service) + _annotations(spec, "Errors", service),
        ),
        _widget(
            f"{service}: throttles by source",
            [
                m("Throttles", p, service, label="all"),
                m("Throttles", p, service, label=HTTP_429, source=HTTP_429),
                m("Throttles", p, service, label=AWS_THROTTLING, source=AWS_THROTTLING),
            ],
            _annotations(spec, "Throttles", service),
        ),
        _widget(
            f"{service}: memory",
            [m("MaxMemoryUsed", p, service), m("MemoryUtilization", p, service)],
            _annotations(spec, "MemoryUtilization", service) + _annotations(spec, "MaxMemoryUsed", service),
            stat="Maximum",
        ),
        _widget(
            f"{service}: cold starts and batch failures",
            [m("ColdStart", p, service), m("BatchItemFailures", p, service)],
            _annotations(spec, "ColdStart", service) + _annotations(spec, "BatchItemFailures", service),
        ),
        _widget(f"{service}: errors by exception class", [[factory.search("Errors", p, "error_type")]]),
    ]


def _group_widgets(spec: PipelineSpec, group: str) -> list[dict[str, Any]]:
    """One widget per unit within a group: counts together, latencies together; breakdowns apart."""
    members = [d for d in catalogue.CATALOGUE.values() if d.group == group]
    widgets = []
    by_unit: dict[str, list[catalogue.MetricDef]] = {}
    for d in members:
        by_unit.setdefault(d.unit, []).append(d)
    for unit, defs in by_unit.items():
        metrics: list[Any] = []
        annotations: list[dict[str, Any]] = []
        for d in defs:
            for service in _services_for(spec, d.name):
                metrics.append(factory.metric(d.name, spec.name, service, label=f"{d.name} ({service})"))
                annotations += _annotations(spec, d.name, service)
        stat = "p90" if unit == "Milliseconds" else "Sum"
        widgets.append(
            _widget(f"{group}: {', '.join(d.name for d in defs)}"[:100], metrics, annotations, stat=stat)
        )
    for d in members:
        for breakdown in d.dimensions:
            widgets.append(
                _widget(f"{group}: {d.name} by {breakdown}", [[factory.search(d.name, spec.name, breakdown)]])
            )
    return widgets


def _layout(widgets: list[dict[str, Any]], top: int) -> list[dict[str, Any]]:
    for i, w in enumerate(widgets):
        w["x"] = (i % PER_ROW) * WIDTH
        w["y"] = top + (i // PER_ROW) * HEIGHT
    return widgets


def build_dashboard(spec: PipelineSpec) -> dict[str, Any]:
    """The dashboard body for one pipeline, with terraform placeholders."""
    alarm_lines = "\n".join(
        f"* **{a.severity}**: {a.metric} {OPERATORS[a.comparison]} {a.threshold:g} "
        f"({a.statistic}, {a.period}s)"
        for a in spec.alarms
    )
    header = {
        "type": "text",
        "x": 0,
        "y": 0,
        "width": 24,
        "height": 4,
        "properties": {
            "markdown": (
                f"# {spec.title} (${{environment}})\n"
                f"Services: {', '.join(spec.services)}. Metrics from `observe/catalogue.py` "
                "(docs/metrics.md); triage: docs/operations.md.\n\n" + alarm_lines
            )
        },
    }
    widgets: list[dict[str, Any]] = []
    for service in spec.services:
        widgets += _invocation_widgets(spec, service)
    for group in spec.groups:
        if group != "invocation":
            widgets += _group_widgets(spec, group)
    return {"widgets": [header, *_layout(widgets, top=4)]}


def build_alarms(spec: PipelineSpec) -> list[dict[str, Any]]:
    """The alarm specs of one pipeline (the JSON terraform's observability module reads)."""
    alarms = []
    for a in spec.alarms:
        for service in _services_for(spec, a.metric):
            alarms.append(_alarm(spec, a, service))
    return alarms


def _alarm(spec: PipelineSpec, a: AlarmChoice, service: str) -> dict[str, Any]:
    name = f"{service}-{a.metric}-${{environment}}"  # service names already carry the pipeline
    base: dict[str, Any] = {
        "name": name,
        "description": (
            f"{a.severity}: {a.metric} of {service} {OPERATORS[a.comparison]} {a.threshold:g} "
            f"({a.statistic} over {a.period}s, {a.datapoints_to_alarm} of {a.evaluation_periods}). "
            f"Triage: diagnostics CLI / docs/operations.md."
        ),
        "severity": a.severity,
        "threshold": a.threshold,
        "comparison_operator": a.comparison,
        "evaluation_periods": a.evaluation_periods,
        "datapoints_to_alarm": a.datapoints_to_alarm,
        "treat_missing_data": "notBreaching",
        "pipeline": spec.name,
        "service": service,
        "metric": a.metric,
    }
    if a.metric == "ErrorRate":
        base["metric_queries"] = factory.error_rate_queries(spec.name, service, a.period)
    else:
        base.update(factory.alarm_metric(a.metric, spec.name, service, a.statistic, a.period))
    return base
