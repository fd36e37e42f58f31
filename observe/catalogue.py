"""Every metric the project emits: name, unit, dimensions, meaning.

This is the one place a metric is named. The EMF writer refuses names that are not here, the
dashboards and alarms are generated from it, and the triage tools read names from it, so a
renamed metric cannot silently orphan a widget or an alarm.

Every metric carries the standard dimensions (service, pipeline, environment). A metric may
declare extra dimensions (for example ``Throttles`` by ``source``); values with an extra
dimension are written twice, once with and once without it, so totals and breakdowns are both
queryable without metric math.
"""

from __future__ import annotations

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


class UnknownMetricError(KeyError):
    """A metric name that the catalogue does not define."""

    def __str__(self) -> str:
        return (
            f"metric {self.args[0]!r} is not in observe.catalogue; add a MetricDef for it to "
            "observe/catalogue.py (name, unit, description, dimensions) so dashboards and alarms "
            "can refer to it"
        )


class MetricDef(NamedTuple):
    """One catalogued metric.

    ``statistic`` is the statistic dashboards plot by default; ``alarm`` suggests a threshold
    (``">= 1"`` style) that the alarm layer may opt into; ``group`` sorts it onto a dashboard row.
    """

    name: str
    unit: str
    description: str
    group: str
    dimensions: tuple[str, ...] = ()
    statistic: str = "Sum"
    alarm: str | None = None


def _check(m: MetricDef) -> MetricDef:
    if m.unit not in EMF_UNITS:
        raise ValueError(f"metric {m.name!r}: unit {m.unit!r} is not an EMF unit")
    if len(STANDARD_DIMENSIONS) + len(m.dimensions) > 30:
        raise ValueError(f"metric {m.name!r}: more than 30 dimensions (EMF allows 30 a dimension set)")
    if not m.name or len(m.name) > 255:
        raise ValueError(f"metric name {m.name!r}: must be 1 to 255 characters")
    return m


_ENTRIES: tuple[MetricDef, ...] = (
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
    # --- ingestion pipeline --------------------------------------------------------------------
    MetricDef("TasksPlanned", "Count", "Fetch tasks the scheduler sent to the queue.", "ingest"),
    MetricDef("RecordsFetched", "Count", "Records read from the source API or a push message.", "ingest"),
    MetricDef("RecordsValid", "Count", "Records that passed validation.", "ingest"),
    MetricDef("RecordsUpserted", "Count", "Records written to DynamoDB as the newest state.", "ingest"),
    MetricDef("RecordsStale", "Count", "Records skipped by the conditional write (not newer).", "ingest"),
    MetricDef("RecordsQuarantined", "Count", "Records rejected by validation, kept in S3 with reasons.",
              "ingest", alarm=">= 1"),
    MetricDef("DuplicatesDropped", "Count", "Older copies of a key dropped within a batch.", "ingest"),
    MetricDef("TasksFailed", "Count", "Fetch tasks that failed and went back to the queue.", "ingest",
              alarm=">= 1"),
    MetricDef("FetchLatency", "Milliseconds", "Latency of one source API request.", "ingest",
              statistic="p90"),
    MetricDef("UpsertLatency", "Milliseconds", "Latency of one conditional DynamoDB write.", "ingest",
              statistic="p90"),
    # --- input checks --------------------------------------------------------------------------
    MetricDef("InputAnomalies", "Count", "Anomalies in an input batch (row count, null rate, schema drift).",
              "checks", dimensions=("check",), alarm=">= 1"),
    MetricDef("ExpectationFailures", "Count", "Failed expectations of a suite on an input batch.",
              "checks", dimensions=("expectation",)),
    # --- auth chain ----------------------------------------------------------------------------
    MetricDef("AuthLogins", "Count", "Completed logins (session issued).", "auth"),
    MetricDef("AuthFailures", "Count", "Failed login steps, by reason.", "auth", dimensions=("reason",),
              alarm=">= 5"),
    MetricDef("TokenExchangeLatency", "Milliseconds", "Latency of the token endpoint call.", "auth",
              statistic="p90"),
)  # fmt: skip

CATALOGUE: dict[str, MetricDef] = {m.name: _check(m) for m in _ENTRIES}


def get(name: str) -> MetricDef:
    """The definition of ``name``; raises :class:`UnknownMetricError` if it is not catalogued."""
    try:
        return CATALOGUE[name]
    except KeyError:
        raise UnknownMetricError(name) from None


def register(definition: MetricDef) -> MetricDef:
    """Add a metric of the user's own (at import time of their module), refusing a clash."""
    _check(definition)
    existing = CATALOGUE.get(definition.name)
    if existing is not None and existing != definition:
        raise ValueError(f"metric {definition.name!r} is already catalogued differently: {existing}")
    CATALOGUE[definition.name] = definition
    return definition


def as_markdown() -> str:
    """The catalogue as a markdown table, for docs/metrics.md."""
    rows = ["| metric | unit | extra dimensions | statistic | suggested alarm | meaning |",
            "|---|---|---|---|---|---|"]  # fmt: skip
    for m in CATALOGUE.values():
        dims = ", ".join(m.dimensions) or "-"
        rows.append(
            f"| `{m.name}` | {m.unit} | {dims} | {m.statistic} | {m.alarm or '-'} | {m.description} |"
        )
    return "\n".join(rows) + "\n"


def write_docs(path: str = "docs/metrics.md") -> None:
    """Regenerate the metric table in ``docs/metrics.md`` (``make docs``)."""
    header = (
        "# Metric catalogue\n\n"
        "Generated from `observe/catalogue.py` by `make docs`; a test fails when it is stale.\n"
        f"Namespace: `METRICS_NAMESPACE` (default `DataPipelines`). Every metric carries the dimensions "
        f"{', '.join(f'`{d}`' for d in STANDARD_DIMENSIONS)}. A metric with an extra dimension is written "
        "twice: once with it (the breakdown) and once without (the total), so alarms need no metric math.\n\n"
    )
    with open(path, "w", encoding="utf-8") as f:
        f.write(header + as_markdown())


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


#: The standard log field names (``LOG_FIELDS.correlation_id`` ...).
LOG_FIELDS = LogFields()

#: ``message`` of the summary line observe writes at the end of every invocation.
SUMMARY_MESSAGES: tuple[str, str] = ("invocation complete", "invocation failed")
