"""@observed: context binding, the summary line, EMF documents, errors, cold starts, async."""

from __future__ import annotations

import asyncio

import pytest

from observe import correlation, get_logger, metric, observed
from observe.config import ConfigError
from observe.telemetry import Throttle, ThrottledError

log = get_logger("tests.app")
APIGW = {
    "version": "2.0",
    "headers": {"x-correlation-id": "cid-42"},
    "requestContext": {"requestId": "r", "http": {}},
}


@observed(pipeline="ingest", service="svc")
def handler(event, context):
    log.info("working", rows=3)
    metric("RecordsFetched", 3)
    return {"statusCode": 200}


def test_one_user_line_one_summary_line_one_document(observe_capture, lambda_context) -> None:
    assert handler(APIGW, lambda_context) == {"statusCode": 200}
    logs = observe_capture.logs
    assert [line["message"] for line in logs] == ["working", "invocation complete"]
    for line in logs:
        assert line["correlation_id"] == "cid-42"
        assert line["service"] == "svc" and line["pipeline"] == "ingest" and line["environment"] == "dev"
        assert line["aws_request_id"] == lambda_context.aws_request_id
        assert line["function_name"] == "test-function" and line["function_version"] == "$LATEST"
        assert line["cold_start"] is True
        assert line["timestamp"].endswith("Z") and len(line["timestamp"]) == 24
    assert logs[0]["rows"] == 3 and logs[0]["logger"] == "tests.app" and logs[0]["level"] == "info"
    assert logs[1]["duration_ms"] >= 0
    docs = observe_capture.metrics
    assert len(docs) == 1
    doc = docs[0]
    directive = doc["_aws"]["CloudWatchMetrics"][0]
    assert directive["Dimensions"] == [["service", "pipeline", "environment"]]
    names = {m["Name"] for m in directive["Metrics"]}
    assert names == {
        "RecordsFetched",
        "Duration",
        "MaxMemoryUsed",
        "MemoryUtilization",
        "ColdStart",
        "Errors",
        "Throttles",
    }
    assert doc["RecordsFetched"] == 3 and doc["ColdStart"] == 1 and doc["Errors"] == 0
    assert doc["MemoryUtilization"] == pytest.approx(100 * doc["MaxMemoryUsed"] / 512)
    assert doc["correlation_id"] == "cid-42"
    assert correlation.get() is None  # context restored after the call


def test_cold_start_only_first(observe_capture, lambda_context) -> None:
    handler(APIGW, lambda_context)
    handler(APIGW, lambda_context)
    assert observe_capture.metric_values("ColdStart") == [1, 0]
    assert [line["cold_start"] for line in observe_capture.logs if line["message"] == "working"] == [
        True,
        False,
    ]


class Boom(Exception):
    pass


@observed(pipeline="ingest")
def failing(event, context):
    metric("RecordsFetched", 1)
    raise Boom("bad page 7")


def test_error_one_line_metrics_flushed_same_exception(observe_capture, lambda_context) -> None:
    with pytest.raises(Boom) as info:
        failing({"correlation_id": "cid-err"}, lambda_context)
    assert str(info.value) == "bad page 7"
    errors = [line for line in observe_capture.logs if line["level"] == "error"]
    assert len(errors) == 1 and len(observe_capture.logs) == 1
    err = errors[0]
    assert err["correlation_id"] == "cid-err" and err["message"] == "invocation failed"
    assert err["exception"]["type"].endswith("Boom") and err["exception"]["message"] == "bad page 7"
    assert "raise Boom" in err["exception"]["stack"]
    assert observe_capture.metric_values("Errors") == [1]
    assert observe_capture.metric_values("Errors", error_type="Boom") == [1]
    assert observe_capture.metric_values("RecordsFetched") == [1]
    assert err["service"] == "failing"  # defaults to the function name


def test_throttle_error_counts_throttle_by_source(observe_capture, lambda_context) -> None:
    @observed(pipeline="ingest")
    def throttled(event, context):
        raise ThrottledError(Throttle("http-429", "429", 3.0))

    with pytest.raises(ThrottledError):
        throttled({}, lambda_context)
    assert observe_capture.metric_values("Throttles", source="http-429") == [1]
    assert observe_capture.metric_values("Throttles") == [1]
    assert observe_capture.logs[-1]["retry_after_s"] == 3.0


def test_service_from_env(monkeypatch, observe_capture, lambda_context) -> None:
    monkeypatch.setenv("SERVICE_NAME", "from-env")
    handler_without_service = observed(pipeline="p")(lambda event, context: None)
    handler_without_service({}, lambda_context)
    assert observe_capture.logs[-1]["service"] == "from-env"
    assert observe_capture.metrics[0]["service"] == "from-env"


def test_bad_environment_fails_with_a_clear_error(monkeypatch, observe_capture, lambda_context) -> None:
    monkeypatch.setenv("ENVIRONMENT", "prod")
    with pytest.raises(ConfigError, match=r"ENVIRONMENT='prod' is not one of dev, stg, prd"):
        handler({}, lambda_context)


def test_async_handler(observe_capture, lambda_context) -> None:
    @observed(pipeline="auth")
    async def ahandler(event, context):
        await asyncio.sleep(0)
        log.info("inside", step=1)
        metric("AuthLogins", 1)
        return "ok"

    assert asyncio.run(ahandler({"correlation_id": "acid"}, lambda_context)) == "ok"
    mine = [line for line in observe_capture.logs if line["logger"] != "asyncio"]
    assert [line["correlation_id"] for line in mine] == ["acid", "acid"]
    assert observe_capture.metric_values("AuthLogins") == [1]


def test_async_handler_error_is_reraised(observe_capture, lambda_context) -> None:
    @observed(pipeline="auth")
    async def afail(event, context):
        raise KeyError("k")

    with pytest.raises(KeyError):
        asyncio.run(afail({}, lambda_context))
    assert observe_capture.metric_values("Errors", error_type="KeyError") == [1]


def test_batch_item_failures_counted(observe_capture, lambda_context) -> None:
    @observed(pipeline="ingest")
    def partial(event, context):
        return {"batchItemFailures": [{"itemIdentifier": "a"}, {"itemIdentifier": "b"}]}

    partial({"Records": []}, lambda_context)
    assert observe_capture.metric_values("BatchItemFailures") == [2]
    assert observe_capture.logs[-1]["batch_item_failures"] == 2


def test_bare_decorator_and_no_context(observe_capture) -> None:
    @observed
    def plain(event, context):
        return event["x"] * 2

    assert plain({"x": 21}, None) == 42
    summary = observe_capture.logs[-1]
    assert summary["pipeline"] == "default" and summary["aws_request_id"] is None
    assert "MemoryUtilization" not in observe_capture.metrics[0]  # no limit known, no made-up figure
