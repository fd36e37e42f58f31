"""Pure analyses over what observe and the pipelines wrote: no I/O, no AWS, easy to test.

Inputs are parsed log lines and EMF documents (dicts in the shapes of docs/logging.md and
docs/metrics.md), :class:`~diagnostics.model.QuarantineDoc` and :class:`~diagnostics.model.DLQMessage`.
Anything meant for display passes through ``observe.redact.redact_value`` first: quarantined
records hold the personal data that made them fail, and a triage screen is no place for it.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from diagnostics.model import DLQMessage, QuarantineDoc, doc_time
from observe.redact import redact_text, redact_value

if TYPE_CHECKING:
    import pandas as pd

SUMMARY_MESSAGES = ("invocation complete", "invocation failed")
STANDARD_DIMENSIONS = ("service", "pipeline", "environment")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_FAR = datetime(9999, 1, 1, tzinfo=UTC)
_LEVELS = {"debug": 10, "info": 20, "warning": 30, "warn": 30, "error": 40, "critical": 50}

_UUID = re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", re.IGNORECASE)
_LONG_NUMBER = re.compile(r"\b0\d{3,}\b|\d{5,}")  # padded counters, long ids; not years or ISO-8601
_HEX_ID = re.compile(r"\b[0-9a-f]{16,}\b", re.IGNORECASE)


def normalise(text: str) -> str:
    """``text`` with ids and long numbers replaced, so messages differing only in them group together."""
    text = _UUID.sub("<id>", text)
    text = _HEX_ID.sub("<id>", text)
    return _LONG_NUMBER.sub("#", text)


def level_of(line: dict[str, Any]) -> int:
    return _LEVELS.get(str(line.get("level", "info")).lower(), 20)


def sort_lines(lines: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Lines in time order (stable: lines written in the same millisecond keep their order)."""
    return sorted(lines, key=lambda d: doc_time(d) or _EPOCH)


def split_docs(docs: Iterable[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(log lines, EMF documents), each in time order."""
    logs: list[dict[str, Any]] = []
    emf: list[dict[str, Any]] = []
    for d in docs:
        (emf if isinstance(d.get("_aws"), dict) else logs).append(d)
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


# --- invocations -------------------------------------------------------------------------------------


@dataclass
class Invocation:
    """One Lambda invocation reconstructed from its lines (keyed by ``aws_request_id``)."""

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

    @property
    def record_correlation_ids(self) -> list[str]:
        """Distinct correlation ids of the work inside (SQS records), most lines first."""
        counts = Counter(
            str(x["correlation_id"])
            for x in self.lines
            if x.get("correlation_id") and x.get("correlation_id") != self.correlation_id
        )
        return [cid for cid, _ in counts.most_common()]

    @property
    def problem_correlation_ids(self) -> list[str]:
        """Correlation ids on this invocation's warning and error lines."""
        out: list[str] = []
        for x in self.lines:
            cid = x.get("correlation_id")
            if cid and level_of(x) >= 30 and cid not in out and cid != self.correlation_id:
                out.append(str(cid))
        return out

    @property
    def keys(self) -> list[str]:
        """Quarantine object keys its lines name."""
        out: list[str] = []
        for x in self.lines:
            key = x.get("key")
            if isinstance(key, str) and key.startswith("quarantine/") and key not in out:
                out.append(key)
        return out

    @property
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

    @property
    def found(self) -> bool:
        return bool(self.lines or self.metrics)

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


def trace(logs: Iterable[dict[str, Any]], correlation_id: str, emf: Iterable[dict[str, Any]] = ()) -> Trace:
    """Every line carrying ``correlation_id``, the invocations they ran in, and EMF documents of it.

    An SQS batch invocation has its own id and runs each record under the record's id, so the
    invocations are listed for context (duration, outcome) but only the id's own lines are.
    """
    logs = list(logs)
    mine = sort_lines(x for x in logs if x.get("correlation_id") == correlation_id)
    rids = {x.get("aws_request_id") for x in mine if x.get("aws_request_id")}
    invs = invocations(x for x in logs if x.get("aws_request_id") in rids)
    ordered = sorted(invs.values(), key=lambda i: i.start or _FAR)
    metrics = [d for d in emf if d.get("correlation_id") == correlation_id]
    return Trace(correlation_id, mine, ordered, metrics)


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


def failures(logs: Iterable[dict[str, Any]], *, min_level: int = 40) -> list[FailureGroup]:
    """Error lines grouped by service, kind, exception type and normalised message; most frequent first.

    ``invocation`` groups are failed invocations (their summary line), ``record`` groups failed
    SQS records (and messages quarantined whole), ``error`` anything else logged as an error.
    """
    groups: dict[tuple[str, str, str, str, str], FailureGroup] = {}
    for line in sort_lines(logs):
        if level_of(line) < min_level:
            continue
        kind = _kind(line)
        etype, detail = _detail(line)
        what = str(line.get("message") or "")
        key = (str(line.get("service") or "-"), kind, normalise(what), etype, normalise(detail))
        g = groups.get(key)
        if g is None:
            g = groups[key] = FailureGroup(
                key[0], kind, redact_text(what), etype, redact_text(key[4]), redact_text(detail)
            )
        t = doc_time(line)
        g.count += 1
        g.first_seen = g.first_seen or t
        g.last_seen = t or g.last_seen
        _add(g.correlation_ids, line.get("correlation_id"))
        _add(g.message_ids, line.get("message_id"))
        _add(g.request_ids, line.get("aws_request_id"))
    return sorted(groups.values(), key=lambda g: (-g.count, g.service, g.kind))


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


def throttles(logs: Iterable[dict[str, Any]]) -> list[ThrottleEvent]:
    """Every line with a ``throttle_source`` (the batch's warning, a failed invocation's summary), once per
    invocation and source, in time order."""
    out: list[ThrottleEvent] = []
    seen: set[tuple[Any, Any]] = set()
    for line in sort_lines(logs):
        source = line.get("throttle_source")
        if not source:
            continue
        key = (line.get("aws_request_id") or id(line), source)
        if key in seen:
            continue
        seen.add(key)
        retry = line.get("retry_after_s")
        out.append(
            ThrottleEvent(
                time=doc_time(line),
                service=line.get("service"),
                source=str(source),
                code=line.get("throttle_code"),
                retry_after_s=float(retry) if isinstance(retry, int | float) else None,
                request_id=line.get("aws_request_id"),
                correlation_id=line.get("correlation_id"),
                message_id=line.get("message_id"),
                messages_returned=line.get("messages_returned"),
                message=redact_text(str(line.get("message") or "")),
            )
        )
    return out


# --- metrics ---------------------------------------------------------------------------------------------

FRAME_COLUMNS = [
    "timestamp", "namespace", "service", "pipeline", "environment", "metric", "unit", "value",
    "dimensions", "is_total", "function_name", "aws_request_id", "correlation_id",
]  # fmt: skip


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
    failures: int = 0  # times the logs show it failing
    last_error: str | None = None  # "Type: message" of the last failure (masked)


@dataclass
class DLQSummary:
    count: int
    by_kind: Counter[str]
    by_correlation_id: Counter[str]
    oldest: datetime | None
    newest: datetime | None
    rows: list[DLQRow]


def dlq_summary(messages: Iterable[DLQMessage], logs: Iterable[dict[str, Any]] = ()) -> DLQSummary:
    """DLQ messages by kind and correlation id, each with its last logged failure (by message id)."""
    msgs = list(messages)
    last: dict[str, tuple[int, str]] = {}
    for line in sort_lines(logs):
        mid = line.get("message_id")
        if not mid or level_of(line) < 30:
            continue
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
            last.get(m.message_id, (0, None))[0],
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


def anomalies(logs: Iterable[dict[str, Any]], emf: Iterable[dict[str, Any]]) -> AnomalySummary:
    """InputAnomalies by check and ExpectationFailures by expectation (breakdown documents), plus the
    warning lines observe.checks wrote about them."""
    by_check: Counter[str] = Counter()
    failed: Counter[str] = Counter()
    for row in metric_rows(emf):
        if row["is_total"]:
            continue
        if row["metric"] == "InputAnomalies":
            by_check[str(row.get("check"))] += int(row["value"])
        elif row["metric"] == "ExpectationFailures":
            failed[str(row.get("expectation"))] += int(row["value"])
    lines = [
        shown(x)
        for x in sort_lines(logs)
        if str(x.get("logger", "")).startswith("observe.checks") and level_of(x) >= 30
    ]
    return AnomalySummary(by_check, failed, lines)
