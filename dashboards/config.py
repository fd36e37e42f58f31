"""Which pipelines and services exist, and which alarms each opts into: from the project's observe.toml.

The monitoring layer consumes :class:`PipelineSpec` and :class:`AlarmChoice`; this module builds
them from a :class:`observe.project.ProjectConfig`, one set per environment (alarms may be tuned
or switched off per environment). Service names are the ``SERVICE_NAME`` each function runs with.
Alarms are opt-in: a metric only alarms where a pipeline lists it, with a named severity that
decides which SNS topic is notified.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Literal, NamedTuple

from observe import project
from observe.catalogue import STANDARD
from observe.project import SEVERITIES, ConfigFileError, FunctionConfig, ProjectConfig, QueueConfig

Severity = Literal["critical", "warning", "info"]
__all__ = ["SEVERITIES", "AlarmChoice", "PipelineSpec", "load", "specs"]


class AlarmChoice(NamedTuple):
    """One opted-in alarm: a declared metric, ``ErrorRate`` or an AWS metric (``AWS/SQS/...``), its
    threshold and severity. ``threshold`` is None where it is derived per target (the queue age:
    each queue's visibility timeout)."""

    metric: str
    threshold: float | None
    severity: Severity
    statistic: str = "Sum"
    comparison: str = "GreaterThanOrEqualToThreshold"
    period: int = 300
    evaluation_periods: int = 1
    datapoints_to_alarm: int = 1
    per_service: bool = True  # one alarm per service, or one over the pipeline's first service only


class PipelineSpec(NamedTuple):
    """A pipeline on the dashboards: its services, metric groups, who emits what, and its alarms.

    Every service emits the ``invocation`` group; ``emitters`` names, for each other metric of the
    pipeline's groups, the services that emit it (explicit, so no widget shows a line that
    can never have data).
    """

    name: str
    title: str
    services: tuple[str, ...]
    groups: tuple[str, ...]
    emitters: dict[str, tuple[str, ...]]
    alarms: tuple[AlarmChoice, ...]
    #: the functions whose ``AWS/Lambda`` metrics are drawn, by service (``[pipelines.NAME.functions]``)
    functions: Mapping[str, FunctionConfig] = MappingProxyType({})
    #: the task and dead-letter queues whose ``AWS/SQS`` metrics are drawn, by name
    queues: Mapping[str, QueueConfig] = MappingProxyType({})


def load(path: str | Path | None = None) -> ProjectConfig:
    """The project's configuration, with its metrics registered for the dashboards to draw.

    ``path``, else ``OBSERVE_CONFIG``, else the nearest ``observe.toml`` from the working directory.
    Raises :class:`observe.project.ConfigFileError` when there is none or it is wrong.
    """
    found = Path(path) if path else project.discover()
    if found is None:
        raise ConfigFileError(
            [
                f"no {project.FILENAME} found from {Path.cwd()} up to the project root; "
                f"run `observe init`, pass --config FILE or set {project.ENV_VAR}"
            ]
        )
    config = project.load(found)
    return project.use(config, key=str(found.resolve()))


def specs(config: ProjectConfig, environment: str) -> dict[str, PipelineSpec]:
    """Every pipeline of ``config`` as the monitoring layer takes it, with ``environment``'s alarms."""
    out: dict[str, PipelineSpec] = {}
    for name, pipe in config.pipelines.items():
        groups = ["invocation"]
        for metric in pipe.emitters:
            definition = config.metrics.get(metric) or STANDARD[metric]
            if definition.group not in groups:
                groups.append(definition.group)
        alarms = []
        for alarm in pipe.alarms:
            chosen = alarm.for_environment(environment)
            if chosen is None:
                continue
            alarms.append(
                AlarmChoice(
                    metric=chosen.metric,
                    threshold=chosen.threshold,
                    severity=chosen.severity,  # type: ignore[arg-type]  # checked at load
                    statistic=chosen.statistic,
                    comparison=chosen.comparison,
                    period=chosen.period,
                    evaluation_periods=chosen.evaluation_periods,
                    datapoints_to_alarm=chosen.datapoints_to_alarm,
                )
            )
        out[name] = PipelineSpec(
            name=name,
            title=pipe.title,
            services=pipe.services,
            groups=tuple(groups),
            emitters=dict(pipe.emitters),
            alarms=tuple(alarms),
            functions=dict(pipe.functions),
            queues=dict(pipe.queues),
        )
    return out
