"""OpenTelemetry: invocation spans with FaaS conventions, W3C propagation, ids on log lines."""

from __future__ import annotations

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from observe import correlation, get_logger, observed, tracing
from observe.batch import process_sqs_batch

PARENT_TRACE = "0af7651916cd43dd8448eb211c80319c"
TRACEPARENT = f"00-{PARENT_TRACE}-b7ad6b7169203331-01"


@pytest.fixture
def spans():
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing.configure(provider)
    yield exporter
    tracing.disable()


def test_api_gateway_span_continues_the_callers_trace(spans, observe_capture, lambda_context) -> None:
    @observed(pipeline="auth")
    def handler(event, context):
        get_logger("h").info("inside")
        return correlation.http_headers()

    event = {
        "version": "2.0",
        "headers": {"traceparent": TRACEPARENT},
        "requestContext": {"requestId": "r", "http": {}},
    }
    headers = handler(event, lambda_context)
    (span,) = spans.get_finished_spans()
    assert f"{span.context.trace_id:032x}" == PARENT_TRACE
    attrs = dict(span.attributes)
    assert attrs["faas.trigger"] == "http" and attrs["faas.coldstart"] is True
    assert attrs["faas.invocation_id"] == lambda_context.aws_request_id
    assert attrs["cloud.resource_id"] == lambda_context.invoked_function_arn
    assert headers["traceparent"].split("-")[1] == PARENT_TRACE  # propagated to outgoing work
    inside = observe_capture.logs[0]
    assert inside["trace_id"] == PARENT_TRACE and inside["span_id"] == f"{span.context.span_id:016x}"


def test_sqs_records_link_to_producers_and_errors_are_recorded(spans, lambda_context) -> None:
    record = {
        "eventSource": "aws:sqs",
        "messageId": "m1",
        "messageAttributes": {"traceparent": {"stringValue": TRACEPARENT, "dataType": "String"}},
    }
    other = {"eventSource": "aws:sqs", "messageId": "m2", "messageAttributes": {}}

    def handle(r):
        if r["messageId"] == "m2":
            raise ValueError("bad")

    @observed(pipeline="ingest")
    def handler(event, context):
        return process_sqs_batch(event, handle)

    handler({"Records": [record, other]}, lambda_context)
    finished = spans.get_finished_spans()
    by_name: dict[str, list] = {}
    for s in finished:
        by_name.setdefault(s.name, []).append(s)
    (invocation,) = by_name["test-function"]
    records = by_name["process record"]
    assert len(records) == 2
    assert all(r.parent.span_id == invocation.context.span_id for r in records)
    linked = [r for r in records if r.links]
    assert len(linked) == 1 and f"{linked[0].links[0].context.trace_id:032x}" == PARENT_TRACE
    failed = [r for r in records if r.status.status_code.name == "ERROR"]
    assert len(failed) == 1 and failed[0].events[0].name == "exception"


def test_sqs_attributes_carry_traceparent(spans) -> None:
    provider_tracer = tracing._state["tracer"]
    with provider_tracer.start_as_current_span("producer"), correlation.scope("c1"):
        attrs = correlation.sqs_message_attributes()
    assert attrs["traceparent"]["StringValue"].startswith("00-")
    assert attrs["correlation_id"]["StringValue"] == "c1"


def test_disabled_by_default_without_otel_env(monkeypatch) -> None:
    tracing.disable()
    tracing._state["enabled"] = None
    assert tracing.is_enabled() is False
    assert correlation.http_headers() == {}


def test_exporter_from_standard_env_in_a_fresh_process() -> None:
    """OTEL_TRACES_EXPORTER=console: spans are exported, and the trace id is on the log lines."""
    import json
    import subprocess
    import sys

    script = (
        "from observe import observed, get_logger\n"
        "@observed(pipeline='p')\n"
        "def handler(event, context):\n"
        "    get_logger('x').info('inside')\n"
        f"handler({{'version': '2.0', 'headers': {{'traceparent': '{TRACEPARENT}'}}, "
        "'requestContext': {'requestId': 'r', 'http': {}}}, None)\n"
    )
    env = {
        "PATH": "/usr/bin:/bin",
        "ENVIRONMENT": "dev",
        "OTEL_TRACES_EXPORTER": "console",
        "OTEL_SERVICE_NAME": "s",
    }
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, check=True)
    lines = [json.loads(x) for x in proc.stdout.splitlines() if x.startswith('{"timestamp"')]
    assert lines[0]["message"] == "inside" and lines[0]["trace_id"] == PARENT_TRACE
    assert f'"trace_id": "0x{PARENT_TRACE}"' in proc.stdout  # the console exporter's span
    assert '"faas.trigger": "http"' in proc.stdout


def test_stream_and_kafka_records_link_to_the_trace_their_producer_propagated(spans, lambda_context) -> None:
    import base64

    from observe.batch import process_dynamodb_batch, process_kafka_batch, process_kinesis_batch

    data = base64.b64encode(
        f'{{"correlation_id":"k1","traceparent":"{TRACEPARENT}","a":1}}'.encode()
    ).decode()
    kinesis = {
        "Records": [
            {"eventSource": "aws:kinesis", "eventID": "s:1", "kinesis": {"sequenceNumber": "1", "data": data}}
        ]
    }
    image = {"_correlation_id": {"S": "d1"}, "_traceparent": {"S": TRACEPARENT}}
    dynamodb = {
        "Records": [
            {
                "eventSource": "aws:dynamodb",
                "eventID": "e",
                "dynamodb": {"SequenceNumber": "9", "NewImage": image},
            }
        ]
    }
    header = [{"traceparent": list(TRACEPARENT.encode())}]
    kafka = {
        "eventSource": "aws:kafka",
        "records": {"t-0": [{"topic": "t", "partition": 0, "offset": 3, "headers": header}]},
    }

    @observed(pipeline="streams")
    def handler(event, context):
        if "records" in event:
            return process_kafka_batch(event, lambda r: None)
        if event["Records"][0]["eventSource"] == "aws:kinesis":
            return process_kinesis_batch(event, lambda r: None)
        return process_dynamodb_batch(event, lambda r: None)

    for event in (kinesis, dynamodb, kafka):
        handler(event, lambda_context)
    records = [s for s in spans.get_finished_spans() if s.name == "process record"]
    assert [dict(s.attributes)["messaging.system"] for s in records] == [
        "aws_kinesis",
        "aws_dynamodb",
        "kafka",
    ]
    assert [dict(s.attributes)["messaging.message.id"] for s in records] == ["1", "9", "t-0:3"]
    assert all(len(s.links) == 1 and f"{s.links[0].context.trace_id:032x}" == PARENT_TRACE for s in records)
