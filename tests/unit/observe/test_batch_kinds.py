"""Every batch kind: FIFO groups, stream checkpoints, Kafka/MQ whole-batch failure, throttles,
wrong kinds, per-record correlation ids and the in-flight list."""

from __future__ import annotations

import asyncio
import base64
import json
import threading
from pathlib import Path

import pytest

from observe import batch, correlation, observed
from observe.batch import (
    BatchFailedError,
    BatchKindError,
    aprocess_batch,
    aprocess_kafka_batch,
    aprocess_kinesis_batch,
    aprocess_sqs_batch,
    in_flight,
    process_batch,
    process_dynamodb_batch,
    process_kafka_batch,
    process_kinesis_batch,
    process_mq_batch,
    process_sqs_batch,
)
from observe.telemetry import Throttle, ThrottledError

EVENTS = Path(__file__).parents[2] / "fixtures" / "events"


def fixture(name: str) -> dict:
    return json.loads((EVENTS / f"{name}.json").read_text())


def fifo_event(groups: list[str]) -> dict:
    """One FIFO record per entry of ``groups`` (its message group), in that order."""
    return {
        "Records": [
            {
                "eventSource": "aws:sqs",
                "messageId": f"m{i}",
                "body": f"{g}:{i}",
                "attributes": {"MessageGroupId": g, "SequenceNumber": str(1000 + i)},
                "messageAttributes": {},
                "eventSourceARN": "arn:aws:sqs:ap-southeast-1:123456789012:q.fifo",
            }
            for i, g in enumerate(groups)
        ]
    }


def kinesis_event(shards: list[str]) -> dict:
    return {
        "Records": [
            {
                "eventSource": "aws:kinesis",
                "eventID": f"{shard}:{100 + i}",
                "kinesis": {"sequenceNumber": str(100 + i), "data": base64.b64encode(b"x").decode()},
            }
            for i, shard in enumerate(shards)
        ]
    }


def dynamodb_event(n: int) -> dict:
    return {
        "Records": [
            {"eventSource": "aws:dynamodb", "eventID": f"e{i}", "dynamodb": {"SequenceNumber": str(500 + i)}}
            for i in range(n)
        ]
    }


def kafka_event(partitions: dict[str, int]) -> dict:
    records = {}
    for key, count in partitions.items():
        topic, part = key.rsplit("-", 1)
        records[key] = [
            {"topic": topic, "partition": int(part), "offset": o, "headers": []} for o in range(count)
        ]
    return {"eventSource": "aws:kafka", "eventSourceArn": "arn:aws:kafka:r:1:cluster/c/x", "records": records}


def ids(response: dict) -> list[str]:
    return [f["itemIdentifier"] for f in response["batchItemFailures"]]


# --- SQS FIFO ------------------------------------------------------------------------------------


def test_fifo_group_stops_at_its_first_failure_and_other_groups_carry_on(observe_capture) -> None:
    event = fifo_event(["a", "b", "a", "c", "a", "b", "c"])  # m0..m6
    seen: list[str] = []

    def handle(record):
        seen.append(record["messageId"])
        if record["messageId"] == "m2":  # group a's second message
            raise ValueError("bad")

    response = process_sqs_batch(event, handle)
    assert seen == ["m0", "m1", "m2", "m3", "m5", "m6"]  # m4 (a, after the failure) never runs
    assert ids(response) == ["m2", "m4"]  # the failed message and the later one of its group
    (error,) = [x for x in observe_capture.logs if x["level"] == "error"]
    assert (
        error["message_group_id"] == "a" and error["batch_kind"] == "sqs-fifo" and error["message_id"] == "m2"
    )
    (warning,) = [x for x in observe_capture.logs if x["level"] == "warning"]
    assert "message group stopped" in warning["message"] and warning["messages_returned"] == 1
    assert warning["correlation_id"] == "m2"


def test_a_fair_standard_queue_with_message_groups_is_not_treated_as_fifo() -> None:
    event = fifo_event(["a", "a", "a"])
    for record in event["Records"]:
        record["eventSourceARN"] = "arn:aws:sqs:ap-southeast-1:123456789012:fair-queue"
    seen = []

    def handle(record):
        seen.append(record["messageId"])
        if record["messageId"] == "m0":
            raise ValueError("bad")

    assert ids(process_sqs_batch(event, handle)) == ["m0"] and seen == ["m0", "m1", "m2"]


def test_fifo_failure_at_a_groups_last_message_writes_no_group_warning(observe_capture) -> None:
    def handle(record):
        if record["messageId"] == "m1":
            raise ValueError("bad")

    assert ids(process_sqs_batch(fifo_event(["a", "a", "b"]), handle)) == ["m1"]
    assert not [x for x in observe_capture.logs if x["level"] == "warning"]


async def test_async_fifo_runs_groups_concurrently_each_in_order(observe_capture) -> None:
    groups = ["a", "b", "c", "a", "b", "c", "a", "b", "c", "a"]
    event = fifo_event(groups)
    running: dict[str, int] = {}
    order: dict[str, list[int]] = {}
    overlap_in_group = []
    active = 0
    peak = 0

    async def handle(record):
        nonlocal active, peak
        group = record["attributes"]["MessageGroupId"]
        if running.get(group):
            overlap_in_group.append(record["messageId"])
        running[group] = running.get(group, 0) + 1
        active += 1
        peak = max(peak, active)
        try:
            await asyncio.sleep(0.005)
            order.setdefault(group, []).append(int(record["messageId"][1:]))
            if record["messageId"] == "m4":  # group b's second
                raise RuntimeError("bad")
        finally:
            running[group] -= 1
            active -= 1

    response = await aprocess_sqs_batch(event, handle, concurrency=3)
    assert not overlap_in_group  # never two records of one group at once
    assert peak == 3  # but the three groups ran side by side
    assert order["a"] == [0, 3, 6, 9] and order["c"] == [2, 5, 8]
    assert order["b"] == [1, 4]  # stopped at m4: m7 never ran
    assert ids(response) == ["m4", "m7"]


async def test_async_fifo_throttle_returns_everything_unfinished(observe_capture) -> None:
    event = fifo_event(["a", "b", "a", "b", "a", "b"])
    done: list[str] = []

    async def handle(record):
        if record["messageId"] == "m2":
            raise ThrottledError(Throttle("http-429", "429", 5.0))
        await asyncio.sleep(0.001)
        done.append(record["messageId"])

    response = await aprocess_sqs_batch(event, handle, concurrency=2)
    assert set(ids(response)) == {f"m{i}" for i in range(6)} - set(done)
    assert "m2" in ids(response) and "m4" not in done  # nothing of group a after the throttle
    (warning,) = [x for x in observe_capture.logs if x["level"] == "warning"]
    assert warning["message"].startswith("throttled") and warning["message_group_id"] == "a"


# --- Kinesis / DynamoDB Streams: checkpoints ---------------------------------------------------


def test_kinesis_failure_reports_its_sequence_number_and_stops_only_that_shard(observe_capture) -> None:
    event = kinesis_event(["s1", "s2", "s1", "s2", "s1", "s2"])  # seq 100..105
    seen: list[str] = []

    def handle(record):
        seen.append(record["kinesis"]["sequenceNumber"])
        if record["kinesis"]["sequenceNumber"] == "102":
            raise ValueError("bad")

    response = process_kinesis_batch(event, handle)
    assert ids(response) == ["102"]  # Lambda retries shard s1 from 102 (104 included)
    assert seen == ["100", "101", "102", "103", "105"]  # 104 (s1, after the failure) not processed
    (warning,) = [x for x in observe_capture.logs if x["level"] == "warning"]
    assert "shard stopped" in warning["message"] and "later records are not processed" in warning["message"]
    assert warning["shard_id"] == "s1" and warning["sequence_number"] == "102"
    assert warning["records_not_processed"] == 1


def test_kinesis_two_shards_failing_report_one_checkpoint_each() -> None:
    def handle(record):
        if record["kinesis"]["sequenceNumber"] in ("100", "103"):
            raise ValueError("bad")

    assert ids(process_kinesis_batch(kinesis_event(["s1", "s2", "s1", "s2"]), handle)) == ["100", "103"]


async def test_async_kinesis_keeps_shard_order_and_checkpoint() -> None:
    event = kinesis_event(["s1"] * 5)
    order: list[str] = []

    async def handle(record):
        await asyncio.sleep(0.001)
        order.append(record["kinesis"]["sequenceNumber"])
        if record["kinesis"]["sequenceNumber"] == "103":
            raise ValueError("bad")

    response = await aprocess_kinesis_batch(event, handle, concurrency=5)
    assert order == ["100", "101", "102", "103"]
    assert ids(response) == ["103"]


def test_dynamodb_stream_stops_at_the_first_failure(observe_capture) -> None:
    seen: list[str] = []

    def handle(record):
        seen.append(record["eventID"])
        if record["eventID"] == "e1":
            raise KeyError("missing")

    response = process_dynamodb_batch(dynamodb_event(4), handle)
    assert ids(response) == ["501"] and seen == ["e0", "e1"]
    (warning,) = [x for x in observe_capture.logs if x["level"] == "warning"]
    assert warning["records_not_processed"] == 2 and warning["batch_kind"] == "dynamodb"


async def test_async_dynamodb_all_good() -> None:
    async def handle(record):
        await asyncio.sleep(0)

    assert await aprocess_batch(dynamodb_event(3), handle, "dynamodb", concurrency=2) == {
        "batchItemFailures": []
    }


# --- Kafka and MQ: no partial batch response -------------------------------------------------


def test_kafka_failure_fails_the_whole_batch_and_starts_nothing_after(observe_capture) -> None:
    event = kafka_event({"orders-0": 3, "orders-1": 2})
    seen: list[str] = []

    def handle(record):
        seen.append(f"{record['partition']}:{record['offset']}")
        if record["offset"] == 1 and record["partition"] == 0:
            raise ValueError("bad")

    with pytest.raises(BatchFailedError) as info:
        process_kafka_batch(event, handle)
    assert seen == ["0:0", "0:1"]
    assert info.value.record_id == "orders-0:1" and info.value.processed == 1 and info.value.total == 5
    assert isinstance(info.value.__cause__, ValueError)
    assert "delivers it again whole" in str(info.value)
    (warning,) = [x for x in observe_capture.logs if x["level"] == "warning"]
    assert "no partial batch response" in warning["message"] and warning["records_not_processed"] == 4


def test_kafka_success_reports_nothing() -> None:
    seen = []
    assert process_kafka_batch(kafka_event({"t-0": 2}), seen.append) == {"batchItemFailures": []}
    assert len(seen) == 2


async def test_async_kafka_lets_in_flight_records_finish_then_fails() -> None:
    event = kafka_event({"t-0": 3, "t-1": 3})
    finished: list[str] = []

    async def handle(record):
        if (record["partition"], record["offset"]) == (0, 0):
            await asyncio.sleep(0.002)
            raise ValueError("bad")
        await asyncio.sleep(0.02)
        finished.append(f"{record['partition']}:{record['offset']}")

    with pytest.raises(BatchFailedError):
        await aprocess_kafka_batch(event, handle, concurrency=2)
    assert finished == ["1:0"]  # in flight when the failure came: finished, not cancelled; nothing new


def test_kafka_throttle_fails_the_batch_as_a_throttle(observe_capture, lambda_context) -> None:
    @observed(pipeline="p")
    def handler(event, context):
        return process_kafka_batch(event, raise_throttle)

    def raise_throttle(record):
        raise ThrottledError(Throttle("aws-throttling", "ThrottlingException", None))

    with pytest.raises(BatchFailedError):
        handler(kafka_event({"t-0": 2}), lambda_context)
    assert observe_capture.metric_values("Throttles", source="aws-throttling") == [1]  # counted once
    summary = observe_capture.logs[-1]
    assert summary["message"] == "invocation failed" and summary["throttle_source"] == "aws-throttling"


@pytest.mark.parametrize("name", ["activemq", "rabbitmq_batch"])
def test_mq_failure_fails_the_batch(name: str) -> None:
    seen = []

    def handle(message):
        seen.append(message)
        raise ValueError("bad")

    with pytest.raises(BatchFailedError) as info:
        process_mq_batch(fixture(name), handle)
    assert len(seen) == 1 and info.value.processed == 0 and info.value.total == 2


def test_mq_messages_run_under_their_correlation_ids() -> None:
    seen = []
    process_mq_batch(fixture("activemq_single_property"), lambda m: seen.append(correlation.get()))
    process_mq_batch(fixture("rabbitmq_correlation_header"), lambda m: seen.append(correlation.get()))
    assert seen == ["order-flow-3", "pizza-order-5"]


# --- every kind: throttles, wrong kinds, correlation ------------------------------------------


KIND_EVENTS = {
    "sqs": lambda: fixture("sqs_batch"),
    "kinesis": lambda: kinesis_event(["s1", "s1", "s1"]),
    "dynamodb": lambda: dynamodb_event(3),
    "kafka": lambda: kafka_event({"t-0": 3}),
    "mq": lambda: fixture("activemq"),
}


@pytest.mark.parametrize("kind", batch.KINDS)
def test_a_throttle_stops_every_kind_at_once(kind: str, observe_capture) -> None:
    calls = []

    def handle(record):
        calls.append(record)
        raise ThrottledError(Throttle("http-429", "429", 2.0))

    event = KIND_EVENTS[kind]()
    if kind in ("kafka", "mq"):
        with pytest.raises(BatchFailedError) as info:
            process_batch(event, handle, kind)
        assert isinstance(info.value.__cause__, ThrottledError)
    else:
        response = process_batch(event, handle, kind)
        assert response["batchItemFailures"]
    assert len(calls) == 1
    (warning,) = [x for x in observe_capture.logs if x["level"] == "warning"]
    assert warning["message"].startswith("throttled: stopping this batch") and warning["retry_after_s"] == 2.0
    assert observe_capture.metric_values("Throttles", source="http-429") == [1]


@pytest.mark.parametrize(
    "helper,event,named",
    [
        (process_sqs_batch, "kinesis", "'kinesis' event"),
        (process_sqs_batch, "sns", "'sns' event"),
        (process_sqs_batch, "eventbridge", "'eventbridge' event"),
        (process_sqs_batch, "dynamodb_streams", "use process_dynamodb_batch"),
        (process_kinesis_batch, "sqs_batch", "use process_sqs_batch"),
        (process_dynamodb_batch, "kinesis", "use process_kinesis_batch"),
        (process_kafka_batch, "sqs_batch", "'sqs' event"),
        (process_mq_batch, "kafka_msk", "use process_kafka_batch"),
        (process_kafka_batch, "rabbitmq", "use process_mq_batch"),
    ],
)
def test_an_event_of_another_kind_fails_at_once_naming_what_it_got(helper, event: str, named: str) -> None:
    calls = []
    with pytest.raises(BatchKindError, match=r"not an .* batch event: got") as info:
        helper(fixture(event), calls.append)
    assert named in str(info.value) and not calls


def test_sns_records_in_an_sqs_helper_name_the_field() -> None:
    with pytest.raises(BatchKindError, match=r"Records\[0\]\.eventSource is 'aws:sns', not 'aws:sqs'"):
        process_sqs_batch(fixture("sns"), lambda r: None)


def test_a_mixed_batch_is_refused_before_any_record_runs() -> None:
    event = fixture("sqs_batch")
    event["Records"].append(fixture("kinesis")["Records"][0])
    calls = []
    with pytest.raises(BatchKindError, match=r"Records\[2\]"):
        process_sqs_batch(event, calls.append)
    assert not calls


def test_hand_built_records_without_an_event_source_are_taken_by_their_shape() -> None:
    seen = []
    process_sqs_batch({"Records": [{"messageId": "m1", "body": "{}"}]}, seen.append)
    process_kinesis_batch({"Records": [{"kinesis": {"sequenceNumber": "7"}}]}, seen.append)
    assert len(seen) == 2
    with pytest.raises(BatchKindError, match=r"Records\[0\]\.eventSource is None"):
        process_sqs_batch({"Records": [{"kinesis": {"sequenceNumber": "7"}}]}, seen.append)


def test_a_record_without_its_id_is_refused() -> None:
    event = fixture("sqs_batch")
    del event["Records"][1]["messageId"]
    with pytest.raises(BatchKindError, match=r"Records\[1\] has no messageId"):
        process_sqs_batch(event, lambda r: None)
    event = kinesis_event(["s"])
    del event["Records"][0]["kinesis"]["sequenceNumber"]
    with pytest.raises(BatchKindError, match="sequenceNumber"):
        process_kinesis_batch(event, lambda r: None)


def test_unknown_kind_and_bad_concurrency() -> None:
    with pytest.raises(ValueError, match="unknown batch kind 'sns'"):
        process_batch(fixture("sns"), lambda r: None, "sns")
    with pytest.raises(ValueError, match="concurrency must be >= 1"):
        asyncio.run(aprocess_sqs_batch(fixture("sqs_batch"), lambda r: None, concurrency=0))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "kind,event,expected",
    [
        ("kinesis", "kinesis_single_envelope", ["click-stream-12"]),
        (
            "kinesis",
            "kinesis_single_binary",
            ["shardId-000000000006:49590338271490256608559692538361571095921575989136580004"],
        ),
        ("dynamodb", "dynamodb_streams_single", ["ingest-task-17"]),
        (
            "dynamodb",
            "dynamodb_streams",
            [
                "c4ca4238a0b923820dcc509a6f758401",
                "c4ca4238a0b923820dcc509a6f758402",
                "c4ca4238a0b923820dcc509a6f758403",
            ],
        ),
        ("kafka", "kafka_self_managed_single", ["pay-run-9"]),
        ("kafka", "kafka_msk", ["orders-0:15", "orders-0:16", "orders-1:7"]),
        ("sqs", "sqs_sns_envelope", ["fanout-881"]),
    ],
)
def test_each_record_runs_under_its_propagated_else_natural_id(
    kind: str, event: str, expected: list[str]
) -> None:
    seen = []
    process_batch(fixture(event), lambda r: seen.append(correlation.get()), kind)
    assert seen == expected


def test_a_record_without_any_id_gets_a_fresh_one() -> None:
    seen = []
    process_mq_batch(fixture("rabbitmq"), lambda m: seen.append(correlation.get()))
    assert len(seen) == 1 and seen[0] and len(seen[0]) == 36


# --- in flight ---------------------------------------------------------------------------------


def test_in_flight_lists_the_running_records_from_another_thread() -> None:
    snapshots: list[list[dict]] = []
    inside = threading.Event()
    release = threading.Event()

    def watcher() -> None:
        inside.wait(5)
        snapshots.append(in_flight())
        release.set()

    thread = threading.Thread(target=watcher)
    thread.start()

    def handle(record):
        if record["messageId"] == "m1":
            inside.set()
            release.wait(5)

    process_sqs_batch(fifo_event(["a", "b"]), handle)
    thread.join(5)
    (snapshot,) = snapshots
    assert [(x["batch_kind"], x["record_id"], x["correlation_id"]) for x in snapshot] == [
        ("sqs-fifo", "m1", "m1")
    ]
    assert snapshot[0]["running_ms"] >= 0
    assert in_flight() == []  # nothing left behind


async def test_in_flight_holds_every_concurrent_record_and_is_empty_after_a_throttle() -> None:
    seen: list[set[str]] = []
    event = {
        "Records": [
            {
                "eventSource": "aws:sqs",
                "messageId": f"m{i}",
                "messageAttributes": {"correlation_id": {"stringValue": f"c{i}"}},
            }
            for i in range(6)
        ]
    }

    async def handle(record):
        await asyncio.sleep(0.005)
        seen.append({x["correlation_id"] for x in in_flight()})
        if record["messageId"] == "m4":
            raise ThrottledError(Throttle("http-429", "429", None))
        await asyncio.sleep(0.05)

    await aprocess_sqs_batch(event, handle, concurrency=3)
    assert max(len(s) for s in seen) == 3 and seen[0] <= {"c0", "c1", "c2"}
    assert in_flight() == []  # cancelled records left the list too


def test_mixed_failures_in_a_standard_queue(observe_capture, lambda_context) -> None:
    event = {"Records": [{"eventSource": "aws:sqs", "messageId": f"m{i}", "body": str(i)} for i in range(8)]}

    def handle(record):
        if int(record["body"]) in (1, 4, 5):
            raise ValueError(f"bad {record['body']}")

    @observed(pipeline="p")
    def handler(event, context):
        return process_sqs_batch(event, handle)

    assert ids(handler(event, lambda_context)) == ["m1", "m4", "m5"]
    errors = [x for x in observe_capture.logs if x["level"] == "error"]
    assert [e["correlation_id"] for e in errors] == ["m1", "m4", "m5"]
    assert observe_capture.metric_values("BatchItemFailures") == [3]
