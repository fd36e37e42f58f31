"""SQS batches: per-record failure boundaries, correlation per record, stop at once on a throttle."""

from __future__ import annotations

import asyncio

import pytest

from observe import correlation, observed
from observe.batch import aprocess_sqs_batch, process_sqs_batch
from observe.telemetry import Throttle, ThrottledError


def sqs_event(n: int) -> dict:
    return {
        "Records": [
            {
                "eventSource": "aws:sqs",
                "messageId": f"m{i}",
                "body": str(i),
                "messageAttributes": {"correlation_id": {"stringValue": f"cid-{i}", "dataType": "String"}},
            }
            for i in range(n)
        ]
    }


def test_bad_record_fails_alone_with_its_correlation_id(observe_capture, lambda_context) -> None:
    seen: list[tuple[str, str | None]] = []

    def handle(record):
        seen.append((record["messageId"], correlation.get()))
        if record["body"] == "2":
            raise ValueError("malformed body")

    @observed(pipeline="ingest")
    def handler(event, context):
        return process_sqs_batch(event, handle)

    assert handler(sqs_event(5), lambda_context) == {"batchItemFailures": [{"itemIdentifier": "m2"}]}
    assert seen == [(f"m{i}", f"cid-{i}") for i in range(5)]
    errors = [line for line in observe_capture.logs if line["message"].startswith("record failed")]
    assert len(errors) == 1 and errors[0]["correlation_id"] == "cid-2" and errors[0]["message_id"] == "m2"
    assert observe_capture.metric_values("BatchItemFailures") == [1]


def test_throttle_stops_at_once_and_returns_the_rest(observe_capture, lambda_context) -> None:
    calls: list[str] = []

    def handle(record):
        calls.append(record["messageId"])
        if record["messageId"] == "m1":
            raise ThrottledError(Throttle("http-429", "429", 30.0))

    @observed(pipeline="ingest")
    def handler(event, context):
        return process_sqs_batch(event, handle)

    response = handler(sqs_event(4), lambda_context)
    assert calls == ["m0", "m1"]  # nothing after the throttle
    assert response == {"batchItemFailures": [{"itemIdentifier": f"m{i}"} for i in (1, 2, 3)]}
    warnings = [line for line in observe_capture.logs if line["level"] == "warning"]
    assert len(warnings) == 1
    assert warnings[0]["retry_after_s"] == 30.0 and warnings[0]["correlation_id"] == "cid-1"
    assert observe_capture.metric_values("Throttles", source="http-429") == [1]


async def test_async_concurrency_and_throttle_cancels_in_flight(observe_capture) -> None:
    started: list[str] = []
    finished: list[str] = []
    active = 0
    peak = 0

    async def handle(record):
        nonlocal active, peak
        started.append(record["messageId"])
        active += 1
        peak = max(peak, active)
        try:
            if record["messageId"] == "m3":
                await asyncio.sleep(0.01)
                raise ThrottledError(Throttle("aws-throttling", "ThrottlingException", None))
            await asyncio.sleep(0.05 if record["messageId"] != "m0" else 0.001)
            finished.append(record["messageId"])
        finally:
            active -= 1

    response = await aprocess_sqs_batch(sqs_event(10), handle, concurrency=4)
    failed = [f["itemIdentifier"] for f in response["batchItemFailures"]]
    (warning,) = [line for line in observe_capture.logs if line["level"] == "warning"]
    assert warning["correlation_id"] == "cid-3" and warning["message_id"] == "m3"
    assert peak <= 4
    assert "m0" in finished and "m0" not in failed
    assert set(failed) == {f"m{i}" for i in range(10)} - set(finished)
    assert len(started) < 10  # work stopped; not every record was started


async def test_async_failures_are_per_record() -> None:
    async def handle(record):
        if int(record["body"]) % 3 == 0:
            raise RuntimeError("bad")

    response = await aprocess_sqs_batch(sqs_event(7), handle, concurrency=3)
    assert [f["itemIdentifier"] for f in response["batchItemFailures"]] == ["m0", "m3", "m6"]


def test_not_an_sqs_event() -> None:
    with pytest.raises(ValueError, match="not an SQS batch event"):
        process_sqs_batch({"detail": {}}, lambda r: None)


def test_every_line_of_a_record_carries_its_record_id_and_only_its_own(
    observe_capture, lambda_context
) -> None:
    from observe import get_logger

    log = get_logger("tests.batch")

    async def handle(record):
        log.info("step one")
        await asyncio.sleep(0)  # the other records run in between
        log.info("step two")

    @observed(pipeline="ingest")
    async def handler(event, context):
        result = await aprocess_sqs_batch(event, handle, concurrency=3)
        log.info("after the batch")
        return result

    asyncio.run(handler(sqs_event(3), lambda_context))
    steps = [line for line in observe_capture.logs if line["message"].startswith("step")]
    assert len(steps) == 6
    assert all(line["record_id"] == "m" + line["correlation_id"].removeprefix("cid-") for line in steps)
    (after,) = [line for line in observe_capture.logs if line["message"] == "after the batch"]
    assert "record_id" not in after
