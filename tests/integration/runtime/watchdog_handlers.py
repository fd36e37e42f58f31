"""Handlers for the deadline watchdog under ``awslambdaric``
(``tests.integration.runtime.watchdog_handlers.<name>``)."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from observe import bind, get_logger, observed
from observe.batch import process_sqs_batch

log = get_logger("tests.runtime.watchdog")


def _record(record: Any) -> None:
    body = json.loads(record["body"])
    log.debug("record started", message_id=record["messageId"], sleep=body.get("sleep", 0))
    time.sleep(body.get("sleep", 0))


@observed(pipeline="runtime-test", service="watchdog-test")
def sqs_sleeper(event: Any, context: Any) -> dict[str, Any]:
    """An SQS consumer whose records sleep as long as their body says: one of them past the timeout."""
    bind(batch_size=len(event["Records"]))
    return process_sqs_batch(event, _record)


@observed(pipeline="runtime-test", service="watchdog-test")
async def async_sleeper(event: Any, context: Any) -> str:
    log.debug("sleeping", seconds=event["seconds"])
    await asyncio.sleep(event["seconds"])
    return "awake"


def async_entry(event: Any, context: Any) -> str:
    """The Lambda runtime calls handlers synchronously: an async one runs in its own loop."""
    return asyncio.run(async_sleeper(event, context))
