"""Demo of the observe core: one handler, four kinds of event, and what it writes.

Runs in-process (no AWS needed): API Gateway request, SQS batch with one bad record, an
EventBridge schedule, and a failing invocation. Prints the log lines and EMF documents readably,
then the raw JSON as CloudWatch receives it for one of them.
"""

from __future__ import annotations

import io
import json
from collections.abc import Mapping
from typing import Any

from demo.show import heading, render
from observe import get_logger, metric, observed
from observe import logging as olog
from observe.batch import process_sqs_batch
from observe.testing import FakeLambdaContext

log = get_logger("demo.handler")


@observed(pipeline="demo", service="orders-api")
def api_handler(event: dict, context: object) -> dict:
    """An HTTP handler: the caller's x-correlation-id follows every line."""
    body = json.loads(event.get("body") or "{}")
    log.info("order received", items=len(body.get("items", [])), customer_email=body.get("email"))
    metric("RecordsFetched", len(body.get("items", [])))
    return {"statusCode": 201, "body": "{}"}


def _handle_record(record: Mapping[str, Any]) -> None:
    payload = json.loads(record["body"])
    if "id" not in payload:
        raise ValueError("record has no 'id' field")
    log.info("record processed", record_id=payload["id"])
    metric("RecordsUpserted", 1)


@observed(pipeline="demo", service="orders-worker")
def sqs_handler(event: dict, context: object) -> dict:
    """An SQS consumer: each record under its own correlation id; a bad one fails alone."""
    return process_sqs_batch(event, _handle_record)


@observed(pipeline="demo", service="orders-scheduler")
def schedule_handler(event: dict, context: object) -> dict:
    """A cron-triggered planner."""
    log.info("planning", window=event["time"])
    metric("TasksPlanned", 3)
    return {"planned": 3}


@observed(pipeline="demo", service="orders-worker")
def failing_handler(event: dict, context: object) -> None:
    """A handler that raises: one error line, metrics still written, exception re-raised."""
    log.debug("about to call the source", nric="S1234567D")
    raise ConnectionError("source API unreachable")


EVENTS = {
    "API Gateway HTTP API": (
        api_handler,
        {
            "version": "2.0",
            "routeKey": "POST /orders",
            "headers": {"X-Correlation-Id": "web-7f3a"},
            "requestContext": {"requestId": "apigw-req-1", "http": {"method": "POST"}},
            "body": json.dumps({"items": [1, 2, 3], "email": "jane@example.sg"}),
        },
    ),
    "SQS batch (3 records, one malformed)": (
        sqs_handler,
        {
            "Records": [
                {
                    "eventSource": "aws:sqs",
                    "messageId": f"msg-{i}",
                    "body": json.dumps(body),
                    "messageAttributes": {
                        "correlation_id": {"stringValue": f"task-{i}", "dataType": "String"}
                    },
                }
                for i, body in enumerate([{"id": 1}, {"name": "no id"}, {"id": 3}])
            ]
        },
    ),
    "EventBridge schedule": (
        schedule_handler,
        {
            "id": "eb-evt-42",
            "detail-type": "Scheduled Event",
            "source": "aws.events",
            "time": "2026-11-26T04:00:00Z",
            "detail": {},
        },
    ),
    "A failing invocation": (failing_handler, {"correlation_id": "retry-9"}),
}


def main() -> None:
    """Run the four invocations and show what observe wrote for each."""
    heading("observe core: one decorator, four kinds of event")
    raw_example = ""
    for title, (handler, event) in EVENTS.items():
        buffer = io.StringIO()
        olog.configure(level="DEBUG", stream=buffer)
        try:
            handler(event, FakeLambdaContext(function_name=handler.__name__))
        except ConnectionError as exc:
            print(f"\n-- {title}  (the handler raised {type(exc).__name__}, re-raised unchanged)")
        else:
            print(f"\n-- {title}")
        render(buffer.getvalue())
        raw_example = raw_example or buffer.getvalue()
    olog.reset()
    heading("raw lines as CloudWatch Logs receives them (first invocation)")
    for line in raw_example.splitlines():
        print("  " + line)


if __name__ == "__main__":
    main()
