"""Pure analyses over what observe and the pipelines wrote: no I/O, no AWS, easy to test.

Inputs are parsed log lines and EMF documents (dicts in the shapes of docs/logging.md and
docs/metrics.md), :class:`~diagnostics.model.QuarantineDoc` and :class:`~diagnostics.model.DLQMessage`.
Anything meant for display passes through ``observe.redact.redact_value`` first: quarantined
records hold the personal data that made them fail, and a triage screen is no place for it.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any

from diagnostics.model import DLQMessage, QuarantineDoc, doc_time
from diagnostics.queries import is_emf, level_of
from observe.catalogue import LOG_FIELDS, STANDARD_DIMENSIONS, SUMMARY_MESSAGES
from observe.redact import redact_text, redact_value

if TYPE_CHECKING:
    import pandas as pd

#: observe's per-invocation metrics the activity charts count.
DURATION, ERRORS, THROTTLES = "Duration", "Errors", "Throttles"
#: observe.checks' standard metrics and their breakdown dimensions.
ANOMALIES, ANOMALY_DIMENSION = "InputAnomalies", "check"
EXPECTATIONS, EXPECTATION_DIMENSION = "ExpectationFailures", "expectation"
#: The logger observe.checks writes its warnings under.
CHECKS_LOGGER = "observe.checks"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_FAR = datetime(9999, 1, 1, tzinfo=UTC)

_UUID = re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", re.IGNORECASE)
_LONG_NUMBER = re.compile(r"\b0\d{3,}\b|\d{5,}")  # padded counters, long ids; not years or ISO-8601
_HEX_ID = re.compile(r"\b[0-9a-f]{16,}\b", re.IGNORECASE)


def normalise(text: str) -> str:
    """``text`` with ids and long numbers replaced, so messages differing only in them group together."""
    text = _UUID.sub("<id>", text)
    text = _HEX_ID.sub("<id>", text)
    return _LONG_NUMBER.sub("#", text)


def sort_lines(lines: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Lines in time order (stable: lines written in the same millisecond keep their order)."""
    return sorted(lines, key=lambda d: doc_time(d) or _EPOCH)


def split_docs(docs: Iterable[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(log lines, EMF documents), each in time order."""
    logs: list[dict[str, Any]] = []
    emf: list[dict[str, Any]] = []
    for d in docs:
        (emf if is_emf(d) else logs).append(d)
    return sort_lines(logs), sort_lines(emf)


def shown(value: Any) -> Any:
    """``value`` fit for display: secrets and personal data masked (observe's redaction)."""
    return redact_value(value)


#: Fields holding identifiers the pipeline made (uuids, S3 keys): shown as they are, because the
#: value patterns would mangle some (a hex run like ``f7200773e`` reads as a FIN) and they cannot
#: hold personal data by construction. Sensitive keys are still masked by the key rule.
ID_FIELDS = frozenset(
    {"message_id", "aws_request_id", "correlation_id", "task_id", "key", "prefix", "baseline_key"}
)


def shown_field(key: str, value: Any) -> Any:
    """A log line's field fit for display (ids as they are, everything else masked)."""
    if key in ID_FIELDS and isinstance(value, str):
        return value
    return redact_value({key: value})[key]


#: Loggers of the libraries a handler uses, whose routine lines (below warning) a reader skips.
LIBRARY_LOGGERS = ("botocore", "boto3", "urllib3", "httpx", "httpcore", "aiohttp", "s3transfer", "asyncio")
#: A request log line as httpx writes it, whoever writes it: ``HTTP Request: GET URL "HTTP/1.1 200 OK"``.
HTTP_REQUEST_LINE = re.compile(r"^HTTP Request: \S+ \S+ \"HTTP/[\d.]+ (\d{3})")


def routine_line(x: dict[str, Any]) -> bool:
    """Routine below warning: a library's line (credentials found, endpoints, HTTP requests that
    succeeded), or a request log line of any logger whose answer was 1xx-3xx. Failed requests stay."""
    if level_of(x) >= 30:
        return False
    message = str(x.get("message") or "")
    request = HTTP_REQUEST_LINE.match(message)
    if request is not None:
        return request.group(1).startswith(("1", "2", "3"))
    if not str(x.get("logger") or "").startswith(LIBRARY_LOGGERS):
        return False
    status = re.search(r"HTTP/[\d.]+ (\d{3})", message)
    return status is None or status.group(1).startswith(("1", "2", "3"))


# --- invocations -------------------------------------------------------------------------------------


@dataclass
class Invocation:
    """One Lambda invocation reconstructed from its lines (keyed by ``aws_request_id``).

    The id lists (``problem_correlation_ids`` ...) are computed once, on first use, after every
    line has been added.
    """

    request_id: str
    service: str | None = None
    function_name: str | None = None
    pipeline: str | None = None
    environment: str | None = None
    start: datetime | None = None
    end: datetime | None = None
    outcome: str = "unfinished"  # ok | failed | unfinished (no summary line seen)
    correlation_id: str | None = None  # the invocation's own id (a batch gets a fresh one)
    duration_ms: float | None = None
    batch_item_failures: int | None = None
    cold_start: bool | None = None
    error: dict[str, Any] | None = None
    throttle_source: str | None = None
    lines: list[dict[str, Any]] = field(default_factory=list, repr=False)

    @cached_property
    def record_correlation_ids(self) -> list[str]:
        """Distinct correlation ids of the work inside (SQS records), most lines first."""
        counts = Counter(
            str(x["correlation_id"])
            for x in self.lines
            if x.get("correlation_id") and x.get("correlation_id") != self.correlation_id
        )
        return [cid for cid, _ in counts.most_common()]

    @cached_property
    def problem_correlation_ids(self) -> list[str]:
        """Correlation ids on this invocation's warning and error lines."""
        out: list[str] = []
        for x in self.lines:
            cid = x.get("correlation_id")
            if cid and level_of(x) >= 30 and cid not in out and cid != self.correlation_id:
                out.append(str(cid))
        return out

    @cached_property
    def keys(self) -> list[str]:
        """Quarantine object keys its lines name."""
        out: list[str] = []
        for x in self.lines:
            key = x.get("key")
            if isinstance(key, str) and key.startswith("quarantine/") and key not in out:
                out.append(key)
        return out

    @cached_property
    def failed_message_ids(self) -> list[str]:
        """SQS message ids its warning and error lines name (failed, throttled, quarantined)."""
        out: list[str] = []
        for x in self.lines:
            mid = x.get("message_id")
            if mid and level_of(x) >= 30 and str(mid) not in out:
                out.append(str(mid))
        return out

    def contains(self, t: datetime | None, slack: timedelta = timedelta(seconds=2)) -> bool:
        """Whether ``t`` falls within this invocation (give or take ``slack``)."""
        if t is None or self.start is None:
            return False
        end = self.end or self.start
        return self.start - slack <= t <= end + slack


def invocations(logs: Iterable[dict[str, Any]]) -> dict[str, Invocation]:
    """Every invocation the lines mention, by request id, with its lines in time order."""
    out: dict[str, Invocation] = {}
    for line in sort_lines(logs):
        rid = line.get("aws_request_id")
        if not rid:
            continue
        inv = out.get(rid)
        if inv is None:
            inv = out[rid] = Invocation(str(rid))
        inv.lines.append(line)
        t = doc_time(line)
        inv.service = inv.service or line.get("service")
        inv.function_name = inv.function_name or line.get("function_name")
        inv.pipeline = inv.pipeline or line.get("pipeline")
        inv.environment = inv.environment or line.get("environment")
        if inv.cold_start is None and "cold_start" in line:
            inv.cold_start = bool(line.get("cold_start"))
        if t is not None and (inv.start is None or t < inv.start):
            inv.start = t
        if line.get("logger") == "observe" and line.get("message") in SUMMARY_MESSAGES:
            inv.outcome = "ok" if line["message"] == "invocation complete" else "failed"
            inv.end = t
            inv.correlation_id = line.get("correlation_id")
            inv.duration_ms = line.get("duration_ms")
            inv.batch_item_failures = line.get("batch_item_failures")
            inv.throttle_source = line.get("throttle_source")
            if isinstance(line.get("exception"), dict):
                inv.error = {k: line["exception"].get(k) for k in ("type", "message")}
            if t is not None and isinstance(inv.duration_ms, int | float):
                inv.start = min(inv.start or t, t - timedelta(milliseconds=inv.duration_ms))
    return out


# --- trace ---------------------------------------------------------------------------------------------


@dataclass
class Trace:
    """Everything one correlation id went through, across services, in time order."""

    correlation_id: str
    lines: list[dict[str, Any]]
    invocations: list[Invocation]
    metrics: list[dict[str, Any]]
    total: int | None = None  # how many lines the id has, when only some were kept (``lines``)

    @property
    def found(self) -> bool:
        return bool(self.lines or self.metrics or self.total)

    @property
    def count(self) -> int:
        return self.total if self.total is not None else len(self.lines)

    @property
    def services(self) -> list[str]:
        out: list[str] = []
        for x in self.lines:
            s = x.get("service")
            if s and s not in out:
                out.append(str(s))
        return out

    @property
    def errors(self) -> list[dict[str, Any]]:
        return [x for x in self.lines if level_of(x) >= 40]


def trace(docs: Iterable[dict[str, Any]], correlation_id: str, emf: Iterable[dict[str, Any]] = ()) -> Trace:
    """Every line carrying ``correlation_id``, the invocations they ran in, and its EMF documents.

    The invocations are rebuilt from the id's own lines (request id, function, first and last
    line; outcome and duration when the summary line carries the id, as a scheduled run's does).
    An SQS batch invocation runs each record under the record's id and ends under its own, so
    its outcome is not among them: that is left unknown rather than fetching the whole batch.
    """
    mine: list[dict[str, Any]] = []
    metrics: list[dict[str, Any]] = []
    for x in [*docs, *emf]:
        if x.get(LOG_FIELDS.correlation_id) != correlation_id:
            continue
        (metrics if is_emf(x) else mine).append(x)
    mine = sort_lines(mine)
    invs = invocations(mine)
    for inv in invs.values():
        times = [t for t in (doc_time(x) for x in inv.lines) if t is not None]
        if inv.end is None and times:
            inv.end = max(times)
    ordered = sorted(invs.values(), key=lambda i: i.start or _FAR)
    return Trace(correlation_id, mine, ordered, sort_lines(metrics))


# --- failures ------------------------------------------------------------------------------------------


@dataclass
class FailureGroup:
    """Failed invocations or records of one kind: same service, what, exception type and message."""

    service: str
    kind: str  # invocation | record | error
    what: str  # the line's message ("record failed; it goes back to the queue")
    error_type: str
    detail: str  # normalised exception message / error / reason
    example: str  # one real (masked) instance of the detail
    count: int = 0
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    correlation_ids: list[str] = field(default_factory=list)
    message_ids: list[str] = field(default_factory=list)
    request_ids: list[str] = field(default_factory=list)


def _kind(line: dict[str, Any]) -> str:
    if line.get("logger") == "observe" and line.get("message") == "invocation failed":
        return "invocation"
    if line.get("message_id") or str(line.get("logger", "")).startswith("observe.batch"):
        return "record"
    return "error"


def _detail(line: dict[str, Any]) -> tuple[str, str]:
    exc = line.get("exception")
    if isinstance(exc, dict):
        return str(exc.get("type") or "-"), str(exc.get("message") or "")
    for key in ("error", "reason", "detail"):
        if isinstance(line.get(key), str):
            return "-", line[key]
    return "-", ""


def _add(bucket: list[str], value: Any, limit: int = 5) -> None:
    if value and str(value) not in bucket and len(bucket) < limit:
        bucket.append(str(value))


class FailureAggregator:
    """Error lines grouped as they stream by (service, kind, normalised message, type, detail)."""

    def __init__(self, *, min_level: int = 40):
        self.min_level = min_level
        self.groups: dict[tuple[str, str, str, str, str], FailureGroup] = {}
        self.lines = 0

    def add(self, line: dict[str, Any]) -> None:
        if is_emf(line) or level_of(line) < self.min_level:
            return
        self.lines += 1
        kind = _kind(line)
        etype, detail = _detail(line)
        what = str(line.get("message") or "")
        key = (str(line.get("service") or "-"), kind, normalise(what), etype, normalise(detail))
        g = self.groups.get(key)
        if g is None:
            g = self.groups[key] = FailureGroup(
                key[0], kind, redact_text(what), etype, redact_text(key[4]), redact_text(detail)
            )
        t = doc_time(line)
        g.count += 1
        if t is not None:
            g.first_seen = t if g.first_seen is None or t < g.first_seen else g.first_seen
            g.last_seen = t if g.last_seen is None or t > g.last_seen else g.last_seen
        _add(g.correlation_ids, line.get("correlation_id"))
        _add(g.message_ids, line.get("message_id"))
        _add(g.request_ids, line.get("aws_request_id"))

    def result(self) -> list[FailureGroup]:
        return sorted(self.groups.values(), key=lambda g: (-g.count, g.service, g.kind))


def failures(logs: Iterable[dict[str, Any]], *, min_level: int = 40) -> list[FailureGroup]:
    """Error lines grouped by service, kind, exception type and normalised message; most frequent first.

    ``invocation`` groups are failed invocations (their summary line), ``record`` groups failed
    SQS records (and messages quarantined whole), ``error`` anything else logged as an error.
    """
    agg = FailureAggregator(min_level=min_level)
    for line in logs:
        agg.add(line)
    return agg.result()


# --- throttles -----------------------------------------------------------------------------------------


@dataclass
class ThrottleEvent:
    """One time an invocation met throttling (a 429 from a source, or AWS throttling)."""

    time: datetime | None
    service: str | None
    source: str
    code: str | None
    retry_after_s: float | None
    request_id: str | None
    correlation_id: str | None
    message_id: str | None
    messages_returned: int | None
    message: str


class ThrottleCollector:
    """Lines with a ``throttle_source`` (the batch's warning, a failed invocation's summary), once per
    invocation and source."""

    def __init__(self) -> None:
        self.events: dict[tuple[Any, Any], ThrottleEvent] = {}

    def add(self, line: dict[str, Any]) -> None:
        source = line.get(LOG_FIELDS.throttle_source)
        if not source or is_emf(line):
            return
        key = (line.get("aws_request_id") or id(line), source)
        t = doc_time(line)
        known = self.events.get(key)
        if known is not None and (known.time is None or t is None or known.time <= t):
            return
        retry = line.get(LOG_FIELDS.retry_after_s)
        self.events[key] = ThrottleEvent(
            time=t,
            service=line.get("service"),
            source=str(source),
            code=line.get(LOG_FIELDS.throttle_code),
            retry_after_s=float(retry) if isinstance(retry, int | float) else None,
            request_id=line.get("aws_request_id"),
            correlation_id=line.get("correlation_id"),
            message_id=line.get("message_id"),
            messages_returned=line.get(LOG_FIELDS.messages_returned),
            message=redact_text(str(line.get("message") or "")),
        )

    def result(self) -> list[ThrottleEvent]:
        return sorted(self.events.values(), key=lambda e: e.time or _EPOCH)


def throttles(logs: Iterable[dict[str, Any]]) -> list[ThrottleEvent]:
    """Every throttle met, once per invocation and source (the earliest line), in time order."""
    c = ThrottleCollector()
    for line in logs:
        c.add(line)
    return c.result()


# --- metrics ---------------------------------------------------------------------------------------------

FRAME_COLUMNS = [
    "timestamp", "namespace", "service", "pipeline", "environment", "metric", "unit", "value",
    "dimensions", "is_total", "function_name", "aws_request_id", "correlation_id",
]  # fmt: skip


def emf_values(doc: dict[str, Any]) -> Iterator[tuple[str, str, list[float], dict[str, Any]]]:
    """(metric, unit, values, extra dimensions) of one EMF document, without building a row per value.

    The extra dimensions are those beyond the standard ones; empty for a total document.
    """
    for directive in (doc.get("_aws") or {}).get("CloudWatchMetrics") or []:
        dim_sets = directive.get("Dimensions") or [[]]
        extra = {d: doc.get(d) for d in dim_sets[0] if d not in STANDARD_DIMENSIONS}
        for m in directive.get("Metrics") or []:
            name = m.get("Name")
            value = doc.get(name)
            values = [
                float(v)
                for v in (value if isinstance(value, list) else [value])
                if isinstance(v, int | float) and not isinstance(v, bool)
            ]
            if values:
                yield str(name), str(m.get("Unit") or "None"), values, extra


def metric_rows(emf: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per metric value of every EMF document (lists expanded), with its extra dimensions."""
    rows: list[dict[str, Any]] = []
    for doc in emf:
        aws = doc.get("_aws") or {}
        ts = doc_time(doc)
        for directive in aws.get("CloudWatchMetrics") or []:
            dim_sets = directive.get("Dimensions") or [[]]
            extra_names = [d for d in dim_sets[0] if d not in STANDARD_DIMENSIONS]
            extra = {d: doc.get(d) for d in extra_names}
            for m in directive.get("Metrics") or []:
                name = m.get("Name")
                value = doc.get(name)
                for v in value if isinstance(value, list) else [value]:
                    if not isinstance(v, int | float) or isinstance(v, bool):
                        continue
                    rows.append(
                        {
                            "timestamp": ts,
                            "namespace": directive.get("Namespace"),
                            "service": doc.get("service"),
                            "pipeline": doc.get("pipeline"),
                            "environment": doc.get("environment"),
                            "metric": name,
                            "unit": m.get("Unit"),
                            "value": float(v),
                            "dimensions": ",".join(f"{k}={extra[k]}" for k in extra_names),
                            "is_total": not extra_names,
                            "function_name": doc.get("function_name"),
                            "aws_request_id": doc.get("aws_request_id"),
                            "correlation_id": doc.get("correlation_id"),
                            **extra,
                        }
                    )
    return rows


def metrics_frame(emf: Iterable[dict[str, Any]]) -> pd.DataFrame:
    """EMF documents as a long DataFrame: one row per value, extra dimensions as their own columns.

    ``is_total`` marks values of documents with the standard dimensions only: sum those for totals
    (a value written with an extra dimension appears once in each kind of document).
    """
    import pandas as pd

    rows = metric_rows(emf)
    frame = pd.DataFrame(rows)
    if frame.empty:
        return pd.DataFrame(columns=FRAME_COLUMNS)
    frame["timestamp"] = pd.to_datetime(frame["timestamp"], utc=True)
    return frame.sort_values("timestamp", kind="stable").reset_index(drop=True)


def totals(emf: Iterable[dict[str, Any]], names: Iterable[str], **where: str) -> dict[str, float]:
    """Sum of each metric over the standard-dimension documents (optionally of one service ...)."""
    wanted = set(names)
    out = dict.fromkeys(wanted, 0.0)
    for row in metric_rows(emf):
        if row["is_total"] and row["metric"] in wanted and all(row.get(k) == v for k, v in where.items()):
            out[row["metric"]] += row["value"]
    return out


# --- quarantine -----------------------------------------------------------------------------------------

_EXPECTATION = re.compile(r"^(expect_[a-z0-9_]+):(.+)$")
_FIELD_REASON = re.compile(r"^([A-Za-z_][\w.\[\]]*): ")


def reason_label(reason: str) -> str:
    """A reason without its instance detail (``body is not JSON (Expecting ...)`` -> ``body is not JSON``)."""
    base = re.sub(r"\s*\([^()]*(?:\([^()]*\)[^()]*)*\)\s*$", "", reason.strip()) or reason.strip()
    return normalise(base)


def reason_field(reason: str) -> tuple[str, str]:
    """(check, field) a reason is about: ``expect_...:amount`` -> (expect_..., amount);
    ``version: missing ...`` -> (structure, version); anything else -> (label, -)."""
    m = _EXPECTATION.match(reason.strip())
    if m:
        return m.group(1), m.group(2)
    m = _FIELD_REASON.match(reason.strip())
    if m and not reason.startswith(("page-", "bad task")):
        return "structure", m.group(1)
    return reason_label(reason), "-"


@dataclass
class QuarantineSummary:
    """What was quarantined and why."""

    documents: int = 0
    records: int = 0
    reasons: Counter[str] = field(default_factory=Counter)  # reason label -> records
    fields: Counter[str] = field(default_factory=Counter)  # field -> records failing on it
    checks: Counter[str] = field(default_factory=Counter)  # expectation / check -> records
    by_kind: Counter[str] = field(default_factory=Counter)  # records / malformed-page / message ...
    correlation_ids: Counter[str] = field(default_factory=Counter)
    by_key: list[dict[str, Any]] = field(default_factory=list)
    examples: list[dict[str, Any]] = field(default_factory=list)  # masked


def quarantine_summary(docs: Iterable[QuarantineDoc], *, examples: int = 5) -> QuarantineSummary:
    """Reasons histogram, per-field failures, per-document counts and masked example records.

    Examples are picked to cover distinct reasons first; every displayed record goes through
    ``observe.redact.redact_value`` (NRIC/FIN, emails, tokens and keys masked).
    """
    s = QuarantineSummary()
    covered: set[str] = set()
    for d in sorted(docs, key=lambda d: d.key):
        s.documents += 1
        doc_reasons: Counter[str] = Counter()
        for rec in d.records:
            reasons = [str(r) for r in rec.get("reasons") or []] or ["(no reason given)"]
            s.records += 1
            s.by_kind[d.kind] += 1
            labels = {reason_label(r) for r in reasons}
            s.reasons.update(labels)
            doc_reasons.update(labels)
            pairs = {reason_field(r) for r in reasons}
            s.fields.update({f for _, f in pairs if f != "-"})
            s.checks.update({c for c, _ in pairs})
            new = labels - covered
            if new and len(s.examples) < examples:
                covered |= labels
                s.examples.append(
                    {
                        "key": d.key,
                        "reasons": [redact_text(r) for r in reasons],
                        "record": shown(rec.get("record")),
                    }
                )
        if d.correlation_id:
            s.correlation_ids[d.correlation_id] += d.count
        s.by_key.append(
            {
                "key": d.key,
                "kind": d.kind,
                "count": d.count,
                "correlation_id": d.correlation_id,
                "quarantined_at": d.quarantined_at,
                "reasons": [r for r, _ in doc_reasons.most_common(3)],
            }
        )
    return s


# --- DLQ --------------------------------------------------------------------------------------------------


@dataclass
class DLQRow:
    """One DLQ message with what the logs say about it."""

    message_id: str
    correlation_id: str | None
    kind: str
    description: str
    receive_count: int | None
    sent_at: datetime | None
    failures: int | None = 0  # times the logs show it failing (None: no logs were looked at)
    last_error: str | None = None  # "Type: message" of the last failure (masked)


@dataclass
class DLQSummary:
    count: int
    by_kind: Counter[str]
    by_correlation_id: Counter[str]
    oldest: datetime | None
    newest: datetime | None
    rows: list[DLQRow]


def dlq_summary(messages: Iterable[DLQMessage], logs: Iterable[dict[str, Any]] | None = ()) -> DLQSummary:
    """DLQ messages by kind and correlation id, each with its last logged failure (by message id).

    ``logs`` None means no log source was read: the failure counts are unknown (None), not 0.
    """
    msgs = list(messages)
    last: dict[str, tuple[int, str]] = {}
    looked = logs is not None
    relevant = (x for x in logs or () if x.get("message_id") and level_of(x) >= 30 and not is_emf(x))
    for line in sort_lines(relevant):
        mid = line.get("message_id")
        etype, detail = _detail(line)
        text = f"{etype}: {detail}" if etype != "-" else (detail or str(line.get("message")))
        n = last.get(str(mid), (0, ""))[0]
        last[str(mid)] = (n + 1, redact_text(text))
    rows = [
        DLQRow(
            m.message_id,
            m.correlation_id,
            m.kind,
            m.describe(),
            m.receive_count,
            m.sent_at,
            last.get(m.message_id, (0, None))[0] if looked else None,
            last.get(m.message_id, (0, None))[1],
        )
        for m in msgs
    ]
    sent = [m.sent_at for m in msgs if m.sent_at]
    return DLQSummary(
        count=len(msgs),
        by_kind=Counter(m.kind for m in msgs),
        by_correlation_id=Counter(m.correlation_id or "-" for m in msgs),
        oldest=min(sent) if sent else None,
        newest=max(sent) if sent else None,
        rows=rows,
    )


# --- input anomalies -------------------------------------------------------------------------------------


@dataclass
class AnomalySummary:
    """Input anomalies (drift checks) and failed expectations, from metrics and warning lines."""

    by_check: Counter[str]  # InputAnomalies by its ``check`` dimension
    expectation_failures: Counter[str]  # ExpectationFailures by ``expectation``
    lines: list[dict[str, Any]]  # the "input anomaly" / "expectations failed" lines (masked)

    @property
    def total(self) -> int:
        return sum(self.by_check.values())


class AnomalyAggregator:
    """InputAnomalies by check and ExpectationFailures by expectation (breakdown documents), plus the
    warning lines observe.checks wrote about them (at most ``max_lines`` kept)."""

    def __init__(self, max_lines: int = 200):
        self.by_check: Counter[str] = Counter()
        self.failed: Counter[str] = Counter()
        self.lines: list[dict[str, Any]] = []
        self.max_lines = max_lines
        self.more_lines = 0

    def add(self, doc: dict[str, Any]) -> None:
        if is_emf(doc):
            for name, _, values, extra in emf_values(doc):
                if not extra or name not in (ANOMALIES, EXPECTATIONS):
                    continue
                if name == ANOMALIES:
                    self.by_check[str(extra.get(ANOMALY_DIMENSION))] += int(sum(values))
                else:
                    self.failed[str(extra.get(EXPECTATION_DIMENSION))] += int(sum(values))
        elif str(doc.get("logger", "")).startswith(CHECKS_LOGGER) and level_of(doc) >= 30:
            if len(self.lines) < self.max_lines:
                self.lines.append(shown(doc))
            else:
                self.more_lines += 1

    def result(self) -> AnomalySummary:
        return AnomalySummary(self.by_check, self.failed, sort_lines(self.lines))


def anomalies(logs: Iterable[dict[str, Any]], emf: Iterable[dict[str, Any]]) -> AnomalySummary:
    """InputAnomalies by check and ExpectationFailures by expectation (breakdown documents), plus the
    warning lines observe.checks wrote about them."""
    agg = AnomalyAggregator()
    for doc in [*logs, *emf]:
        agg.add(doc)
    return agg.result()
