"""The alarms as terraform ships them, and what they would have said about a set of EMF documents.

Alarm specs are built from the project's configuration (``observe.toml``, :func:`from_config`:
the same specs ``observe dashboards build`` writes for Terraform, for every environment) or read
from ``<pipeline>.<environment>.alarms.json`` files (:func:`load_alarms`); their names are concrete
(``ingest-worker-Throttles-dev``) or templates (``ingest-worker-Throttles-${environment}``) that
:func:`find_alarm` resolves against a concrete name. :func:`evaluate` replays an alarm over EMF
documents the way CloudWatch evaluates it: values bucketed into periods aligned to the epoch,
the statistic per period (Sum, SampleCount, Average, Minimum, Maximum, pNN), metric math for
``ErrorRate``, the comparison against the threshold, and ``datapoints_to_alarm`` out of
``evaluation_periods``. A value counts for an alarm only if its document's dimension set is
exactly the alarm's (a value written with an extra dimension is counted in the total document
too, so counting both would double it). Missing periods count as not breaching
(``treat_missing_data = notBreaching``, what the alarms ship with) unless the spec says
``breaching``.

Percentiles, here and everywhere in the diagnostics, are nearest-rank over the raw values: the
smallest value with at least q% of the values at or below it (CloudWatch's own are approximate,
from its value distributions; with a CloudWatch source its figures are used).

:class:`Replay` does it over EMF documents fed one at a time (files at any size); with a
CloudWatch source the datapoints come from ``GetMetricData`` instead (:mod:`diagnostics.cloudwatch`)
and :func:`assemble` turns them into the same :class:`Evaluation`.
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
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from diagnostics.model import DiagnosticsError, Window, from_ms, iso
from observe.catalogue import LOG_FIELDS
from observe.config import ENVIRONMENTS

COMPARISONS: dict[str, tuple[str, Callable[[float, float], bool]]] = {
    "GreaterThanOrEqualToThreshold": (">=", operator.ge),
    "GreaterThanThreshold": (">", operator.gt),
    "LessThanThreshold": ("<", operator.lt),
    "LessThanOrEqualToThreshold": ("<=", operator.le),
}
#: The placeholder before a deployed function's or queue's name in the AWS/Lambda and AWS/SQS
#: alarms' dimensions (Terraform fills it in; so does :meth:`AlarmSpec.resolve`).
RESOURCE_PREFIX = "${resource_prefix}"
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
    template: str = ""  # the name in the alarms file, once resolved
    runbook: str | None = None  # where the team's runbook for this alarm is (``runbook`` in the file)

    @property
    def symbol(self) -> str:
        return COMPARISONS[self.comparison][0]

    @property
    def unit(self) -> str:
        """The unit of the alarm's values (the catalogue's; ``Percent`` for the error rate)."""
        from diagnostics.units import unit_of

        return unit_of(self.metric)

    @property
    def threshold_text(self) -> str:
        """``>= 100`` / ``>= 60 s`` / ``>= 5 %``: the comparison and the threshold with its unit."""
        from diagnostics.units import fmt

        return f"{self.symbol} {fmt(self.threshold, self.unit)}"

    @property
    def condition_text(self) -> str:
        """``>= 1, 2 of 3``: the threshold and, unless it is 1 of 1, how many periods must breach.

        A peak at the threshold with the alarm OK reads as a contradiction without the second part.
        """
        periods = self.periods_text
        return f"{self.threshold_text}, {periods}" if periods else self.threshold_text

    @property
    def periods_text(self) -> str:
        """``2 of 3``: the periods that must breach out of those evaluated; empty for 1 of 1."""
        if (self.datapoints_to_alarm, self.evaluation_periods) == (1, 1):
            return ""
        return f"{self.datapoints_to_alarm} of {self.evaluation_periods}"

    @property
    def rule(self) -> str:
        """``Sum of RecordsQuarantined >= 100 per 5 min, 1 of 1 period``."""
        from diagnostics.units import duration

        what = f"{self.statistic} of {self.metric}" if self.statistic else f"{self.metric} (metric math)"
        periods = "period" if self.evaluation_periods == 1 else "periods"
        return (
            f"{what} {self.threshold_text} per {duration(self.period)}, "
            f"{self.datapoints_to_alarm} of {self.evaluation_periods} {periods}"
        )

    def pattern(self, prefixed: bool = True) -> re.Pattern[str]:
        """The concrete names this template stands for (with or without the deployment's name prefix).

        The deployment's prefix, when there is one, is the group ``deploy``; the environment ``env``.
        """
        parts = re.split(r"(\$\{environment\}|\$\{[a-z_]+\})", self.name)
        rx = "".join(
            "(?P<env>[A-Za-z0-9_]+)"
            if p == "${environment}"
            else "[^-]+"
            if p.startswith("${")
            else re.escape(p)
            for p in parts
        )
        return re.compile(f"^(?:(?P<deploy>.+)-)?{rx}$" if prefixed else f"^{rx}$")

    def resolve(
        self, name: str, *, prefixed: bool = True, resource_prefix: str | None = None
    ) -> AlarmSpec | None:
        """This spec with ``${environment}`` filled in from ``name``, or None if ``name`` is another alarm.

        ``${resource_prefix}`` (what comes before a deployed function's or queue's name) is filled
        with ``resource_prefix`` when given, else with :func:`default_resource_prefix` of the
        name's deployment prefix and environment.
        """
        m = self.pattern(prefixed).match(name)
        if not m:
            return None
        env = m.groupdict().get("env")
        # a concrete name (a per-environment file): the environment is the one its metrics carry
        resolved = self.for_environment(env) if env else replace(self, environment=fixed_environment(self))
        if resource_prefix is None:
            resource_prefix = default_resource_prefix(m.groupdict().get("deploy"), resolved.environment)
        return replace(
            resolved.with_resource_prefix(resource_prefix), name=name, template=self.template or self.name
        )

    def with_resource_prefix(self, prefix: str) -> AlarmSpec:
        """This spec with ``${resource_prefix}`` replaced by ``prefix`` in its dimensions."""

        def sub(dims: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
            return tuple((k, v.replace(RESOURCE_PREFIX, prefix)) for k, v in dims)

        return replace(
            self,
            dimensions=sub(self.dimensions),
            queries=tuple(replace(q, dimensions=sub(q.dimensions)) for q in self.queries),
        )

    def for_environment(self, env: str) -> AlarmSpec:
        """This spec with ``${environment}`` replaced by ``env`` everywhere."""

        def sub(value: str) -> str:
            return value.replace("${environment}", env)

        return replace(
            self,
            name=sub(self.name),
            template=self.template or self.name,
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
        runbook=str(raw["runbook"]) if raw.get("runbook") else None,
    )


def load_alarms(directory: str | Path) -> list[AlarmSpec]:
    """Every alarm of every ``*.alarms.json`` in ``directory`` (as templates)."""
    d = Path(directory)
    if not d.is_dir():
        raise AlarmSpecError(
            f"--alarms-dir {d}: no such directory (build it with `observe dashboards build --out {d}`)"
        )
    files = sorted(d.glob("*.alarms.json"))
    if not files:
        raise AlarmSpecError(
            f"--alarms-dir {d}: no *.alarms.json files (build them with `observe dashboards build`)"
        )
    out: list[AlarmSpec] = []
    for f in files:
        try:
            raw = json.loads(f.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise AlarmSpecError(f"{f}: not JSON ({exc})") from None
        if not isinstance(raw, list):
            raise AlarmSpecError(f"{f}: expected a JSON list of alarms")
        # <pipeline>.<env>.alarms.json holds one environment's alarms (an AWS metric's dimensions
        # do not name it); <pipeline>.alarms.json templates
        parts = f.name.split(".")
        env = parts[-3] if len(parts) >= 4 and parts[-3] in ENVIRONMENTS else None
        out += [replace(_spec(a, str(f)), environment=env) for a in raw]
    return out


@dataclass(frozen=True)
class ConfiguredAlarms:
    """The alarm specs of a project's configuration, and where they came from."""

    specs: list[AlarmSpec]
    path: Path  # the observe.toml read (it may include others)
    namespace: str  # the metrics namespace the configuration's functions write to
    environments: tuple[str, ...]


def from_config(path: str | Path | None = None) -> ConfiguredAlarms | None:
    """The alarms a project's configuration deploys, for every environment.

    ``path``, else ``OBSERVE_CONFIG``, else the nearest ``observe.toml`` from the working directory;
    None when no path is given and none is found. The specs are built by the dashboards package
    exactly as ``observe dashboards build`` writes them for Terraform (so triage sees the deployed
    thresholds, per-environment overrides included), and the configuration's own metrics are
    registered, so their units are known. Raises :class:`AlarmSpecError` naming the file, table and
    key of a configuration that cannot be used.
    """
    from observe import project

    found = Path(path) if path is not None else project.discover()
    if found is None:
        return None
    from dashboards.build import alarm_specs  # the one place alarm specs are built from a config
    from dashboards.config import load

    try:
        config = load(found)
        built = {env: alarm_specs(config, env) for env in ENVIRONMENTS}
    except project.ConfigFileError as exc:
        flag = "--config" if path is not None else "the configuration found from the working directory"
        raise AlarmSpecError(f"{flag}: " + "; ".join(exc.problems)) from None
    specs = [  # each knows its environment (an AWS metric's dimensions do not carry it)
        replace(_spec(raw, str(found)), environment=env)
        for env, pipelines in built.items()
        for pipeline, alarms in pipelines.items()
        for raw in alarms
    ]
    return ConfiguredAlarms(specs, found, config.effective_namespace, tuple(ENVIRONMENTS))


def default_resource_prefix(deploy: str | None, environment: str | None) -> str:
    """What Terraform puts before a function's or queue's name when nobody says otherwise.

    The shipped stack names alarms ``<project>-<alarm>`` and functions and queues
    ``<project>-<env>-<name>`` (its ``name_prefix`` and ``-``), so an alarm name carrying the
    deployment's prefix ``<project>`` and its environment gives ``<project>-<env>-``; a name
    without a prefix gives the empty prefix (resources named as declared).
    """
    return f"{deploy}-{environment}-" if deploy and environment else ""


def find_alarm(alarms: Iterable[AlarmSpec], name: str, resource_prefix: str | None = None) -> AlarmSpec:
    """The alarm called ``name`` (a concrete name like ``ingest-worker-Throttles-dev``), resolved.

    ``resource_prefix`` fills ``${resource_prefix}`` (default: :func:`default_resource_prefix`).
    """
    specs = list(alarms)
    for prefixed in (False, True):  # an exact name first, then one with the deployment's prefix
        for spec in specs:
            resolved = spec.resolve(name, prefixed=prefixed, resource_prefix=resource_prefix)
            if resolved is not None:
                return resolved
    env = name.rsplit("-", 1)[-1] if "-" in name else "dev"
    known = [s.name.replace("${environment}", env) for s in specs]
    close = difflib.get_close_matches(name, known, n=3, cutoff=0.5)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    files = sorted({s.file for s in specs})
    raise UnknownAlarmError(
        f"no alarm named {name!r} in {', '.join(files) or 'the alarms directory'}{hint} "
        "(alarm names end in their environment, e.g. -dev)"
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

#: The fields of an EMF document kept with each of its values (who wrote it), not the whole document.
SAMPLE_FIELDS = (
    LOG_FIELDS.request_id, LOG_FIELDS.function_name, LOG_FIELDS.service, LOG_FIELDS.correlation_id, "@log",
)  # fmt: skip
#: observe's own per-invocation duration metric: with it, an invocation's time span is known.
DURATION_METRIC = "Duration"


@dataclass(frozen=True)
class Sample:
    """One value of one metric in one EMF document, with who wrote it (:data:`SAMPLE_FIELDS`)."""

    t_ms: int
    value: float
    doc: dict[str, Any] = field(compare=False, repr=False)


def _lite(doc: dict[str, Any]) -> dict[str, Any]:
    lite = {k: doc[k] for k in SAMPLE_FIELDS if doc.get(k) is not None}
    duration = doc.get(DURATION_METRIC)
    if isinstance(duration, int | float) and not isinstance(duration, bool):
        lite[DURATION_METRIC] = float(duration)
    return lite


def _values(doc: dict[str, Any], metric: str) -> list[float]:
    value = doc.get(metric)
    return [
        float(v)
        for v in (value if isinstance(value, list) else [value])
        if isinstance(v, int | float) and not isinstance(v, bool)
    ]


def _directive_matches(
    directive: dict[str, Any], metric: str, dims: dict[str, str], namespace: str | None
) -> bool:
    if namespace and not namespace.startswith("${") and directive.get("Namespace") != namespace:
        return False
    if not any(m.get("Name") == metric for m in directive.get("Metrics") or [] if isinstance(m, dict)):
        return False
    return any(set(ds) == set(dims) for ds in directive.get("Dimensions") or [])


def samples(
    emf: Iterable[dict[str, Any]], metric: str, dimensions: dict[str, str], namespace: str | None = None
) -> list[Sample]:
    """Values of ``metric`` in documents whose dimension set is exactly ``dimensions`` (names and values)."""
    out: list[Sample] = []
    for doc in emf:
        if any(str(doc.get(k)) != v for k, v in dimensions.items()):
            continue
        aws = doc.get("_aws") or {}
        ts = aws.get("Timestamp")
        if not isinstance(ts, int | float):
            continue
        for directive in aws.get("CloudWatchMetrics") or []:
            if _directive_matches(directive, metric, dimensions, namespace):
                out += [Sample(int(ts), v, doc) for v in _values(doc, metric)]
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
    in_alarm: bool = False  # the alarm's N of M rule held at the end of this period
    samples: list[Sample] = field(default_factory=list, repr=False)  # the values behind it (replay only)


@dataclass(frozen=True)
class StateChange:
    """The alarm moved from ``old`` to ``new`` at ``time``."""

    time: datetime
    old: str
    new: str
    reason: str = ""


@dataclass(frozen=True)
class AlarmStatus:
    """CloudWatch's word on an alarm now (``DescribeAlarms``)."""

    state: str
    since: datetime | None
    reason: str = ""


REPLAYED = "replayed from the EMF documents in the logs"
FROM_CLOUDWATCH = "CloudWatch GetMetricData on the alarm's metric"


@dataclass
class Evaluation:
    """What an alarm said over a window: one datapoint per period, its state changes, its state now.

    ``status`` and ``history`` come from CloudWatch when it was asked (``DescribeAlarms``,
    ``DescribeAlarmHistory``); otherwise the changes are derived from the datapoints: the state
    moves at the end of the period where the N-of-M rule starts or stops holding.
    """

    alarm: AlarmSpec
    window: Window
    datapoints: list[Datapoint]
    source: str = REPLAYED
    status: AlarmStatus | None = None
    history: list[StateChange] | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def breaching(self) -> list[Datapoint]:
        return [d for d in self.datapoints if d.breaching]

    @property
    def replayed_changes(self) -> list[StateChange]:
        """State changes as the datapoints give them (first state INSUFFICIENT_DATA)."""
        out: list[StateChange] = []
        state = "INSUFFICIENT_DATA"
        step = timedelta(seconds=self.alarm.period)
        seen_data = False
        for d in self.datapoints:
            seen_data = seen_data or d.value is not None
            new = "ALARM" if d.in_alarm else ("OK" if seen_data else "INSUFFICIENT_DATA")
            if new != state:
                out.append(StateChange(d.start + step, state, new, "replayed"))
                state = new
        return out

    @property
    def changes(self) -> list[StateChange]:
        return self.history if self.history is not None else self.replayed_changes

    @property
    def state(self) -> str:
        """The state now: CloudWatch's when it was asked, else the replay's at the end of the window."""
        if self.status is not None:
            return self.status.state
        ch = self.replayed_changes
        return ch[-1].new if ch else "INSUFFICIENT_DATA"

    @property
    def fired(self) -> bool:
        """Whether it was in ALARM at any time in the window."""
        if any(d.in_alarm for d in self.datapoints) and self.status is None:
            return True
        if self.status is not None and self.status.state == "ALARM":
            return True
        ch = self.changes
        return any(c.new == "ALARM" for c in ch) or bool(ch and ch[0].old == "ALARM")

    @property
    def entered_alarm(self) -> datetime | None:
        """When the last (or current) ALARM episode began."""
        into = [c.time for c in self.changes if c.new == "ALARM"]
        if into:
            return into[-1]
        if self.status is not None and self.status.state == "ALARM":
            return self.status.since
        return None

    @property
    def recovered_at(self) -> datetime | None:
        """When it left ALARM after :attr:`entered_alarm` (None while it is still in ALARM)."""
        began = self.entered_alarm
        if began is None or self.state == "ALARM":
            return None
        return next((c.time for c in self.changes if c.old == "ALARM" and c.time >= began), None)

    @property
    def peak(self) -> float | None:
        return max((d.value for d in self.datapoints if d.value is not None), default=None)

    def summary(self) -> str:
        """One line: state now, since when, recovery, breaching datapoints."""
        parts = [self.state]
        if self.entered_alarm is not None:
            parts.append(f"in ALARM from {iso(self.entered_alarm)}")
            rec = self.recovered_at
            parts.append(f"recovered {iso(rec)}" if rec else "not recovered")
        elif self.state != "ALARM":
            parts.append("did not fire in the window")
        parts.append(f"{len(self.breaching)} breaching of {len(self.datapoints)} period(s)")
        return "; ".join(parts)


def _dims(pairs: tuple[tuple[str, str], ...]) -> dict[str, str]:
    return dict(pairs)


def _primary(spec: AlarmSpec) -> tuple[str, dict[str, str], str, str | None]:
    """(metric, dimensions, stat, namespace) whose documents explain a breach: the alarm's metric,
    or for metric math the first metric query (``errors`` for ErrorRate)."""
    if spec.queries:
        q = next(q for q in spec.queries if q.metric_name)
        return q.metric_name or "", _dims(q.dimensions), q.stat or "Sum", q.namespace
    return spec.metric_name or spec.metric, _dims(spec.dimensions), spec.statistic or "Sum", spec.namespace


def metric_queries(spec: AlarmSpec) -> list[tuple[str, str, dict[str, str], str, str | None]]:
    """(query id, metric, dimensions, stat, namespace) of every metric an alarm reads (``m`` if one)."""
    if spec.queries:
        return [
            (q.id, q.metric_name, _dims(q.dimensions), q.stat or "Sum", q.namespace)
            for q in spec.queries
            if q.metric_name
        ]
    metric, dims, stat, ns = _primary(spec)
    return [("m", metric, dims, stat, ns)]


def primary_query_id(spec: AlarmSpec) -> str:
    return metric_queries(spec)[0][0]


def period_starts(spec: AlarmSpec, window: Window, seen: Iterable[int]) -> list[int]:
    """The period starts (epoch ms, aligned) to show: every period of a closed window, else the span seen."""
    period_ms = spec.period * 1000
    if window.start is not None and window.end is not None:
        lo = window.start_ms // period_ms * period_ms  # type: ignore[operator]
        hi = (window.end_ms - 1) // period_ms * period_ms  # type: ignore[operator]
        if hi - lo <= 10_000 * period_ms:
            return list(range(lo, hi + 1, period_ms))
    found = sorted(set(seen))
    return list(range(found[0], found[-1] + 1, period_ms)) if found else []


def assemble(
    spec: AlarmSpec,
    window: Window,
    per_query: Mapping[str, Mapping[int, float | None]],
    *,
    primary_samples: Mapping[int, list[Sample]] | None = None,
    expression_values: Mapping[int, float | None] | None = None,
    source: str = REPLAYED,
) -> Evaluation:
    """The datapoints of ``spec`` from each query's value per period start (ms).

    Metric math is computed here from the queries' values; when the service sent its own result
    (``expression_values``) that one is used, and a difference from the client's is noted.
    """
    starts = period_starts(spec, window, [p for values in per_query.values() for p in values])
    op = COMPARISONS[spec.comparison][1]
    ret = next((q for q in spec.queries if q.return_data), None)
    points: list[Datapoint] = []
    notes: list[str] = []
    for p in starts:
        stats = {qid: values.get(p) for qid, values in per_query.items()}
        if ret is None:
            value = stats.get("m")
        elif all(v is None for v in stats.values()):
            value = None
        else:
            filled = {k: (0.0 if v is None else v) for k, v in stats.items()}
            value = filled[ret.id] if ret.metric_name else evaluate_expression(ret.expression or "", filled)
            if expression_values is not None and ret.expression:
                theirs = expression_values.get(p)
                if theirs is not None and (value is None or not math.isclose(theirs, value, rel_tol=1e-6)):
                    notes.append(
                        f"{iso(from_ms(p))}: CloudWatch computed {theirs:g} for the metric math, "
                        f"this tool {value}"
                    )
                    value = theirs
        breaching = op(value, spec.threshold) if value is not None else spec.treat_missing_data == "breaching"
        points.append(
            Datapoint(from_ms(p), value, breaching, samples=list((primary_samples or {}).get(p, [])))
        )
    n, m = spec.datapoints_to_alarm, spec.evaluation_periods
    for i, dp in enumerate(points):
        recent = points[max(0, i - m + 1) : i + 1]
        dp.in_alarm = sum(d.breaching for d in recent) >= n
    return Evaluation(spec, window, points, source=source, notes=notes)


def fixed_environment(spec: AlarmSpec) -> str | None:
    """The environment a concrete (not templated) alarm watches, from its dimensions."""
    if spec.environment:
        return spec.environment
    for dims in [dict(spec.dimensions), *(dict(q.dimensions) for q in spec.queries)]:
        env = dims.get(LOG_FIELDS.environment)
        if env and not env.startswith("${"):
            return env
    return None


class Replay:
    """Alarms replayed over EMF documents fed one at a time, in bounded memory.

    Per alarm and period it keeps the values of the alarm's metrics and, for each, who wrote it
    (:data:`SAMPLE_FIELDS`), never the documents. Templates (``...-${environment}``) are resolved
    for every environment the documents carry.
    """

    def __init__(self, specs: Iterable[AlarmSpec], window: Window | None = None):
        self.window = window or Window()
        self.templates = list(specs)
        self.documents = 0
        self.environments: set[str] = set()
        self.services: set[str] = set()
        self.pipelines: set[str] = set()
        self._wants: dict[str, list[int]] = {}
        for i, spec in enumerate(self.templates):
            for _, metric, _, _, _ in metric_queries(spec):
                self._wants.setdefault(metric, []).append(i)
        self._resolved: dict[tuple[int, str | None], AlarmSpec] = {}
        self._buckets: dict[tuple[str, str], dict[int, list[Sample]]] = {}

    def _spec(self, i: int, env: str | None) -> AlarmSpec:
        key = (i, env)
        spec = self._resolved.get(key)
        if spec is None:
            template = self.templates[i]
            spec = template.for_environment(env) if env and "${environment}" in template.name else template
            self._resolved[key] = spec
        return spec

    def add(self, doc: dict[str, Any]) -> None:
        """Feed one EMF document (anything else is ignored)."""
        aws = doc.get("_aws")
        if not isinstance(aws, dict) or not isinstance(aws.get("Timestamp"), int | float):
            return
        t_ms = int(aws["Timestamp"])
        if not self.window.contains(from_ms(t_ms)):
            return
        self.documents += 1
        env = doc.get(LOG_FIELDS.environment)
        env = str(env) if env is not None else None
        for key, bucket in ((LOG_FIELDS.environment, self.environments), (LOG_FIELDS.service, self.services),
                            (LOG_FIELDS.pipeline, self.pipelines)):  # fmt: skip
            if doc.get(key) is not None:
                bucket.add(str(doc[key]))
        lite: dict[str, Any] | None = None
        for directive in aws.get("CloudWatchMetrics") or []:
            if not isinstance(directive, dict):
                continue
            for m in directive.get("Metrics") or []:
                name = m.get("Name") if isinstance(m, dict) else None
                for i in self._wants.get(str(name), ()):
                    spec = self._spec(i, env)
                    for qid, metric, dims, _, ns in metric_queries(spec):
                        if metric != name or any(str(doc.get(k)) != v for k, v in dims.items()):
                            continue
                        if not _directive_matches(directive, metric, dims, ns):
                            continue
                        lite = lite if lite is not None else _lite(doc)
                        period_ms = spec.period * 1000
                        per = self._buckets.setdefault((spec.name, qid), {})
                        per.setdefault(t_ms // period_ms * period_ms, []).extend(
                            Sample(t_ms, v, lite) for v in _values(doc, metric)
                        )

    def resolved(self) -> list[AlarmSpec]:
        """Every alarm for every environment seen (a template without documents: once per environment)."""
        envs: list[str | None] = [*sorted(self.environments)] or [None]
        out: list[AlarmSpec] = []
        for i, t in enumerate(self.templates):
            if "${environment}" not in t.name:  # a concrete alarm: only if its environment was seen
                env = fixed_environment(t)
                if env is not None and self.environments and env not in self.environments:
                    continue
            for env in envs if "${environment}" in t.name else [None]:
                spec = self._spec(i, env)
                if spec not in out:
                    out.append(spec)
        return out

    def evaluation(self, spec: AlarmSpec) -> Evaluation:
        """``spec`` (resolved) over what was fed."""
        per_query: dict[str, dict[int, float | None]] = {}
        primary = primary_query_id(spec)
        primary_samples: dict[int, list[Sample]] = {}
        for qid, _, _, stat, _ in metric_queries(spec):
            buckets = self._buckets.get((spec.name, qid), {})
            per_query[qid] = {p: statistic([s.value for s in ss], stat) for p, ss in buckets.items()}
            if qid == primary:
                primary_samples = buckets
        ev = assemble(spec, self.window, per_query, primary_samples=primary_samples)
        ev.source = f"{REPLAYED} ({self.documents:,} read)"
        return ev

    def evaluations(self) -> list[Evaluation]:
        return [self.evaluation(s) for s in self.resolved()]


def evaluate(spec: AlarmSpec, emf: Iterable[dict[str, Any]], window: Window | None = None) -> Evaluation:
    """Replay ``spec`` (a resolved alarm) over the EMF documents inside ``window``."""
    replay = Replay([spec], window)
    for doc in emf:
        replay.add(doc)
    return replay.evaluation(spec)


def culprits(spec: AlarmSpec, datapoint: Datapoint, limit: int = 50) -> list[Sample]:
    """The values behind a breaching datapoint that explain it, largest first.

    For a count (Sum / SampleCount, and metric math over counts) every non-zero value; for a
    level (Maximum, pNN, Average) the values that breach the threshold themselves, or the
    largest few when none does alone.
    """
    return pick_culprits(spec, datapoint.samples, limit)


def pick_culprits(spec: AlarmSpec, values: Iterable[Sample], limit: int = 50) -> list[Sample]:
    """:func:`culprits` over any samples of the alarm's primary metric in a breaching period."""
    _, _, stat, _ = _primary(spec)
    ordered = sorted(values, key=lambda s: -s.value)
    if stat in ("Sum", "SampleCount") or spec.queries:
        picked = [s for s in ordered if s.value != 0] if stat == "Sum" else ordered
    else:
        op = COMPARISONS[spec.comparison][1]
        picked = [s for s in ordered if op(s.value, spec.threshold)] or ordered[:5]
    return picked[:limit]


def evaluate_all(
    alarms: Iterable[AlarmSpec], emf: Iterable[dict[str, Any]], window: Window | None = None
) -> list[Evaluation]:
    """Every alarm, for every environment the EMF documents carry, evaluated over ``window``."""
    replay = Replay(alarms, window)
    for doc in emf:
        replay.add(doc)
    return replay.evaluations()
