"""The metric factory: dashboard metric arrays and alarm metric specs from the catalogue.

Knows names, units, dimensions and statistics; knows nothing about layout. Every name goes
through :func:`observe.catalogue.get`, so a metric that is not catalogued cannot be drawn.
"""

from __future__ import annotations

from typing import Any

from observe import catalogue

NAMESPACE = "${namespace}"
ENVIRONMENT = "${environment}"


def dims(pipeline: str, service: str, **extra: str) -> dict[str, str]:
    """The full dimension set of a metric as the EMF writer emits it."""
    return {"service": service, "pipeline": pipeline, "environment": ENVIRONMENT, **extra}


def metric(
    name: str,
    pipeline: str,
    service: str,
    *,
    stat: str | None = None,
    label: str | None = None,
    id: str | None = None,
    visible: bool = True,
    **extra: str,
) -> list[Any]:
    """A dashboard metric array ``[ns, name, dim, value, ..., {options}]`` for a catalogued metric."""
    definition = catalogue.get(name)
    undeclared = set(extra) - set(definition.dimensions)
    if undeclared:
        raise ValueError(f"{name}: dimensions {sorted(undeclared)} are not declared in the catalogue")
    row: list[Any] = [NAMESPACE, name]
    for key, value in dims(pipeline, service, **extra).items():
        row += [key, value]
    options: dict[str, Any] = {"stat": stat or definition.statistic, "label": label or f"{service} {name}"}
    if id:
        options["id"] = id
    if not visible:
        options["visible"] = False
    row.append(options)
    return row


def search(name: str, pipeline: str, breakdown: str, stat: str = "Sum", period: int = 300) -> dict[str, Any]:
    """A SEARCH expression that draws one line per value of an extra dimension (reason, check...).

    Values such as failure reasons are not known ahead, so the breakdown is found at view time.
    """
    definition = catalogue.get(name)
    if breakdown not in definition.dimensions:
        raise ValueError(f"{name} has no dimension {breakdown!r} in the catalogue")
    schema = ",".join([NAMESPACE, *catalogue.STANDARD_DIMENSIONS, breakdown])
    query = f'{{{schema}}} MetricName="{name}" pipeline="{pipeline}" environment="{ENVIRONMENT}"'
    return {"expression": f"SEARCH('{query}', '{stat}', {period})", "label": "", "id": f"s_{name.lower()}"}


def alarm_metric(name: str, pipeline: str, service: str, stat: str, period: int) -> dict[str, Any]:
    """The metric part of an alarm spec (``metric_name``, ``namespace``, ``dimensions``, statistic)."""
    definition = catalogue.get(name)
    spec: dict[str, Any] = {
        "metric_name": definition.name,
        "namespace": NAMESPACE,
        "dimensions": dims(pipeline, service),
        "period": period,
    }
    if stat.startswith("p") or stat.startswith("tm"):
        spec["extended_statistic"] = stat
    else:
        spec["statistic"] = stat
    return spec


def error_rate_queries(pipeline: str, service: str, period: int) -> list[dict[str, Any]]:
    """Metric math for the error rate in percent: 100 * Errors / invocations (SampleCount of Duration)."""

    def q(qid: str, name: str, stat: str) -> dict[str, Any]:
        return {
            "id": qid,
            "return_data": False,
            "metric": {
                "metric_name": catalogue.get(name).name,
                "namespace": NAMESPACE,
                "dimensions": dims(pipeline, service),
                "stat": stat,
                "period": period,
            },
        }

    return [
        q("errors", "Errors", "Sum"),
        q("invocations", "Duration", "SampleCount"),
        {
            "id": "rate",
            "expression": "IF(invocations > 0, 100 * errors / invocations, 0)",
            "label": f"{service} error rate (%)",
            "return_data": True,
        },
    ]
