"""The project's configuration: one ``observe.toml`` the team owns, read at run time and in CI.

It declares the namespace, the team's metrics, its pipelines (services, who emits what), the
alarms each pipeline opts into (with per-environment overrides), the SNS e-mail endpoints per
environment and severity, and extra redaction rules. docs/adopting.md is the reference.

At run time nothing here is on the hot path. The file is found once, lazily: at the cold start,
when logging is first configured, or at the first metric name the standard catalogue does not
know, whichever comes first. Where it is looked for, in order:

1. ``OBSERVE_CONFIG``, the path of the file (an explicit choice, e.g. set by Terraform);
2. the nearest ``observe.toml`` above each ``@observed`` handler's source file, stopping at
   ``LAMBDA_TASK_ROOT`` or at a project root (a directory holding ``pyproject.toml`` or ``.git``);
3. the same walk from the working directory (scripts, tests; in Lambda it is the task root).

A file that is wrong raises :class:`ConfigFileError` naming the file, the table, the key and the
fix; in stg and prd (see :mod:`observe.guard`) the handler keeps running on the standard metrics
and the error is logged and counted instead. Python code may build the same configuration from
a dict with :func:`build` and :func:`use` it; the file is the documented path.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeGuard

from observe import catalogue
from observe.catalogue import MetricDef
from observe.config import ENVIRONMENTS, ConfigError

FILENAME = "observe.toml"
ENV_VAR = "OBSERVE_CONFIG"
SEVERITIES: tuple[str, ...] = ("critical", "warning", "info")
ERROR_RATE = "ErrorRate"
COMPARISONS: dict[str, str] = {
    ">=": "GreaterThanOrEqualToThreshold",
    ">": "GreaterThanThreshold",
    "<": "LessThanThreshold",
    "<=": "LessThanOrEqualToThreshold",
}
DEFAULT_NAMESPACE = "DataPipelines"

_NAMESPACE = re.compile(r"^[A-Za-z0-9._/#:-]{1,255}$")
_METRIC_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,254}$")
_DIMENSION = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,249}$")
_PIPELINE = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")
_SERVICE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,139}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

_TOP_KEYS = ("namespace", "include", "metrics", "pipelines", "notifications", "redaction")
_METRIC_KEYS = ("unit", "description", "dimensions", "statistic", "alarm", "group")
_PIPELINE_KEYS = ("title", "services", "emits", "alarms", "functions", "queues")
_FUNCTION_KEYS = ("timeout", "name")
_QUEUE_KEYS = ("consumer", "dlq", "dead_letter_of", "visibility_timeout")
#: SQS queue names (without the deployment's prefix): letters, digits, ``-`` and ``_``, at most 80.
_QUEUE = re.compile(r"^[A-Za-z0-9_-]{1,80}$")
#: Lambda's rule for an SQS event source: the visibility timeout at least 6x the function timeout.
VISIBILITY_FACTOR = 6
_ALARM_TUNABLES = (
    "threshold",
    "severity",
    "statistic",
    "comparison",
    "period",
    "evaluation_periods",
    "datapoints_to_alarm",
    "enabled",
)
_ALARM_KEYS = ("metric", *_ALARM_TUNABLES, "environments")
_REDACTION_KEYS = ("keys", "patterns")


class ConfigFileError(ConfigError):
    """A configuration file that cannot be used; one line per problem, each naming where and the fix."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


# --------------------------------------------------------------------------------- the model


@dataclass(frozen=True)
class AlarmConfig:
    """One alarm a pipeline opts into: on a declared metric or on ``ErrorRate`` (percent).

    ``environments`` holds the per-environment overrides (any of the tunables, ``enabled`` too);
    :meth:`for_environment` applies them.
    """

    metric: str
    threshold: float | None  # None: derived per target (an AWS metric's recommended alarm)
    severity: str = "warning"
    statistic: str = "Sum"
    comparison: str = "GreaterThanOrEqualToThreshold"
    period: int = 300
    evaluation_periods: int = 1
    datapoints_to_alarm: int = 1
    enabled: bool = True
    environments: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def for_environment(self, environment: str) -> AlarmConfig | None:
        """This alarm as it applies in ``environment``; None where it is switched off."""
        chosen = replace(self, **dict(self.environments.get(environment, {})), environments={})
        return chosen if chosen.enabled else None


@dataclass(frozen=True)
class FunctionConfig:
    """The Lambda function a service runs as: its name (without the deployment's prefix) and timeout.

    The dashboards draw its ``AWS/Lambda`` metrics with the timeout as a line; Terraform reads the
    timeout from ``observe.json`` so the deployed function and the dashboard agree.
    """

    service: str
    name: str
    timeout: int  # seconds


@dataclass(frozen=True)
class QueueConfig:
    """An SQS queue of a pipeline (its name without the deployment's prefix).

    A task queue names its ``consumer`` (a service) and may name its ``dlq``; a dead-letter queue
    is one that some task queue names, or one that holds a function's failed asynchronous
    invocations (``dead_letter_of``).
    """

    name: str
    consumer: str | None = None
    dlq: str | None = None
    dead_letter_of: str | None = None  # set on a DLQ: the service whose failures land in it
    visibility_timeout: int | None = None

    @property
    def is_dlq(self) -> bool:
        return self.dead_letter_of is not None

    def max_age(self, functions: Mapping[str, FunctionConfig]) -> int | None:
        """The default threshold of its age alarm: its visibility timeout, declared or derived.

        A message older than one visibility timeout has waited that long for a free consumer or
        been received and not deleted; AWS's rule for Lambda consumers makes it 6x their timeout.
        """
        if self.visibility_timeout is not None:
            return self.visibility_timeout
        consumer = functions.get(self.consumer or "")
        return VISIBILITY_FACTOR * consumer.timeout if consumer else None


@dataclass(frozen=True)
class PipelineConfig:
    """A pipeline: its services (``SERVICE_NAME`` of each function), who emits what, its alarms,
    and the AWS resources whose own metrics the dashboards draw (functions, queues)."""

    name: str
    title: str
    services: tuple[str, ...]
    emitters: Mapping[str, tuple[str, ...]]  # metric -> the services that emit it (beyond the standard)
    alarms: tuple[AlarmConfig, ...] = ()
    functions: Mapping[str, FunctionConfig] = field(default_factory=dict)  # by service
    queues: Mapping[str, QueueConfig] = field(default_factory=dict)  # by name; DLQs included


@dataclass(frozen=True)
class Redaction:
    """Extra keys whose values are always masked and extra value patterns (name -> regex)."""

    keys: tuple[str, ...] = ()
    patterns: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ProjectConfig:
    """A loaded configuration (a file and what it includes)."""

    source: str
    namespace: str | None = None
    metrics: Mapping[str, MetricDef] = field(default_factory=dict)
    pipelines: Mapping[str, PipelineConfig] = field(default_factory=dict)
    #: environment -> severity -> e-mail addresses subscribed to that severity's SNS topic
    notifications: Mapping[str, Mapping[str, tuple[str, ...]]] = field(default_factory=dict)
    redaction: Redaction = field(default_factory=Redaction)
    files: tuple[str, ...] = ()

    @property
    def effective_namespace(self) -> str:
        """The namespace the functions write to unless ``METRICS_NAMESPACE`` says otherwise."""
        return self.namespace or DEFAULT_NAMESPACE

    def metric(self, name: str) -> MetricDef | None:
        """A metric this configuration may refer to: its own or a standard one."""
        return self.metrics.get(name) or catalogue.STANDARD.get(name)


# --------------------------------------------------------------------------------- parsing


def _display(path: Path | str) -> str:
    p = Path(path)
    try:
        return str(p.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(p)


class _Problems:
    """Collects every problem of one file, each as ``file: [table] key: message``."""

    def __init__(self, source: str):
        self.source = source
        self.items: list[str] = []
        self.declared: set[str] = set()  # every [metrics.X] seen, valid or not (for suggestions)
        self.broken: set[str] = set()  # declared with problems: references to them add no more noise

    def undeclared(self, table: str, metric: str, alternative: str = "", prefix: str = "") -> None:
        """``metric`` is referred to but not declared (unless its declaration was the problem)."""
        if metric in self.broken:
            return
        import difflib

        known = sorted(self.declared | set(catalogue.STANDARD) | set(catalogue.AWS_METRICS))
        close = difflib.get_close_matches(metric, known, n=1)
        hint = f"did you mean {close[0]!r}?" if close else f"add [metrics.{metric}]{alternative}"
        self.add(table, f"{prefix}metric {metric!r} is not declared; {hint}")

    def add(self, table: str, message: str) -> None:
        where = f"[{table}] " if table else ""
        self.items.append(f"{self.source}: {where}{message}")

    def unknown(self, table: str, data: Mapping[str, Any], allowed: Iterable[str]) -> None:
        allowed = tuple(allowed)
        for key in data:
            if key not in allowed:
                import difflib

                close = difflib.get_close_matches(str(key), allowed, n=1)
                hint = f"did you mean {close[0]!r}?" if close else f"allowed: {', '.join(allowed)}"
                self.add(table, f"unknown key {key!r}; {hint}")


def _str_list(value: Any) -> list[str] | None:
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value)
    return None


def _comparison(value: Any) -> str | None:
    if value in COMPARISONS.values():
        return str(value)
    return COMPARISONS.get(str(value).strip()) if isinstance(value, str) else None


def _parse_metric(name: str, raw: Any, p: _Problems) -> MetricDef | None:
    table = f"metrics.{name}"
    p.declared.add(name)
    if not isinstance(raw, dict):
        p.add(table, 'must be a table (unit = "Count", description = "...")')
        p.broken.add(name)
        return None
    before = len(p.items)
    p.unknown(table, raw, _METRIC_KEYS)
    if not _METRIC_NAME.match(name):
        p.add(table, "a metric name is 1-255 letters, digits, '_', '.' or '-', starting with a letter")
    if name in catalogue.STANDARD:
        p.add(table, f"{name!r} is a standard metric of observe (docs/metrics.md); do not declare it")
    unit = raw.get("unit")
    if unit is None:
        p.add(table, 'unit is missing; e.g. unit = "Count" (an EMF unit)')
    elif not isinstance(unit, str):
        p.add(table, 'unit must be a string, e.g. unit = "Count"')
    description = raw.get("description")
    if not isinstance(description, str) or not description.strip():
        p.add(table, 'description is missing; say what one unit means, e.g. description = "Orders shipped."')
    dim_list = _str_list(raw.get("dimensions", []))
    if dim_list is None:
        p.add(table, 'dimensions must be a list of names, e.g. dimensions = ["carrier"]')
    else:
        for d in dim_list:
            if not _DIMENSION.match(d):
                p.add(table, f"dimension {d!r} must be letters, digits and '_', starting with a letter")
        if len(set(dim_list)) != len(dim_list):
            p.add(table, "dimensions lists a name twice")
    statistic = raw.get("statistic", "Sum")
    if not isinstance(statistic, str):
        p.add(table, 'statistic must be a string such as "Sum" or "p99"')
    alarm = raw.get("alarm")
    if alarm is not None and not isinstance(alarm, str):
        p.add(table, 'alarm (the suggested alarm) must be a string such as ">= 1"')
    group = raw.get("group", "")
    if not isinstance(group, str):
        p.add(table, "group must be a string (the dashboard row)")
    elif group == "invocation":
        p.add(table, "group 'invocation' is observe's own (every function emits it); pick another name")
    definition = MetricDef(
        name,
        unit if isinstance(unit, str) else "Count",
        str(description or "").strip(),
        group if isinstance(group, str) else "",
        tuple(dim_list or ()),
        statistic if isinstance(statistic, str) else "Sum",
        alarm if isinstance(alarm, str) else None,
        p.source,
    )
    for _key, message in catalogue.problems(definition):
        if _key != "name":  # the name was checked above, with the house rule
            p.add(table, message)
    if len(p.items) > before:
        p.broken.add(name)
        return None
    return definition


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value == value


def _check_tunables(table: str, raw: Mapping[str, Any], p: _Problems, *, is_rate: bool) -> dict[str, Any]:
    """The alarm settings in ``raw`` checked and converted; problems are recorded in ``p``."""
    out: dict[str, Any] = {}
    if "threshold" in raw:
        if _number(raw["threshold"]):
            out["threshold"] = raw["threshold"]  # as written: 5 stays 5 in the JSON
        else:
            p.add(table, f"threshold must be a number, got {raw['threshold']!r}")
    if "severity" in raw:
        if raw["severity"] in SEVERITIES:
            out["severity"] = raw["severity"]
        else:
            p.add(table, f"severity {raw['severity']!r} is not one of {', '.join(SEVERITIES)}")
    if "statistic" in raw:
        stat = raw["statistic"]
        if is_rate:
            if stat != "rate":
                p.add(table, "ErrorRate is metric math (percent of invocations); leave statistic out")
        elif isinstance(stat, str) and catalogue.valid_statistic(stat):
            out["statistic"] = stat
        else:
            p.add(table, f"statistic {stat!r} is not one of {', '.join(catalogue.PLAIN_STATISTICS)} or pNN")
    if "comparison" in raw:
        comparison = _comparison(raw["comparison"])
        if comparison is None:
            p.add(table, f"comparison {raw['comparison']!r} is not one of {', '.join(COMPARISONS)}")
        else:
            out["comparison"] = comparison
    if "period" in raw:
        period = raw["period"]
        if isinstance(period, int) and not isinstance(period, bool) and period >= 60 and period % 60 == 0:
            out["period"] = period
        else:
            p.add(table, f"period must be seconds, a multiple of 60 (60, 300, 3600 ...), got {period!r}")
    for key in ("evaluation_periods", "datapoints_to_alarm"):
        if key in raw:
            value = raw[key]
            if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
                out[key] = value
            else:
                p.add(table, f"{key} must be a whole number >= 1, got {value!r}")
    if "enabled" in raw:
        if isinstance(raw["enabled"], bool):
            out["enabled"] = raw["enabled"]
        else:
            p.add(table, "enabled must be true or false")
    return out


def _parse_alarm(
    pipeline: str, index: int, raw: Any, metrics: Mapping[str, MetricDef], p: _Problems
) -> AlarmConfig | None:
    table = f"pipelines.{pipeline}.alarms[{index}]"
    if not isinstance(raw, dict):
        p.add(table, 'each alarm is a table: [[pipelines.NAME.alarms]] metric = "..." threshold = 1')
        return None
    metric = raw.get("metric")
    if isinstance(metric, str):
        table = f"pipelines.{pipeline}.alarms[{index}] ({metric})"
    p.unknown(table, raw, _ALARM_KEYS)
    if not isinstance(metric, str) or not metric:
        p.add(table, f'metric is missing; name a declared metric or "{ERROR_RATE}"')
        return None
    is_rate = metric == ERROR_RATE
    aws = catalogue.AWS_METRICS.get(metric)
    definition = None if is_rate or aws else (metrics.get(metric) or catalogue.STANDARD.get(metric))
    if not is_rate and not aws and definition is None:
        p.undeclared(table, metric, f" or use {ERROR_RATE!r}")
        return None
    settings = _check_tunables(table, raw, p, is_rate=is_rate)
    base: dict[str, Any] = {}
    if is_rate:
        base["statistic"] = "rate"
        base["severity"] = "critical"
    elif aws:
        base.update(_aws_defaults(aws))
    else:
        assert definition is not None
        base["statistic"] = definition.statistic
        if definition.alarm:  # the suggested alarm supplies the comparison and threshold
            op, _, number = definition.alarm.partition(" ")
            base["comparison"] = COMPARISONS[op]
            base["threshold"] = float(number) if "." in number else int(number)
    base.update(settings)
    overrides: dict[str, dict[str, Any]] = {}
    envs = raw.get("environments", {})
    if not isinstance(envs, dict):
        p.add(table, "environments must be a table of dev / stg / prd overrides")
        envs = {}
    for env, over in envs.items():
        where = f"{table} environments.{env}"
        if env not in ENVIRONMENTS:
            p.add(where, f"unknown environment {env!r}; use {', '.join(ENVIRONMENTS)}")
            continue
        if not isinstance(over, dict):
            p.add(where, "must be a table, e.g. { threshold = 5 }")
            continue
        p.unknown(where, over, _ALARM_TUNABLES)
        overrides[env] = _check_tunables(where, over, p, is_rate=is_rate)
    if "threshold" not in base:
        if "threshold" not in raw:
            p.add(table, f"threshold is missing ({metric} suggests none); e.g. threshold = 1")
        return None
    alarm = AlarmConfig(metric=metric, environments=overrides, **base)
    if metric == DURATION_VS_TIMEOUT:
        for env in ENVIRONMENTS:
            chosen = alarm.for_environment(env)
            if chosen is not None and chosen.threshold is not None and not 0 < chosen.threshold <= 100:
                p.add(
                    table,
                    f"threshold is a percentage of each function's timeout (0-100], got {chosen.threshold!r}",
                )
                return None
    for env in ENVIRONMENTS:
        chosen = alarm.for_environment(env)
        if chosen is not None and chosen.datapoints_to_alarm > chosen.evaluation_periods:
            where = table if env not in overrides else f"{table} environments.{env}"
            p.add(
                where,
                f"datapoints_to_alarm ({chosen.datapoints_to_alarm}) exceeds evaluation_periods "
                f"({chosen.evaluation_periods}) in {env}",
            )
            break
    return alarm


#: The AWS alarm whose threshold is a percentage of each function's timeout.
DURATION_VS_TIMEOUT = "AWS/Lambda/Duration"


def _aws_defaults(aws: catalogue.AwsMetric) -> dict[str, Any]:
    """The recommended alarm on an AWS metric, as :class:`AlarmConfig` settings."""
    out: dict[str, Any] = {
        "statistic": aws.statistic,
        "comparison": COMPARISONS[aws.alarm_comparison],
        "period": aws.alarm_period,
        "evaluation_periods": aws.alarm_evaluation_periods,
        "datapoints_to_alarm": aws.alarm_datapoints,
        "severity": aws.alarm_severity,
    }
    if aws.alarm_threshold is not None or aws.alarm_default:
        out["threshold"] = aws.alarm_threshold  # None: derived per target
    return out


def _positive_int(value: Any, high: int) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= high


def _parse_functions(table: str, raw: Any, services: list[str], p: _Problems) -> dict[str, FunctionConfig]:
    """``[pipelines.NAME.functions]``: ``service = { timeout = 120 }`` per function."""
    out: dict[str, FunctionConfig] = {}
    if not isinstance(raw, dict):
        p.add(table, "must be a table: ingest-worker = { timeout = 120 } (one entry per service)")
        return out
    for service, entry in raw.items():
        where = f"{table}.{service}"
        if service not in services:
            p.add(where, f"{service!r} is not one of this pipeline's services ({', '.join(services)})")
            continue
        if not isinstance(entry, dict):
            p.add(where, "must be a table: { timeout = 120 } (seconds, as deployed)")
            continue
        p.unknown(where, entry, _FUNCTION_KEYS)
        timeout = entry.get("timeout")
        if not _positive_int(timeout, 900):
            p.add(where, f"timeout must be the function's timeout in whole seconds (1-900), got {timeout!r}")
            continue
        fname = entry.get("name", service)
        if not isinstance(fname, str) or not _SERVICE.match(fname) or len(fname) > 64:
            p.add(
                where,
                f"name {fname!r}: the function's name without the deployment's prefix "
                "(1-64 letters, digits, - or _)",
            )
            continue
        out[service] = FunctionConfig(service=service, name=fname, timeout=timeout)
    return out


def _parse_queues(table: str, raw: Any, services: list[str], p: _Problems) -> dict[str, QueueConfig]:
    """``[pipelines.NAME.queues.QUEUE]``: task queues (``consumer``, ``dlq``) and dead-letter queues."""
    out: dict[str, QueueConfig] = {}
    if not isinstance(raw, dict):
        p.add(
            table,
            'must be a table of queues: [pipelines.NAME.queues.orders-tasks] consumer = "orders-worker"',
        )
        return out
    named_dlqs: dict[str, str] = {}  # dlq -> the task queue that names it first
    for qname, entry in raw.items():
        where = f"{table}.{qname}"
        if not _QUEUE.match(qname):
            p.add(where, "a queue name (without the deployment's prefix) is 1-80 letters, digits, - or _")
            continue
        if not isinstance(entry, dict):
            p.add(where, 'must be a table: consumer = "SERVICE", dlq = "QUEUE"')
            continue
        p.unknown(where, entry, _QUEUE_KEYS)
        ok = True
        for key in ("consumer", "dead_letter_of"):
            value = entry.get(key)
            if value is not None and value not in services:
                p.add(
                    where, f"{key} {value!r} is not one of this pipeline's services ({', '.join(services)})"
                )
                ok = False
        dlq = entry.get("dlq")
        if dlq is not None and (not isinstance(dlq, str) or not _QUEUE.match(dlq) or dlq == qname):
            p.add(where, f"dlq {dlq!r} must name another queue (1-80 letters, digits, - or _)")
            ok = False
        if entry.get("dead_letter_of") is not None and (dlq is not None or entry.get("consumer") is not None):
            p.add(where, "dead_letter_of marks a dead-letter queue: it takes no consumer or dlq")
            ok = False
        visibility = entry.get("visibility_timeout")
        if visibility is not None and not _positive_int(visibility, 43_200):
            p.add(where, f"visibility_timeout must be whole seconds (1-43200), got {visibility!r}")
            ok = False
        if not ok:
            continue
        out[qname] = QueueConfig(
            name=qname,
            consumer=entry.get("consumer"),
            dlq=dlq,
            dead_letter_of=entry.get("dead_letter_of"),
            visibility_timeout=visibility,
        )
        if dlq is not None:
            named_dlqs.setdefault(dlq, qname)
    for dlq, source in named_dlqs.items():
        if dlq in out:
            p.add(f"{table}.{dlq}", f"is the dlq of {source!r} already; do not declare it again")
            continue
        task = out[source]
        out[dlq] = QueueConfig(name=dlq, dead_letter_of=task.consumer or services[0])
    return out


def _aws_targets(functions: Mapping[str, FunctionConfig], queues: Mapping[str, QueueConfig]) -> set[str]:
    """What a pipeline has for AWS metrics to watch: ``function``, ``queue`` (task), ``dlq``."""
    out = {"function"} if functions else set()
    out |= {"dlq" if q.is_dlq else "queue" for q in queues.values()}
    return out


def _aws_declare_hint(name: str, target: str) -> str:
    return {
        "function": f"[pipelines.{name}.functions] (service = {{ timeout = SECONDS }})",
        "queue": f'a task queue, [pipelines.{name}.queues.QUEUE] with consumer = "SERVICE"',
        "dlq": 'a dead-letter queue (dlq = "QUEUE" on a task queue, or dead_letter_of = "SERVICE")',
    }[target]


def _check_aws_alarms(
    name: str,
    alarms: list[AlarmConfig],
    functions: Mapping[str, FunctionConfig],
    queues: Mapping[str, QueueConfig],
    p: _Problems,
) -> list[AlarmConfig]:
    """The pipeline's alarms with the recommended AWS alarms it did not list added; a task queue
    whose age alarm has no threshold to derive is reported."""
    targets = _aws_targets(functions, queues)
    out = list(alarms)
    listed = {a.metric for a in alarms}
    for aws in catalogue.AWS_METRICS.values():
        if aws.alarm_default and aws.target in targets and aws.key not in listed:
            out.append(AlarmConfig(metric=aws.key, **_aws_defaults(aws)))
    for alarm in out:
        if alarm.metric != "AWS/SQS/ApproximateAgeOfOldestMessage":
            continue
        derived = [
            e for e in ENVIRONMENTS if (c := alarm.for_environment(e)) is not None and c.threshold is None
        ]
        if not derived:
            continue
        for q in queues.values():
            if not q.is_dlq and q.max_age(functions) is None:
                p.add(
                    f"pipelines.{name}.queues.{q.name}",
                    "the age alarm's threshold defaults to the queue's visibility timeout: give "
                    "visibility_timeout = SECONDS, declare its consumer's timeout under "
                    f"[pipelines.{name}.functions], or set threshold in an "
                    "AWS/SQS/ApproximateAgeOfOldestMessage alarm",
                )
    return out


def _parse_pipeline(
    name: str, raw: Any, metrics: Mapping[str, MetricDef], p: _Problems
) -> PipelineConfig | None:
    table = f"pipelines.{name}"
    if not isinstance(raw, dict):
        p.add(table, 'must be a table with services = ["..."]')
        return None
    p.unknown(table, raw, _PIPELINE_KEYS)
    if not _PIPELINE.match(name):
        p.add(table, "a pipeline name is lower-case letters, digits, '_' or '-', starting with a letter")
    title = raw.get("title", name)
    if not isinstance(title, str):
        p.add(table, "title must be a string")
        title = name
    services = _str_list(raw.get("services"))
    if not services:
        p.add(
            table, 'services is missing; list each function\'s SERVICE_NAME, e.g. services = ["orders-api"]'
        )
        return None
    for s in services:
        if not _SERVICE.match(s):
            p.add(table, f"service {s!r} must be letters, digits, '_' or '-' (it is the SERVICE_NAME)")
    if len(set(services)) != len(services):
        p.add(table, "services lists a name twice")
    emitters: dict[str, list[str]] = {}
    emits = raw.get("emits", {})
    if not isinstance(emits, dict):
        p.add(f"{table}.emits", 'must be a table: service = ["Metric", ...]')
        emits = {}
    for service, names in emits.items():
        where = f"{table}.emits"
        if service not in services:
            p.add(where, f"{service!r} is not one of this pipeline's services ({', '.join(services)})")
            continue
        listed = _str_list(names)
        if listed is None:
            p.add(where, f'{service} must be a list of metric names, e.g. {service} = ["MetricName"]')
            continue
        for metric in listed:
            definition = metrics.get(metric) or catalogue.STANDARD.get(metric)
            if definition is None:
                p.undeclared(where, metric, prefix=f"{service}: ")
            elif definition.group == "invocation":
                p.add(where, f"{service}: {metric} is emitted by every observed function; do not list it")
            elif service not in emitters.setdefault(metric, []):
                emitters[metric].append(service)
    alarms_raw = raw.get("alarms", [])
    if not isinstance(alarms_raw, list):
        p.add(table, "alarms must be an array of tables: [[pipelines.NAME.alarms]]")
        alarms_raw = []
    functions = _parse_functions(f"{table}.functions", raw.get("functions", {}), services, p)
    queues = _parse_queues(f"{table}.queues", raw.get("queues", {}), services, p)
    targets = _aws_targets(functions, queues)
    alarms: list[AlarmConfig] = []
    for i, a in enumerate(alarms_raw):
        alarm = _parse_alarm(name, i, a, metrics, p)
        if alarm is None:
            continue
        aws = catalogue.AWS_METRICS.get(alarm.metric)
        if aws is not None and aws.target not in targets:
            where = f"pipelines.{name}.alarms[{i}] ({alarm.metric})"
            p.add(where, f"it watches {_aws_declare_hint(name, aws.target)}; declare one")
            continue
        definition = metrics.get(alarm.metric) or catalogue.STANDARD.get(alarm.metric)
        if definition is not None and definition.group != "invocation" and alarm.metric not in emitters:
            p.add(
                f"pipelines.{name}.alarms[{i}] ({alarm.metric})",
                f"no service of {name!r} emits {alarm.metric}; list it under [pipelines.{name}.emits]",
            )
            continue
        if any(a.metric == alarm.metric for a in alarms):
            p.add(
                f"pipelines.{name}.alarms[{i}] ({alarm.metric})",
                f"a second alarm on {alarm.metric} (the names would clash); use environments overrides",
            )
            continue
        alarms.append(alarm)
    alarms = _check_aws_alarms(name, alarms, functions, queues, p)
    for service in services:
        for alarm in alarms:
            if len(f"{service}-{alarm.metric}-prd") > 255:
                p.add(table, f"alarm name {service}-{alarm.metric}-prd is longer than 255 characters")
    return PipelineConfig(
        name=name,
        title=title,
        services=tuple(services),
        emitters={m: tuple(s) for m, s in emitters.items()},
        alarms=tuple(alarms),
        functions=functions,
        queues=queues,
    )


def _parse_notifications(raw: Any, p: _Problems) -> dict[str, dict[str, tuple[str, ...]]]:
    out: dict[str, dict[str, tuple[str, ...]]] = {}
    if not isinstance(raw, dict):
        p.add("notifications", 'must be a table per environment: [notifications.prd] critical = ["..."]')
        return out
    for env, by_severity in raw.items():
        table = f"notifications.{env}"
        if env not in ENVIRONMENTS:
            p.add(table, f"unknown environment {env!r}; use {', '.join(ENVIRONMENTS)}")
            continue
        if not isinstance(by_severity, dict):
            p.add(table, 'must be a table: critical = ["oncall@example.com"]')
            continue
        p.unknown(table, by_severity, SEVERITIES)
        for severity, emails in by_severity.items():
            if severity not in SEVERITIES:
                continue
            listed = _str_list(emails)
            if listed is None:
                example = f'{severity} = ["oncall@example.com"]'
                p.add(table, f"{severity} must be a list of e-mail addresses, e.g. {example}")
                continue
            for e in listed:
                if not _EMAIL.match(e):
                    p.add(table, f"{severity}: {e!r} is not an e-mail address (SNS e-mail endpoints)")
            out.setdefault(env, {})[severity] = tuple(listed)
    return out


def _parse_redaction(raw: Any, p: _Problems) -> Redaction:
    if not isinstance(raw, dict):
        p.add("redaction", 'must be a table: keys = ["..."], patterns = { name = "regex" }')
        return Redaction()
    p.unknown("redaction", raw, _REDACTION_KEYS)
    keys = _str_list(raw.get("keys", []))
    if keys is None:
        p.add("redaction", 'keys must be a list of field names, e.g. keys = ["customer_ref"]')
        keys = []
    patterns = raw.get("patterns", {})
    checked: dict[str, str] = {}
    if not isinstance(patterns, dict):
        p.add("redaction", 'patterns must be a table of name = "regex"')
        patterns = {}
    from observe import redact

    for name, rx in patterns.items():
        try:
            redact._check_pattern(name, rx)  # the redaction's own rule: linear time, not empty
        except redact.RedactionRuleError as exc:
            p.add("redaction.patterns", f"{name}: {str(exc).split(': ', 1)[-1]}")
            continue
        checked[name] = rx
    for key in keys:
        if not key.strip():
            p.add("redaction", "keys has an empty field name")
    return Redaction(keys=tuple(keys), patterns=checked)


def build(data: Mapping[str, Any], source: str = "<code>", *, base_dir: Path | None = None) -> ProjectConfig:
    """Check the configuration ``data`` (the structure of ``observe.toml``) and return it.

    ``include`` entries are read relative to ``base_dir``. Raises :class:`ConfigFileError` listing
    every problem found.
    """
    return _build(data, source, base_dir or Path.cwd(), ())


def _build(data: Mapping[str, Any], source: str, base_dir: Path, seen: tuple[str, ...]) -> ProjectConfig:
    p = _Problems(source)
    p.unknown("", data, _TOP_KEYS)
    namespace = data.get("namespace")
    if namespace is not None and (
        not isinstance(namespace, str) or not _NAMESPACE.match(namespace) or namespace.startswith("AWS/")
    ):
        p.add("", f"namespace {namespace!r} must be 1-255 letters, digits or . _ / # : -, not starting AWS/")
        namespace = None
    included: list[ProjectConfig] = []
    includes = data.get("include", [])
    include_list = _str_list(includes)
    if include_list is None:
        p.add("", 'include must be a list of paths, e.g. include = ["pipelines/orders/observe.toml"]')
        include_list = []
    for rel in include_list:
        path = (base_dir / rel).resolve()
        if str(path) in seen:
            p.add("", f"include {rel!r} includes itself (a cycle)")
            continue
        try:
            included.append(_load(path, seen))
        except ConfigFileError as exc:
            p.items += exc.problems
        except OSError as exc:
            p.add("", f"include {rel!r}: cannot read {_display(path)} ({exc.strerror or exc})")
    own_metrics: dict[str, MetricDef] = {}
    raw_metrics = data.get("metrics", {})
    if not isinstance(raw_metrics, dict):
        p.add("metrics", "must be a table of [metrics.NAME] tables")
        raw_metrics = {}
    for name, raw in raw_metrics.items():
        definition = _parse_metric(str(name), raw, p)
        if definition is not None:
            own_metrics[definition.name] = definition
    metrics: dict[str, MetricDef] = {}
    for other in included:
        for name, definition in other.metrics.items():
            if name in metrics and metrics[name] != definition:
                p.add(f"metrics.{name}", f"declared in both {metrics[name].source} and {definition.source}")
            metrics[name] = definition
    for name, definition in own_metrics.items():
        if name in metrics:
            p.add(f"metrics.{name}", f"already declared in {metrics[name].source}")
        metrics[name] = definition
    raw_pipelines = data.get("pipelines", {})
    if not isinstance(raw_pipelines, dict):
        p.add("pipelines", "must be a table of [pipelines.NAME] tables")
        raw_pipelines = {}
    pipelines: dict[str, PipelineConfig] = {}
    for other in included:
        for name, pipe in other.pipelines.items():
            if name in pipelines:
                p.add(f"pipelines.{name}", f"declared in more than one file ({', '.join(other.files)})")
            pipelines[name] = pipe
    for name, raw in raw_pipelines.items():
        if name in pipelines:
            p.add(f"pipelines.{name}", "already declared in an included file")
            continue
        parsed = _parse_pipeline(str(name), raw, metrics, p)
        if parsed is not None:
            pipelines[parsed.name] = parsed
    for name, definition in own_metrics.items():
        if not definition.group:  # its dashboard row: the first pipeline that emits it
            owner = next((pn for pn, pc in pipelines.items() if name in pc.emitters), "custom")
            metrics[name] = definition._replace(group=owner)
    notifications = _parse_notifications(data.get("notifications", {}), p)
    for other in included:
        for env, by_sev in other.notifications.items():
            for sev, emails in by_sev.items():
                mine = notifications.setdefault(env, {}).get(sev, ())
                notifications[env][sev] = tuple(dict.fromkeys((*mine, *emails)))
    redaction = _parse_redaction(data.get("redaction", {}), p)
    for other in included:
        redaction = Redaction(
            keys=tuple(dict.fromkeys((*redaction.keys, *other.redaction.keys))),
            patterns={**other.redaction.patterns, **redaction.patterns},
        )
        if other.namespace and namespace and other.namespace != namespace:
            p.add("", f"namespace {namespace!r} differs from {other.namespace!r} in {other.source}; use one")
        namespace = namespace or other.namespace
    if p.items:
        raise ConfigFileError(p.items)
    files = tuple(dict.fromkeys((source, *(f for other in included for f in other.files))))
    return ProjectConfig(
        source=source,
        namespace=namespace,
        metrics=metrics,
        pipelines=pipelines,
        notifications=notifications,
        redaction=redaction,
        files=files,
    )


def _load(path: Path, seen: tuple[str, ...]) -> ProjectConfig:
    import tomllib  # stdlib; only when a file is read

    source = _display(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigFileError([f"{source}: no such file"]) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigFileError([f"{source}: not valid TOML: {exc}"]) from None
    return _build(data, source, path.parent, (*seen, str(path.resolve())))


def load(path: str | Path) -> ProjectConfig:
    """Read and check the configuration file at ``path`` (and what it includes)."""
    return _load(Path(path), ())


# --------------------------------------------------------------------------------- finding it

#: Directories of @observed handlers not searched yet (appended at decoration, searched lazily).
_pending: list[str] = []
_state: dict[str, Any] = {"cwd_searched": False, "explicit_done": False}
#: Configurations in use in this process, by resolved path (or source name for built ones).
_active: dict[str, ProjectConfig] = {}
_searched: set[str] = set()


def note_handler(filename: str) -> None:
    """Remember where a handler's source lives; its configuration is searched for on first need."""
    if filename and not filename.startswith("<"):
        _pending.append(os.path.dirname(os.path.abspath(filename)))


def _boundary(directory: Path, task_root: str | None) -> bool:
    if task_root and str(directory) == task_root:
        return True
    return (directory / "pyproject.toml").exists() or (directory / ".git").exists()


def find(start: str | Path) -> Path | None:
    """The nearest ``observe.toml`` from ``start`` upwards, stopping at the task or project root."""
    task_root = os.environ.get("LAMBDA_TASK_ROOT")
    task_root = str(Path(task_root).resolve()) if task_root else None
    directory = Path(start).resolve()
    while True:
        candidate = directory / FILENAME
        if candidate.is_file():
            return candidate
        if _boundary(directory, task_root) or directory.parent == directory:
            return None
        directory = directory.parent


def discover(start: str | Path | None = None) -> Path | None:
    """Where the CLI and build tools take the configuration from: ``OBSERVE_CONFIG``, else the nearest
    ``observe.toml`` from ``start`` (default: the working directory) upwards."""
    explicit = os.environ.get(ENV_VAR)
    if explicit:
        return Path(explicit)
    return find(start or Path.cwd())


def ensure_loaded() -> bool:
    """Find and use the configuration(s) not yet loaded; True if anything new was registered.

    Cheap when there is nothing to do (a list and a flag are checked), so it may be called on
    every miss. In stg/prd a bad file is reported (a warning line, ``TelemetryErrors{kind=config}``)
    and the handler runs on; in dev and tests it raises :class:`ConfigFileError`.
    """
    if not _pending and _state["cwd_searched"]:
        return False
    changed = False
    explicit = os.environ.get(ENV_VAR)
    candidates: list[Path] = []
    if explicit:
        if not _state["explicit_done"]:
            candidates.append(Path(explicit))
        _state["explicit_done"] = True
        _pending.clear()
    else:
        while _pending:
            directory = _pending.pop()
            if directory in _searched:
                continue
            _searched.add(directory)
            found = find(directory)
            if found is not None:
                candidates.append(found)
        if not _state["cwd_searched"]:
            found = find(Path.cwd())
            if found is not None:
                candidates.append(found)
    _state["cwd_searched"] = True
    for path in candidates:
        key = str(path.resolve())
        if key in _active:
            continue
        try:
            if explicit and not path.is_file():
                raise ConfigFileError([f"{ENV_VAR}={explicit}: no such file"])
            config = load(path)
            use(config, key=key)
        except (ConfigError, ValueError) as exc:
            _active[key] = ProjectConfig(source=_display(path))  # tried: never read again
            from observe import guard

            guard.failure("config", _display(path), exc)  # raises in dev and tests
            continue
        changed = True
    return changed


def use(config: ProjectConfig, *, key: str | None = None) -> ProjectConfig:
    """Register ``config``'s metrics and redaction rules in this process (what loading a file does).

    Using the same configuration (``key``) twice does nothing the second time.
    """
    if key is not None and key in _active:
        return _active[key]
    for definition in config.metrics.values():
        catalogue.register(definition)
    for other in _active.values():
        if other.namespace and config.namespace and other.namespace != config.namespace:
            raise ConfigFileError(
                [
                    f"{config.source}: namespace {config.namespace!r} differs from {other.namespace!r} "
                    f"in {other.source}; one process writes to one namespace"
                ]
            )
    _active[key or config.source] = config
    if config.redaction.keys or config.redaction.patterns:
        from observe import redact

        redact.add_rules(keys=config.redaction.keys, patterns=dict(config.redaction.patterns))
    return config


def active() -> list[ProjectConfig]:
    """The configurations in use in this process (after :func:`ensure_loaded`)."""
    return [c for c in _active.values() if c.files]


def namespace() -> str | None:
    """The namespace the loaded configuration declares, if any."""
    for config in _active.values():
        if config.namespace:
            return config.namespace
    return None


def where_to_declare() -> str:
    """For error messages: the file(s) in use, or how to create one."""
    files = [f for c in active() for f in c.files[:1]]
    if files:
        return " or ".join(files)
    hint = f"{ENV_VAR}={os.environ[ENV_VAR]}" if os.environ.get(ENV_VAR) else "none found"
    return f"your {FILENAME} ({hint}; `observe init` writes a starter, or set {ENV_VAR})"


def reset() -> None:
    """Forget every loaded configuration, the metrics and redaction rules it added (tests)."""
    for config in _active.values():
        for name in config.metrics:
            catalogue.unregister(name)
    if any(c.redaction.keys or c.redaction.patterns for c in _active.values()):
        from observe import redact

        redact.reset_rules()
    _active.clear()
    _pending.clear()
    _searched.clear()
    _state.update(cwd_searched=False, explicit_done=False)
