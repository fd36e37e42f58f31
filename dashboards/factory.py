"""The metric factory: dashboard metric arrays and alarm metric specs from the catalogue.

Knows names, units, dimensions and statistics; knows nothing about layout. Every name goes
through :func:`observe.catalogue.get`, so a metric that is not catalogued cannot be drawn. Every
metric row and expression carries its unit (:func:`unit_of`), so the monitoring layer can keep one
unit per axis and the validator can check it.
"""

from __future__ import annotations

import re
from typing import Any

from observe import catalogue

NAMESPACE = "${namespace}"
ENVIRONMENT = "${environment}"
#: What comes before a function's or a queue's name where it is deployed (``<project>-<env>-``);
#: Terraform fills it in, so the generated JSON names no deployment.
RESOURCE_PREFIX = "${resource_prefix}"
#: observe's own per-invocation metrics the error rate is made of.
ERRORS, DURATION = "Errors", "Duration"
#: The metric-math pseudo-metric alarms and widgets use for the error rate.
ERROR_RATE = "ErrorRate"
#: Units of what is not a catalogued metric: the error rate expression (its ids start with ``rate``).
EXPRESSION_UNITS = {"rate": "Percent"}


def unit_of(name: str) -> str:
    """The unit of a catalogued metric, of an AWS one (``AWS/SQS/...``) or of the error rate (``Percent``)."""
    if name == ERROR_RATE:
        return "Percent"
    if name in catalogue.AWS_METRICS:
        return catalogue.AWS_METRICS[name].unit
    return catalogue.get(name).unit


def aws_metric(
    namespace: str,
    name: str,
    resource: str,
    *,
    stat: str,
    label: str,
    right: bool = False,
) -> list[Any]:
    """A dashboard metric array for an AWS metric of one deployed function or queue.

    ``resource`` is the name without the deployment's prefix; the row's dimension value is
    ``${resource_prefix}<resource>``.
    """
    if (namespace, name) not in catalogue.AWS_UNITS:
        raise ValueError(
            f"{namespace} {name} is not an AWS metric the dashboards know (observe.catalogue.AWS_METRICS)"
        )
    dimension = "FunctionName" if namespace == "AWS/Lambda" else "QueueName"
    options: dict[str, Any] = {"stat": stat, "label": label}
    if right:
        options["yAxis"] = "right"
    return [namespace, name, dimension, RESOURCE_PREFIX + resource, options]


def aws_alarm_metric(key: str, resource: str, stat: str, period: int) -> dict[str, Any]:
    """The metric part of an alarm spec on an AWS metric of one deployed function or queue."""
    aws = catalogue.AWS_METRICS[key]
    spec: dict[str, Any] = {
        "metric_name": aws.name,
        "namespace": aws.namespace,
        "dimensions": {aws.dimension: RESOURCE_PREFIX + resource},
        "period": period,
    }
    spec.update(_statistic(stat))
    return spec


def _statistic(stat: str) -> dict[str, str]:
    """``statistic`` or ``extended_statistic`` (percentiles, trimmed means), as the alarm API takes it."""
    if stat.startswith("p") or stat.startswith("tm"):
        return {"extended_statistic": stat}
    return {"statistic": stat}


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
    right: bool = False,
    **extra: str,
) -> list[Any]:
    """A dashboard metric array ``[ns, name, dim, value, ..., {options}]`` for a catalogued metric.

    ``right`` draws it on the right-hand axis (for a second unit on one widget).
    """
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
    if right:
        options["yAxis"] = "right"
    row.append(options)
    return row


def _quoted(term: str) -> str:
    """A SEARCH schema term in double quotes (namespaces and names with ``.`` ``-`` ``#`` ``:`` need them)."""
    return '"' + term.replace('"', '\\"') + '"'


def search(
    name: str,
    pipeline: str,
    breakdown: str,
    *,
    service: str,
    stat: str = "Sum",
    period: int = 300,
    id: str | None = None,
) -> dict[str, Any]:
    """A SEARCH expression drawing one line per value of an extra dimension (reason, check...) of one
    service: values such as failure reasons are not known ahead, so the breakdown is found at view time.

    The namespace and every dimension name are quoted in the schema; the search names the
    service, the pipeline and the environment, so it never gathers another service's lines.
    """
    definition = catalogue.get(name)
    if breakdown not in definition.dimensions:
        raise ValueError(f"{name} has no dimension {breakdown!r} in the catalogue")
    schema = ",".join(_quoted(t) for t in [NAMESPACE, *catalogue.STANDARD_DIMENSIONS, breakdown])
    filters = f'MetricName="{name}" service="{service}" pipeline="{pipeline}" environment="{ENVIRONMENT}"'
    ident = id or f"s_{re.sub(r'[^a-z0-9]', '_', (name + '_' + service).lower())}"
    return {"expression": f"SEARCH('{{{schema}}} {filters}', '{stat}', {period})", "label": "", "id": ident}


def alarm_metric(name: str, pipeline: str, service: str, stat: str, period: int) -> dict[str, Any]:
    """The metric part of an alarm spec (``metric_name``, ``namespace``, ``dimensions``, statistic)."""
    definition = catalogue.get(name)
    spec: dict[str, Any] = {
        "metric_name": definition.name,
        "namespace": NAMESPACE,
        "dimensions": dims(pipeline, service),
        "period": period,
    }
    spec.update(_statistic(stat))
    return spec


RATE_EXPRESSION = "IF({inv} > 0, 100 * {err} / {inv}, 0)"


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
        q("errors", ERRORS, "Sum"),
        q("invocations", DURATION, "SampleCount"),
        {
            "id": "rate",
            "expression": RATE_EXPRESSION.format(inv="invocations", err="errors"),
            "label": f"{service} error rate (%)",
            "return_data": True,
        },
    ]


def error_rate_rows(pipeline: str, service: str, n: int) -> list[list[Any]]:
    """Dashboard rows for one service's error rate (%): the expression and its two hidden metrics."""
    err, inv, rate = f"errors{n}", f"invocations{n}", f"rate{n}"
    return [
        [
            {
                "expression": RATE_EXPRESSION.format(inv=inv, err=err),
                "label": f"{service} error rate (%)",
                "id": rate,
            }
        ],
        metric(ERRORS, pipeline, service, stat="Sum", id=err, visible=False, label=f"{service} errors"),
        metric(
            DURATION,
            pipeline,
            service,
            stat="SampleCount",
            id=inv,
            visible=False,
            label=f"{service} invocations",
        ),
    ]
