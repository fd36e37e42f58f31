"""The ingest worker: SQS batch -> fetch (async) -> pandas -> conditional upsert + S3 copies.

Each SQS message is one task with its own failure boundary (``observe.batch``):

- ``{"task": {...}}``: fetch the pages the task names from the source adapter;
- ``{"records": [...]}``: a push source handed the records over directly.

Either way the records are validated early (structural key/version checks plus the suite),
normalised and deduplicated to the newest version per key (:mod:`pipelines.ingest.transform`),
then:

1. the raw payload is copied to S3 (``raw/...``) for audit and recovery;
2. rejected records go to ``quarantine/...`` with their reasons;
3. valid records are upserted into DynamoDB only if newer (:mod:`pipelines.ingest.store`);
4. the processed batch is copied to S3 (``processed/...``).

With ``BASELINE_TABLE`` set, each batch also goes through the drift checks
(:mod:`pipelines.ingest.drift`) after the suite validation and before any write: ``warn`` only
logs and counts; ``quarantine_batch`` keeps the whole batch under ``quarantine/...anomaly.json``
with the anomaly report and upserts none of it (the message succeeds); ``fail_task`` fails the
task, so the message is retried and ends in the DLQ.

A failing task goes back to the queue alone (and to the DLQ after ``maxReceiveCount``). A
throttle (HTTP 429 from the source, or AWS throttling botocore could not retry away) stops the
invocation at once: no further request is issued, the task and all unfinished ones are reported
as batch item failures, ``Throttles`` is counted with its source, one warning is logged.
A message that can never be processed (not JSON, neither ``task`` nor ``records``, a task with
bad fields) is quarantined under ``quarantine/messages/`` with the reason and acknowledged.
"""

from __future__ import annotations

import asyncio
import atexit
import hashlib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from observe import correlation, get_logger, metric, observed
from observe.batch import aprocess_sqs_batch
from observe.telemetry import classify_throttle
from pipelines.ingest import config
from pipelines.ingest.aio import EventLoop, LoopSession
from pipelines.ingest.drift import BatchDrift, baseline_source
from pipelines.ingest.dynamo import DynamoConnection, RetryPolicy
from pipelines.ingest.source import (
    BadTaskError,
    FetchContext,
    MalformedPageError,
    Page,
    ThrottleGate,
    adapter_for,
)
from pipelines.ingest.store import Store, now_iso
from pipelines.ingest.transform import Prepared, Rejection, prepare
from pipelines.ingest.validation import RowValidator, make_validator

if TYPE_CHECKING:
    from observe.checks import InputAnomalyError

log = get_logger(__name__)
_UNSAFE = re.compile(r"[^A-Za-z0-9._=-]+")


def safe(part: Any) -> str:
    """``part`` made safe for an S3 key segment (``_`` for None)."""
    return _UNSAFE.sub("_", str(part))[:200] if part not in (None, "") else "_"


def push_digest(body: bytes) -> str:
    """The S3 key part of a pushed batch: a digest of the message body."""
    return hashlib.sha256(body).hexdigest()[:32]


@dataclass
class Runtime:
    """What outlives an invocation: settings, clients, the validator, the event loop."""

    cfg: config.IngestConfig
    store: Store
    validator: RowValidator
    s3: Any
    fingerprint: tuple[str | None, ...]
    #: TLS settings for the source, built once: loading the CA bundle costs ~50 ms per client
    ssl_context: Any = None
    #: the drift checks when ``BASELINE_TABLE`` is set, else None (no drift detection)
    drift: BatchDrift | None = None
    #: the execution environment's event loop; the DynamoDB session is bound to it
    loop: EventLoop | None = None
    dynamo: DynamoConnection | None = None
    #: the source API's aiohttp session, on the same loop
    source_http: LoopSession | None = None

    def run(self, coro: Any) -> Any:
        """Run one invocation's coroutine on the warm loop (see :class:`EventLoop`)."""
        if self.loop is None:
            self.loop = EventLoop()
        return self.loop.run(coro)

    def close(self) -> None:
        """Close the sessions on their loop, then the loop (a runtime being replaced)."""

        async def close_sessions() -> None:
            if self.dynamo is not None:
                await self.dynamo.aclose()
            if self.source_http is not None:
                await self.source_http.aclose()

        if self.loop is not None:
            self.loop.close(close_sessions)
        for held in (self.dynamo, self.source_http):
            if held is not None:
                held.close()  # bound to another loop (a test's): dropped without that loop


_runtime: list[Runtime] = []
_closing_at_exit: list[bool] = []


def runtime() -> Runtime:
    """The warm runtime, built on the first (cold-start) invocation and when settings change.

    Fails with ``ConfigError`` naming the missing variable, or the bad suite file and field.
    """
    fp = config.fingerprint()
    if _runtime and _runtime[0].fingerprint == fp:
        return _runtime[0]
    import boto3
    from botocore.config import Config

    cfg = config.load(config.WORKER_REQUIRED)
    validator = make_validator(cfg.suite_path, key_field=cfg.key_field, version_field=cfg.version_field)
    dynamo = DynamoConnection.from_env(connections=cfg.upsert_concurrency * cfg.task_concurrency + 4)
    session = boto3.session.Session()
    pool = Config(max_pool_connections=cfg.task_concurrency * 2 + 4)  # S3 copies (and the baselines)
    s3 = session.client("s3", config=pool)
    store = Store(
        dynamo=dynamo,
        s3=s3,
        table=cfg.table_name,
        bucket=cfg.backup_bucket,
        key_field=cfg.key_field,
        version_field=cfg.version_field,
        concurrency=cfg.upsert_concurrency,
        retry=RetryPolicy.from_env(),
    )
    import ssl

    import certifi

    ssl_context = ssl.create_default_context(cafile=certifi.where())
    # The drift baselines are one read and one write per batch: boto3 (observe's store) is fine there.
    drift = (
        BatchDrift.from_config(
            cfg, client=session.client("dynamodb", config=pool), suite=getattr(validator, "suite", None)
        )
        if cfg.drift_enabled
        else None
    )
    if not _closing_at_exit:  # the first build in this process: close the sessions when it exits
        atexit.register(reset_runtime)
        _closing_at_exit.append(True)
    reset_runtime()
    source_http = LoopSession(connections=cfg.fetch_concurrency, ssl=ssl_context)
    _runtime[:] = [
        Runtime(cfg, store, validator, s3, fp, ssl_context, drift, EventLoop(), dynamo, source_http)
    ]
    return _runtime[0]


def reset_runtime() -> None:
    """Forget the warm runtime, closing its session and loop (tests that change settings in place)."""
    if _runtime:
        _runtime[0].close()
    _runtime.clear()


@observed(pipeline="ingest")
def ingest_worker(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Lambda entry point for the SQS event source mapping (``ReportBatchItemFailures`` on)."""
    rt = runtime()
    return rt.run(
        process_batch(event, rt, remaining_ms=getattr(context, "get_remaining_time_in_millis", None))
    )


async def process_batch(
    event: Mapping[str, Any], rt: Runtime, *, remaining_ms: Callable[[], int] | None = None
) -> dict[str, Any]:
    """Run every message of an SQS batch as its own task; the partial batch response.

    ``remaining_ms`` (the Lambda context's ``get_remaining_time_in_millis``) bounds the retries.
    """
    cfg = rt.cfg
    gate = ThrottleGate()
    if rt.source_http is None:
        rt.source_http = LoopSession(connections=cfg.fetch_concurrency, ssl=rt.ssl_context)
    # one warm aiohttp session for the source, kept across invocations
    ctx = FetchContext(
        source_url=cfg.source_url,
        http=rt.source_http.get(),
        gate=gate,
        semaphore=asyncio.Semaphore(cfg.fetch_concurrency),
        timeout=cfg.http_timeout,
        retries=cfg.fetch_retries,
        s3=rt.s3,
        remaining_ms=remaining_ms,
    )

    async def one(record: Mapping[str, Any]) -> None:
        try:
            await process_message(record, rt, ctx)
        except Exception as exc:
            throttle = classify_throttle(exc)
            if throttle is not None:
                gate.trip(throttle)  # nothing else in this invocation may call out
            else:
                metric("TasksFailed", 1)  # throttle stops count as Throttles, not task failures
            raise

    try:
        return await aprocess_sqs_batch(event, one, concurrency=cfg.task_concurrency)
    finally:
        for ms in ctx.latencies_ms:
            metric("FetchLatency", ms)


async def process_message(record: Mapping[str, Any], rt: Runtime, ctx: FetchContext) -> None:
    """One SQS message: a fetch task or pushed records; raises to send it back to the queue."""
    message_id = str(record.get("messageId"))
    try:
        body = json.loads(record.get("body") or "")
    except ValueError as exc:
        await _quarantine_message(rt, record, f"body is not JSON ({exc})")
        return
    if isinstance(body, dict) and isinstance(body.get("records"), list):
        source = body.get("source") or rt.cfg.source_name
        raw = (record.get("body") or "").encode()
        # Keyed by content: a duplicate delivery of the same push adds versions, not keys.
        prefix = f"{safe(source)}/push/{push_digest(raw)}"
        await asyncio.to_thread(rt.store.put_bytes, f"raw/{prefix}.json", raw, "application/json", kind="raw")
        await finish(
            body["records"],
            rt,
            ctx,
            prefix=prefix,
            context={"message_id": message_id, "source": source},
            drift_source=baseline_source(source, push=True),
        )
        return
    if isinstance(body, dict) and isinstance(body.get("task"), dict):
        try:
            await run_task(body["task"], message_id, rt, ctx)
        except BadTaskError as exc:
            await _quarantine_message(rt, record, f"bad task: {exc}")
        return
    await _quarantine_message(rt, record, "body is neither {'task': {...}} nor {'records': [...]}")


async def run_task(task: Mapping[str, Any], message_id: str, rt: Runtime, ctx: FetchContext) -> None:
    """Fetch the task's pages, back them up raw, then validate, upsert and back up the batch."""
    adapter = adapter_for(task)
    source = task.get("source") or rt.cfg.source_name
    partition = task.get("partition") or (task.get("bucket") if adapter.name == "s3-object" else None)
    base = f"{safe(source)}/{safe(partition)}"
    try:
        pages: list[Page] = await adapter.fetch(task, ctx)
    except MalformedPageError as exc:
        log.error(
            "malformed page; kept in quarantine, task goes back to the queue",
            page=exc.page_ref,
            error=str(exc),
        )
        doc = {
            "quarantined_at": now_iso(),
            "correlation_id": correlation.get(),
            "task": dict(task),
            "reasons": [str(exc)],
            "body": exc.body.decode("utf-8", errors="replace"),
        }
        await asyncio.to_thread(
            rt.store.put_json, f"quarantine/{base}/{safe(exc.page_ref)}.malformed.json", doc
        )
        raise
    records = [r for p in pages for r in p.records]
    ctx.gate.check()
    await asyncio.gather(
        *(
            asyncio.to_thread(
                rt.store.put_bytes, f"raw/{base}/{safe(p.ref)}.json", p.raw, "application/json", kind="raw",
                task_id=str(task.get("task_id", "")),
            )
            for p in pages
        )
    )  # fmt: skip
    batch_ref = pages[0].ref if len(pages) == 1 else f"{pages[0].ref}..{pages[-1].ref}" if pages else "empty"
    await finish(
        records,
        rt,
        ctx,
        prefix=f"{base}/{safe(batch_ref)}",
        context={"task": dict(task), "message_id": message_id, "source": source},
        drift_source=baseline_source(source, partition),
    )


async def finish(
    records: list[Any],
    rt: Runtime,
    ctx: FetchContext,
    *,
    prefix: str,
    context: dict[str, Any],
    drift_source: str | None = None,
) -> Prepared:
    """Validate + dedup, check drift, quarantine the rejected, upsert the valid, back up the batch.

    ``drift_source`` names the batch's baseline (see :func:`pipelines.ingest.drift.baseline_source`);
    the drift checks run when the runtime has them. ``TaskFailed`` from them propagates (the message
    goes back to the queue); ``BatchQuarantined`` quarantines the whole batch and returns.
    """
    cfg, store = rt.cfg, rt.store
    metric("RecordsFetched", len(records))
    prepared = await asyncio.to_thread(
        prepare,
        records,
        key_field=cfg.key_field,
        version_field=cfg.version_field,
        version_kind=cfg.version_kind,
        validator=rt.validator,
        keep_frames=rt.drift is not None,
    )
    for expectation, count in prepared.failed_expectations.items():
        metric("ExpectationFailures", count, expectation=expectation)
    if rt.drift is not None:
        from observe.checks import BatchQuarantined

        ctx.gate.check()  # the baseline lives in DynamoDB: no call after a throttle
        try:
            await asyncio.to_thread(rt.drift.check, prepared, drift_source or prefix)
        except BatchQuarantined as exc:
            await _quarantine_batch(rt, f"quarantine/{prefix}.anomaly.json", records, prepared, exc, context)
            return prepared
        finally:
            prepared.frame = prepared.accepted = None  # the batch's DataFrames are not needed past here
    metric("RecordsValid", prepared.n_valid)
    metric("DuplicatesDropped", prepared.duplicates)
    if prepared.rejected:
        await _quarantine(rt, f"quarantine/{prefix}.json", prepared.rejected, context)
    ctx.gate.check()
    result = await store.upsert(prepared.valid, ctx.gate, remaining_ms=ctx.remaining_ms)
    for ms in result.latencies_ms:
        metric("UpsertLatency", ms)
    if result.rejected:  # DynamoDB refused them as malformed: quarantine, never drop
        await _quarantine(rt, f"quarantine/{prefix}.unstorable.json", result.rejected, context)
    metric("RecordsUpserted", result.upserted)
    metric("RecordsStale", result.stale)
    await asyncio.to_thread(
        store.put_json,
        f"processed/{prefix}.json",
        {
            "processed_at": now_iso(),
            "correlation_id": correlation.get(),
            **context,
            "key_field": cfg.key_field,
            "version_field": cfg.version_field,
            "count": len(prepared.valid),
            "records": prepared.valid,
        },
        kind="processed",
    )
    log.info(
        "batch ingested",
        prefix=prefix,
        fetched=prepared.fetched,
        valid=prepared.n_valid,
        duplicates=prepared.duplicates,
        quarantined=len(prepared.rejected) + len(result.rejected),
        upserted=result.upserted,
        stale=result.stale,
    )
    return prepared


async def _quarantine(rt: Runtime, key: str, rejected: list[Rejection], context: dict[str, Any]) -> None:
    metric("RecordsQuarantined", len(rejected))
    reasons = sorted({r for rej in rejected for r in rej.reasons})
    log.warning("records quarantined", key=key, count=len(rejected), reasons=reasons[:10])
    await asyncio.to_thread(rt.store.quarantine, key, rejected, **context)


async def _quarantine_batch(
    rt: Runtime,
    key: str,
    records: list[Any],
    prepared: Prepared,
    exc: InputAnomalyError,
    context: dict[str, Any],
) -> None:
    """The drift action ``quarantine_batch``: every record of the batch, as it arrived, in one
    quarantine document with the anomaly report; nothing of it is upserted or copied to processed/.

    Each record's reasons are the batch's reason plus its own row-level ones, if it had any.
    """
    reason = f"input anomaly: {', '.join(sorted({a.check for a in exc.anomalies if a.action == exc.action}))}"
    reason += f" -> {exc.action}"
    # Rejection keeps the very record object it was given, so identity finds each one's reasons.
    row_reasons = {id(rej.record): rej.reasons for rej in prepared.rejected}
    everything = [Rejection(r, [reason, *row_reasons.get(id(r), [])]) for r in records]
    metric("RecordsQuarantined", len(everything))
    log.warning(
        "batch quarantined: input anomaly; nothing of it was loaded",
        key=key,
        count=len(everything),
        checks=sorted({a.check for a in exc.anomalies}),
        baseline_key=f"{exc.report.pipeline}#{exc.report.source}",
    )
    await asyncio.to_thread(
        rt.store.quarantine, key, everything, **context, reasons=[reason], anomaly=exc.to_dict()
    )


async def _quarantine_message(rt: Runtime, record: Mapping[str, Any], reason: str) -> None:
    """A message that can never succeed: keep it whole with the reason, then acknowledge it."""
    message_id = str(record.get("messageId"))
    key = f"quarantine/messages/{safe(message_id)}.json"
    metric("RecordsQuarantined", 1)
    log.error("unprocessable message quarantined", message_id=message_id, key=key, reason=reason)
    doc = {
        "quarantined_at": now_iso(),
        "correlation_id": correlation.get(),
        "message_id": message_id,
        "reasons": [reason],
        "body": record.get("body"),
    }
    await asyncio.to_thread(rt.store.put_json, key, doc, kind="quarantine")


#: The Lambda handler name (``pipelines.ingest.worker.handler``); the service name
#: defaults to ``ingest_worker`` unless ``SERVICE_NAME`` is set.
handler = ingest_worker
