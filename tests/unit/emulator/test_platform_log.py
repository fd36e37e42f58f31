"""The platform lines in both formats, and the partial-batch-response rules, as pure functions."""

from __future__ import annotations

import json

import pytest

from emulator.platform_log import PlatformLog, Report, billed_ms
from emulator.sqs_event_source import failed_item_ids


def test_text_report_lines_match_lambdas_shapes() -> None:
    text = PlatformLog("Text")
    cold_timeout = Report("rid", 3004.92, 128, 33, init_ms=111.23, status="timeout", platform_ended=True)
    assert text.report(cold_timeout) == (
        "REPORT RequestId: rid\tDuration: 3004.92 ms\tBilled Duration: 3117 ms\tMemory Size: 128 MB\t"
        "Max Memory Used: 33 MB\tInit Duration: 111.23 ms\tStatus: timeout\t"
    )
    oom = Report("rid", 10.5, 256, 256, status="error", error_type="Runtime.OutOfMemory", platform_ended=True)
    assert text.report(oom).endswith(
        "Max Memory Used: 256 MB\tStatus: error\tError Type: Runtime.OutOfMemory\t"
    )
    handled = Report("rid", 1.0, 128, 40, status="error", error_type="ValueError")
    assert "Status" not in text.report(handled), "a handler's own error is not a platform status"
    assert text.start("rid") == "START RequestId: rid Version: $LATEST"
    assert text.end("rid") == "END RequestId: rid"
    assert text.runtime_exited("rid", "Runtime exited with error: signal: killed") == (
        "RequestId: rid Error: Runtime exited with error: signal: killed\nRuntime.ExitError"
    )
    assert text.timed_out("rid", 3).endswith("Z rid Task timed out after 3.00 seconds")
    assert text.init_report(1236.04, phase="init", status="timeout") == (
        "INIT_REPORT Init Duration: 1236.04 ms\tPhase: init\tStatus: timeout"
    )
    assert text.init_report(80.0, phase="init", status="success") is None
    assert text.init_start("python:3.11.local", "arn", phase="invoke") is None, (
        "a suppressed init has no line"
    )


def test_json_records_follow_the_telemetry_schema() -> None:
    js = PlatformLog("JSON", function_name="fn")
    report = json.loads(js.report(Report("rid", 693.92, 128, 84, init_ms=397.68)))
    assert report["type"] == "platform.report" and report["time"].endswith("Z")
    assert report["record"] == {
        "requestId": "rid",
        "metrics": {
            "durationMs": 693.92,
            "billedDurationMs": 1092,
            "memorySizeMB": 128,
            "maxMemoryUsedMB": 84,
            "initDurationMs": 397.68,
        },
        "status": "success",
    }
    done = json.loads(js.runtime_done("rid", 12.0, "error", "Runtime.ExitError", 0))["record"]
    assert done == {
        "requestId": "rid",
        "status": "error",
        "metrics": {"durationMs": 12.0, "producedBytes": 0},
        "errorType": "Runtime.ExitError",
    }
    assert json.loads(js.init_start("v", "arn"))["record"]["phase"] == "init"
    assert json.loads(js.init_report(5.0, phase="invoke", status="success"))["record"]["phase"] == "invoke"
    assert js.end("rid") is None and js.timed_out("rid", 3) is None and js.runtime_exited("rid", "x") is None
    with pytest.raises(ValueError, match="log format"):
        PlatformLog("xml")


def test_billed_duration_rounds_up_to_the_millisecond_with_the_init_of_a_cold_start() -> None:
    assert billed_ms(1.01) == 2
    assert billed_ms(133.61, 80.0) == 214
    assert billed_ms(5.0) == 5


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        (b"", set()),
        (b"null", set()),
        (b"{}", set()),
        (b'{"batchItemFailures": null}', set()),
        (b'{"batchItemFailures": []}', set()),
        (b'{"batchItemFailures": [{"itemIdentifier": "m2"}]}', {"m2"}),
        (b"not json", None),
        (b'{"batchItemFailures": [{"itemIdentifier": ""}]}', None),
        (b'{"batchItemFailures": [{"itemIdentifier": null}]}', None),
        (b'{"batchItemFailures": [{"id": "m2"}]}', None),
        (b'{"batchItemFailures": [{"itemIdentifier": "unknown"}]}', None),
        (b'{"batchItemFailures": "m2"}', None),
    ],
)
def test_partial_batch_response_rules(response: bytes, expected: set[str] | None) -> None:
    assert failed_item_ids(response, {"m1", "m2"}) == expected
