"""CloudWatch Embedded Metric Format (EMF): metrics as JSON log lines, no API calls.

Values are buffered per invocation (by ``observed``) and written at the end as one document per
dimension set. Names, units and dimensions come from :mod:`observe.catalogue` (the standard
metrics and the project's ``observe.toml``). A misuse (an undeclared name, a wrong unit, an
undeclared or empty dimension, a value that is not a finite number) raises at the call in dev and
under ``observe.testing``; in stg and prd the value is dropped, warned about once and counted in
``TelemetryErrors`` (:mod:`observe.guard`). The EMF limits (30 dimensions a set, 100 metrics a
document, 100 values a metric) are kept by splitting into more documents, never by writing a
document CloudWatch would drop.
"""

from __future__ import annotations

import os
import time
from contextvars import ContextVar
from typing import Any

from observe import catalogue, guard
from observe.catalogue import MetricError, UnknownMetricError
from observe.logging import _dumps, write_line

MAX_METRICS_PER_DOC = 100
MAX_VALUES_PER_METRIC = 100
MAX_DIMENSIONS = 30
MAX_DIMENSION_VALUE = 1024  # characters; CloudWatch refuses a longer (or empty) dimension value
DEFAULT_NAMESPACE = "DataPipelines"
_INF = float("inf")

_Key = tuple[str, tuple[tuple[str, str], ...]]


class MetricsBuffer:
    """Metric values of one invocation, keyed by (name, extra dimensions)."""

    __slots__ = ("values",)

    def __init__(self) -> None:
        self.values: dict[_Key, list[float]] = {}

    def add(self, name: str, value: float, unit: str | None = None, **dimensions: str) -> None:
        """Add one value, checked against its declaration (see the module docstring for a misuse)."""
        definition = catalogue.CATALOGUE.get(name) or catalogue.lookup(name)
        if definition is None:
            return guard.misuse("undeclared_metric", name, UnknownMetricError(name))
        if unit is not None and unit != definition.unit:
            return guard.misuse(
                "bad_unit",
                name,
                MetricError(
                    f"metric {name!r} is declared in {definition.unit}, not {unit} "
                    f"(declared in {definition.source}); convert the value or drop the unit argument"
                ),
            )
        if type(value) not in (int, float):
            try:
                value = float(value)
            except (TypeError, ValueError):
                return guard.misuse(
                    "bad_value", name, MetricError(f"metric {name!r}: value {value!r} is not a number")
                )
        if value != value or value == _INF or value == -_INF:
            return guard.misuse(
                "bad_value", name, MetricError(f"metric {name!r}: value {value!r} is not a finite number")
            )
        if dimensions:
            problem = _dimension_problem(definition, dimensions)
            if problem:
                return guard.misuse("bad_dimension", name, MetricError(problem))
            key: _Key = (name, tuple(sorted((k, str(v)) for k, v in dimensions.items())))
        else:
            key = (name, ())
        bucket = self.values.get(key)
        if bucket is None:
            self.values[key] = [value]
        else:
            bucket.append(value)
        return None

    def put(self, name: str, value: float) -> None:
        """Add a value of a catalogued, dimensionless metric without the checks (observe's own)."""
        bucket = self.values.get((name, ()))
        if bucket is None:
            self.values[(name, ())] = [value]
        else:
            bucket.append(value)

    def count(self, name: str) -> float:
        """Sum of the values recorded for ``name`` across its dimension sets."""
        return sum(sum(v) for (n, _), v in self.values.items() if n == name)

    def __bool__(self) -> bool:
        return bool(self.values)


def _dimension_problem(definition: catalogue.MetricDef, dimensions: dict[str, Any]) -> str | None:
    undeclared = set(dimensions) - set(definition.dimensions)
    if undeclared:
        return (
            f"metric {definition.name!r}: dimension(s) {sorted(undeclared)} not declared "
            f"(declared: {list(definition.dimensions) or 'none'}, in {definition.source})"
        )
    for k, v in dimensions.items():
        text = str(v)
        if not text or len(text) > MAX_DIMENSION_VALUE:
            return (
                f"metric {definition.name!r}: dimension {k!r} must be 1 to {MAX_DIMENSION_VALUE} "
                f"characters, got {len(text)}"
            )
    return None


_current: ContextVar[MetricsBuffer | None] = ContextVar("observe_metrics", default=None)


def namespace() -> str:
    """``METRICS_NAMESPACE``, else the project configuration's ``namespace``, else ``DataPipelines``."""
    env = os.environ.get("METRICS_NAMESPACE")
    if env:
        return env
    from observe import project

    return project.namespace() or DEFAULT_NAMESPACE


def documents(
    buffer: MetricsBuffer,
    dimensions: dict[str, str],
    properties: dict[str, Any] | None = None,
    *,
    timestamp_ms: int | None = None,
) -> list[dict[str, Any]]:
    """The EMF documents for ``buffer``: one per extra-dimension set, split to the EMF limits.

    A value recorded with extra dimensions is also counted in the standard-dimension document,
    so the total is a plain metric (alarms need no metric math).
    """
    if len(dimensions) > MAX_DIMENSIONS:
        raise ValueError(f"{len(dimensions)} dimensions, EMF allows {MAX_DIMENSIONS}")
    ts = timestamp_ms if timestamp_ms is not None else int(time.time() * 1000)
    buffered = buffer.values
    if len(buffered) <= MAX_METRICS_PER_DOC and all(
        not extra and len(v) <= MAX_VALUES_PER_METRIC for (_, extra), v in buffered.items()
    ):
        # The common case: standard dimensions only, within the limits: one document, built directly.
        doc = _document(namespace(), ts, dimensions, [name for name, _ in buffered], properties)
        for (name, _), vals in buffered.items():
            doc[name] = vals[0] if len(vals) == 1 else vals
        return [doc]
    groups: dict[tuple[tuple[str, str], ...], dict[str, list[float]]] = {}
    totals: dict[str, list[float]] = groups.setdefault((), {})
    for (name, extra), vals in buffered.items():
        if extra:
            groups.setdefault(extra, {})[name] = vals
        totals.setdefault(name, []).extend(vals)
    ns = namespace()
    docs: list[dict[str, Any]] = []
    for extra, metrics in groups.items():
        if not metrics:
            continue
        dims = {**dimensions, **dict(extra)}
        if len(dims) > MAX_DIMENSIONS:
            raise ValueError(f"{len(dims)} dimensions, EMF allows {MAX_DIMENSIONS}")
        names = list(metrics)
        for start in range(0, len(names), MAX_METRICS_PER_DOC):
            chunk = names[start : start + MAX_METRICS_PER_DOC]
            rounds = max(len(metrics[n]) for n in chunk)
            for offset in range(0, rounds, MAX_VALUES_PER_METRIC):
                present = [n for n in chunk if len(metrics[n]) > offset]
                doc = _document(ns, ts, dims, present, properties)
                for n in present:
                    part = metrics[n][offset : offset + MAX_VALUES_PER_METRIC]
                    doc[n] = part[0] if len(part) == 1 else part
                docs.append(doc)
    return docs


_directives: dict[str, dict[str, str]] = {}


def _directive(name: str) -> dict[str, str]:
    entry = _directives.get(name)
    if entry is None:
        entry = _directives[name] = {"Name": name, "Unit": catalogue.get(name).unit}
    return entry


def _document(
    ns: str, ts: int, dims: dict[str, str], names: list[str], properties: dict[str, Any] | None
) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "_aws": {
            "Timestamp": ts,
            "CloudWatchMetrics": [
                {"Namespace": ns, "Dimensions": [list(dims)], "Metrics": [_directive(n) for n in names]}
            ],
        },
        **dims,
    }
    if properties:
        doc.update(properties)
    return doc


def flush(buffer: MetricsBuffer, dimensions: dict[str, str], properties: dict[str, Any] | None = None) -> int:
    """Write ``buffer`` as EMF lines to the log stream; returns the number of documents."""
    docs = documents(buffer, dimensions, properties)
    for doc in docs:
        write_line(_dumps(doc))
    buffer.values.clear()
    return len(docs)


def standard_dimensions(service: str, pipeline: str, environment: str) -> dict[str, str]:
    """The dimension set every metric carries."""
    return {"service": service, "pipeline": pipeline, "environment": environment}


def script_dimensions() -> dict[str, str]:
    """The standard dimensions outside an invocation: ``SERVICE_NAME``, ``PIPELINE``, ``ENVIRONMENT``."""
    return standard_dimensions(
        os.environ.get("SERVICE_NAME", "unknown"),
        os.environ.get("PIPELINE", "unknown"),
        os.environ.get("ENVIRONMENT") or "dev",
    )


def metric(name: str, value: float, unit: str | None = None, **dimensions: str) -> None:
    """Record a declared metric for the current invocation (written when it ends).

    Outside an ``observed`` invocation the value is written at once, with the service from
    ``SERVICE_NAME`` and the pipeline from ``PIPELINE`` (scripts and batch jobs).
    """
    buffer = _current.get()
    if buffer is not None:
        buffer.add(name, value, unit, **dimensions)
        return
    single = MetricsBuffer()
    single.add(name, value, unit, **dimensions)
    if single:
        try:
            flush(single, script_dimensions())
        except Exception as exc:
            guard.failure("internal", "metric flush", exc)
