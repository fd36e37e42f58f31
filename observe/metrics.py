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

from observe import catalogue, config, guard, project
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
    env = config.env("METRICS_NAMESPACE")
    if env:
        return env
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


#: The start of the common case's document up to its values, per (namespace, dimension names, metric
#: names): ``,"CloudWatchMetrics":[...]},`` as JSON, so a document is its timestamp and one encoding
#: of its values (the directives do not change from one invocation to the next).
_heads: dict[tuple[str, ...], str] = {}


def _one_line(
    buffer: MetricsBuffer,
    dimensions: dict[str, str],
    properties: dict[str, Any] | None,
    tail: dict[str, float] | None = None,
) -> str | None:
    """The common case's one document as a JSON line, byte for byte what ``_dumps`` makes of
    :func:`documents`' document, ``tail`` values counted as if put in the buffer last, in order;
    None when the buffer is not the common case (extra dimensions, over the EMF limits) or a name
    would land on a key already there (a tail name the buffer holds too, ``_aws``)."""
    buffered = buffer.values
    if len(buffered) + (len(tail) if tail else 0) > MAX_METRICS_PER_DOC or len(dimensions) > MAX_DIMENSIONS:
        return None
    body: dict[str, Any] = {**dimensions, **properties} if properties else dict(dimensions)
    names: list[str] = []
    for (name, extra), vals in buffered.items():
        if extra or len(vals) > MAX_VALUES_PER_METRIC:
            return None
        names.append(name)
        body[name] = vals[0] if len(vals) == 1 else vals
    if tail:
        if not body.keys().isdisjoint(tail):
            return None
        names.extend(tail)
        body.update(tail)
    if not body or "_aws" in body:
        return None
    ns = namespace()
    key = (ns, *dimensions, "", *names)  # ("" cannot be a dimension name: it ends the dimensions)
    head = _heads.get(key)
    if head is None:
        directive = [
            {"Namespace": ns, "Dimensions": [list(dimensions)], "Metrics": [_directive(n) for n in names]}
        ]
        if len(_heads) >= 256:  # handlers whose metric sets vary a lot: stay bounded
            _heads.clear()
        head = _heads[key] = ',"CloudWatchMetrics":' + _dumps(directive) + "},"
    return '{"_aws":{"Timestamp":' + str(int(time.time() * 1000)) + head + _dumps(body)[1:]


def lines(
    buffer: MetricsBuffer, dimensions: dict[str, str], properties: dict[str, Any] | None = None
) -> list[str]:
    """The EMF documents of ``buffer`` (:func:`documents`) as JSON lines."""
    line = _one_line(buffer, dimensions, properties)
    if line is not None:
        return [line]
    return [_dumps(doc) for doc in documents(buffer, dimensions, properties)]


def flush(
    buffer: MetricsBuffer,
    dimensions: dict[str, str],
    properties: dict[str, Any] | None = None,
    *,
    first: str | None = None,
    tail: dict[str, float] | None = None,
) -> int:
    """Write ``buffer`` as EMF lines to the log stream; returns the number of documents.

    ``tail``: values of dimensionless catalogued metrics (name -> value) to count as if :meth:`put`
    in the buffer after what it holds, in order (``observed``'s standard values). ``first`` is a rendered line
    written ahead of the documents in the same write (``observed``'s summary line: one system call
    for both under Lambda); it is written even when the documents cannot be built (the error is
    raised after it)."""
    try:
        line = _one_line(buffer, dimensions, properties, tail) if tail else None
        if line is not None:
            docs = [line]
        else:
            for name, value in (tail or {}).items():
                buffer.put(name, value)
            docs = lines(buffer, dimensions, properties)
    except BaseException:
        if first is not None:
            write_line(first)
        raise
    buffer.values.clear()
    if first is not None:
        write_line("\n".join((first, *docs)))
    elif docs:
        write_line("\n".join(docs))
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
