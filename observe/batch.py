"""SQS batches with per-record failure boundaries, partial batch responses and stop-on-throttle.

Each record runs under its own correlation id (its ``correlation_id`` message attribute, else
its message id). A record that raises fails alone: it is logged with its correlation id and
reported in ``batchItemFailures`` so SQS redelivers it (and, past ``maxReceiveCount``, moves it
to the DLQ). A throttle (HTTP 429 or AWS throttling) stops the batch at once: the record and
every record not yet finished are reported as failures, one warning is written, ``Throttles``
is counted with its source, and no further work is started in this invocation.

The Lambda event source mapping must enable ``ReportBatchItemFailures``; the terraform module
does.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from observe import correlation, telemetry, tracing
from observe.logging import get_logger

_log = get_logger("observe.batch")


def _records(event: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    records = event.get("Records") if isinstance(event, Mapping) else None
    if not isinstance(records, list):
        raise ValueError("not an SQS batch event: no 'Records' list at the top level")
    return records


def _record_cid(record: Mapping[str, Any]) -> str:
    return (
        correlation.from_sqs_record(record)
        or correlation.clean(record.get("messageId"))
        or correlation.new_id()
    )


def _response(failed: list[str]) -> dict[str, Any]:
    return {"batchItemFailures": [{"itemIdentifier": mid} for mid in failed]}


def _on_throttle(throttle: telemetry.Throttle, message_id: str, remaining: int) -> None:
    telemetry.record_throttle(throttle)
    _log.warning(
        "throttled: stopping this batch; unfinished messages go back to the queue",
        throttle_source=throttle.source,
        throttle_code=throttle.code,
        retry_after_s=throttle.retry_after,
        message_id=message_id,
        messages_returned=remaining,
    )


def _on_failure(exc: BaseException, message_id: str) -> None:
    _log.error("record failed; it goes back to the queue", message_id=message_id, exc_info=exc)


def process_sqs_batch(
    event: Mapping[str, Any],
    record_handler: Callable[[Mapping[str, Any]], Any],
    *,
    stop_on_throttle: bool = True,
) -> dict[str, Any]:
    """Run ``record_handler`` on each record in order; return the partial batch response."""
    records = _records(event)
    failed: list[str] = []
    for index, record in enumerate(records):
        message_id = str(record.get("messageId"))
        with correlation.scope(_record_cid(record)):
            try:
                with tracing.record_span(record):
                    record_handler(record)
            except Exception as exc:
                throttle = telemetry.classify_throttle(exc) if stop_on_throttle else None
                if throttle is not None:
                    rest = [str(r.get("messageId")) for r in records[index:]]
                    _on_throttle(throttle, message_id, len(rest))
                    failed.extend(rest)
                    break
                _on_failure(exc, message_id)
                failed.append(message_id)
    return _response(failed)


async def aprocess_sqs_batch(
    event: Mapping[str, Any],
    record_handler: Callable[[Mapping[str, Any]], Awaitable[Any]],
    *,
    concurrency: int = 1,
    stop_on_throttle: bool = True,
) -> dict[str, Any]:
    """Async :func:`process_sqs_batch` running up to ``concurrency`` records at once.

    On a throttle, records in flight are cancelled and, like those not started, reported failed.
    """
    if concurrency < 1:
        raise ValueError(f"concurrency must be >= 1, got {concurrency}")
    records = _records(event)
    done: set[int] = set()
    failed: dict[int, str] = {}
    stop = asyncio.Event()
    throttled: list[tuple[telemetry.Throttle, str, str | None]] = []
    semaphore = asyncio.Semaphore(concurrency)

    async def run(index: int, record: Mapping[str, Any]) -> None:
        message_id = str(record.get("messageId"))
        async with semaphore:
            if stop.is_set():
                return
            with correlation.scope(_record_cid(record)):
                try:
                    with tracing.record_span(record):
                        await record_handler(record)
                    done.add(index)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    throttle = telemetry.classify_throttle(exc) if stop_on_throttle else None
                    if throttle is not None:
                        if not stop.is_set():
                            throttled.append((throttle, message_id, correlation.get()))
                        stop.set()
                        return
                    _on_failure(exc, message_id)
                    failed[index] = message_id

    tasks = [asyncio.ensure_future(run(i, r)) for i, r in enumerate(records)]
    stopper = asyncio.ensure_future(stop.wait())
    pending: set[asyncio.Future[Any]] = set(tasks)
    while pending:
        _, pending = await asyncio.wait(pending | {stopper}, return_when=asyncio.FIRST_COMPLETED)
        pending.discard(stopper)
        if stop.is_set():
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
            break
    stopper.cancel()
    if throttled:
        throttle, message_id, cid = throttled[0]
        for i, r in enumerate(records):
            if i not in done:
                failed.setdefault(i, str(r.get("messageId")))
        with correlation.scope(cid):  # the warning carries the throttled message's id
            _on_throttle(throttle, message_id, len(records) - len(done))
    return _response([failed[i] for i in sorted(failed)])
