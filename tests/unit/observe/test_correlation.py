"""Correlation ids: extraction per event shape, safety checks, context isolation, propagation."""

from __future__ import annotations

import asyncio
import threading

import pytest

from observe import correlation


def apigw_v2(headers: dict[str, str]) -> dict:
    return {"version": "2.0", "headers": headers, "requestContext": {"requestId": "req-v2", "http": {}}}


def apigw_v1(headers: dict[str, str] | None) -> dict:
    return {"httpMethod": "GET", "headers": headers, "requestContext": {"requestId": "req-v1"}}


@pytest.mark.parametrize("name", ["x-correlation-id", "X-Correlation-Id", "X-CORRELATION-ID"])
def test_api_gateway_header_any_case(name: str) -> None:
    assert correlation.from_event(apigw_v1({name: "abc-123"})) == "abc-123"
    assert correlation.from_event(apigw_v2({name: "abc-123"})) == "abc-123"


def test_api_gateway_falls_back_to_request_id() -> None:
    assert correlation.from_event(apigw_v1(None)) == "req-v1"
    assert correlation.from_event(apigw_v2({"accept": "*/*"})) == "req-v2"


def test_sqs_batch_has_no_single_id_but_each_record_has_its_own() -> None:
    rec = {
        "eventSource": "aws:sqs",
        "messageId": "m1",
        "messageAttributes": {"correlation_id": {"stringValue": "cid-1", "dataType": "String"}},
    }
    assert correlation.from_event({"Records": [rec, {**rec, "messageId": "m2"}]}) is None
    assert correlation.from_event({"Records": [rec]}) == "cid-1"  # a batch of one: the record's
    assert correlation.from_sqs_record(rec) == "cid-1"
    assert correlation.from_sqs_record({"messageId": "m2", "messageAttributes": {}}) is None


def test_sns_attribute_then_message_id() -> None:
    with_attr = {
        "Records": [
            {
                "EventSource": "aws:sns",
                "Sns": {
                    "MessageId": "sns-1",
                    "MessageAttributes": {"correlation_id": {"Type": "String", "Value": "cid-sns"}},
                },
            }
        ]
    }
    without = {"Records": [{"EventSource": "aws:sns", "Sns": {"MessageId": "sns-1"}}]}
    assert correlation.from_event(with_attr) == "cid-sns"
    assert correlation.from_event(without) == "sns-1"


def test_eventbridge_detail_then_event_id() -> None:
    ev = {"id": "evt-1", "detail-type": "Scheduled Event", "source": "aws.events", "detail": {}}
    assert correlation.from_event(ev) == "evt-1"
    ev["detail"] = {"correlation_id": "cid-eb"}
    assert correlation.from_event(ev) == "cid-eb"


def test_s3_notification_and_direct_invoke() -> None:
    s3 = {"Records": [{"eventSource": "aws:s3", "responseElements": {"x-amz-request-id": "S3REQ1"}}]}
    assert correlation.from_event(s3) == "S3REQ1"
    assert correlation.from_event({"correlation_id": "direct-1"}) == "direct-1"
    assert correlation.from_event({"anything": 1}) is None
    assert correlation.from_event("not a dict") is None


@pytest.mark.parametrize("bad", ["S1234567D", "a@b.com", "x" * 200, "line\nbreak", "", "  ", "<script>"])
def test_unsafe_ids_are_refused(bad: str) -> None:
    assert correlation.from_event({"correlation_id": bad}) is None
    assert correlation.from_event(apigw_v2({"x-correlation-id": bad})) == "req-v2"


def test_new_ids_are_unique_uuid4() -> None:
    import uuid

    ids = {correlation.new_id() for _ in range(1000)}
    assert len(ids) == 1000
    assert all(uuid.UUID(i).version == 4 for i in list(ids)[:20])


def test_scope_restores_outer_id() -> None:
    assert correlation.get() is None
    with correlation.scope("outer"):
        with correlation.scope("inner"):
            assert correlation.get() == "inner"
        assert correlation.get() == "outer"
    assert correlation.get() is None


async def test_asyncio_tasks_do_not_share_ids() -> None:
    seen: dict[str, str | None] = {}

    async def work(name: str) -> None:
        with correlation.scope(name):
            await asyncio.sleep(0.01)
            seen[name] = correlation.get()

    await asyncio.gather(*(work(f"task-{i}") for i in range(10)))
    assert seen == {f"task-{i}": f"task-{i}" for i in range(10)}


def test_threads_do_not_share_ids() -> None:
    seen: dict[str, str | None] = {}
    barrier = threading.Barrier(5)

    def work(name: str) -> None:
        with correlation.scope(name):
            barrier.wait()
            seen[name] = correlation.get()

    threads = [threading.Thread(target=work, args=(f"t{i}",)) for i in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert seen == {f"t{i}": f"t{i}" for i in range(5)}


def test_propagation_helpers_carry_the_current_id() -> None:
    with correlation.scope("cid-out"):
        attrs = correlation.sqs_message_attributes({"kind": {"DataType": "String", "StringValue": "task"}})
        assert attrs["correlation_id"] == {"DataType": "String", "StringValue": "cid-out"}
        assert attrs["kind"]["StringValue"] == "task"
        assert correlation.http_headers() == {"x-correlation-id": "cid-out"}
        assert correlation.s3_metadata() == {"correlation_id": "cid-out"}
        detail = {"a": 1}
        assert correlation.eventbridge_detail(detail) == {"a": 1, "correlation_id": "cid-out"}
        assert detail == {"a": 1}  # the input is not modified
    assert correlation.http_headers() == {}


def test_hex_ids_with_an_nric_shaped_run_are_accepted() -> None:
    assert correlation.from_event({"correlation_id": "5e6bf7200773e1b2"}) == "5e6bf7200773e1b2"


# --- every shape, malformed ones included --------------------------------------------------


MALFORMED = [
    None,
    42,
    "text",
    b"bytes",
    [],
    [1, 2],
    [{"info": "not a mapping"}],
    {"Records": "nope"},
    {"Records": []},
    {"Records": [None]},
    {"Records": [{"eventSource": "aws:sqs", "messageAttributes": "x", "body": 7}]},
    {"Records": [{"eventSource": "aws:sns", "Sns": "x"}]},
    {"Records": [{"eventSource": "aws:s3", "responseElements": None}]},
    {"Records": [{"eventSource": "aws:kinesis", "kinesis": {"data": "!!!not base64!!!"}}]},
    {"Records": [{"eventSource": "aws:dynamodb", "dynamodb": {"NewImage": {"_correlation_id": "plain"}}}]},
    {"Records": [{"cf": {"request": {"headers": {"x-correlation-id": "flat"}}}}]},
    {"requestContext": "x"},
    {"requestContext": {"elb": 1}, "headers": ["x"]},
    {"requestContext": {}, "headers": {"x-correlation-id": ["", None]}},
    {"requestContext": {"functionArn": "a"}, "requestPayload": {"requestContext": {"functionArn": "b"}}},
    {"detail-type": "x", "detail": "{not json"},
    {"detail-type": "x", "detail": '{"correlation_id": 5}'},
    {"eventSource": "aws:kafka", "records": {"t-0": [{"headers": [{"correlation_id": [300, 1]}]}]}},
    {"eventSource": "aws:kafka", "records": [1]},
    {"eventSource": "aws:mq", "messages": [{"properties": 1}]},
    {
        "eventSource": "aws:rmq",
        "rmqMessagesByQueue": {"q": [{"basicProperties": {"headers": {"correlation_id": {"bytes": "x"}}}}]},
    },
    {"awslogs": {"data": "H4sI" + "A" * 40}},
    {"awslogs": {"data": 5}},
    {"Details": {"ContactData": "x"}},
    {"alarmData": None, "alarmArn": 3},
    {"invocationSource": "x", "sessionState": {"originatingRequestId": ["x"]}},
    {"Execution": {"Id": "arn:aws:states:r:1:execution:m:S1234567D"}},
    {"info": {}, "request": None},
    {"triggerSource": "x", "userPoolId": "p", "request": {"clientMetadata": "x"}},
]


@pytest.mark.parametrize("event", MALFORMED, ids=range(len(MALFORMED)))
def test_malformed_events_never_raise_and_yield_no_unsafe_id(event) -> None:
    cid = correlation.from_event(event)
    found = correlation.describe(event)
    assert found.correlation_id == cid
    assert cid is None or correlation.clean(cid) == cid


def test_random_json_never_raises() -> None:
    from hypothesis import given, settings
    from hypothesis import strategies as st

    keys = st.sampled_from(
        [
            "Records",
            "requestContext",
            "headers",
            "eventSource",
            "EventSource",
            "messageId",
            "detail-type",
            "detail",
            "id",
            "elb",
            "correlation_id",
            "records",
            "messages",
            "awslogs",
            "data",
            "info",
            "request",
            "Execution",
            "Id",
            "invocationId",
            "tasks",
            "x-correlation-id",
            "x-amzn-trace-id",
            "Sns",
            "kinesis",
        ]
    )
    leaves = (
        st.none()
        | st.booleans()
        | st.integers()
        | st.text(max_size=20)
        | st.sampled_from(["aws:sqs", "aws:sns", "aws:kafka", "aws:rmq", "2.0"])
    )
    json_values = st.recursive(
        leaves,
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(keys, inner, max_size=4),
        max_leaves=25,
    )

    @settings(max_examples=400, deadline=None)
    @given(json_values)
    def check(event) -> None:
        cid = correlation.from_event(event)
        assert cid is None or correlation.clean(cid) == cid or correlation._natural(cid) == cid

    check()


def test_alb_reads_the_trace_root_and_refuses_a_personal_trace_header() -> None:
    alb = {
        "requestContext": {"elb": {}},
        "headers": {"x-amzn-trace-id": "Self=1-ab;Root=1-5c536348-3d683b8b04734faae651f476"},
    }
    assert correlation.from_event(alb) == "1-5c536348-3d683b8b04734faae651f476"
    alb["headers"]["x-amzn-trace-id"] = "Root=S1234567D"
    assert correlation.from_event(alb) is None


def test_aws_ids_may_be_longer_but_caller_ids_may_not() -> None:
    long_hook = "eyJ" + "A" * 200 + "=="
    assert (
        correlation.from_event({"DeploymentId": "d-1", "LifecycleEventHookExecutionId": long_hook})
        == long_hook
    )
    assert (
        correlation.from_event({"DeploymentId": "d-1", "LifecycleEventHookExecutionId": "x" * 300}) == "d-1"
    )
    assert correlation.from_event({"correlation_id": "x" * 129}) is None
    assert correlation.from_event({"correlation_id": "x" * 128}) == "x" * 128


@pytest.mark.parametrize(
    "value,ok",
    [
        ("c6af9ac6-7b61-11e6-9a41-93e8deadbeef", True),
        ("JKJaXmPLvHcESHA=", True),
        ("-leading-dash", False),
        ("a b", False),
        ("ünïcode", False),
        ("id;drop", False),
        ("x\u2028y", False),
        ("order-S1234567D", False),  # stands alone between separators
        ("orderS1234567D", True),  # part of a longer run
        ("s1234567d", False),
        ("T7654321Z-9", False),
        ("user@example.com", False),
    ],
)
def test_clean(value: str, ok: bool) -> None:
    assert (correlation.clean(value) == value) is ok


# --- the producer side and the matching reader -----------------------------------------------


def test_each_writer_is_read_back_by_its_reader() -> None:
    import base64

    with correlation.scope("cid-prop"):
        data = correlation.kinesis_data({"page": "/", "correlation_id": "payload-own"})
        ddb = correlation.dynamodb_attributes(typed=True)
        plain = correlation.dynamodb_attributes()
        kafka = correlation.kafka_headers()
        sns = correlation.sns_message_attributes()
        props = correlation.message_properties()
    assert data.startswith(b'{"correlation_id":"cid-prop"')  # the reader looks at the start only
    kinesis = {"kinesis": {"data": base64.b64encode(data).decode(), "sequenceNumber": "1"}, "eventID": "s:1"}
    assert correlation.for_record(kinesis, "kinesis") == ("cid-prop", "kinesis.data.correlation_id")
    assert plain == {"_correlation_id": "cid-prop"}
    assert correlation.for_record({"dynamodb": {"NewImage": ddb}}, "dynamodb")[0] == "cid-prop"
    record = {"headers": [{k: list(v)} for k, v in kafka], "topic": "t", "partition": 0, "offset": 1}
    assert correlation.for_record(record, "kafka") == ("cid-prop", "headers.correlation_id")
    sns_event = {
        "Records": [
            {
                "EventSource": "aws:sns",
                "Sns": {
                    "MessageId": "m",
                    "MessageAttributes": {
                        k: {"Type": v["DataType"], "Value": v["StringValue"]} for k, v in sns.items()
                    },
                },
            }
        ]
    }
    assert correlation.from_event(sns_event) == "cid-prop"
    assert correlation.for_record({"properties": props}, "mq") == ("cid-prop", "properties.correlation_id")
    rabbit = {"basicProperties": {"headers": {k: {"bytes": list(v.encode())} for k, v in props.items()}}}
    assert correlation.for_record(rabbit, "mq")[0] == "cid-prop"


def test_writers_carry_the_trace_context_when_tracing_is_on() -> None:
    from opentelemetry.sdk.trace import TracerProvider

    from observe import tracing

    provider = TracerProvider()
    tracing.configure(provider)
    try:
        with provider.get_tracer("t").start_as_current_span("producer"), correlation.scope("cid-t"):
            data = correlation.kinesis_data({"a": 1})
            ddb = correlation.dynamodb_attributes()
            kafka = dict(correlation.kafka_headers())
    finally:
        tracing.disable()
    assert b'"traceparent":"00-' in data[:200]
    assert ddb["_traceparent"].startswith("00-") and kafka["traceparent"].startswith(b"00-")


def test_kinesis_data_that_is_not_json_falls_back_to_the_event_id() -> None:
    import base64

    record = {"kinesis": {"data": base64.b64encode(b"\x00\xff plain").decode()}, "eventID": "shardId-1:42"}
    assert correlation.for_record(record, "kinesis") == ("shardId-1:42", "eventID")


def test_a_dynamodb_remove_has_the_event_id_not_the_old_items_writer() -> None:
    record = {"eventID": "e1", "dynamodb": {"OldImage": {"_correlation_id": {"S": "old-writer"}}}}
    assert correlation.for_record(record, "dynamodb") == ("e1", "eventID")
