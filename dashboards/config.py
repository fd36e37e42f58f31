"""Which pipelines and services exist, and which alarms each opts into (with severity).

Service names here are the ``SERVICE_NAME`` terraform gives each function. Alarms are opt-in:
a catalogued metric only alarms where a pipeline lists it, with a named severity that decides
which SNS topic is notified.
"""

from __future__ import annotations

from typing import Literal, NamedTuple

Severity = Literal["critical", "warning", "info"]
SEVERITIES: tuple[str, ...] = ("critical", "warning", "info")


class AlarmChoice(NamedTuple):
    """One opted-in alarm: a catalogued metric (or ``ErrorRate``), its threshold and severity."""

    metric: str
    threshold: float
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


PIPELINES: dict[str, PipelineSpec] = {
    "ingest": PipelineSpec(
        name="ingest",
        title="Ingestion pipeline",
        services=("ingest-scheduler", "ingest-worker"),
        groups=("invocation", "ingest", "checks"),
        emitters={
            "TasksPlanned": ("ingest-scheduler",),
            **{
                m: ("ingest-worker",)
                for m in (
                    "RecordsFetched",
                    "RecordsValid",
                    "RecordsUpserted",
                    "RecordsStale",
                    "RecordsQuarantined",
                    "DuplicatesDropped",
                    "TasksFailed",
                    "FetchLatency",
                    "UpsertLatency",
                    "InputAnomalies",
                    "ExpectationFailures",
                )
            },
        },
        alarms=(
            AlarmChoice("ErrorRate", 5.0, "critical", statistic="rate"),
            AlarmChoice("Throttles", 1, "warning", evaluation_periods=3, datapoints_to_alarm=2),
            AlarmChoice("TasksFailed", 5, "warning"),
            AlarmChoice("RecordsQuarantined", 100, "warning"),
            AlarmChoice("InputAnomalies", 1, "warning"),
            AlarmChoice("MemoryUtilization", 90, "warning", statistic="Maximum"),
            AlarmChoice(
                "Duration", 60_000, "info", statistic="p99", evaluation_periods=3, datapoints_to_alarm=3
            ),
        ),
    ),
    "auth": PipelineSpec(
        name="auth",
        title="Singpass login chain",
        services=("auth-login", "auth-callback", "auth-jwks"),
        groups=("invocation", "auth"),
        emitters={
            "AuthLogins": ("auth-callback",),
            "AuthFailures": ("auth-login", "auth-callback"),
            "TokenExchangeLatency": ("auth-callback",),
        },
        alarms=(
            AlarmChoice("ErrorRate", 2.0, "critical", statistic="rate"),
            AlarmChoice("AuthFailures", 20, "warning"),
            AlarmChoice(
                "TokenExchangeLatency",
                3_000,
                "warning",
                statistic="p90",
                evaluation_periods=3,
                datapoints_to_alarm=2,
            ),
            AlarmChoice("MemoryUtilization", 90, "warning", statistic="Maximum"),
        ),
    ),
}
