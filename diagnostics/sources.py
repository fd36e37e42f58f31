"""Where the evidence comes from, behind one small interface per kind.

- Log lines and EMF documents: a local JSONL file or directory (:class:`FileLogSource`), or
  CloudWatch Logs (:class:`CloudWatchLogSource`: ``filter_log_events`` over a time window on
  ``/aws/lambda/<function>`` groups; every filter is applied here, client-side, because a log
  filter pattern can silently match everything on an emulator and differently on AWS).
- Quarantine documents: the backup bucket (:class:`S3QuarantineSource`) or a local mirror of its
  ``quarantine/`` prefix (:class:`DirQuarantineSource`).
- DLQ messages: the queue itself (:class:`SQSDLQSource`, peeked and never deleted) or a JSONL
  dump of ``receive_message`` answers (:class:`FileDLQSource`).

boto3 is imported only by the AWS sources, when they read.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from diagnostics.model import DLQMessage, QuarantineDoc, SourceError, Window, doc_time, from_ms

LOG_SUFFIXES = (".jsonl", ".json", ".log", ".ndjson", ".txt")


def parse_line(text: str) -> dict[str, Any] | None:
    """The JSON object on one log line, or None when the line holds none.

    Tolerates what CloudWatch and log shippers add: a trailing newline, a text prefix before the
    object (``2026-... <request id> INFO {...}``), and lines that are not ours at all (the
    runtime's ``START`` / ``END`` / ``REPORT`` lines), which are skipped.
    """
    text = text.strip()
    if not text:
        return None
    start = text.find("{")
    if start < 0:
        return None
    try:
        doc = json.loads(text[start:])
    except ValueError:
        return None
    return doc if isinstance(doc, dict) else None


class LogSource(Protocol):
    """Reads log lines and EMF documents (parsed) written inside ``window``."""

    description: str
    skipped: int  # lines that held no JSON object

    def read(self, window: Window) -> Iterator[dict[str, Any]]: ...


def _keep(doc: dict[str, Any], window: Window) -> bool:
    return window.contains(doc_time(doc))


class FileLogSource:
    """A JSONL file, or every ``*.jsonl`` / ``*.json`` / ``*.log`` file under a directory."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.description = f"file {self.path}"
        self.skipped = 0

    def files(self) -> list[Path]:
        """The files read, in name order; SourceError if the path does not exist or holds none."""
        if self.path.is_file():
            return [self.path]
        if self.path.is_dir():
            found = sorted(p for p in self.path.rglob("*") if p.is_file() and p.suffix in LOG_SUFFIXES)
            if not found:
                raise SourceError(
                    f"--logs {self.path}: the directory holds no log files ({', '.join(LOG_SUFFIXES)})"
                )
            return found
        raise SourceError(f"--logs {self.path}: no such file or directory")

    def read(self, window: Window) -> Iterator[dict[str, Any]]:
        for f in self.files():
            try:
                handle = f.open(encoding="utf-8", errors="replace")
            except OSError as exc:
                raise SourceError(f"--logs {f}: cannot read it ({exc.strerror})") from None
            with handle:
                for line in handle:
                    doc = parse_line(line)
                    if doc is None:
                        if line.strip():
                            self.skipped += 1
                        continue
                    if _keep(doc, window):
                        yield doc


class CloudWatchLogSource:
    """Log events of CloudWatch Logs groups over a time window (``filter_log_events``, paginated)."""

    def __init__(self, groups: Iterable[str], *, client: Any = None, region: str | None = None):
        self.groups = list(groups)
        if not self.groups:
            raise SourceError(
                "--log-group: give at least one log group name (e.g. /aws/lambda/ingest-worker)"
            )
        self.client = client
        self.region = region
        self.description = "log groups " + ", ".join(self.groups)
        self.skipped = 0

    def _client(self) -> Any:
        if self.client is None:
            import boto3

            self.client = boto3.client("logs", region_name=self.region)
        return self.client

    def read(self, window: Window) -> Iterator[dict[str, Any]]:
        from botocore.exceptions import BotoCoreError, ClientError

        client = self._client()
        for group in self.groups:
            kwargs: dict[str, Any] = {"logGroupName": group}
            if window.start_ms is not None:
                kwargs["startTime"] = window.start_ms
            if window.end_ms is not None:
                kwargs["endTime"] = window.end_ms
            try:
                for page in client.get_paginator("filter_log_events").paginate(**kwargs):
                    for event in page.get("events", []):
                        doc = parse_line(event.get("message", ""))
                        if doc is None:
                            self.skipped += 1
                            continue
                        if doc_time(doc) is None and isinstance(event.get("timestamp"), int):
                            doc["timestamp"] = _iso_ms(event["timestamp"])
                        # client-side, whatever the service did with startTime/endTime
                        if _keep(doc, window):
                            yield doc
            except ClientError as exc:
                code = exc.response.get("Error", {}).get("Code")
                if code == "ResourceNotFoundException":
                    raise SourceError(f"--log-group {group}: no such log group") from None
                raise SourceError(f"--log-group {group}: CloudWatch Logs refused ({code}): {exc}") from None
            except BotoCoreError as exc:
                raise SourceError(f"--log-group {group}: cannot reach CloudWatch Logs ({exc})") from None


def _iso_ms(ms: int) -> str:
    return from_ms(ms).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class QuarantineSource(Protocol):
    """Reads the quarantine documents."""

    description: str

    def read(self) -> list[QuarantineDoc]: ...


def _load_json(raw: bytes, where: str) -> dict[str, Any]:
    try:
        doc = json.loads(raw)
    except ValueError as exc:
        raise SourceError(f"{where}: not a JSON quarantine document ({exc})") from None
    if not isinstance(doc, dict):
        raise SourceError(f"{where}: a quarantine document must be a JSON object, found {type(doc).__name__}")
    return doc


class DirQuarantineSource:
    """A local mirror of the bucket: ``ROOT/quarantine/...`` (or ROOT is the quarantine folder itself)."""

    def __init__(self, root: str | Path):
        self.root = Path(root)
        self.description = f"directory {self.root}"

    def read(self) -> list[QuarantineDoc]:
        if not self.root.is_dir():
            raise SourceError(f"--quarantine-dir {self.root}: no such directory")
        base = self.root / "quarantine" if (self.root / "quarantine").is_dir() else self.root
        out = []
        for f in sorted(base.rglob("*.json")):
            key = "quarantine/" + f.relative_to(base).as_posix()
            modified = datetime.fromtimestamp(f.stat().st_mtime, UTC)
            out.append(QuarantineDoc(key, _load_json(f.read_bytes(), str(f)), modified))
        return out


class S3QuarantineSource:
    """The newest version of every object under ``prefix`` in the backup bucket."""

    def __init__(
        self, bucket: str, prefix: str = "quarantine/", *, client: Any = None, region: str | None = None
    ):
        self.bucket = bucket
        self.prefix = prefix
        self.client = client
        self.region = region
        self.description = f"s3://{bucket}/{prefix}"

    def read(self) -> list[QuarantineDoc]:
        from botocore.exceptions import BotoCoreError, ClientError

        if self.client is None:
            import boto3

            self.client = boto3.client("s3", region_name=self.region)
        out = []
        try:
            for page in self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=self.prefix
            ):
                for obj in page.get("Contents", []):
                    got = self.client.get_object(Bucket=self.bucket, Key=obj["Key"])
                    where = f"s3://{self.bucket}/{obj['Key']}"
                    out.append(
                        QuarantineDoc(
                            obj["Key"],
                            _load_json(got["Body"].read(), where),
                            got.get("LastModified"),
                            dict(got.get("Metadata") or {}),
                            got.get("VersionId"),
                        )
                    )
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code")
            if code == "NoSuchBucket":
                raise SourceError(f"--bucket {self.bucket}: no such bucket") from None
            raise SourceError(f"--bucket {self.bucket}: S3 refused ({code}): {exc}") from None
        except BotoCoreError as exc:
            raise SourceError(f"--bucket {self.bucket}: cannot reach S3 ({exc})") from None
        return out


class DLQSource(Protocol):
    """Reads the messages of a dead-letter queue without removing them."""

    description: str

    def read(self) -> list[DLQMessage]: ...


def peek_queue(
    queue_url: str, *, max_messages: int = 1000, client: Any = None, hold_seconds: int = 30
) -> list[dict[str, Any]]:
    """Every visible message of a queue, without deleting any.

    Messages are received with a short visibility timeout (so one peek sees each message once),
    then made visible again at once (``ChangeMessageVisibility`` to 0). Receiving counts as a
    receive (``ApproximateReceiveCount`` goes up), which is harmless on a DLQ without its own
    redrive policy. If this process dies mid-peek, the messages reappear after ``hold_seconds``.
    """
    if client is None:
        import boto3

        client = boto3.client("sqs")
    seen: dict[str, dict[str, Any]] = {}
    empty = 0
    try:
        while len(seen) < max_messages and empty < 2:
            batch = client.receive_message(
                QueueUrl=queue_url,
                MaxNumberOfMessages=10,
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
                VisibilityTimeout=hold_seconds,
                WaitTimeSeconds=0,
            ).get("Messages", [])
            fresh = [m for m in batch if m["MessageId"] not in seen]
            empty = 0 if fresh else empty + 1
            for m in fresh:
                seen[m["MessageId"]] = m
    finally:
        handles = [m["ReceiptHandle"] for m in seen.values()]
        for offset in range(0, len(handles), 10):
            client.change_message_visibility_batch(
                QueueUrl=queue_url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": h, "VisibilityTimeout": 0}
                    for i, h in enumerate(handles[offset : offset + 10])
                ],
            )
    return list(seen.values())


class SQSDLQSource:
    """A DLQ on SQS, peeked with :func:`peek_queue` (nothing is deleted)."""

    def __init__(self, queue_url: str, *, client: Any = None, max_messages: int = 1000):
        self.queue_url = queue_url
        self.client = client
        self.max_messages = max_messages
        self.description = f"queue {queue_url}"

    def read(self) -> list[DLQMessage]:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            raw = peek_queue(self.queue_url, max_messages=self.max_messages, client=self.client)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code")
            raise SourceError(f"--dlq-url {self.queue_url}: SQS refused ({code}): {exc}") from None
        except BotoCoreError as exc:
            raise SourceError(f"--dlq-url {self.queue_url}: cannot reach SQS ({exc})") from None
        return [DLQMessage.from_sqs(m) for m in raw]


class FileDLQSource:
    """A JSONL file of SQS messages as ``receive_message`` returns them (one per line)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.description = f"file {self.path}"

    def read(self) -> list[DLQMessage]:
        if not self.path.is_file():
            raise SourceError(f"--dlq-file {self.path}: no such file")
        out = []
        for n, line in enumerate(self.path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                msg = json.loads(line)
            except ValueError as exc:
                raise SourceError(f"--dlq-file {self.path}, line {n}: not JSON ({exc})") from None
            if not isinstance(msg, dict) or "MessageId" not in msg:
                raise SourceError(f"--dlq-file {self.path}, line {n}: not an SQS message (no MessageId)")
            out.append(DLQMessage.from_sqs(msg))
        return out
