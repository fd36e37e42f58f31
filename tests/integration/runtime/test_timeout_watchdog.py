"""The deadline watchdog under the real runtime client: its line and the ``Timeouts`` document reach
the function's log before the platform's ``Task timed out``, and an invocation that ends in time
writes neither."""

from __future__ import annotations

import json
from typing import Any

from observe.catalogue import TIMEOUT_WARNING

HANDLERS = "tests.integration.runtime.watchdog_handlers"
ENV = {"LOG_LEVEL": "INFO", "LOG_BUFFER_LEVEL": "DEBUG"}


def parsed(lines: list[str]) -> list[tuple[int, dict[str, Any]]]:
    out = []
    for i, line in enumerate(lines):
        try:
            doc = json.loads(line)
        except ValueError:
            continue
        if isinstance(doc, dict):
            out.append((i, doc))
    return out


def sqs_event(*records: tuple[str, float]) -> dict[str, Any]:
    return {
        "Records": [
            {
                "messageId": mid,
                "receiptHandle": f"rh-{mid}",
                "body": json.dumps({"sleep": sleep}),
                "attributes": {"ApproximateReceiveCount": "1"},
                "messageAttributes": {"correlation_id": {"stringValue": f"cid-{mid}", "dataType": "String"}},
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:ap-southeast-1:123456789012:tasks",
                "awsRegion": "ap-southeast-1",
            }
            for mid, sleep in records
        ]
    }


def test_a_handler_sleeping_past_its_timeout_is_warned_about_and_counted_before_the_kill(
    make_function,
) -> None:
    fn = make_function(f"{HANDLERS}.sqs_sleeper", name="watchdog-fn", timeout=2, env=ENV)
    result = fn.invoke(sqs_event(("m1", 0), ("m2", 30)))
    assert result.status == "timeout"
    lines = result.lines
    killed = next(i for i, ln in enumerate(lines) if ln.endswith("Task timed out after 2.00 seconds"))
    docs = parsed(lines)
    ((at, warning),) = [(i, d) for i, d in docs if d.get("message") == TIMEOUT_WARNING]
    assert at < killed
    assert warning["aws_request_id"] == result.request_id and warning["function_name"] == "watchdog-fn"
    assert warning["batch_size"] == 2  # bound by the handler
    assert 1500 <= warning["elapsed_ms"] < 2000
    assert abs(warning["timeout_margin_ms"] - 400) < 10  # a fifth of the 2 s the context reported
    (flight,) = warning["in_flight"]
    assert (
        flight["record_id"] == "m2" and flight["correlation_id"] == "cid-m2" and flight["batch_kind"] == "sqs"
    )
    assert any("in _record" in frame for frame in warning["stack"])
    ((emf_at, emf),) = [(i, d) for i, d in docs if "_aws" in d]
    assert at < emf_at < killed
    assert emf["Timeouts"] == 1 and 1500 <= emf["Duration"] < 2000 and emf["ColdStart"] == 1
    assert emf["aws_request_id"] == result.request_id
    assert {m["Name"]: m["Unit"] for m in emf["_aws"]["CloudWatchMetrics"][0]["Metrics"]}[
        "Timeouts"
    ] == "Count"
    # the buffered debug lines of both records follow, each under its record's correlation id
    started = [(i, d) for i, d in docs if d.get("message") == "record started"]
    assert [d["correlation_id"] for _, d in started] == ["cid-m1", "cid-m2"]
    assert all(emf_at < i < killed and d["buffered"] for i, d in started)
    assert warning["buffered_lines"] == 2
    assert not any(d.get("message") == "invocation complete" for _, d in docs)  # it never ended


def test_an_async_handler_is_warned_about_and_one_that_ends_in_time_is_not(make_function) -> None:
    fn = make_function(f"{HANDLERS}.async_entry", name="watchdog-async", timeout=1, env=ENV)
    late = fn.invoke({"seconds": 5})
    assert late.status == "timeout"
    killed = next(i for i, ln in enumerate(late.lines) if "Task timed out after 1.00 seconds" in ln)
    docs = parsed(late.lines)
    ((at, warning),) = [(i, d) for i, d in docs if d.get("message") == TIMEOUT_WARNING]
    assert at < killed and abs(warning["timeout_margin_ms"] - 200) < 10
    assert any("in async_sleeper" in frame for task in warning["tasks"] for frame in task["at"])
    assert [d["Timeouts"] for _, d in docs if "_aws" in d] == [1]
    on_time = fn.invoke({"seconds": 0})
    assert on_time.ok and on_time.payload == "awake"
    docs = parsed(on_time.lines)
    assert not any(d.get("message") == TIMEOUT_WARNING for _, d in docs)
    assert [d.get("Timeouts") for _, d in docs if "_aws" in d] == [None]
    assert not any(d.get("message") == "sleeping" for _, d in docs)  # buffered, dropped: it succeeded
