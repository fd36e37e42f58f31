"""Run the pipeline off AWS Lambda: create its resources and play the SQS event source mapping.

Used by the demo, the benchmark and the end-to-end tests against moto. :func:`drain` does what
Lambda's SQS poller does: receive up to ``batch_size`` messages, hand them to the worker as a
Lambda SQS event, delete the ones not reported in ``batchItemFailures``, and leave the rest (and
everything, if the invocation died) to reappear after the visibility timeout; the queue's
redrive policy moves a message to the DLQ after ``maxReceiveCount`` receives.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

ACCOUNT = "123456789012"


@dataclass
class LocalContext:
    """The parts of a Lambda context object handlers and ``observed`` read."""

    function_name: str = "ingest-worker"
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 512
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    invoked_function_arn: str = f"arn:aws:lambda:ap-southeast-1:{ACCOUNT}:function:ingest-worker"
    log_group_name: str = "/aws/lambda/ingest-worker"
    log_stream_name: str = "local"

    def get_remaining_time_in_millis(self) -> int:
        return 900_000


@dataclass
class Resources:
    """Names and URLs of what :func:`create_resources` made."""

    table: str
    bucket: str
    queue_url: str
    dlq_url: str
    queue_arn: str
    #: the drift baselines table (``BASELINE_TABLE``), when one was asked for
    baseline_table: str | None = None


def create_resources(
    *,
    table: str = "ingest-state",
    bucket: str = "ingest-backup",
    queue: str = "ingest-tasks",
    max_receive_count: int = 5,
    visibility_timeout: int = 30,
    region: str = "ap-southeast-1",
    baseline_table: str | None = None,
) -> Resources:
    """The DynamoDB table (``pk``), the versioned bucket, the queue and its DLQ (redrive policy);
    with ``baseline_table``, also the drift baselines table (``pk`` string, as terraform makes it)."""
    import boto3

    ddb = boto3.client("dynamodb", region_name=region)
    for name in (table, baseline_table):
        if name:
            ddb.create_table(
                TableName=name,
                KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                BillingMode="PAY_PER_REQUEST",
            )
    s3 = boto3.client("s3", region_name=region)
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": region})
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    sqs = boto3.client("sqs", region_name=region)
    dlq_url = sqs.create_queue(QueueName=f"{queue}-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    queue_url = sqs.create_queue(
        QueueName=queue,
        Attributes={
            "VisibilityTimeout": str(visibility_timeout),
            "RedrivePolicy": json.dumps(
                {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(max_receive_count)}
            ),
        },
    )["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    return Resources(table, bucket, queue_url, dlq_url, queue_arn, baseline_table)


def lambda_sqs_record(
    message: dict[str, Any], queue_arn: str, region: str = "ap-southeast-1"
) -> dict[str, Any]:
    """An SQS ``receive_message`` message in the shape Lambda hands to a handler."""
    attrs = {
        name: {
            "stringValue": v.get("StringValue"),
            "stringListValues": [],
            "binaryListValues": [],
            "dataType": v.get("DataType", "String"),
        }
        for name, v in (message.get("MessageAttributes") or {}).items()
    }
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": message.get("Attributes") or {},
        "messageAttributes": attrs,
        "md5OfBody": message.get("MD5OfBody"),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }


@dataclass
class DrainStats:
    """What :func:`drain` saw."""

    invocations: int = 0
    died: int = 0
    deleted: int = 0
    reported_failed: int = 0
    polls: int = 0
    errors: list[str] = field(default_factory=list)  # what each failed invocation raised


def queue_depth(sqs: Any, queue_url: str) -> int:
    """Visible + in-flight (+ delayed) messages of a queue."""
    names = [
        "ApproximateNumberOfMessages",
        "ApproximateNumberOfMessagesNotVisible",
        "ApproximateNumberOfMessagesDelayed",
    ]
    attrs = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=names)["Attributes"]
    return sum(int(attrs.get(n, 0)) for n in names)


def queue_empty(sqs: Any, queue_url: str, *, settle: float = 0.05) -> bool:
    """Whether the queue holds nothing, visible, in flight or delayed.

    SQS (and moto) count the visible and the in-flight messages at two instants, so a message
    whose visibility timeout ends between them is in neither count: a zero must be seen twice,
    ``settle`` seconds apart, before the queue is taken as drained.
    """
    if queue_depth(sqs, queue_url):
        return False
    time.sleep(settle)
    return queue_depth(sqs, queue_url) == 0


def drain(
    handler: Callable[[dict[str, Any], Any], Any],
    queue_url: str,
    queue_arn: str,
    *,
    batch_size: int = 10,
    timeout: float = 300.0,
    poll_wait: float = 0.2,
    before_invoke: Callable[[int], None] | None = None,
) -> DrainStats:
    """Invoke ``handler`` on batches from the queue until it is empty (or ``timeout`` passes).

    An invocation that raises anything (even ``SystemExit``: a worker that died) returns no
    response, so none of its messages are deleted; SQS redelivers them after the visibility
    timeout, as it would after a crashed Lambda. ``before_invoke(n)`` runs before the n-th
    invocation (1-based): tests use it to inject faults at chosen points.
    """
    import boto3

    sqs = boto3.client("sqs")
    stats = DrainStats()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        stats.polls += 1
        messages = sqs.receive_message(
            QueueUrl=queue_url,
            MaxNumberOfMessages=batch_size,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
            WaitTimeSeconds=0,
        ).get("Messages", [])
        if not messages:
            if queue_empty(sqs, queue_url):
                return stats
            time.sleep(poll_wait)  # the rest is in flight: wait for visibility timeouts
            continue
        event = {"Records": [lambda_sqs_record(m, queue_arn) for m in messages]}
        stats.invocations += 1
        if before_invoke is not None:
            before_invoke(stats.invocations)
        try:
            response = handler(event, LocalContext())
        except BaseException as exc:
            stats.died += 1
            stats.errors.append(f"{type(exc).__name__}: {exc}")
            continue
        failed = {f["itemIdentifier"] for f in (response or {}).get("batchItemFailures", [])}
        stats.reported_failed += len(failed)
        done = [m for m in messages if m["MessageId"] not in failed]
        for offset in range(0, len(done), 10):
            chunk = done[offset : offset + 10]
            sqs.delete_message_batch(
                QueueUrl=queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(chunk)],
            )
        stats.deleted += len(done)
    raise TimeoutError(f"queue {queue_url} not drained within {timeout:g}s")


def read_queue(queue_url: str, *, max_messages: int = 10_000) -> list[dict[str, Any]]:
    """Every message currently visible on a queue (e.g. the DLQ), with attributes; not deleted."""
    import boto3

    sqs = boto3.client("sqs")
    seen: dict[str, dict[str, Any]] = {}
    empty = 0
    while len(seen) < max_messages and empty < 2:
        batch = sqs.receive_message(
            QueueUrl=queue_url,
            MaxNumberOfMessages=10,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
            VisibilityTimeout=30,
            WaitTimeSeconds=0,
        ).get("Messages", [])
        empty = 0 if batch else empty + 1
        for m in batch:
            seen[m["MessageId"]] = m
    return list(seen.values())
