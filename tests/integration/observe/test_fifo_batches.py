"""A FIFO queue on the moto server (boto3 over HTTP), consumed through ``aprocess_sqs_batch``
by the project's SQS event source mapping loop: each message group's messages are processed in
send order, one at a time, also after a failure and redelivery; groups run side by side."""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from emulator.moto_server import FAKE_ENV, moto_server
from emulator.sqs_event_source import SqsEventSource
from observe import correlation, observed
from observe.batch import aprocess_sqs_batch
from observe.testing import FakeLambdaContext

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def fifo_moto() -> Iterator[str]:
    with moto_server(set_env=False) as url:
        yield url


@pytest.fixture
def sqs(fifo_moto: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    import boto3

    for k, v in FAKE_ENV.items():
        monkeypatch.setenv(k, v)
    monkeypatch.setenv("AWS_ENDPOINT_URL", fifo_moto)
    return boto3.client("sqs")


@dataclass
class Result:
    """What the event source loop reads of an invocation (as LambdaFunction.invoke returns it)."""

    ok: bool
    payload: Any
    response: bytes = b""
    error_type: str | None = None
    lines: list[str] = field(default_factory=list)


class InProcess:
    """An async handler invoked in this process, one event at a time, as Lambda would."""

    def __init__(self, handler: Any) -> None:
        self.handler = handler

    def invoke(self, event: Any) -> Result:
        try:
            payload = asyncio.run(self.handler(event, FakeLambdaContext()))
        except Exception as exc:
            return Result(False, {"errorMessage": str(exc)}, error_type=type(exc).__name__)
        return Result(True, payload, json.dumps(payload).encode())


def make_fifo_queue(sqs: Any) -> tuple[str, str]:
    name = f"orders-{uuid.uuid4().hex[:8]}"
    dlq = sqs.create_queue(QueueName=f"{name}-dlq.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    queue = sqs.create_queue(
        QueueName=f"{name}.fifo",
        Attributes={
            "FifoQueue": "true",
            "ContentBasedDeduplication": "true",
            "VisibilityTimeout": "1",
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "5"}),
        },
    )["QueueUrl"]
    return queue, dlq


def test_fifo_groups_stay_in_order_through_failures_and_redelivery(sqs: Any) -> None:
    queue, dlq = make_fifo_queue(sqs)
    groups = {"g1": 5, "g2": 5, "g3": 5}
    sent_cids: dict[tuple[str, int], str] = {}
    for n in range(1, 6):  # interleaved: g1-1, g2-1, g3-1, g1-2, ...
        for group in groups:
            with correlation.scope(f"order-{group}-{n}") as cid:
                sqs.send_message(
                    QueueUrl=queue,
                    MessageBody=json.dumps({"group": group, "n": n}),
                    MessageGroupId=group,
                    MessageAttributes=correlation.sqs_message_attributes(),
                )
            sent_cids[(group, n)] = cid

    lock = threading.Lock()
    succeeded: dict[str, list[int]] = {g: [] for g in groups}
    calls: list[tuple[str, int, str]] = []  # (group, n, receive count) in call order
    out_of_order: list[str] = []
    overlapping: list[str] = []
    running: dict[str, int] = {g: 0 for g in groups}
    peak = [0]
    cids: dict[tuple[str, int], str | None] = {}
    # g1's 2nd message fails on its first receive, g2's 4th on its first two: transient errors
    failures = {("g1", 2): 1, ("g2", 4): 2}

    async def one(record: dict[str, Any]) -> None:
        body = json.loads(record["body"])
        group, n = body["group"], body["n"]
        receives = int(record["attributes"]["ApproximateReceiveCount"])
        with lock:
            calls.append((group, n, str(receives)))
            if succeeded[group] != list(range(1, n)):
                out_of_order.append(f"{group}-{n} ran after {succeeded[group]}")
            if running[group]:
                overlapping.append(f"{group}-{n}")
            running[group] += 1
            peak[0] = max(peak[0], sum(running.values()))
            cids[(group, n)] = correlation.get()
        try:
            await asyncio.sleep(0.02)
            if receives <= failures.get((group, n), 0):
                raise RuntimeError(f"transient failure of {group}-{n}")
            with lock:
                succeeded[group].append(n)
        finally:
            with lock:
                running[group] -= 1

    @observed(pipeline="fifo-test")
    async def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        return await aprocess_sqs_batch(event, one, concurrency=3)

    esm = SqsEventSource(InProcess(handler), queue, batch_size=10)
    started = time.monotonic()
    stats = esm.run_until_empty(timeout=60, poll_wait=0.1)

    assert not out_of_order, out_of_order  # never a message before every earlier one of its group
    assert not overlapping, overlapping  # never two messages of one group at once
    assert succeeded == {g: [1, 2, 3, 4, 5] for g in groups}
    assert peak[0] > 1  # the groups did run side by side
    assert stats.function_errors == 0 and stats.reported_failed >= 1 + 3 + 2  # failed + held back behind
    retried = [c for c in calls if c[2] != "1"]
    assert ("g1", 2, "2") in retried and ("g2", 4, "3") in retried  # redelivered and then succeeded
    assert cids == sent_cids  # each message under its producer's correlation id, on every receive
    assert sqs.receive_message(QueueUrl=dlq, WaitTimeSeconds=0).get("Messages", []) == []
    assert time.monotonic() - started < 60
