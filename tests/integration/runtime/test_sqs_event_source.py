"""The SQS event source mapping loop on moto: batches, partial failures, visibility, the DLQ, FIFO."""

from __future__ import annotations

import json
import threading
import time
import uuid

import boto3
import pytest

from emulator.sqs_event_source import SqsEventSource
from pipelines.ingest.local import queue_depth, read_queue


def make_queue(*, fifo: bool = False, max_receive: int = 2, visibility: int = 1) -> tuple[str, str]:
    """A queue with a DLQ (redrive after ``max_receive`` receives); returns (queue url, dlq url)."""
    sqs = boto3.client("sqs")
    name = f"esm-{uuid.uuid4().hex[:8]}"
    suffix = ".fifo" if fifo else ""
    extra = {"FifoQueue": "true", "ContentBasedDeduplication": "true"} if fifo else {}
    dlq = sqs.create_queue(QueueName=f"{name}-dlq{suffix}", Attributes=extra)["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    policy = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(max_receive)})
    attrs = {"VisibilityTimeout": str(visibility), "RedrivePolicy": policy, **extra}
    return sqs.create_queue(QueueName=f"{name}{suffix}", Attributes=attrs)["QueueUrl"], dlq


def send(queue: str, *bodies: dict, group: str | None = None) -> None:
    sqs = boto3.client("sqs")
    for body in bodies:
        extra = {"MessageGroupId": group} if group else {}
        sqs.send_message(
            QueueUrl=queue,
            MessageBody=json.dumps(body),
            MessageAttributes={"correlation_id": {"DataType": "String", "StringValue": f"cid-{body['id']}"}},
            **extra,
        )


def test_partial_batch_failures_come_back_after_the_visibility_timeout_then_go_to_the_dlq(
    runtime_aws, make_function
) -> None:
    queue, dlq = make_queue(max_receive=2, visibility=1)
    send(queue, *[{"id": i, "fail": i in (2, 5)} for i in range(6)])
    fn = make_function("sqs_consumer", timeout=10)
    esm = SqsEventSource(fn, queue, batch_size=10)
    starts: list[float] = []
    stats = esm.run_until_empty(timeout=60, before_invoke=lambda n: starts.append(time.monotonic()))
    failures = [len(r.payload["batchItemFailures"]) for r in stats.results]
    # the two failed messages come back after the visibility timeout; a receive may return them in one
    # batch or one each (SQS returns fewer messages than are visible when it likes, so may the queue here)
    assert failures[0] == 2 and sum(failures) == 4 and len(failures) in (2, 3), failures
    assert stats.invocations == len(failures) and stats.deleted == 4 and stats.reported_failed == 4
    first = stats.results[0].report.duration_ms / 1000
    assert starts[1] - starts[0] - first >= 0.9, (
        "the failed messages were invisible for the visibility timeout"
    )
    dead = read_queue(dlq)
    assert sorted(json.loads(m["Body"])["id"] for m in dead) == [2, 5]
    assert {m["MessageAttributes"]["correlation_id"]["StringValue"] for m in dead} == {"cid-2", "cid-5"}
    assert all(m["Attributes"]["ApproximateReceiveCount"] >= "2" for m in dead)
    assert queue_depth(boto3.client("sqs"), queue) == 0
    assert fn.environments == 1, "partial failures keep the environment warm"


def test_a_timed_out_invocation_leaves_its_whole_batch_to_reappear(runtime_aws, make_function) -> None:
    queue, dlq = make_queue(max_receive=2, visibility=1)
    send(queue, {"id": "healthy"}, {"id": "slow", "sleep": 5})
    fn = make_function("sqs_consumer", timeout=1)
    stats = SqsEventSource(fn, queue).run_until_empty(timeout=60)
    assert [r.status for r in stats.results] == ["timeout", "timeout"]
    assert stats.deleted == 0 and stats.function_errors == 2
    assert all(e.startswith("Sandbox.Timedout: ") for e in stats.errors)
    # the healthy message shared its batch's fate, as on Lambda: both were received twice, then dead-lettered
    assert sorted(json.loads(m["Body"])["id"] for m in read_queue(dlq)) == ["healthy", "slow"]
    assert fn.environments == 2, "each timeout killed its environment"


def test_a_malformed_partial_response_fails_the_whole_batch(runtime_aws, make_function) -> None:
    queue, dlq = make_queue(max_receive=1, visibility=1)
    send(queue, {"id": 1}, {"id": 2})
    stats = SqsEventSource(make_function("bad_partial_response"), queue).run_until_empty(timeout=30)
    assert stats.deleted == 0 and stats.function_errors == 1
    assert stats.errors[0].startswith("invalid batchItemFailures response")
    assert sorted(json.loads(m["Body"])["id"] for m in read_queue(dlq)) == [1, 2]


def test_batch_size_and_batching_window(runtime_aws, make_function) -> None:
    queue, _ = make_queue(visibility=30)
    send(queue, *[{"id": i} for i in range(25)])
    fn = make_function("counter")
    esm = SqsEventSource(fn, queue, batch_size=20, maximum_batching_window=1)
    stats = esm.run_until_empty(timeout=30)
    assert [len(r.payload["event"]["Records"]) for r in stats.results] == [20, 5]
    record = stats.results[0].payload["event"]["Records"][0]
    assert record["eventSource"] == "aws:sqs" and record["eventSourceARN"] == esm.queue_arn
    assert record["messageAttributes"]["correlation_id"]["stringValue"].startswith("cid-")
    assert stats.deleted == 25
    # within the window, a batch waits for messages that arrive late
    send(queue, {"id": "early"})
    threading.Timer(0.3, lambda: send(queue, {"id": "late"})).start()
    started = time.monotonic()
    batch = esm.gather()
    assert time.monotonic() - started >= 0.9
    assert sorted(json.loads(m["Body"])["id"] for m in batch) == ["early", "late"]
    with pytest.raises(ValueError, match="needs a maximum_batching_window"):
        SqsEventSource(fn, queue, batch_size=50)


def test_fifo_keeps_each_groups_order_and_holds_a_group_back_while_it_is_in_flight(
    runtime_aws, make_function
) -> None:
    queue, dlq = make_queue(fifo=True, max_receive=3, visibility=3)
    send(queue, {"id": 1}, {"id": 2, "fail_first": True}, {"id": 3}, group="g1")
    send(queue, {"id": 4}, {"id": 5}, group="g2")
    fn = make_function("fifo_consumer")
    esm = SqsEventSource(fn, queue, batch_size=10)
    assert esm.run_once()
    first = esm.stats.results[0]
    assert [ln for ln in first.lines if ln.startswith("processed")] == [
        "processed 1 of g1",
        "processed 4 of g2",
        "processed 5 of g2",
    ]
    assert len(first.payload["batchItemFailures"]) == 2  # 2 failed, 3 held back behind it
    # g1 has messages in flight: a new g1 message waits for them; g2's does not
    send(queue, {"id": 6}, group="g1")
    send(queue, {"id": 7}, group="g2")
    assert esm.run_once()
    assert [ln for ln in esm.stats.results[1].lines if ln.startswith("processed")] == ["processed 7 of g2"]
    esm.run_until_empty(timeout=30)
    processed = [ln for r in esm.stats.results for ln in r.lines if ln.startswith("processed")]
    g1 = [ln.split()[1] for ln in processed if ln.endswith("g1")]
    assert g1 == ["1", "2", "3", "6"], processed
    assert read_queue(dlq) == []
    with pytest.raises(ValueError, match="FIFO"):
        SqsEventSource(fn, queue, batch_size=10, maximum_batching_window=1)
