"""The library's own standard metrics, and the registry a team's metrics join.

A metric is named once, where its owner declares it: observe declares the standard metrics here
(what ``observed``, the throttle classifier and ``observe.checks`` emit); a team declares its own in
its ``observe.toml`` (:mod:`observe.project`), which registers them here when it is loaded. The EMF
writer refuses names that are not registered, the dashboards and alarms are generated from the
registry, and the triage tools read names from it, so a renamed metric cannot silently orphan a
widget or an alarm.

Every metric carries the standard dimensions (service, pipeline, environment). A metric may
declare extra dimensions (for example ``Throttles`` by ``source``); values with an extra
dimension are written twice, once with and once without it, so totals and breakdowns are both
queryable without metric math.
"""

from __future__ import annotations

import re
from typing import NamedTuple

#: Dimensions every metric carries. Kept few on purpose: each combination is a billed metric.
STANDARD_DIMENSIONS: tuple[str, ...] = ("service", "pipeline", "environment")

#: Units CloudWatch accepts in an EMF document.
EMF_UNITS: frozenset[str] = frozenset(
    {
        "Seconds", "Microseconds", "Milliseconds", "Bytes", "Kilobytes", "Megabytes", "Gigabytes",
        "Terabytes", "Bits", "Kilobits", "Megabits", "Gigabits", "Terabits", "Percent", "Count",
        "Bytes/Second", "Kilobytes/Second", "Megabytes/Second", "Gigabytes/Second",
        "Terabytes/Second", "Bits/Second", "Kilobits/Second", "Megabits/Second",
        "Gigabits/Second", "Terabits/Second", "Count/Second", "None",
    }
)  # fmt: skip

#: Statistics a dashboard or alarm may use: the five plain ones and percentiles (``p99``, ``p99.9``).
PLAIN_STATISTICS: tuple[str, ...] = ("Sum", "Average", "Minimum", "Maximum", "SampleCount")
_PERCENTILE = re.compile(r"^p(100|\d{1,2}(\.\d{1,3})?)$")
#: ``>= 1`` style suggested alarms.
_SUGGESTED_ALARM = re.compile(r"^(>=|>|<=|<)\s*-?\d+(\.\d+)?$")
#: The most extra dimensions a metric may declare: EMF allows 30 a dimension set.
MAX_EXTRA_DIMENSIONS = 30 - len(STANDARD_DIMENSIONS)

#: The standard metric that counts telemetry misuse and observe's own failures (by ``kind``).
TELEMETRY_ERRORS = "TelemetryErrors"


class UnknownMetricError(KeyError):
    """A metric name that no one declared: neither observe's standard metrics nor the project's."""

    def __str__(self) -> str:
        name = self.args[0]
        from observe import project  # only on this error path

        return (
            f"metric {name!r} is not declared; declare it in {project.where_to_declare()}:\n"
            f'    [metrics.{name}]\n    unit = "Count"\n    description = "What one unit of {name} means."\n'
            "then `observe check` verifies every name the code emits (docs/adopting.md)"
        )


class MetricError(ValueError):
    """A metric used against its declaration: a wrong unit, an undeclared dimension, a bad value."""


class MetricDef(NamedTuple):
    """One declared metric.

    ``statistic`` is the statistic dashboards plot by default; ``alarm`` suggests a threshold
    (``">= 1"`` style) that the alarm layer may opt into; ``group`` sorts it onto a dashboard row;
    ``source`` says who declared it (``observe`` or the configuration file).
    """

    name: str
    unit: str
    description: str
    group: str
    dimensions: tuple[str, ...] = ()
    statistic: str = "Sum"
    alarm: str | None = None
    source: str = "observe"


def valid_statistic(stat: str) -> bool:
    """Whether ``stat`` is a CloudWatch statistic dashboards and alarms accept here."""
    return stat in PLAIN_STATISTICS or bool(_PERCENTILE.match(stat))


def problems(m: MetricDef) -> list[tuple[str, str]]:
    """What is wrong with a definition, as (field, message) pairs; empty when it is valid."""
    out: list[tuple[str, str]] = []
    if not m.name or len(m.name) > 255:
        out.append(("name", f"metric name {m.name!r} must be 1 to 255 characters"))
    if m.unit not in EMF_UNITS:
        close = [u for u in EMF_UNITS if u.lower() == str(m.unit).lower()]
        if not close:  # a typo ("Counts", "Milisecond"): the nearest unit, else the list
            import difflib

            close = difflib.get_close_matches(str(m.unit), sorted(EMF_UNITS), n=1, cutoff=0.75)
        hint = f"use {close[0]!r}" if close else "use one of " + ", ".join(sorted(EMF_UNITS))
        out.append(("unit", f"unit {m.unit!r} is not an EMF unit; {hint}"))
    if len(m.dimensions) > MAX_EXTRA_DIMENSIONS:
        out.append(
            (
                "dimensions",
                f"more than 30 dimensions with the standard {len(STANDARD_DIMENSIONS)} "
                f"(EMF allows 30 a dimension set); declare at most {MAX_EXTRA_DIMENSIONS}",
            )
        )
    clash = sorted(set(m.dimensions) & set(STANDARD_DIMENSIONS))
    if clash:
        out.append(("dimensions", f"{clash} are standard dimensions every metric carries; remove them"))
    if not valid_statistic(m.statistic):
        out.append(
            ("statistic", f"statistic {m.statistic!r} is not one of {', '.join(PLAIN_STATISTICS)} or pNN")
        )
    if m.alarm is not None and not _SUGGESTED_ALARM.match(m.alarm):
        out.append(("alarm", f"suggested alarm {m.alarm!r} must look like '>= 1' (>=, >, <= or < a number)"))
    return out


def _check(m: MetricDef) -> MetricDef:
    found = problems(m)
    if found:
        raise ValueError(f"metric {m.name!r}: " + "; ".join(message for _, message in found))
    return m


_STANDARD: tuple[MetricDef, ...] = (
    # --- per invocation, emitted by @observed -------------------------------------------------
    MetricDef("Duration", "Milliseconds", "Wall time of the handler, from entry to return or raise.",
              "invocation", statistic="p99"),
    MetricDef("MaxMemoryUsed", "Megabytes", "Peak resident memory of the process so far (max RSS).",
              "invocation", statistic="Maximum"),
    MetricDef("MemoryUtilization", "Percent", "MaxMemoryUsed as a share of the function's memory limit.",
              "invocation", statistic="Maximum", alarm=">= 90"),
    MetricDef("ColdStart", "Count", "1 on the first invocation of an execution environment, else 0.",
              "invocation"),
    MetricDef("Errors", "Count", "Invocations that raised; broken down by exception class.",
              "invocation", dimensions=("error_type",), alarm=">= 1"),
    MetricDef("Throttles", "Count", "Throttling met: HTTP 429 from a source or AWS throttling errors.",
              "invocation", dimensions=("source",), alarm=">= 1"),
    MetricDef("BatchItemFailures", "Count", "SQS messages reported back as failed (redelivered later).",
              "invocation", alarm=">= 1"),
    MetricDef("Timeouts", "Count",
              "Invocations that reached the deadline watchdog's margin before their timeout (observe writes "
              "it just before Lambda kills the process; see docs/logging.md).",
              "invocation", alarm=">= 1"),
    MetricDef(TELEMETRY_ERRORS, "Count",
              "Telemetry that observe dropped instead of raising (stg/prd): an undeclared metric, a wrong "
              "unit, dimension or value, a bad configuration, or a failure of observe itself; by kind.",
              "invocation", dimensions=("kind",), alarm=">= 1"),
    # --- input checks: emitted by observe.checks (library code, so declared by the library) ------
    MetricDef("InputAnomalies", "Count", "Anomalies in an input batch (row count, null rate, schema drift).",
              "checks", dimensions=("check",), alarm=">= 1"),
    MetricDef("ExpectationFailures", "Count", "Failed expectations of a suite on an input batch.",
              "checks", dimensions=("expectation",)),
)  # fmt: skip

#: observe's own metrics; nothing a team declares may take one of these names.
STANDARD: dict[str, MetricDef] = {m.name: _check(m) for m in _STANDARD}

#: Every metric known in this process: the standard ones, then what the project registered.
CATALOGUE: dict[str, MetricDef] = dict(STANDARD)


def lookup(name: str) -> MetricDef | None:
    """The definition of ``name``, loading the project's configuration on the first miss; or None.

    The configuration is read once (see :func:`observe.project.ensure_loaded`), so a name that is
    still unknown afterwards costs a dictionary lookup and a flag check.
    """
    definition = CATALOGUE.get(name)
    if definition is None:
        from observe import project

        if project.ensure_loaded():
            definition = CATALOGUE.get(name)
    return definition


def get(name: str) -> MetricDef:
    """The definition of ``name``; raises :class:`UnknownMetricError` if no one declared it."""
    definition = lookup(name)
    if definition is None:
        raise UnknownMetricError(name)
    return definition


def register(definition: MetricDef) -> MetricDef:
    """Add a metric of the project's own, refusing a clash with a standard or an earlier one."""
    _check(definition)
    standard = STANDARD.get(definition.name)
    if standard is not None:
        raise ValueError(f"metric {definition.name!r} is a standard metric of observe; pick another name")
    existing = CATALOGUE.get(definition.name)
    if existing is not None:
        if existing._replace(source="") != definition._replace(source=""):
            raise ValueError(
                f"metric {definition.name!r} is declared twice, differently: in {existing.source} "
                f"and in {definition.source}"
            )
        return existing
    CATALOGUE[definition.name] = definition
    return definition


def unregister(name: str) -> None:
    """Forget a registered metric (tests); the standard ones stay."""
    if name not in STANDARD:
        CATALOGUE.pop(name, None)


def as_markdown(definitions: list[MetricDef] | None = None) -> str:
    """A markdown table of ``definitions`` (default: the standard metrics), for the docs."""
    rows = ["| metric | unit | extra dimensions | statistic | suggested alarm | meaning |",
            "|---|---|---|---|---|---|"]  # fmt: skip
    for m in STANDARD.values() if definitions is None else definitions:
        dims = ", ".join(m.dimensions) or "-"
        rows.append(
            f"| `{m.name}` | {m.unit} | {dims} | {m.statistic} | {m.alarm or '-'} | {m.description} |"
        )
    return "\n".join(rows) + "\n"


class AwsMetric(NamedTuple):
    """A metric AWS publishes itself (``AWS/Lambda``, ``AWS/SQS``): what EMF cannot see.

    A function that times out, runs out of memory, fails its init or is throttled writes no EMF
    for that invocation; a queue's backlog and its dead-letter queue exist outside any handler.
    ``key`` (``AWS/Lambda/Errors``) is how ``observe.toml`` names it in an alarm. ``target`` says
    what it watches: ``function`` (a pipeline's ``[pipelines.NAME.functions]``), ``queue`` (a task
    queue) or ``dlq`` (a dead-letter queue). The ``alarm_*`` fields are the recommended alarm (AWS's
    recommended alarms for CloudWatch, adjusted for functions invoked a few times an hour);
    ``alarm_threshold`` None means it is derived per target (docs/adopting.md, "AWS metrics") or, with
    ``alarm_default`` false, that the team must give one.
    """

    namespace: str
    name: str
    unit: str
    dimension: str
    target: str
    description: str
    statistic: str
    alarm_comparison: str
    alarm_threshold: float | None
    alarm_period: int
    alarm_evaluation_periods: int
    alarm_datapoints: int
    alarm_severity: str
    alarm_default: bool

    @property
    def key(self) -> str:
        """``AWS/Lambda/Errors``: the name an alarm in ``observe.toml`` uses."""
        return f"{self.namespace}/{self.name}"


_AWS: tuple[AwsMetric, ...] = (
    AwsMetric("AWS/Lambda", "Errors", "Count", "FunctionName", "function",
              "Invocations that failed: raised, timed out, ran out of memory, failed init, exited.",
              "Sum", ">", 0, 300, 1, 1, "warning", True),
    AwsMetric("AWS/Lambda", "Throttles", "Count", "FunctionName", "function",
              "Invocation requests Lambda refused for want of concurrency.",
              "Sum", ">", 0, 300, 3, 2, "warning", True),
    AwsMetric("AWS/Lambda", "Duration", "Milliseconds", "FunctionName", "function",
              "Time the function ran per invocation, measured by Lambda; its alarm threshold is a "
              "percentage of the function's timeout.",
              "p99", ">=", 90, 300, 1, 1, "warning", True),
    AwsMetric("AWS/Lambda", "ConcurrentExecutions", "Count", "FunctionName", "function",
              "Instances of the function running at once.",
              "Maximum", ">", None, 60, 10, 10, "warning", False),
    AwsMetric("AWS/SQS", "ApproximateAgeOfOldestMessage", "Seconds", "QueueName", "queue",
              "Age of the oldest message not yet deleted; its alarm defaults to the queue's "
              "visibility timeout.",
              "Maximum", ">=", None, 60, 15, 15, "warning", True),
    AwsMetric("AWS/SQS", "ApproximateNumberOfMessagesVisible", "Count", "QueueName", "dlq",
              "Messages waiting in a dead-letter queue: each one a task that failed every retry.",
              "Maximum", ">", 0, 60, 1, 1, "critical", True),
)  # fmt: skip

#: The AWS metrics the dashboards draw and the alarms may watch, by ``AWS/<service>/<name>``.
AWS_METRICS: dict[str, AwsMetric] = {m.key: m for m in _AWS}
#: Units of the AWS metrics the widgets draw, by (namespace, name); the queue age is drawn on
#: task queues and dead-letter queues alike.
AWS_UNITS: dict[tuple[str, str], str] = {(m.namespace, m.name): m.unit for m in _AWS}


class LogFields(NamedTuple):
    """The names of the fields observe writes on every log line (docs/logging.md).

    Readers of the logs (the diagnostics' filter patterns and Logs Insights queries) take the
    names from here, so the writer and the queries cannot drift apart.
    """

    timestamp: str = "timestamp"
    level: str = "level"
    message: str = "message"
    logger: str = "logger"
    service: str = "service"
    pipeline: str = "pipeline"
    environment: str = "environment"
    function_name: str = "function_name"
    request_id: str = "aws_request_id"
    correlation_id: str = "correlation_id"
    message_id: str = "message_id"  # the SQS record a line is about (observe.batch)
    exception: str = "exception"  # {type, message, stack}
    duration_ms: str = "duration_ms"  # on the invocation's summary line
    batch_item_failures: str = "batch_item_failures"
    throttle_source: str = "throttle_source"
    throttle_code: str = "throttle_code"
    retry_after_s: str = "retry_after_s"
    messages_returned: str = "messages_returned"
    elapsed_ms: str = "elapsed_ms"  # on the deadline watchdog's line
    in_flight: str = (
        "in_flight"  # the records being processed: [{batch_kind, record_id, correlation_id, ...}]
    )
    watchdog_fired: str = "watchdog_fired"  # on a summary line written after the watchdog's
    buffered: str = "buffered"  # on a line that was held in the invocation's buffer (observe.buffer)


#: The standard log field names (``LOG_FIELDS.correlation_id`` ...).
LOG_FIELDS = LogFields()

#: ``message`` of the summary line observe writes at the end of every invocation.
SUMMARY_MESSAGES: tuple[str, str] = ("invocation complete", "invocation failed")
#: ``message`` of the deadline watchdog's warning line (observe.watchdog).
TIMEOUT_WARNING = "invocation about to time out"
#: ``message`` of the warning line of an invocation that ended above the memory threshold.
MEMORY_WARNING = "memory utilization high"
