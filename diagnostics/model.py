"""What the diagnostics read, as small typed records: time windows, quarantine documents, DLQ messages.

Log lines and EMF documents stay plain dicts in the shape observe writes them (docs/logging.md,
docs/metrics.md); these classes cover the rest. Nothing here imports pandas or boto3.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

#: How the hints in the output name the triage command (``observe-diag`` is its alias).
COMMAND = "observe diag"


class DiagnosticsError(Exception):
    """Something the user asked for cannot be done; the message names what and where."""


class SourceError(DiagnosticsError):
    """A source (file, log group, bucket, queue) could not be read."""


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$", re.IGNORECASE)
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_duration(text: str) -> timedelta:
    """``"90s"``, ``"15m"``, ``"1h"``, ``"2d"``, ``"1w"`` as a timedelta; ValueError naming the text."""
    m = _DURATION.match(text or "")
    if not m:
        raise ValueError(f"{text!r} is not a duration like 30m, 1h, 2d (units: s, m, h, d, w)")
    try:
        value = timedelta(**{_UNITS[m.group(2).lower()]: float(m.group(1))})
    except OverflowError:
        raise ValueError(f"{text!r} is too long a duration (at most {timedelta.max.days:,} days)") from None
    if value <= timedelta(0):
        raise ValueError(f"{text!r} is not a duration longer than zero")
    return value


def parse_time(text: str) -> datetime:
    """An ISO-8601 time (``Z`` or an offset; naive means UTC) as an aware UTC datetime."""
    try:
        t = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except (ValueError, AttributeError, OverflowError):
        raise ValueError(f"{text!r} is not an ISO-8601 time like 2026-11-26T04:05:06Z") from None
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)


def from_ms(ms: float) -> datetime:
    """Milliseconds since the epoch as an aware UTC datetime."""
    return datetime.fromtimestamp(ms / 1000.0, UTC)


def iso(t: datetime | None) -> str:
    """``t`` as ``2026-11-26T04:05:06.789Z`` (``-`` for None)."""
    if t is None:
        return "-"
    return t.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def doc_time(doc: dict[str, Any]) -> datetime | None:
    """When a log line or EMF document was written (``timestamp`` or ``_aws.Timestamp``)."""
    aws = doc.get("_aws")
    if isinstance(aws, dict) and isinstance(aws.get("Timestamp"), int | float):
        return from_ms(aws["Timestamp"])
    ts = doc.get("timestamp")
    if isinstance(ts, str):
        try:
            return parse_time(ts)
        except ValueError:
            return None
    if isinstance(ts, int | float):  # epoch ms, as some shippers write it
        return from_ms(ts)
    return None


@dataclass(frozen=True)
class Window:
    """A half-open time window ``[start, end)``; either side may be open (None)."""

    start: datetime | None = None
    end: datetime | None = None

    @classmethod
    def last(cls, since: str, now: datetime | None = None) -> Window:
        """The window ending now and starting ``since`` ago (``"1h"``, ``"30m"`` ...)."""
        end = now or datetime.now(UTC)
        span = parse_duration(since)
        try:
            start = end - span
        except OverflowError:
            start = datetime.min.replace(tzinfo=UTC)
        if start.year < 1970:
            raise ValueError(
                f"{since!r} reaches back before 1970: no log or metric is that old; give a shorter one"
            )
        return cls(start, end)

    @classmethod
    def build(cls, since: str | None = None, start: str | None = None, end: str | None = None) -> Window:
        """From CLI-style strings: ``since`` (relative to ``end`` or now) or ``start``/``end``."""
        t_end = parse_time(end) if end else None
        if since:
            if start:
                raise ValueError("give either a relative window (since) or a start time, not both")
            return cls.last(since, now=t_end)
        t_start = parse_time(start) if start else None
        if t_start and t_end and t_start >= t_end:
            raise ValueError(f"window start {iso(t_start)} is not before its end {iso(t_end)}")
        return cls(t_start, t_end)

    def contains(self, t: datetime | None) -> bool:
        """Whether ``t`` is inside (a document without a time is kept: it cannot be placed)."""
        if t is None:
            return True
        return (self.start is None or t >= self.start) and (self.end is None or t < self.end)

    @property
    def start_ms(self) -> int | None:
        return None if self.start is None else int(self.start.timestamp() * 1000)

    @property
    def end_ms(self) -> int | None:
        return None if self.end is None else int(self.end.timestamp() * 1000)

    def __str__(self) -> str:
        if self.start is None and self.end is None:
            return "all data"
        return f"{iso(self.start) if self.start else '...'} to {iso(self.end) if self.end else '...'}"


ALL_TIME = Window()


@dataclass
class QuarantineDoc:
    """One quarantine object the ingest worker wrote (``quarantine/...`` in the backup bucket).

    Shapes (pipelines/ingest/worker.py and store.py): a batch's rejected records
    ``{quarantined_at, correlation_id, ..., count, records: [{record, reasons}]}``; a malformed
    page ``{quarantined_at, correlation_id, task, reasons, body}``; an unprocessable message
    ``{quarantined_at, correlation_id, message_id, reasons, body}``.
    """

    key: str
    doc: dict[str, Any]
    last_modified: datetime | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    version_id: str | None = None

    @property
    def kind(self) -> str:
        """``records``, ``unstorable``, ``malformed-page`` or ``message``."""
        if self.key.startswith("quarantine/messages/"):
            return "message"
        if self.key.endswith(".malformed.json"):
            return "malformed-page"
        if self.key.endswith(".unstorable.json"):
            return "unstorable"
        return "records"

    @property
    def correlation_id(self) -> str | None:
        cid = self.doc.get("correlation_id") or self.metadata.get("correlation_id")
        return str(cid) if cid else None

    @property
    def quarantined_at(self) -> datetime | None:
        value = self.doc.get("quarantined_at")
        if isinstance(value, str):
            try:
                return parse_time(value)
            except ValueError:
                pass
        return self.last_modified

    @property
    def records(self) -> list[dict[str, Any]]:
        """``[{"record": ..., "reasons": [...]}]``; a page or message counts as one record (its body)."""
        recs = self.doc.get("records")
        if isinstance(recs, list):
            return [r if isinstance(r, dict) else {"record": r, "reasons": []} for r in recs]
        return [{"record": self.doc.get("body"), "reasons": list(self.doc.get("reasons") or [])}]

    @property
    def count(self) -> int:
        return len(self.records)

    @property
    def source(self) -> str | None:
        task = self.doc.get("task")
        if isinstance(task, dict) and task.get("source"):
            return str(task["source"])
        return str(self.doc["source"]) if self.doc.get("source") else None


@dataclass
class DLQMessage:
    """One message on a dead-letter queue, as ``receive_message`` returned it (never deleted)."""

    message_id: str
    body: str
    attributes: dict[str, str] = field(default_factory=dict)  # message attributes (string values)
    system: dict[str, str] = field(default_factory=dict)  # SentTimestamp, ApproximateReceiveCount ...

    @classmethod
    def from_sqs(cls, message: dict[str, Any]) -> DLQMessage:
        """From one message of a boto3 ``receive_message`` answer."""
        attrs = {
            name: str(v.get("StringValue"))
            for name, v in (message.get("MessageAttributes") or {}).items()
            if isinstance(v, dict) and v.get("StringValue") is not None
        }
        return cls(
            message_id=str(message.get("MessageId")),
            body=str(message.get("Body") or ""),
            attributes=attrs,
            system={k: str(v) for k, v in (message.get("Attributes") or {}).items()},
        )

    @property
    def parsed(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    @property
    def correlation_id(self) -> str | None:
        return self.attributes.get("correlation_id")

    @property
    def kind(self) -> str:
        """``task``, ``records``, ``unparseable`` or ``other``."""
        body = self.parsed
        if isinstance(body, dict) and isinstance(body.get("task"), dict):
            return "task"
        if isinstance(body, dict) and isinstance(body.get("records"), list):
            return "records"
        return "unparseable" if body is None else "other"

    @property
    def receive_count(self) -> int | None:
        value = self.system.get("ApproximateReceiveCount")
        return int(value) if value and value.isdigit() else None

    @property
    def sent_at(self) -> datetime | None:
        value = self.system.get("SentTimestamp")
        return from_ms(int(value)) if value and value.isdigit() else None

    def describe(self) -> str:
        """A short, PII-free description of what the message asked for."""
        body = self.parsed
        if self.kind == "task":
            t = body["task"]
            pages = f"pages {t.get('start_page')}..{t.get('end_page') or 'end'}"
            if t.get("adapter") == "s3-object":
                pages = f"object s3://{t.get('bucket')}/{t.get('key')}"
            part = f" partition {t['partition']}" if t.get("partition") else ""
            return f"task {t.get('source', '?')}{part} {pages}"
        if self.kind == "records":
            return f"{len(body['records'])} pushed record(s) from {body.get('source') or '?'}"
        if self.kind == "unparseable":
            return f"body is not JSON ({len(self.body)} bytes)"
        return f"unexpected body ({type(body).__name__})"
