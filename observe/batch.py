"""Batches with per-record failure boundaries, for every Lambda batch source; stop on a throttle.

One helper per source, sync and async (``process_<kind>_batch`` / ``aprocess_<kind>_batch``,
or :func:`process_batch` / :func:`aprocess_batch` with the kind named). Each record runs under
its own correlation id (the one its producer propagated, else its natural id; see
docs/events.md), in its own trace span when tracing is on, and is listed by :func:`in_flight`
while it runs. What a failure does depends on what Lambda can do with it:

- **SQS standard**: the record fails alone and is reported in ``batchItemFailures``; SQS
  redelivers it (and, past ``maxReceiveCount``, moves it to the DLQ).
- **SQS FIFO** (the queue's ARN ends in ``.fifo``; its records carry a ``MessageGroupId``):
  records of one message group run in order, one at a time; groups run concurrently in the
  async helper. At a group's first failure the
  group stops: that message and every later message of its group are reported, so none of them
  is deleted and they come back in order. Other groups carry on.
- **Kinesis Data Streams, DynamoDB Streams**: ``itemIdentifier`` is the sequence number. At a
  failure the shard stops: that record is reported, Lambda checkpoints before it and retries
  from it, so the shard's later records are not processed in this invocation (they come again).
- **Kafka (MSK, self-managed), Amazon MQ (ActiveMQ, RabbitMQ)**: Lambda has no partial batch
  response; the batch is acknowledged only when the function succeeds. At the first failure no
  further record is started and :class:`BatchFailedError` is raised once the records in flight
  end, so Lambda delivers the whole batch again: no record is acknowledged unprocessed, and the
  records already processed run again (record handlers must be idempotent).
- **A throttle** (HTTP 429, AWS throttling) stops the batch at once for every kind: the record,
  those in flight (cancelled) and those not started go back as above, one warning is written and
  ``Throttles`` is counted by source.

An event that is not of the helper's kind fails at once with :class:`BatchKindError` naming what
it got, before any record runs; so does a record without the id its failure would be reported by.
The event source mapping must enable ``ReportBatchItemFailures`` (SQS, Kinesis, DynamoDB).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from observe import correlation, telemetry, tracing
from observe.logging import get_logger, invocation_context

_log = get_logger("observe.batch")

Record = Mapping[str, Any]


class BatchKindError(ValueError):
    """The event is not a batch of the kind the helper was given, or a record cannot be reported."""


class BatchFailedError(Exception):
    """A Kafka or MQ batch failed (no partial batch response): Lambda delivers it again whole."""

    def __init__(self, kind: str, record_id: str, processed: int, total: int) -> None:
        self.kind, self.record_id, self.processed, self.total = kind, record_id, processed, total
        super().__init__(
            f"{_LABELS.get(kind, kind)} batch failed at record {record_id}: {processed} of {total} records "
            "processed; the batch is not acknowledged and Lambda delivers it again whole"
        )


# --- what is in flight (read by the deadline watchdog, from its own thread) ------------------

_flight: dict[int, tuple[str, str, str, float]] = {}


def in_flight() -> list[dict[str, Any]]:
    """The records being processed right now: kind, record id, correlation id, time running.

    Safe to call from any thread (a deadline watchdog reports them before Lambda kills the
    process) and cheap: the batch helpers add and remove entries with single dict operations,
    which are atomic, and this takes one copy of the values (again if a writer resized the dict
    during the copy).
    """
    now = time.perf_counter()
    for _ in range(100):
        try:
            entries = list(_flight.values())
            break
        except RuntimeError:  # changed size during the copy (possible only without the GIL)
            continue
    else:
        entries = []
    return [
        {"batch_kind": k, "record_id": r, "correlation_id": c, "running_ms": round((now - t) * 1000.0, 1)}
        for k, r, c, t in entries
    ]


# --- kinds --------------------------------------------------------------------------------------

_LABELS = {
    "sqs": "SQS",
    "sqs-fifo": "SQS FIFO",
    "kinesis": "Kinesis Data Streams",
    "dynamodb": "DynamoDB Streams",
    "kafka": "Kafka",
    "mq": "Amazon MQ",
}
_HELPERS = {
    "sqs": "process_sqs_batch",
    "kinesis": "process_kinesis_batch",
    "dynamodb-streams": "process_dynamodb_batch",
    "kafka-msk": "process_kafka_batch",
    "kafka-self-managed": "process_kafka_batch",
    "activemq": "process_mq_batch",
    "rabbitmq": "process_mq_batch",
}
#: The kinds :func:`process_batch` accepts.
KINDS = ("sqs", "kinesis", "dynamodb", "kafka", "mq")


@dataclass(slots=True)
class _Item:
    index: int
    record: Record
    item_id: str  # itemIdentifier (SQS message id, stream sequence number) or the record's locator
    lane: str | None  # records of one lane run in order: FIFO group, shard, partition, queue


@dataclass(slots=True)
class _Batch:
    kind: str  # sqs, sqs-fifo, kinesis, dynamodb, kafka, mq
    reader: str  # correlation.for_record kind
    items: list[_Item]

    @property
    def partial(self) -> bool:
        return self.kind not in ("kafka", "mq")

    @property
    def checkpoint(self) -> bool:  # streams: report the first failure per shard only
        return self.kind in ("kinesis", "dynamodb")


def _wrong(kind: str, event: Any, detail: str) -> BatchKindError:
    """The error for an event of another kind: names what it is and which helper takes it."""
    found = correlation.describe(event).source
    hint = _HELPERS.get(found)
    got = (
        f"a {found!r} event" if found != "unknown" else f"an event of unknown shape ({type(event).__name__})"
    )
    use = f"; use {hint}" if hint and not hint.startswith(f"process_{kind}_") else ""
    return BatchKindError(f"not an {_LABELS[kind]} batch event: got {got} ({detail}){use}")


# A record without an eventSource (built by hand, in tests) is taken by the key its kind must have.
_SHAPE = {"sqs": "messageId", "kinesis": "kinesis", "dynamodb": "dynamodb"}


def _records(kind: str, event: Any, source: str) -> list[Any]:
    records = event.get("Records") if (type(event) is dict or isinstance(event, Mapping)) else None
    if not isinstance(records, list):
        raise _wrong(kind, event, "no 'Records' list at the top level")
    for i, record in enumerate(records):
        got = (
            record.get("eventSource") or record.get("EventSource")
            if (type(record) is dict or isinstance(record, Mapping))
            else type(record).__name__
        )
        if got != source and not (got is None and _SHAPE[kind] in record):  # hand-built: no eventSource
            raise _wrong(kind, event, f"Records[{i}].eventSource is {got!r}, not {source!r}")
    return records


def _missing(kind: str, index: int, what: str) -> BatchKindError:
    return BatchKindError(
        f"{_LABELS[kind]} record Records[{index}] has no {what}: its failure could not be reported, "
        "so the batch is refused whole (it goes back to the source)"
    )


def _sqs(event: Any) -> _Batch:
    items = []
    fifo = False
    for i, record in enumerate(_records("sqs", event, "aws:sqs")):
        mid = record.get("messageId")
        if type(mid) is not str or not mid:
            raise _missing("sqs", i, "messageId")
        attrs = record.get("attributes")
        group = attrs.get("MessageGroupId") if (type(attrs) is dict or isinstance(attrs, Mapping)) else None
        arn = record.get("eventSourceARN")
        # A FIFO queue's name ends in .fifo; a standard (fair) queue's messages may carry a group too.
        if group is not None and (arn.endswith(".fifo") if type(arn) is str else True):
            fifo = True
            group = str(group)
        else:
            group = None
        items.append(_Item(i, record, mid, group))
    return _Batch("sqs-fifo" if fifo else "sqs", "sqs", items)


def _kinesis(event: Any) -> _Batch:
    items = []
    for i, record in enumerate(_records("kinesis", event, "aws:kinesis")):
        data = record.get("kinesis")
        seq = data.get("sequenceNumber") if (type(data) is dict or isinstance(data, Mapping)) else None
        if type(seq) is not str or not seq:
            raise _missing("kinesis", i, "kinesis.sequenceNumber")
        event_id = record.get("eventID")
        shard = event_id.split(":", 1)[0] if type(event_id) is str and ":" in event_id else "shard"
        items.append(_Item(i, record, seq, shard))
    return _Batch("kinesis", "kinesis", items)


def _dynamodb(event: Any) -> _Batch:
    items = []
    for i, record in enumerate(_records("dynamodb", event, "aws:dynamodb")):
        data = record.get("dynamodb")
        seq = data.get("SequenceNumber") if (type(data) is dict or isinstance(data, Mapping)) else None
        if type(seq) is not str or not seq:
            raise _missing("dynamodb", i, "dynamodb.SequenceNumber")
        # A batch comes from one shard, which the record does not name: one lane.
        items.append(_Item(i, record, seq, "shard"))
    return _Batch("dynamodb", "dynamodb", items)


def _kafka(event: Any) -> _Batch:
    source = event.get("eventSource") if (type(event) is dict or isinstance(event, Mapping)) else None
    batches = event.get("records") if (type(event) is dict or isinstance(event, Mapping)) else None
    if source not in ("aws:kafka", "SelfManagedKafka") or not (
        type(batches) is dict or isinstance(batches, Mapping)
    ):
        raise _wrong("kafka", event, f"eventSource is {source!r} with no 'records' map, not a Kafka batch")
    items: list[_Item] = []
    for partition, records in batches.items():
        if not isinstance(records, list):
            raise _wrong("kafka", event, f"records[{partition!r}] is not a list")
        for j, record in enumerate(records):
            if not (type(record) is dict or isinstance(record, Mapping)):
                raise _wrong("kafka", event, f"records[{partition!r}][{j}] is not an object")
            rid = correlation.kafka_record_id(record) or f"{partition}[{j}]"
            items.append(_Item(len(items), record, rid, str(partition)))
    return _Batch("kafka", "kafka", items)


def _mq(event: Any) -> _Batch:
    source = event.get("eventSource") if (type(event) is dict or isinstance(event, Mapping)) else None
    queues: list[tuple[str, Any]]
    if source == "aws:mq" and isinstance(event.get("messages"), list):
        queues = []
        for message in event["messages"]:
            dest = (
                message.get("destination")
                if (type(message) is dict or isinstance(message, Mapping))
                else None
            )
            name = dest.get("physicalName") if (type(dest) is dict or isinstance(dest, Mapping)) else None
            queues.append((str(name or "queue"), message))
    elif source == "aws:rmq" and isinstance(event.get("rmqMessagesByQueue"), Mapping):
        queues = [
            (str(q), m)
            for q, messages in event["rmqMessagesByQueue"].items()
            for m in (messages if isinstance(messages, list) else [None])
        ]
    else:
        raise _wrong("mq", event, f"eventSource is {source!r}, not 'aws:mq' or 'aws:rmq' with its messages")
    items: list[_Item] = []
    for queue, message in queues:
        if not (type(message) is dict or isinstance(message, Mapping)):
            raise _wrong("mq", event, f"a message of queue {queue!r} is not an object")
        basic = message.get("basicProperties")
        mid = (
            basic.get("messageId")
            if (type(basic) is dict or isinstance(basic, Mapping))
            else message.get("messageID")
        ) or None
        rid = str(mid) if mid is not None else f"{queue}[{len(items)}]"
        items.append(_Item(len(items), message, rid, queue))
    return _Batch("mq", "mq", items)


_PLANS: dict[str, Callable[[Any], _Batch]] = {
    "sqs": _sqs,
    "kinesis": _kinesis,
    "dynamodb": _dynamodb,
    "kafka": _kafka,
    "mq": _mq,
}


def _carrier(batch: _Batch, record: Record) -> dict[str, str] | None:
    """The producer's trace context for a record (None: the SQS default of record_span)."""
    kind = batch.reader
    if kind == "sqs":
        return None
    out = {}
    for key, store in (
        ("traceparent", correlation.DYNAMODB_TRACEPARENT),
        ("tracestate", correlation.DYNAMODB_TRACESTATE),
    ):
        if kind == "kinesis":
            value = correlation.kinesis_envelope(record, key)
        elif kind == "dynamodb":
            value = correlation.dynamodb_image_value(record, store)
        elif kind == "kafka":
            value = correlation.kafka_header(record, key)
        else:
            value = correlation.mq_property(record, key)
        if value:
            out[key] = value
    return out


_SYSTEMS = {
    "sqs": "aws_sqs",
    "kinesis": "aws_kinesis",
    "dynamodb": "aws_dynamodb",
    "kafka": "kafka",
    "mq": "activemq",
}


def _enter(batch: _Batch, item: _Item) -> tuple[Any, int]:
    """Bind the record's correlation id and its ``record_id`` (every line of the record carries it,
    so a triage of a process that died without a watchdog line still finds the record from its last
    lines) and list it in flight; the undo for :func:`_leave`."""
    cid = correlation.for_record(item.record, batch.reader)[0] or correlation.new_id()
    key = id(item)  # unique while the record runs
    _flight[key] = (batch.kind, item.item_id, cid, time.perf_counter())
    fields = invocation_context.get()
    bound = invocation_context.set(
        {**fields, "record_id": item.item_id} if fields else {"record_id": item.item_id}
    )
    return (correlation.set_id(cid), bound), key


def _leave(token: Any, key: int) -> None:
    _flight.pop(key, None)
    cid, bound = token
    with contextlib.suppress(ValueError):  # left in another context than it entered: leave that one be
        invocation_context.reset(bound)
    correlation.reset(cid)


def _span(batch: _Batch, item: _Item) -> Any:
    """The record's trace span (tracing on), linked to its producer's trace."""
    system = "rabbitmq" if "basicProperties" in item.record else _SYSTEMS[batch.reader]
    attributes = {"messaging.system": system, "messaging.message.id": item.item_id}
    return tracing.record_span(item.record, carrier=_carrier(batch, item.record), attributes=attributes)


# --- outcomes and what is written about them --------------------------------------------------

_PENDING, _OK, _FAILED, _SKIPPED = 0, 1, 2, 3

_FAILED_LINE = {
    "sqs": "record failed; it goes back to the queue",
    "sqs-fifo": "record failed; it goes back to the queue",
    "kinesis": "record failed; Lambda retries the shard from it",
    "dynamodb": "record failed; Lambda retries the shard from it",
    "kafka": "record failed; the batch fails (Kafka has no partial batch response)",
    "mq": "record failed; the batch fails (Amazon MQ has no partial batch response)",
}
_THROTTLE_LINE = {
    "sqs": "throttled: stopping this batch; unfinished messages go back to the queue",
    "sqs-fifo": "throttled: stopping this batch; unfinished messages go back to the queue",
    "kinesis": "throttled: stopping this batch; Lambda retries each shard from its first unfinished record",
    "dynamodb": "throttled: stopping this batch; Lambda retries each shard from its first unfinished record",
    "kafka": "throttled: stopping this batch; it fails and Lambda delivers it again whole",
    "mq": "throttled: stopping this batch; it fails and Lambda delivers it again whole",
}


def _fields(batch: _Batch, item: _Item) -> dict[str, Any]:
    """What a record's log lines name it by."""
    kind = batch.reader
    if kind == "sqs":
        return (
            {"message_id": item.item_id, "message_group_id": item.lane}
            if item.lane
            else {"message_id": item.item_id}
        )
    if kind == "kinesis":
        return {"sequence_number": item.item_id, "shard_id": item.lane}
    if kind == "dynamodb":
        return {"sequence_number": item.item_id}
    if kind == "kafka":
        return {"record_id": item.item_id}
    return {"message_id": item.item_id, "queue": item.lane}


def _on_failure(batch: _Batch, item: _Item, exc: BaseException) -> None:
    _log.error(_FAILED_LINE[batch.kind], **_fields(batch, item), batch_kind=batch.kind, exc_info=exc)


def _later_in_lane(batch: _Batch, item: _Item) -> list[_Item]:
    return [other for other in batch.items[item.index + 1 :] if other.lane == item.lane]


def _stop_lane(batch: _Batch, item: _Item, status: list[int]) -> None:
    """An ordered lane's failure: mark its later records skipped and say what happens to them."""
    later = _later_in_lane(batch, item)
    for other in later:
        if status[other.index] == _PENDING:
            status[other.index] = _SKIPPED
    if batch.kind == "sqs-fifo":
        if later:
            _log.warning(
                "message group stopped at a failed message; its later messages go back unprocessed",
                **_fields(batch, item),
                messages_returned=len(later),
                batch_kind=batch.kind,
            )
    elif batch.checkpoint:
        _log.warning(
            "shard stopped at a failed record: its later records are not processed; Lambda retries "
            "the shard from the failed record's sequence number",
            **_fields(batch, item),
            records_not_processed=len(later),
            batch_kind=batch.kind,
        )


@dataclass(slots=True)
class _Throttled:
    throttle: telemetry.Throttle
    item: _Item
    cid: str | None
    exc: BaseException


def _finish(
    batch: _Batch,
    status: list[int],
    throttled: _Throttled | None,
    failure: tuple[_Item, BaseException] | None,
) -> dict[str, Any]:
    """The partial batch response (or, for Kafka/MQ, the raise) from the records' outcomes."""
    items = batch.items
    if throttled is not None:
        telemetry.record_throttle(throttled.throttle)
        with correlation.scope(throttled.cid):  # the warning carries the throttled record's id
            _log.warning(
                _THROTTLE_LINE[batch.kind],
                throttle_source=throttled.throttle.source,
                throttle_code=throttled.throttle.code,
                retry_after_s=throttled.throttle.retry_after,
                **_fields(batch, throttled.item),
                messages_returned=sum(1 for s in status if s == _PENDING),
                batch_kind=batch.kind,
            )
    if not batch.partial:
        if throttled is None and failure is None:
            return {"batchItemFailures": []}
        item, exc = (throttled.item, throttled.exc) if throttled is not None else failure or (items[0], None)
        processed = sum(1 for s in status if s == _OK)
        if throttled is None:
            _log.warning(
                f"batch failed: {_LABELS[batch.kind]} has no partial batch response; it is not acknowledged "
                "and Lambda delivers it again whole, the records already processed included",
                **_fields(batch, item),
                records_processed=processed,
                records_not_processed=len(items) - processed,
                batch_kind=batch.kind,
            )
        raise BatchFailedError(batch.kind, item.item_id, processed, len(items)) from exc
    if batch.checkpoint:  # the first unfinished record of each shard
        firsts: dict[str | None, str] = {}
        for item in items:
            if status[item.index] != _OK and item.lane not in firsts:
                firsts[item.lane] = item.item_id
        failed = list(firsts.values())
    else:
        failed = [item.item_id for item in items if status[item.index] != _OK]
    return {"batchItemFailures": [{"itemIdentifier": i} for i in failed]}


# --- the runners --------------------------------------------------------------------------------


def _run(batch: _Batch, record_handler: Callable[[Record], Any], stop_on_throttle: bool) -> dict[str, Any]:
    status = [_PENDING] * len(batch.items)
    traced = tracing.is_enabled()
    ordered = batch.kind != "sqs"
    throttled: _Throttled | None = None
    failure: tuple[_Item, BaseException] | None = None
    for item in batch.items:
        if status[item.index] != _PENDING:
            continue  # its lane stopped
        token, key = _enter(batch, item)
        try:
            if traced:
                with _span(batch, item):
                    record_handler(item.record)
            else:
                record_handler(item.record)
            status[item.index] = _OK
        except Exception as exc:
            throttle = telemetry.classify_throttle(exc) if stop_on_throttle else None
            if throttle is not None:
                throttled = _Throttled(throttle, item, correlation.get(), exc)
                break
            _on_failure(batch, item, exc)
            status[item.index] = _FAILED
            failure = failure or (item, exc)
            if not batch.partial:
                break
            if ordered:
                _stop_lane(batch, item, status)
        finally:
            _leave(token, key)
    return _finish(batch, status, throttled, failure)


async def _arun(
    batch: _Batch,
    record_handler: Callable[[Record], Awaitable[Any]],
    concurrency: int,
    stop_on_throttle: bool,
) -> dict[str, Any]:
    if concurrency < 1:
        raise ValueError(f"concurrency must be >= 1, got {concurrency}")
    items = batch.items
    status = [_PENDING] * len(items)
    traced = tracing.is_enabled()
    lanes: dict[Any, list[_Item]] = {}
    for item in items:  # SQS standard: every record its own lane
        lanes.setdefault(item.index if batch.kind == "sqs" else item.lane, []).append(item)
    semaphore = asyncio.Semaphore(concurrency)
    stop = asyncio.Event()  # a throttle: cancel everything
    halted = [False]  # a failure without partial response: start nothing new
    throttled: list[_Throttled] = []
    failures: list[tuple[_Item, BaseException]] = []

    async def one(item: _Item) -> bool:
        """Run one record; False when its lane must stop."""
        token, key = _enter(batch, item)
        try:
            if traced:
                with _span(batch, item):
                    await record_handler(item.record)
            else:
                await record_handler(item.record)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            throttle = telemetry.classify_throttle(exc) if stop_on_throttle else None
            if throttle is not None:
                if not stop.is_set():
                    throttled.append(_Throttled(throttle, item, correlation.get(), exc))
                stop.set()
                return False
            _on_failure(batch, item, exc)
            status[item.index] = _FAILED
            failures.append((item, exc))
            if not batch.partial:
                halted[0] = True
                return False
            if batch.kind != "sqs":
                _stop_lane(batch, item, status)
            return False
        finally:
            _leave(token, key)
        status[item.index] = _OK
        return True

    async def lane(lane_items: list[_Item]) -> None:
        for item in lane_items:
            if stop.is_set() or halted[0] or status[item.index] != _PENDING:
                return
            async with semaphore:
                if stop.is_set() or halted[0]:
                    return
                if not await one(item):
                    return

    tasks = [asyncio.ensure_future(lane(lane_items)) for lane_items in lanes.values()]
    stopper = asyncio.ensure_future(stop.wait())
    pending: set[asyncio.Future[Any]] = set(tasks)
    try:
        while pending:
            _, pending = await asyncio.wait(pending | {stopper}, return_when=asyncio.FIRST_COMPLETED)
            pending.discard(stopper)
            if stop.is_set():
                for task in pending:
                    task.cancel()
                await asyncio.gather(*pending, return_exceptions=True)
                break
    finally:
        stopper.cancel()
    return _finish(batch, status, throttled[0] if throttled else None, failures[0] if failures else None)


# --- public helpers ---------------------------------------------------------------------------


def process_batch(
    event: Mapping[str, Any],
    record_handler: Callable[[Record], Any],
    kind: str,
    *,
    stop_on_throttle: bool = True,
) -> dict[str, Any]:
    """Run ``record_handler`` on each record of a ``kind`` batch (one of :data:`KINDS`), in order.

    Returns the partial batch response; for Kafka and MQ raises :class:`BatchFailedError` if a
    record failed. Raises :class:`BatchKindError` at once if the event is not of that kind.
    """
    if kind not in _PLANS:
        raise ValueError(f"unknown batch kind {kind!r}; one of {', '.join(KINDS)}")
    return _run(_PLANS[kind](event), record_handler, stop_on_throttle)


async def aprocess_batch(
    event: Mapping[str, Any],
    record_handler: Callable[[Record], Awaitable[Any]],
    kind: str,
    *,
    concurrency: int = 1,
    stop_on_throttle: bool = True,
) -> dict[str, Any]:
    """Async :func:`process_batch`: up to ``concurrency`` records at once, records of one lane
    (FIFO message group, shard, Kafka partition, MQ queue) in order, one at a time.

    On a throttle, records in flight are cancelled and, like those not started, go back.
    """
    if kind not in _PLANS:
        raise ValueError(f"unknown batch kind {kind!r}; one of {', '.join(KINDS)}")
    return await _arun(_PLANS[kind](event), record_handler, concurrency, stop_on_throttle)


def process_sqs_batch(
    event: Mapping[str, Any], record_handler: Callable[[Record], Any], *, stop_on_throttle: bool = True
) -> dict[str, Any]:
    """An SQS batch (standard or FIFO), record by record; the partial batch response."""
    return process_batch(event, record_handler, "sqs", stop_on_throttle=stop_on_throttle)


async def aprocess_sqs_batch(
    event: Mapping[str, Any],
    record_handler: Callable[[Record], Awaitable[Any]],
    *,
    concurrency: int = 1,
    stop_on_throttle: bool = True,
) -> dict[str, Any]:
    """Async :func:`process_sqs_batch`: up to ``concurrency`` records at once; a FIFO queue's
    message groups run concurrently, each group's messages in order."""
    return await aprocess_batch(
        event, record_handler, "sqs", concurrency=concurrency, stop_on_throttle=stop_on_throttle
    )


def process_kinesis_batch(
    event: Mapping[str, Any], record_handler: Callable[[Record], Any], *, stop_on_throttle: bool = True
) -> dict[str, Any]:
    """A Kinesis Data Streams batch; reports the sequence number to retry each shard from."""
    return process_batch(event, record_handler, "kinesis", stop_on_throttle=stop_on_throttle)


async def aprocess_kinesis_batch(
    event: Mapping[str, Any],
    record_handler: Callable[[Record], Awaitable[Any]],
    *,
    concurrency: int = 1,
    stop_on_throttle: bool = True,
) -> dict[str, Any]:
    """Async :func:`process_kinesis_batch` (shards concurrently, each in order)."""
    return await aprocess_batch(
        event, record_handler, "kinesis", concurrency=concurrency, stop_on_throttle=stop_on_throttle
    )


def process_dynamodb_batch(
    event: Mapping[str, Any], record_handler: Callable[[Record], Any], *, stop_on_throttle: bool = True
) -> dict[str, Any]:
    """A DynamoDB Streams batch; reports the sequence number to retry the shard from."""
    return process_batch(event, record_handler, "dynamodb", stop_on_throttle=stop_on_throttle)


async def aprocess_dynamodb_batch(
    event: Mapping[str, Any],
    record_handler: Callable[[Record], Awaitable[Any]],
    *,
    concurrency: int = 1,
    stop_on_throttle: bool = True,
) -> dict[str, Any]:
    """Async :func:`process_dynamodb_batch` (a batch is one shard: its records run in order)."""
    return await aprocess_batch(
        event, record_handler, "dynamodb", concurrency=concurrency, stop_on_throttle=stop_on_throttle
    )


def process_kafka_batch(
    event: Mapping[str, Any], record_handler: Callable[[Record], Any], *, stop_on_throttle: bool = True
) -> dict[str, Any]:
    """A Kafka batch (MSK or self-managed); raises :class:`BatchFailedError` if a record fails."""
    return process_batch(event, record_handler, "kafka", stop_on_throttle=stop_on_throttle)


async def aprocess_kafka_batch(
    event: Mapping[str, Any],
    record_handler: Callable[[Record], Awaitable[Any]],
    *,
    concurrency: int = 1,
    stop_on_throttle: bool = True,
) -> dict[str, Any]:
    """Async :func:`process_kafka_batch` (partitions concurrently, each in offset order)."""
    return await aprocess_batch(
        event, record_handler, "kafka", concurrency=concurrency, stop_on_throttle=stop_on_throttle
    )


def process_mq_batch(
    event: Mapping[str, Any], record_handler: Callable[[Record], Any], *, stop_on_throttle: bool = True
) -> dict[str, Any]:
    """An Amazon MQ batch (ActiveMQ or RabbitMQ); raises :class:`BatchFailedError` if a message fails."""
    return process_batch(event, record_handler, "mq", stop_on_throttle=stop_on_throttle)


async def aprocess_mq_batch(
    event: Mapping[str, Any],
    record_handler: Callable[[Record], Awaitable[Any]],
    *,
    concurrency: int = 1,
    stop_on_throttle: bool = True,
) -> dict[str, Any]:
    """Async :func:`process_mq_batch` (queues concurrently, each in order)."""
    return await aprocess_batch(
        event, record_handler, "mq", concurrency=concurrency, stop_on_throttle=stop_on_throttle
    )
