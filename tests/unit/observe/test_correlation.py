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
    assert correlation.from_event({"Records": [rec]}) is None
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
