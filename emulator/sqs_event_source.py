"""Lambda's SQS event source mapping, played against a queue on the moto server.

:class:`SqsEventSource` polls the queue and invokes a function (a :class:`LambdaFunction`, or
anything with ``invoke(event) -> result``) with batches, as the mapping does:

- **Batching**: up to ``batch_size`` messages (1-10,000; FIFO 1-10), gathered for up to
  ``maximum_batching_window`` seconds (0-300; a batch size above 10 needs at least 1 s; none on
  FIFO queues), and never more than the 6 MB invocation payload.
- **The response**: a function error (the handler raised, timed out, crashed, ran out of
  memory) deletes nothing: the whole batch becomes visible again after the queue's visibility
  timeout. A success deletes the batch, except, with ``ReportBatchItemFailures``, the messages
  named in ``batchItemFailures``; following Lambda's rules, a response that is not JSON or names
  an empty, missing or unknown ``itemIdentifier`` fails the whole batch, while a null or empty
  response or list is a complete success.
- **Visibility and redrive**: the loop never changes a message's visibility; a message that is
  not deleted reappears after the queue's ``VisibilityTimeout``, and after ``maxReceiveCount``
  receives SQS moves it to the dead-letter queue. moto's server does that move itself, on the
  receive after the last one allowed (as SQS does), so the loop leaves it to the queue; the
  runtime tests assert it.
- **FIFO**: SQS hands out a message group's messages only while none of that group is in
  flight, so a batch keeps each group's order and a failed message holds back its group until
  it is deleted or dead-lettered (reporting the failed message and every later one of its group
  in ``batchItemFailures`` is the function's part, as observe.batch does).

Not reproduced: the pollers' scaling (five at first, up to ``maximum_concurrency``; here one
batch at a time), the mapping's backoff after throttles and errors, filter criteria, and
long-poll connections held open between batches.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

MAX_PAYLOAD = 6 * 1024 * 1024
MAX_MESSAGE = 256 * 1024


class Invoker(Protocol):
    def invoke(self, event: Any) -> Any: ...


@dataclass
class EsmStats:
    """What the loop did."""

    invocations: int = 0
    function_errors: int = 0  # invocations that failed whole (nothing deleted)
    deleted: int = 0
    reported_failed: int = 0  # messages named in batchItemFailures
    polls: int = 0
    errors: list[str] = field(default_factory=list)  # why each failed invocation failed
    results: list[Any] = field(default_factory=list)  # each invocation's result

    @property
    def died(self) -> int:
        """Invocations that returned no response (the name :func:`pipelines.ingest.local.drain` uses)."""
        return self.function_errors


def failed_item_ids(response: bytes, batch_ids: set[str]) -> set[str] | None:
    """The message ids a ``ReportBatchItemFailures`` response names, or None if Lambda would
    treat the response as a failure of the whole batch."""
    if not response.strip():
        return set()
    try:
        doc = json.loads(response)
    except ValueError:
        return None
    if doc is None or not isinstance(doc, dict):
        return set()
    items = doc.get("batchItemFailures")
    if items is None:
        return set()
    if not isinstance(items, list):
        return None
    out: set[str] = set()
    for item in items:
        ident = item.get("itemIdentifier") if isinstance(item, dict) else None
        if not isinstance(ident, str) or not ident or ident not in batch_ids:
            return None
        out.add(ident)
    return out


class SqsEventSource:
    """An event source mapping from the queue ``queue_url`` to ``function``."""

    def __init__(
        self,
        function: Invoker,
        queue_url: str,
        *,
        batch_size: int = 10,
        maximum_batching_window: float = 0.0,
        report_batch_item_failures: bool = True,
        sqs: Any = None,
    ) -> None:
        import boto3

        self.function = function
        self.queue_url = queue_url
        self.sqs = sqs or boto3.client("sqs")
        attrs = self.sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["All"])["Attributes"]
        self.queue_arn = attrs["QueueArn"]
        self.region = self.queue_arn.split(":")[3]
        self.fifo = attrs.get("FifoQueue") == "true"
        where = f"event source mapping for {self.queue_arn}"
        limit = 10 if self.fifo else 10_000
        if not 1 <= batch_size <= limit:
            raise ValueError(f"{where}: batch_size {batch_size} must be between 1 and {limit}")
        if self.fifo and maximum_batching_window:
            raise ValueError(f"{where}: FIFO queues take no maximum_batching_window")
        if not 0 <= maximum_batching_window <= 300:
            raise ValueError(f"{where}: maximum_batching_window {maximum_batching_window} must be 0-300 s")
        if batch_size > 10 and maximum_batching_window < 1:
            raise ValueError(
                f"{where}: a batch_size above 10 needs a maximum_batching_window of at least 1 s"
            )
        self.batch_size = batch_size
        self.window = maximum_batching_window
        self.report_failures = report_batch_item_failures
        self.stats = EsmStats()

    def _receive(self, n: int) -> list[dict[str, Any]]:
        self.stats.polls += 1
        return self.sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=min(10, n),
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
            WaitTimeSeconds=0,
        ).get("Messages", [])

    def gather(self) -> list[dict[str, Any]]:
        """One batch: what the queue has now, and with a batching window, what comes within it."""
        batch: list[dict[str, Any]] = []
        size = 0
        deadline = time.monotonic() + self.window
        while len(batch) < self.batch_size and size + MAX_MESSAGE <= MAX_PAYLOAD:
            got = self._receive(self.batch_size - len(batch))
            batch.extend(got)
            size += sum(len(m["Body"].encode()) for m in got)
            if time.monotonic() >= deadline:
                break
            if not got:
                time.sleep(min(0.05, max(0.0, deadline - time.monotonic())))
        return batch

    def event(self, messages: list[dict[str, Any]]) -> dict[str, Any]:
        """The ``{"Records": [...]}`` event Lambda builds from received messages."""
        from pipelines.ingest.local import lambda_sqs_record

        return {"Records": [lambda_sqs_record(m, self.queue_arn, self.region) for m in messages]}

    def deliver(self, messages: list[dict[str, Any]]) -> Any:
        """Invoke the function with ``messages`` and delete what the response says succeeded."""
        stats = self.stats
        stats.invocations += 1
        result = self.function.invoke(self.event(messages))
        stats.results.append(result)
        if not result.ok:
            stats.function_errors += 1
            message = (
                result.payload.get("errorMessage") if isinstance(result.payload, dict) else result.payload
            )
            stats.errors.append(f"{result.error_type}: {message}")
            return result
        failed: set[str] | None = set()
        if self.report_failures:
            failed = failed_item_ids(result.response, {m["MessageId"] for m in messages})
        if failed is None:  # Lambda fails the whole batch on a malformed partial response
            stats.function_errors += 1
            stats.errors.append(f"invalid batchItemFailures response: {result.response[:200]!r}")
            return result
        stats.reported_failed += len(failed)
        done = [m for m in messages if m["MessageId"] not in failed]
        for offset in range(0, len(done), 10):
            chunk = done[offset : offset + 10]
            answer = self.sqs.delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(chunk)],
            )
            stats.deleted += len(answer.get("Successful", []))
            stats.errors.extend(f"delete failed: {f.get('Message')}" for f in answer.get("Failed", []))
        return result

    def run_once(self) -> bool:
        """Gather one batch and deliver it; False when the queue had nothing visible."""
        batch = self.gather()
        if batch:
            self.deliver(batch)
        return bool(batch)

    def depth(self) -> int:
        """Visible + in-flight + delayed messages."""
        from pipelines.ingest.local import queue_depth

        return queue_depth(self.sqs, self.queue_url)

    def empty(self) -> bool:
        """Whether the queue holds nothing, visible or in flight (a zero seen twice: see
        :func:`pipelines.ingest.local.queue_empty`)."""
        from pipelines.ingest.local import queue_empty

        return queue_empty(self.sqs, self.queue_url)

    def run_until_empty(
        self,
        *,
        timeout: float = 300.0,
        poll_wait: float = 0.2,
        before_invoke: Callable[[int], None] | None = None,
    ) -> EsmStats:
        """Poll and invoke until the queue holds nothing (nor in flight) or ``timeout`` passes.

        ``before_invoke(n)`` runs before the n-th invocation (1-based), for tests that inject
        faults at chosen points. Raises TimeoutError if the queue is not empty by then.
        """
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            batch = self.gather()
            if not batch:
                if self.empty():
                    return self.stats
                time.sleep(poll_wait)  # the rest is in flight: wait for visibility timeouts
                continue
            if before_invoke is not None:
                before_invoke(self.stats.invocations + 1)
            self.deliver(batch)
        raise TimeoutError(f"queue {self.queue_url} not empty within {timeout:g}s")
