"""Where records go: DynamoDB (newest valid state per key) and the versioned S3 bucket.

DynamoDB: each record is one conditional ``PutItem`` — written only if the item is absent or the
stored version is strictly older — so replays, duplicate deliveries and out-of-order versions
all converge on the newest version, and an older or equal one is a counted no-op. The writes
run on the worker's event loop through aiodynamo (:mod:`pipelines.ingest.dynamo`), at most
``concurrency`` in flight; each is retried on throttles and transient failures with backoff and
jitter (:class:`~pipelines.ingest.dynamo.RetryPolicy`) while the invocation has time left. A
throttle that outlasted the retries trips the invocation's gate and stops the remaining writes
at once.

S3 (versioning on): raw pages, processed batches and quarantine documents are keyed by source,
partition and page (or message), so re-fetching the same page adds an object *version* under the
same key instead of a new key. Every object carries the correlation id in its metadata. These
are a few calls per batch; they stay on boto3, in threads.
"""

from __future__ import annotations

import asyncio
import base64
import contextvars
import json
import math
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Protocol

from observe import correlation
from observe.telemetry import ThrottledError, classify_throttle
from pipelines.ingest.dynamo import REQUEST_TIMEOUT, RetryPolicy, is_retryable
from pipelines.ingest.source import ThrottleGate
from pipelines.ingest.transform import Rejection

CONDITION = "attribute_not_exists(pk) OR #v < :v"


@dataclass
class _Batch:
    """What the writes of one ``upsert`` call share: the gate, the time left, a retry count."""

    gate: ThrottleGate
    remaining_ms: Callable[[], int] | None
    retries: int = 0

    def left(self) -> float | None:
        return float(self.remaining_ms()) if self.remaining_ms is not None else None


#: the batch the current write belongs to (set by ``upsert``; its worker tasks inherit it)
_batch: contextvars.ContextVar[_Batch | None] = contextvars.ContextVar("ingest_upsert_batch", default=None)


class UnstorableRecord(ValueError):
    """A record DynamoDB cannot hold as is (a non-finite number, too large, ...)."""


class DynamoSender(Protocol):
    """One DynamoDB request; aiodynamo's exceptions on error answers (``DynamoConnection``)."""

    async def send(
        self, action: str, payload: Mapping[str, Any], *, timeout: float | None = None
    ) -> dict[str, Any]: ...


def attribute_value(value: Any, path: str = "") -> dict[str, Any]:
    """``value`` (what JSON decodes to, plus Decimal and bytes) as a DynamoDB attribute value.

    Numbers keep their text (``repr`` of a float, ``str`` of an int or Decimal); a non-finite
    number or an unsupported type is an :class:`UnstorableRecord` naming its path.
    """
    where = path or "value"
    if value is None:
        return {"NULL": True}
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, int):
        return {"N": str(value)}
    if isinstance(value, float):
        if not math.isfinite(value):
            raise UnstorableRecord(f"{where}: {value!r} is not a finite number")
        return {"N": repr(value)}
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise UnstorableRecord(f"{where}: {value!r} is not a finite number")
        return {"N": str(value)}
    if isinstance(value, dict):
        return {
            "M": {str(k): attribute_value(v, f"{path}.{k}" if path else str(k)) for k, v in value.items()}
        }
    if isinstance(value, list | tuple):
        return {"L": [attribute_value(v, f"{path}[{i}]") for i, v in enumerate(value)]}
    if isinstance(value, bytes | bytearray):
        return {"B": base64.b64encode(value).decode()}
    raise UnstorableRecord(f"{where}: {type(value).__name__} cannot be stored in DynamoDB")


@dataclass
class UpsertResult:
    """What the conditional writes of one batch did."""

    upserted: int = 0
    stale: int = 0
    rejected: list[Rejection] = field(default_factory=list)
    latencies_ms: list[float] = field(default_factory=list)
    retries: int = 0


def _error_code(exc: BaseException) -> str:
    """DynamoDB's error code for an aiodynamo exception (or a botocore one), else the class name."""
    code = getattr(exc, "response", {}).get("Error", {}).get("Code") if hasattr(exc, "response") else None
    if code:
        return str(code)
    name = type(exc).__name__
    return {"ConditionalCheckFailed": "ConditionalCheckFailedException"}.get(name, name)


def _message(exc: BaseException) -> str:
    """The ``message`` of an aiodynamo error (built from DynamoDB's JSON body), else ``str(exc)``."""
    body = exc.args[0] if exc.args else None
    if isinstance(body, dict) and body.get("message"):
        return f"{_error_code(exc)}: {body['message']}"
    return str(exc)


class Store:
    """DynamoDB table + versioned S3 bucket of one pipeline."""

    def __init__(
        self,
        *,
        dynamo: DynamoSender | None,
        s3: Any,
        table: str,
        bucket: str,
        key_field: str,
        version_field: str,
        concurrency: int,
        retry: RetryPolicy | None = None,
    ):
        self.dynamo = dynamo
        self.s3 = s3
        self.table = table
        self.bucket = bucket
        self.key_field = key_field
        self.version_field = version_field
        self.concurrency = concurrency
        self.retry = retry or RetryPolicy()

    # --- DynamoDB ------------------------------------------------------------------------------
    def item(self, record: dict[str, Any]) -> dict[str, Any]:
        """The DynamoDB item (low-level attribute values) for a prepared record."""
        doc = {k: attribute_value(v, str(k)) for k, v in record.items()}
        doc["pk"] = attribute_value(record[self.key_field], "pk")
        cid = correlation.get()
        if cid:
            doc["_correlation_id"] = {"S": cid}
        return doc

    def payload(self, record: dict[str, Any]) -> dict[str, Any]:
        """The conditional ``PutItem`` request for ``record``: absent, or stored version older."""
        item = self.item(record)
        return {
            "TableName": self.table,
            "Item": item,
            "ConditionExpression": CONDITION,
            "ExpressionAttributeNames": {"#v": self.version_field},
            "ExpressionAttributeValues": {":v": item[self.version_field]},
        }

    async def put_if_newer(self, record: dict[str, Any]) -> bool:
        """One conditional write, retried while allowed; True if written, False if not newer.

        Raises :class:`UnstorableRecord` when DynamoDB refuses the item, and the last error (a
        throttle, a timeout, ...) when the retries or the invocation's time ran out.
        """
        assert self.dynamo is not None, "a store without a DynamoDB connection cannot write"
        payload = self.payload(record)
        batch = _batch.get()
        retry = 0
        while True:
            left = batch.left() if batch is not None else None
            timeout = REQUEST_TIMEOUT if left is None else min(REQUEST_TIMEOUT, max(0.1, left / 1000.0))
            try:
                await self.dynamo.send("PutItem", payload, timeout=timeout)
                return True
            except Exception as exc:
                code = _error_code(exc)
                if code == "ConditionalCheckFailedException":
                    return False
                if code in ("ValidationException", "SerializationException"):
                    raise UnstorableRecord(f"DynamoDB refused the item: {_message(exc)}") from exc
                retry += 1
                delay = self.retry.delay(retry)
                if not is_retryable(exc) or not self.retry.allows(
                    retry, delay, batch.left() if batch is not None else None
                ):
                    raise
            if batch is not None:
                batch.retries += 1
            await asyncio.sleep(delay)
            if batch is not None:
                batch.gate.check()  # another write of this batch gave up on a throttle: stop too

    async def upsert(
        self,
        records: list[dict[str, Any]],
        gate: ThrottleGate,
        *,
        remaining_ms: Callable[[], int] | None = None,
    ) -> UpsertResult:
        """Conditionally write ``records`` with at most ``concurrency`` calls in flight.

        ``remaining_ms`` (the Lambda context's ``get_remaining_time_in_millis``) bounds the
        retries. Raises ``ThrottledError`` (after tripping ``gate``) on a throttle, and the first
        other error otherwise; records DynamoDB refuses as malformed come back in ``rejected``.
        """
        result = UpsertResult()
        if not records:
            return result
        items: Iterator[dict[str, Any]] = iter(records)
        errors: list[BaseException] = []
        batch = _Batch(gate, remaining_ms)

        async def worker() -> None:
            for rec in items:  # one shared iterator: each record is taken by exactly one worker
                if errors:
                    return
                try:
                    gate.check()
                    started = time.perf_counter()
                    try:
                        written = await self.put_if_newer(rec)
                    finally:
                        result.latencies_ms.append((time.perf_counter() - started) * 1000.0)
                except UnstorableRecord as exc:
                    result.rejected.append(Rejection(rec, [str(exc)]))
                    continue
                except Exception as exc:
                    throttle = classify_throttle(exc)
                    if throttle is not None:
                        gate.trip(throttle)
                        exc = ThrottledError(throttle, f"DynamoDB throttled the upsert ({throttle.code})")
                    errors.append(exc)
                    return
                if written:
                    result.upserted += 1
                else:
                    result.stale += 1

        token = _batch.set(batch)  # the gathered workers copy this context
        try:
            await asyncio.gather(*(worker() for _ in range(min(self.concurrency, len(records)))))
        finally:
            _batch.reset(token)
            result.retries = batch.retries
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
