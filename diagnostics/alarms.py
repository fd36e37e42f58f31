"""The alarms as terraform ships them, and what they would have said about a set of EMF documents.

Alarm specs are read from ``terraform/generated/<pipeline>.alarms.json`` (``python -m dashboards
build``); their names are templates (``ingest-worker-Throttles-${environment}``) that
:func:`find_alarm` resolves against a concrete name. :func:`evaluate` replays an alarm over EMF
documents the way CloudWatch evaluates it: values bucketed into periods aligned to the epoch,
the statistic per period (Sum, SampleCount, Average, Minimum, Maximum, pNN), metric math for
``ErrorRate``, the comparison against the threshold, and ``datapoints_to_alarm`` out of
``evaluation_periods``. A value counts for an alarm only if its document's dimension set is
exactly the alarm's (a value written with an extra dimension is counted in the total document
too, so counting both would double it). Missing periods count as not breaching
(``treat_missing_data = notBreaching``, what the alarms ship with) unless the spec says
``breaching``. Percentiles are nearest-rank over the raw values (CloudWatch's are approximate).
"""

from __future__ import annotations

import ast
import difflib
import json
import math
import operator
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from diagnostics.model import DiagnosticsError, Window, from_ms, iso

ENVIRONMENTS = ("dev", "stg", "prd")
COMPARISONS: dict[str, tuple[str, Callable[[float, float], bool]]] = {
    "GreaterThanOrEqualToThreshold": (">=", operator.ge),
    "GreaterThanThreshold": (">", operator.gt),
    "LessThanThreshold": ("<", operator.lt),
    "LessThanOrEqualToThreshold": ("<=", operator.le),
}
_PERCENTILE = re.compile(r"^p(\d{1,2}(?:\.\d+)?|100)$")


class AlarmSpecError(DiagnosticsError):
    """An alarms JSON file that cannot be used; names the file, the alarm and the field."""


class UnknownAlarmError(DiagnosticsError):
    """No alarm of that name in the alarms directory."""


@dataclass(frozen=True)
class MetricQuery:
    """One query of a metric-math alarm: a metric (``metric_name`` + stat) or an ``expression``."""

    id: str
    return_data: bool
    metric_name: str | None = None
    dimensions: tuple[tuple[str, str], ...] = ()
    namespace: str | None = None
    stat: str | None = None
    period: int | None = None
    expression: str | None = None
    label: str | None = None


@dataclass(frozen=True)
class AlarmSpec:
    """One alarm of ``<pipeline>.alarms.json``; see dashboards/monitoring.py for how it is built."""

    name: str
    metric: str  # the catalogue metric, or ``ErrorRate``
    service: str
    pipeline: str
    threshold: float
    comparison: str
    evaluation_periods: int
    datapoints_to_alarm: int
    period: int
    severity: str = "warning"
    description: str = ""
    treat_missing_data: str = "notBreaching"
    statistic: str | None = None  # Sum / Maximum / p99 ...; None for metric math
    metric_name: str | None = None
    namespace: str | None = None
    dimensions: tuple[tuple[str, str], ...] = ()
    queries: tuple[MetricQuery, ...] = ()
    file: str = ""
    environment: str | None = None  # set once the template name is resolved

    @property
    def symbol(self) -> str:
        return COMPARISONS[self.comparison][0]

    @property
    def rule(self) -> str:
        """``Sum of RecordsQuarantined >= 100 over 300s, 1 of 1 periods``."""
        what = f"{self.statistic} of {self.metric}" if self.statistic else f"{self.metric} (metric math)"
        return (
            f"{what} {self.symbol} {self.threshold:g} over {self.period}s, "
            f"{self.datapoints_to_alarm} of {self.evaluation_periods} period(s)"
        )

    def pattern(self) -> re.Pattern[str]:
        """The concrete names this template stands for."""
        parts = re.split(r"(\$\{environment\}|\$\{[a-z_]+\})", self.name)
        rx = "".join(
            "(?P<env>dev|stg|prd)"
            if p == "${environment}"
            else "[^-]+"
            if p.startswith("${")
            else re.escape(p)
            for p in parts
        )
        return re.compile(f"^{rx}$")

    def resolve(self, name: str) -> AlarmSpec | None:
        """This spec with ``${environment}`` filled in from ``name``, or None if ``name`` is another alarm."""
        m = self.pattern().match(name)
        if not m:
            return None
        env = m.groupdict().get("env")
        return self.for_environment(env) if env else replace(self, name=name)

    def for_environment(self, env: str) -> AlarmSpec:
        """This spec with ``${environment}`` replaced by ``env`` everywhere."""

        def sub(value: str) -> str:
            return value.replace("${environment}", env)

        return replace(
            self,
            name=sub(self.name),
            dimensions=tuple((k, sub(v)) for k, v in self.dimensions),
            queries=tuple(
                replace(q, dimensions=tuple((k, sub(v)) for k, v in q.dimensions)) for q in self.queries
            ),
            environment=env,
        )


def _spec(raw: Any, where: str) -> AlarmSpec:
    if not isinstance(raw, dict):
        raise AlarmSpecError(f"{where}: an alarm must be a JSON object")
    name = raw.get("name") or "?"

    def need(key: str) -> Any:
        if raw.get(key) in (None, ""):
            raise AlarmSpecError(f"{where}: alarm {name!r} has no {key!r}")
        return raw[key]

    comparison = need("comparison_operator")
    if comparison not in COMPARISONS:
        raise AlarmSpecError(
            f"{where}: alarm {name!r}: comparison_operator {comparison!r} is not one of "
            + ", ".join(COMPARISONS)
        )
    queries = []
    for q in raw.get("metric_queries") or []:
        m = q.get("metric") or {}
        queries.append(
            MetricQuery(
                id=str(q.get("id")),
                return_data=bool(q.get("return_data")),
                metric_name=m.get("metric_name"),
                dimensions=tuple(sorted((m.get("dimensions") or {}).items())),
                namespace=m.get("namespace"),
                stat=m.get("stat"),
                period=m.get("period"),
                expression=q.get("expression"),
                label=q.get("label"),
            )
        )
    statistic = raw.get("extended_statistic") or raw.get("statistic")
    if not queries and not statistic:
        raise AlarmSpecError(f"{where}: alarm {name!r} has neither a statistic nor metric_queries")
    if queries and sum(q.return_data for q in queries) != 1:
        raise AlarmSpecError(f"{where}: alarm {name!r}: exactly one metric query must have return_data true")
    for stat in [statistic, *(q.stat for q in queries if q.metric_name)]:
        if stat is not None:
            try:
                _stat_fn(stat)
            except ValueError as exc:
                raise AlarmSpecError(f"{where}: alarm {name!r}: {exc}") from None
    period = raw.get("period") or next((q.period for q in queries if q.period), None)
    if not isinstance(period, int) or period <= 0:
        raise AlarmSpecError(f"{where}: alarm {name!r}: period must be a positive number of seconds")
    return AlarmSpec(
        name=str(need("name")),
        metric=str(need("metric")),
        service=str(need("service")),
        pipeline=str(need("pipeline")),
        threshold=float(need("threshold")),
        comparison=comparison,
        evaluation_periods=int(raw.get("evaluation_periods") or 1),
        datapoints_to_alarm=int(raw.get("datapoints_to_alarm") or raw.get("evaluation_periods") or 1),
        period=period,
        severity=str(raw.get("severity") or "warning"),
        description=str(raw.get("description") or ""),
        treat_missing_data=str(raw.get("treat_missing_data") or "notBreaching"),
        statistic=statistic,
        metric_name=raw.get("metric_name"),
        namespace=raw.get("namespace"),
        dimensions=tuple(sorted((raw.get("dimensions") or {}).items())),
        queries=tuple(queries),
        file=where,
    )


def load_alarms(directory: str | Path) -> list[AlarmSpec]:
    """Every alarm of every ``*.alarms.json`` in ``directory`` (as templates)."""
    d = Path(directory)
    if not d.is_dir():
        raise AlarmSpecError(
            f"--alarms-dir {d}: no such directory (build it with `python -m dashboards build --out {d}`)"
        )
    files = sorted(d.glob("*.alarms.json"))
    if not files:
        raise AlarmSpecError(
            f"--alarms-dir {d}: no *.alarms.json files (build them with `python -m dashboards build`)"
        )
    out: list[AlarmSpec] = []
    for f in files:
        try:
            raw = json.loads(f.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise AlarmSpecError(f"{f}: not JSON ({exc})") from None
        if not isinstance(raw, list):
            raise AlarmSpecError(f"{f}: expected a JSON list of alarms")
        out += [_spec(a, str(f)) for a in raw]
    return out


def find_alarm(alarms: Iterable[AlarmSpec], name: str) -> AlarmSpec:
    """The alarm called ``name`` (a concrete name like ``ingest-worker-Throttles-dev``), resolved."""
    specs = list(alarms)
    for spec in specs:
        resolved = spec.resolve(name)
        if resolved is not None:
            return resolved
    known = [s.name.replace("${environment}", "dev") for s in specs]
    close = difflib.get_close_matches(name, known, n=3, cutoff=0.5)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    files = sorted({s.file for s in specs})
    raise UnknownAlarmError(
        f"no alarm named {name!r} in {', '.join(files) or 'the alarms directory'}{hint} "
        "(names end in the environment: -dev, -stg or -prd)"
    )


# --- statistics ----------------------------------------------------------------------------------


def _percentile(q: float) -> Callable[[list[float]], float]:
    def fn(values: list[float]) -> float:
        ordered = sorted(values)
        rank = max(1, math.ceil(q / 100.0 * len(ordered)))
        return ordered[rank - 1]

    return fn


def _stat_fn(stat: str) -> Callable[[list[float]], float]:
    simple: dict[str, Callable[[list[float]], float]] = {
        "Sum": lambda v: float(sum(v)),
        "SampleCount": lambda v: float(len(v)),
        "Average": lambda v: float(sum(v)) / len(v),
        "Minimum": lambda v: float(min(v)),
        "Maximum": lambda v: float(max(v)),
    }
    if stat in simple:
        return simple[stat]
    m = _PERCENTILE.match(stat)
    if m:
        return _percentile(float(m.group(1)))
    raise ValueError(
        f"statistic {stat!r} is not supported (Sum, SampleCount, Average, Minimum, Maximum, pNN)"
    )


def statistic(values: list[float], stat: str) -> float | None:
    """``stat`` of ``values`` (None when there are none)."""
    return _stat_fn(stat)(values) if values else None


# --- samples from EMF documents --------------------------------------------------------------------


@dataclass(frozen=True)
class Sample:
    """One value of one metric in one EMF document."""

    t_ms: int
    value: float
    doc: dict[str, Any] = field(compare=False, repr=False)


def samples(
    emf: Iterable[dict[str, Any]], metric: str, dimensions: dict[str, str], namespace: str | None = None
) -> list[Sample]:
    """Values of ``metric`` in documents whose dimension set is exactly ``dimensions`` (names and values)."""
    wanted = set(dimensions)
    out: list[Sample] = []
    for doc in emf:
        if any(str(doc.get(k)) != v for k, v in dimensions.items()):
            continue
        aws = doc.get("_aws") or {}
        ts = aws.get("Timestamp")
        if not isinstance(ts, int | float):
            continue
        for directive in aws.get("CloudWatchMetrics") or []:
            if namespace and not namespace.startswith("${") and directive.get("Namespace") != namespace:
                continue
            if not any(m.get("Name") == metric for m in directive.get("Metrics") or []):
                continue
            if not any(set(ds) == wanted for ds in directive.get("Dimensions") or []):
                continue
            value = doc.get(metric)
            for v in value if isinstance(value, list) else [value]:
                if isinstance(v, int | float) and not isinstance(v, bool):
                    out.append(Sample(int(ts), float(v), doc))
            break
    return out


# --- metric math (the subset the generated alarms use) ----------------------------------------------

_BINOPS: dict[type, Callable[[float, float], float]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
}
_CMPOPS: dict[type, Callable[[float, float], bool]] = {
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
}


def evaluate_expression(expression: str, values: Mapping[str, float | None]) -> float | None:
    """A CloudWatch metric-math expression over per-period values (None: no datapoint).

    Supports numbers, query ids, ``+ - * /``, comparisons, ``IF(c, a, b)``, ``MIN``, ``MAX``,
    ``ABS``. Anything else (attribute access, other functions) raises ValueError: the expression
    is parsed, never ``eval``-ed.
    """
    try:
        tree = ast.parse(expression, mode="eval")
    except SyntaxError as exc:
        raise ValueError(f"metric math {expression!r}: {exc.msg}") from None

    def ev(node: ast.AST) -> Any:
        if isinstance(node, ast.Expression):
            return ev(node.body)
        if (
            isinstance(node, ast.Constant)
            and isinstance(node.value, int | float)
            and not isinstance(node.value, bool)
        ):
            return float(node.value)
        if isinstance(node, ast.Name):
            if node.id not in values:
                raise ValueError(f"metric math {expression!r}: unknown query id {node.id!r}")
            return values[node.id]
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            v = ev(node.operand)
            return None if v is None else -v
        if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
            a, b = ev(node.left), ev(node.right)
            if a is None or b is None:
                return None
            if isinstance(node.op, ast.Div) and b == 0:
                return None
            return _BINOPS[type(node.op)](a, b)
        if isinstance(node, ast.Compare) and len(node.ops) == 1 and type(node.ops[0]) in _CMPOPS:
            a, b = ev(node.left), ev(node.comparators[0])
            if a is None or b is None:
                return None
            return 1.0 if _CMPOPS[type(node.ops[0])](a, b) else 0.0
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and not node.keywords:
            fn, args = node.func.id.upper(), node.args
            if fn == "IF" and len(args) == 3:
                cond = ev(args[0])
                if cond is None:
                    return None
                return ev(args[1]) if cond else ev(args[2])
            if fn in ("MIN", "MAX") and args:
                vals = [v for v in (ev(a) for a in args) if v is not None]
                return (min if fn == "MIN" else max)(vals) if vals else None
            if fn == "ABS" and len(args) == 1:
                v = ev(args[0])
                return None if v is None else abs(v)
        raise ValueError(f"metric math {expression!r}: unsupported {ast.dump(node)[:60]}")

    result = ev(tree)
    return None if result is None else float(result)


# --- evaluation ---------------------------------------------------------------------------------------


@dataclass
class Datapoint:
    """One period of an alarm's metric."""

    start: datetime
    value: float | None
    breaching: bool
    in_alarm: bool = False  # the alarm was in ALARM at the end of this period
    samples: list[Sample] = field(default_factory=list, repr=False)  # the values behind it

    @property
    def end_ms(self) -> int:
        return int(self.start.timestamp() * 1000)


@dataclass
class Evaluation:
    """What an alarm said over a window: one datapoint per period, and its state."""

    alarm: AlarmSpec
    window: Window
    datapoints: list[Datapoint]

    @property
    def breaching(self) -> list[Datapoint]:
        return [d for d in self.datapoints if d.breaching]

    @property
    def fired(self) -> bool:
        return any(d.in_alarm for d in self.datapoints)

    @property
    def first_alarm(self) -> datetime | None:
        return next((d.start for d in self.datapoints if d.in_alarm), None)

    @property
    def state(self) -> str:
        """``ALARM`` if it was in alarm at any time in the window, else ``OK`` / ``INSUFFICIENT_DATA``."""
        if self.fired:
            return "ALARM"
        return "OK" if any(d.value is not None for d in self.datapoints) else "INSUFFICIENT_DATA"

    def summary(self) -> str:
        """One line: state, breaching datapoints and the rule."""
        first = f" from {iso(self.first_alarm)}" if self.first_alarm else ""
        return (
            f"{self.state}{first}: {len(self.breaching)} breaching of {len(self.datapoints)} period(s); "
            f"{self.alarm.rule}"
        )


def _dims(pairs: tuple[tuple[str, str], ...]) -> dict[str, str]:
    return dict(pairs)


def _primary(spec: AlarmSpec) -> tuple[str, dict[str, str], str, str | None]:
    """(metric, dimensions, stat, namespace) whose documents explain a breach: the alarm's metric,
    or for metric math the first metric query (``errors`` for ErrorRate)."""
    if spec.queries:
        q = next(q for q in spec.queries if q.metric_name)
        return q.metric_name or "", _dims(q.dimensions), q.stat or "Sum", q.namespace
    return spec.metric_name or spec.metric, _dims(spec.dimensions), spec.statistic or "Sum", spec.namespace


def evaluate(spec: AlarmSpec, emf: Iterable[dict[str, Any]], window: Window | None = None) -> Evaluation:
    """Replay ``spec`` (a resolved alarm) over the EMF documents inside ``window``."""
    window = window or Window()
    docs = [d for d in emf if window.contains(from_ms(d["_aws"]["Timestamp"]))]
    period_ms = spec.period * 1000

    def bucket(ss: list[Sample]) -> dict[int, list[Sample]]:
        out: dict[int, list[Sample]] = {}
        for s in ss:
            out.setdefault(s.t_ms // period_ms * period_ms, []).append(s)
        return out

    per_query: dict[str, tuple[dict[int, list[Sample]], str]] = {}
    if spec.queries:
        for q in spec.queries:
            if q.metric_name:
                per_query[q.id] = (
                    bucket(samples(docs, q.metric_name, _dims(q.dimensions), q.namespace)),
                    q.stat or "Sum",
                )
    else:
        metric, dims, stat, ns = _primary(spec)
        per_query["m"] = (bucket(samples(docs, metric, dims, ns)), stat)
    starts = sorted({p for buckets, _ in per_query.values() for p in buckets})
    if window.start is not None and window.end is not None:
        lo = window.start_ms // period_ms * period_ms  # type: ignore[operator]
        hi = (window.end_ms - 1) // period_ms * period_ms  # type: ignore[operator]
        if hi - lo <= 10_000 * period_ms:
            starts = list(range(lo, hi + 1, period_ms))
    elif starts:
        starts = list(range(starts[0], starts[-1] + 1, period_ms))

    op = COMPARISONS[spec.comparison][1]
    primary_id = next((q.id for q in spec.queries if q.metric_name), "m")
    points: list[Datapoint] = []
    for p in starts:
        stats = {
            qid: statistic([s.value for s in b.get(p, [])], stat) for qid, (b, stat) in per_query.items()
        }
        if spec.queries:
            if all(v is None for v in stats.values()):
                value = None
            else:
                filled = {k: (0.0 if v is None else v) for k, v in stats.items()}
                ret = next(q for q in spec.queries if q.return_data)
                value = (
                    filled[ret.id] if ret.metric_name else evaluate_expression(ret.expression or "", filled)
                )
        else:
            value = stats["m"]
        breaching = op(value, spec.threshold) if value is not None else spec.treat_missing_data == "breaching"
        points.append(Datapoint(from_ms(p), value, breaching, samples=per_query[primary_id][0].get(p, [])))
    n, m = spec.datapoints_to_alarm, spec.evaluation_periods
    for i, dp in enumerate(points):
        recent = points[max(0, i - m + 1) : i + 1]
        dp.in_alarm = sum(d.breaching for d in recent) >= n
    return Evaluation(spec, window, points)


def culprits(spec: AlarmSpec, datapoint: Datapoint, limit: int = 50) -> list[Sample]:
    """The values behind a breaching datapoint that explain it, largest first.

    For a count (Sum / SampleCount, and metric math over counts) every non-zero value; for a
    level (Maximum, pNN, Average) the values that breach the threshold themselves, or the
    largest few when none does alone.
    """
    _, _, stat, _ = _primary(spec)
    ordered = sorted(datapoint.samples, key=lambda s: -s.value)
    if stat in ("Sum", "SampleCount") or spec.queries:
        picked = [s for s in ordered if s.value != 0] if stat == "Sum" else ordered
    else:
        op = COMPARISONS[spec.comparison][1]
        picked = [s for s in ordered if op(s.value, spec.threshold)] or ordered[:5]
    return picked[:limit]


def evaluate_all(
    alarms: Iterable[AlarmSpec], emf: list[dict[str, Any]], window: Window | None = None
) -> list[Evaluation]:
    """Every alarm, for every environment the EMF documents carry, evaluated over ``window``."""
    envs = sorted({str(d.get("environment")) for d in emf if d.get("environment") in ENVIRONMENTS})
    out = []
    for spec in alarms:
        resolved = [spec.for_environment(e) for e in envs] if "${environment}" in spec.name else [spec]
        out += [evaluate(r, emf, window) for r in resolved]
    return out
