"""The AWS metrics on a pipeline's dashboard and alarms: what EMF cannot see.

A function that times out, runs out of memory, fails its init or is throttled writes no EMF for
that invocation; a backlog and a dead-letter queue exist outside any handler. For the functions a
pipeline declares (``[pipelines.NAME.functions]``) this draws ``AWS/Lambda`` Errors and Throttles,
Duration (p99 and maximum) against the function's timeout, and ConcurrentExecutions; for its
queues (``[pipelines.NAME.queues]``) ``AWS/SQS`` ApproximateNumberOfMessagesVisible and
ApproximateAgeOfOldestMessage, task queues and dead-letter queues alike. The alarms on them are
the recommended ones of :data:`observe.catalogue.AWS_METRICS`, tuned per environment like any other.

Resource names carry ``${resource_prefix}`` (Terraform fills in ``<project>-<env>-``).
"""

from __future__ import annotations

from typing import Any

from dashboards import factory
from dashboards.config import AlarmChoice, PipelineSpec
from observe import catalogue
from observe.project import FunctionConfig, QueueConfig

LAMBDA, SQS = "AWS/Lambda", "AWS/SQS"
DURATION = f"{LAMBDA}/Duration"
AGE = f"{SQS}/ApproximateAgeOfOldestMessage"
VISIBLE = f"{SQS}/ApproximateNumberOfMessagesVisible"
#: What each AWS metric's line is called on its widget (and in its threshold's label).
LINE_NAMES = {
    f"{LAMBDA}/Errors": "errors",
    f"{LAMBDA}/Throttles": "throttles",
    DURATION: "p99",
    f"{LAMBDA}/ConcurrentExecutions": "concurrency",
    AGE: "oldest",
    VISIBLE: "visible",
}
#: How an alarm on each AWS metric ends its name (before the environment); a function's are
#: ``Lambda<metric>``, apart from the EMF alarms of the same service (``<service>-Errors-...``).
ALARM_SUFFIXES = {AGE: "OldestMessageAge", VISIBLE: "MessagesVisible"}
#: The colour of a function's timeout line (not an alarm: the limit itself).
TIMEOUT_COLOUR = "#7f7f7f"


class Target:
    """One function or queue an AWS alarm watches: its name, the service whose logs explain it."""

    def __init__(self, resource: str, service: str, label: str):
        self.resource, self.service, self.label = resource, service, label


def targets(spec: PipelineSpec, key: str) -> list[tuple[Target, Any]]:
    """What the AWS metric ``key`` watches in ``spec``: (target, its function or queue)."""
    kind = catalogue.AWS_METRICS[key].target
    if kind == "function":
        return [(Target(f.name, f.service, f.service), f) for f in spec.functions.values()]
    out: list[tuple[Target, Any]] = []
    for q in spec.queues.values():
        if q.is_dlq == (kind == "dlq"):
            service = q.dead_letter_of or q.consumer or spec.services[0]
            out.append((Target(q.name, service, q.name), q))
    return out


def threshold(a: AlarmChoice, resource: FunctionConfig | QueueConfig, spec: PipelineSpec) -> float:
    """The alarm's threshold for one target, in the metric's unit.

    Duration's is a percentage of the function's timeout; the queue age's, unless given, is the
    queue's visibility timeout.
    """
    if a.metric == DURATION:
        assert isinstance(resource, FunctionConfig) and a.threshold is not None
        return round(resource.timeout * 1000 * a.threshold / 100)
    if a.threshold is not None:
        return a.threshold
    assert isinstance(resource, QueueConfig)
    derived = resource.max_age(spec.functions)
    assert derived is not None  # the configuration refuses a queue without one
    return derived


def _aws_alarms(spec: PipelineSpec) -> list[AlarmChoice]:
    return [a for a in spec.alarms if a.metric in catalogue.AWS_METRICS]


def threshold_lines(
    spec: PipelineSpec, keys: list[str], resource: str, *, right: bool = False
) -> list[dict[str, Any]]:
    """The thresholds of the alarms on the AWS metrics ``keys`` of one function or queue.

    Each is labelled with the widget's own word for its line (``oldest``, not the metric's long
    name, so the label shows whole); alarms of one severity at one value share one line.
    """
    from dashboards.monitoring import COLOURS, OPERATORS, axis

    merged: dict[tuple[str, str, float], list[str]] = {}
    for a in _aws_alarms(spec):
        if a.metric not in keys:
            continue
        for target, declared in targets(spec, a.metric):
            if target.resource == resource:
                key = (a.severity, OPERATORS[a.comparison], threshold(a, declared, spec))
                merged.setdefault(key, []).append(LINE_NAMES[a.metric])
    out = []
    for (severity, op, value), names in merged.items():
        unit = axis(factory.unit_of(keys[0]))
        ann: dict[str, Any] = {
            "label": f"{severity}: {' or '.join(names)} {op} {value:g} {unit}",
            "value": value,
            "color": COLOURS[severity],
        }
        if right:
            ann["yAxis"] = "right"
        out.append(ann)
    return out


def unique(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each threshold line once (several functions or queues may share one alarm threshold)."""
    return [a for i, a in enumerate(lines) if a not in lines[:i]]


def widgets(spec: PipelineSpec) -> list[dict[str, Any]]:
    """The AWS widgets of a pipeline: per function errors/throttles and duration, the pipeline's
    concurrency, then one widget per queue (depth on the left, age of the oldest on the right)."""
    from dashboards.monitoring import WIDTH, fit, widget

    out: list[dict[str, Any]] = []
    for f in spec.functions.values():
        rows = [
            factory.aws_metric(LAMBDA, "Errors", f.name, stat="Sum", label="errors"),
            factory.aws_metric(LAMBDA, "Throttles", f.name, stat="Sum", label="throttles"),
        ]
        anns = threshold_lines(spec, [f"{LAMBDA}/Errors", f"{LAMBDA}/Throttles"], f.name)
        out.append(
            widget(
                fit(WIDTH, f"{f.service}: Lambda errors, throttles", f"{f.service}: Lambda errors"),
                rows,
                left="Count",
                annotations=anns,
            )
        )
        timeout = {"label": f"timeout {f.timeout:g} s", "value": f.timeout * 1000, "color": TIMEOUT_COLOUR}
        out.append(
            widget(
                fit(WIDTH, f"{f.service}: Lambda duration (ms)", f"{f.service}: duration (ms)"),
                [
                    factory.aws_metric(LAMBDA, "Duration", f.name, stat="p99", label="p99"),
                    factory.aws_metric(LAMBDA, "Duration", f.name, stat="Maximum", label="max"),
                ],
                left="Milliseconds",
                annotations=[*threshold_lines(spec, [DURATION], f.name), timeout],
                stat="p99",
            )
        )
    if spec.functions:
        key = f"{LAMBDA}/ConcurrentExecutions"
        out.append(
            widget(
                "Lambda concurrent executions",
                [
                    factory.aws_metric(
                        LAMBDA, "ConcurrentExecutions", f.name, stat="Maximum", label=f.service
                    )
                    for f in spec.functions.values()
                ],
                left="Count",
                annotations=unique(
                    [a for f in spec.functions.values() for a in threshold_lines(spec, [key], f.name)]
                ),
                stat="Maximum",
            )
        )
    for q in spec.queues.values():
        what = "dead-letter queue" if q.is_dlq else "queue"
        out.append(
            widget(
                fit(WIDTH, f"{q.name}: depth, oldest (s)", f"{what}: depth, oldest (s)"),
                [
                    factory.aws_metric(
                        SQS, "ApproximateNumberOfMessagesVisible", q.name, stat="Maximum", label="visible"
                    ),
                    factory.aws_metric(
                        SQS,
                        "ApproximateAgeOfOldestMessage",
                        q.name,
                        stat="Maximum",
                        label="oldest",
                        right=True,
                    ),
                ],
                left="Count",
                right="Seconds",
                annotations=[
                    *threshold_lines(spec, [VISIBLE], q.name),
                    *threshold_lines(spec, [AGE], q.name, right=True),
                ],
                stat="Maximum",
            )
        )
    return out


def dlq_rows(spec: PipelineSpec) -> list[list[Any]]:
    """The declared dead-letter queues' depth, one line each (the first row's DLQ widget)."""
    return [
        factory.aws_metric(SQS, "ApproximateNumberOfMessagesVisible", q.name, stat="Maximum", label=q.name)
        for q in spec.queues.values()
        if q.is_dlq
    ]


def alarms(spec: PipelineSpec) -> list[dict[str, Any]]:
    """The alarm specs on AWS metrics: one per alarm and function or queue it watches."""
    from dashboards.monitoring import alarm_spec

    out = []
    for a in _aws_alarms(spec):
        aws = catalogue.AWS_METRICS[a.metric]
        suffix = ALARM_SUFFIXES.get(a.metric, f"Lambda{aws.name}")
        for target, declared in targets(spec, a.metric):
            value = threshold(a, declared, spec)
            watched = f"{aws.name} of {target.label}"
            if a.metric == DURATION:
                watched += f" ({a.threshold:g}% of its {declared.timeout} s timeout)"
            body = alarm_spec(
                spec,
                a,
                name=f"{target.label}-{suffix}-${{environment}}",
                watched=watched,
                service=target.service,
                value=value,
            )
            body["resource"] = target.resource
            body.update(factory.aws_alarm_metric(a.metric, target.resource, a.statistic, a.period))
            out.append(body)
    return out
