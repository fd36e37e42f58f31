"""The function's log in both log formats, observe's lines through the runtime, shipping to CloudWatch."""

from __future__ import annotations

import json

import boto3
import pytest


def _json_lines(lines: list[str]) -> list[dict]:
    return [json.loads(line) for line in lines if line.startswith("{")]


@pytest.mark.parametrize("log_format", ["Text", "JSON"])
def test_observe_replaces_the_runtime_handler_so_every_line_is_written_once(
    make_function, log_format: str
) -> None:
    fn = make_function("observed_handler", log_format=log_format, log_level="DEBUG", timeout=10)
    results = [fn.invoke({"n": i}) for i in range(2)]
    assert all(r.ok for r in results)
    for i, r in enumerate(results):
        docs = [d for d in _json_lines(r.lines) if "type" not in d]  # observe's lines and EMF documents
        messages = [d.get("message") for d in docs if "_aws" not in d]
        assert messages == ["observe line", f"library warning {i}", "invocation complete"], r.lines
        assert all(d["aws_request_id"] == r.request_id for d in docs)
        assert sum("_aws" in d for d in docs) == 1, "one EMF document per invocation"
        # nothing printed twice: no runtime-formatted copy of the library's warning in either format
        assert sum(f"library warning {i}" in line for line in r.lines) == 1, r.lines
        assert not any(line.startswith("[WARNING]") for line in r.lines)
        assert f"plain print {i}" in r.lines, "stdout lines pass through unchanged"


def test_text_format_platform_lines(make_function) -> None:
    fn = make_function("observed_handler", log_format="Text")
    r = fn.invoke({"n": 1})
    platform = r.platform_lines
    assert [p.split(" ")[0] for p in platform] == ["INIT_START", "START", "END", "REPORT"]
    assert all(e.stream == r.logs[0].stream for e in r.logs), "one environment, one log stream"


def test_json_format_platform_records_and_the_runtime_sees_the_format(make_function) -> None:
    fn = make_function("counter", log_format="JSON", log_level="warn", timeout=3)
    ok = fn.invoke({})
    assert (
        ok.payload["env"]["AWS_LAMBDA_LOG_FORMAT"] == "JSON"
        and ok.payload["env"]["AWS_LAMBDA_LOG_LEVEL"] == "WARN"
    )
    records = [d for d in _json_lines(ok.lines) if "type" in d]
    assert [d["type"] for d in records] == [
        "platform.initStart",
        "platform.start",
        "platform.runtimeDone",
        "platform.report",
    ]
    assert not any(line.startswith(("START ", "END ", "REPORT ")) for line in ok.lines)
    start, done, report = records[1:]
    assert start["record"] == {
        "requestId": ok.request_id,
        "version": "$LATEST",
        "tracing": {"type": "X-Amzn-Trace-Id", "value": start["record"]["tracing"]["value"]},
    }
    assert done["record"]["status"] == "success" and done["record"]["metrics"]["producedBytes"] == len(
        ok.response
    )
    metrics = report["record"]["metrics"]
    assert report["record"]["status"] == "success" and report["record"]["requestId"] == ok.request_id
    assert set(metrics) == {
        "durationMs",
        "billedDurationMs",
        "memorySizeMB",
        "maxMemoryUsedMB",
        "initDurationMs",
    }
    assert metrics["memorySizeMB"] == 128 and isinstance(metrics["billedDurationMs"], int)
    assert all(d["time"].endswith("Z") for d in records)

    fn.update(handler="tests.integration.runtime.handlers.raiser")
    err = fn.invoke({"n": 7})
    runtime_error = [d for d in _json_lines(err.lines) if d.get("level") == "ERROR"]
    assert len(runtime_error) == 1 and runtime_error[0]["errorType"] == "ValueError", err.lines
    assert (
        runtime_error[0]["errorMessage"] == "bad input 7" and runtime_error[0]["requestId"] == err.request_id
    )
    report = next(d for d in _json_lines(err.lines) if d.get("type") == "platform.report")["record"]
    assert report["status"] == "error" and report["errorType"] == "ValueError"

    fn.update(handler="tests.integration.runtime.handlers.sleeper", timeout=2)
    late = fn.invoke({"seconds": 10})
    by_type = {d["type"]: d["record"] for d in _json_lines(late.lines) if "type" in d}
    assert (
        by_type["platform.runtimeDone"]["status"] == "timeout"
        and by_type["platform.report"]["status"] == "timeout"
    )
    assert not any("Task timed out" in line for line in late.lines), "JSON says it in the records"
    after = fn.invoke({"seconds": 0})  # suppressed init: JSON reports it with phase=invoke
    phases = [
        (d["type"], d["record"].get("phase"))
        for d in _json_lines(after.lines)
        if d.get("type", "").startswith("platform.init")
    ]
    assert phases == [("platform.initStart", "invoke"), ("platform.initReport", "invoke")]


def test_the_log_is_shipped_to_cloudwatch_logs_one_stream_per_environment(runtime_aws, make_function) -> None:
    from emulator.lambda_function import FunctionConfig, LambdaFunction

    name = "shipped-fn"
    with LambdaFunction(
        FunctionConfig(name, "tests.integration.runtime.handlers.sleeper", timeout=2), ship_logs=True
    ) as fn:
        fn.invoke({"seconds": 0})
        fn.invoke({"seconds": 5})  # timed out: the next runs in a new environment and stream
        fn.invoke({"seconds": 0})
        local = fn.events
    logs = boto3.client("logs")
    streams = logs.describe_log_streams(logGroupName=f"/aws/lambda/{name}")["logStreams"]
    assert sorted(s["logStreamName"] for s in streams) == sorted({e.stream for e in local})
    assert len(streams) == 2
    shipped = []
    for s in sorted(streams, key=lambda s: s.get("firstEventTimestamp", 0)):
        events = logs.get_log_events(
            logGroupName=f"/aws/lambda/{name}", logStreamName=s["logStreamName"], startFromHead=True
        )
        shipped += [e["message"] for e in events["events"]]
    assert sorted(shipped) == sorted(e.message for e in local)
    assert sum(m.startswith("REPORT ") for m in shipped) == 3
    assert any("Task timed out after 2.00 seconds" in m for m in shipped)
