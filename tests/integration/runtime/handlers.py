"""Handlers the runtime tests run under ``awslambdaric`` (``tests.integration.runtime.handlers.<name>``)."""

from __future__ import annotations

import json
import logging
import os
import resource
import sys
import time
from typing import Any

from observe import get_logger, observed
from observe.batch import process_sqs_batch

INIT_PID = os.getpid()
INVOCATIONS = 0
print(f"init of pid {INIT_PID}")

log = get_logger("tests.runtime")

LAMBDA_VARIABLES = (
    "AWS_LAMBDA_FUNCTION_NAME",
    "AWS_LAMBDA_FUNCTION_VERSION",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
    "AWS_LAMBDA_LOG_GROUP_NAME",
    "AWS_LAMBDA_LOG_STREAM_NAME",
    "AWS_LAMBDA_LOG_FORMAT",
    "AWS_LAMBDA_LOG_LEVEL",
    "AWS_LAMBDA_INITIALIZATION_TYPE",
    "AWS_LAMBDA_RUNTIME_API",
    "AWS_REGION",
    "AWS_EXECUTION_ENV",
    "LAMBDA_TASK_ROOT",
    "_HANDLER",
    "_X_AMZN_TRACE_ID",
    "CALLER_ONLY",
    "GREETING",
)


def counter(event: Any, context: Any) -> dict[str, Any]:
    """What the process and the context look like from inside."""
    global INVOCATIONS
    INVOCATIONS += 1
    return {
        "pid": os.getpid(),
        "init_pid": INIT_PID,
        "invocations": INVOCATIONS,
        "event": event,
        "request_id": context.aws_request_id,
        "function_arn": context.invoked_function_arn,
        "memory_limit_in_mb": context.memory_limit_in_mb,
        "remaining_ms": context.get_remaining_time_in_millis(),
        "client_context": getattr(context.client_context, "custom", None),
        "cognito_identity_id": context.identity.cognito_identity_id,
        "env": {k: os.environ.get(k) for k in LAMBDA_VARIABLES},
        "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,  # what observe reports
    }


def sleeper(event: Any, context: Any) -> str:
    print(f"sleeping {event['seconds']} s")
    time.sleep(event["seconds"])
    return "awake"


def hog(event: Any, context: Any) -> int:
    """Allocates (and touches) 8 MB at a time until the memory size stops it."""
    chunks = []
    while True:
        chunks.append(b"x" * (8 << 20))
        if len(chunks) > 10_000:
            return len(chunks)


def raiser(event: Any, context: Any) -> None:
    raise ValueError(f"bad input {event.get('n')}")


def exits(event: Any, context: Any) -> None:
    print("about to exit")
    sys.exit(event.get("code", 2))


@observed(pipeline="runtime-test", service="runtime-test")
def observed_handler(event: Any, context: Any) -> dict[str, Any]:
    """observe's logger, a library's stdlib logger, a print: each line exactly once."""
    log.info("observe line", n=event.get("n"))
    logging.getLogger("some.library").warning("library warning %s", event.get("n"))
    print(f"plain print {event.get('n')}")
    return {"ok": True}


def _record(record: Any) -> None:
    body = json.loads(record["body"])
    if body.get("fail"):
        raise ValueError(f"message {body['id']} fails")
    if body.get("sleep"):
        time.sleep(body["sleep"])


@observed(pipeline="runtime-test", service="sqs-consumer")
def sqs_consumer(event: Any, context: Any) -> dict[str, Any]:
    """Fails the messages whose body says so (partial batch response); sleeps when told."""
    return process_sqs_batch(event, _record)


def bad_partial_response(event: Any, context: Any) -> dict[str, Any]:
    return {"batchItemFailures": [{"itemIdentifier": "not-a-message-of-this-batch"}]}


def fifo_consumer(event: Any, context: Any) -> dict[str, Any]:
    """A FIFO consumer: after a failure, the failed message and every later one of its group go
    back (so the group's order holds). A body with ``fail_first`` fails on its first receive."""
    failed: list[str] = []
    blocked: set[str] = set()
    for record in event["Records"]:
        group = record["attributes"]["MessageGroupId"]
        body = json.loads(record["body"])
        first = record["attributes"]["ApproximateReceiveCount"] == "1"
        if group in blocked or (body.get("fail_first") and first):
            blocked.add(group)
            failed.append(record["messageId"])
            continue
        print(f"processed {body['id']} of {group}")
    return {"batchItemFailures": [{"itemIdentifier": m} for m in failed]}


def spawner(event: Any, context: Any) -> int:
    """Starts a child process that outlives the invocation (it inherits stdout)."""
    import subprocess

    return subprocess.Popen(["sleep", "60"]).pid
