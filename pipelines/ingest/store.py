"""Where records go: DynamoDB (newest valid state per key) and the versioned S3 bucket.

DynamoDB: each record is one conditional ``PutItem`` — written only if the item is absent or the
stored version is strictly older — so replays, duplicate deliveries and out-of-order versions
all converge on the newest version, and an older or equal one is a counted no-op. Writes run on
a bounded thread pool (boto3 clients are thread-safe); a throttle that outlasted botocore's
retries trips the invocation's gate and stops the remaining writes at once.

S3 (versioning on): raw pages, processed batches and quarantine documents are keyed by source,
partition and page (or message), so re-fetching the same page adds an object *version* under the
same key instead of a new key. Every object carries the correlation id in its metadata.
"""

from __future__ import annotations

import contextvars
import json
import math
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Executor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from observe import correlation
from observe.telemetry import ThrottledError, classify_throttle
from pipelines.ingest.source import ThrottleGate
from pipelines.ingest.transform import Rejection

CONDITION = "attribute_not_exists(pk) OR #v < :v"


class UnstorableRecord(ValueError):
    """A record DynamoDB cannot hold as is (a non-finite number, too large, ...)."""


def to_dynamo(value: Any, path: str = "") -> Any:
    """``value`` with floats as ``Decimal`` (what boto3's serializer needs), checked finite."""
    if isinstance(value, float):
        if not math.isfinite(value):
            raise UnstorableRecord(f"{path or 'value'}: {value!r} is not a finite number")
        return Decimal(repr(value))
    if isinstance(value, dict):
        return {k: to_dynamo(v, f"{path}.{k}" if path else str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [to_dynamo(v, f"{path}[{i}]") for i, v in enumerate(value)]
    return value


@dataclass
class UpsertResult:
    """What the conditional writes of one batch did."""

    upserted: int = 0
    stale: int = 0
    rejected: list[Rejection] = field(default_factory=list)
    latencies_ms: list[float] = field(default_factory=list)


class Store:
    """DynamoDB table + versioned S3 bucket of one pipeline."""

    def __init__(
        self,
        *,
        dynamodb: Any,
        s3: Any,
        table: str,
        bucket: str,
        key_field: str,
        version_field: str,
        executor: Executor,
        concurrency: int,
    ):
        from boto3.dynamodb.types import TypeSerializer

        self.dynamodb = dynamodb
        self.s3 = s3
        self.table = table
        self.bucket = bucket
        self.key_field = key_field
        self.version_field = version_field
        self.executor = executor
        self.concurrency = concurrency
        self._serialize = TypeSerializer().serialize

    # --- DynamoDB ------------------------------------------------------------------------------
    def item(self, record: dict[str, Any]) -> dict[str, Any]:
        """The DynamoDB item (low-level attribute values) for a prepared record."""
        doc = to_dynamo(record)
        doc["pk"] = record[self.key_field]
        cid = correlation.get()
        if cid:
            doc["_correlation_id"] = cid
        return {k: self._serialize(v) for k, v in doc.items()}

    def put_if_newer(self, record: dict[str, Any]) -> bool:
        """One conditional write; True if written, False if the stored version is not older."""
        item = self.item(record)
        try:
            self.dynamodb.put_item(
                TableName=self.table,
                Item=item,
                ConditionExpression=CONDITION,
                ExpressionAttributeNames={"#v": self.version_field},
                ExpressionAttributeValues={":v": item[self.version_field]},
            )
        except Exception as exc:
            code = getattr(exc, "response", {}).get("Error", {}).get("Code")
            if code == "ConditionalCheckFailedException":
                return False
            if code == "ValidationException":
                raise UnstorableRecord(f"DynamoDB refused the item: {exc}") from exc
            raise
        return True

    def upsert(self, records: list[dict[str, Any]], gate: ThrottleGate) -> UpsertResult:
        """Conditionally write ``records`` with at most ``concurrency`` calls in flight.

        Raises ``ThrottledError`` (after tripping ``gate``) on a throttle, and the first other
        error otherwise; records DynamoDB refuses as malformed come back in ``rejected``.
        """
        result = UpsertResult()
        if not records:
            return result
        items: Iterator[dict[str, Any]] = iter(records)
        lock = threading.Lock()
        errors: list[BaseException] = []

        def worker() -> None:
            while True:
                with lock:
                    if errors:
                        return
                    rec = next(items, None)
                if rec is None:
                    return
                try:
                    gate.check()
                    started = time.perf_counter()
                    try:
                        written = self.put_if_newer(rec)
                    finally:
                        result.latencies_ms.append((time.perf_counter() - started) * 1000.0)
                except UnstorableRecord as exc:
                    with lock:
                        result.rejected.append(Rejection(rec, [str(exc)]))
                    continue
                except BaseException as exc:
                    throttle = classify_throttle(exc)
                    if throttle is not None:
                        gate.trip(throttle)
                        exc = ThrottledError(throttle, f"DynamoDB throttled the upsert ({throttle.code})")
                    with lock:
                        errors.append(exc)
                    return
                with lock:
                    if written:
                        result.upserted += 1
                    else:
                        result.stale += 1

        n = min(self.concurrency, len(records))
        futures = [self.executor.submit(contextvars.copy_context().run, worker) for _ in range(n)]
        for f in futures:
            f.result()
        if errors:
            throttles = [e for e in errors if isinstance(e, ThrottledError)]
            raise (throttles or errors)[0]
        return result

    # --- S3 ------------------------------------------------------------------------------------
    def put_json(self, key: str, doc: Any, **metadata: str) -> str | None:
        """Write ``doc`` as JSON at ``key`` with the correlation id in the metadata; the version id."""
        body = json.dumps(doc, default=_json_default, separators=(",", ":")).encode()
        return self.put_bytes(key, body, "application/json", **metadata)

    def put_bytes(self, key: str, body: bytes, content_type: str, **metadata: str) -> str | None:
        """Write ``body`` at ``key``; throttles become ``ThrottledError``."""
        meta = {**correlation.s3_metadata(), **{k: str(v) for k, v in metadata.items() if v is not None}}
        try:
            resp = self.s3.put_object(
                Bucket=self.bucket, Key=key, Body=body, ContentType=content_type, Metadata=meta
            )
        except Exception as exc:
            throttle = classify_throttle(exc)
            if throttle is not None:
                raise ThrottledError(throttle, f"S3 throttled the write of {key}") from exc
            raise
        return resp.get("VersionId")

    def quarantine(self, key: str, rejected: list[Rejection], **context: Any) -> str | None:
        """One quarantine document for a batch's rejected records, with reasons and correlation id."""
        doc = {
            "quarantined_at": now_iso(),
            "correlation_id": correlation.get(),
            **context,
            "count": len(rejected),
            "records": [{"record": r.record, "reasons": r.reasons} for r in rejected],
        }
        return self.put_json(key, doc, kind="quarantine")


def now_iso() -> str:
    """Now, ISO-8601 UTC with milliseconds."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value)
