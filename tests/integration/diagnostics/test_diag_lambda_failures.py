"""A real function under ``awslambdaric`` that times out mid-batch: ``observe-diag failures`` names
the cause, the request id, the correlation id and the record that was in flight, from the log
written in each log format (a file of the events), and from CloudWatch Logs on moto over HTTP."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from emulator.lambda_function import FunctionConfig, LambdaFunction, LogEvent
from emulator.moto_server import FAKE_ENV
from observe.catalogue import TIMEOUT_WARNING
from tests.integration.runtime.test_timeout_watchdog import sqs_event  # the same batch

pytestmark = pytest.mark.integration

CLI = str(Path(sys.executable).parent / "observe-diag")
REPO = Path(__file__).resolve().parents[3]
HANDLER = "tests.integration.runtime.watchdog_handlers.sqs_sleeper"
ENV = {"LOG_LEVEL": "INFO", "LOG_BUFFER_LEVEL": "DEBUG"}


def diag(*args: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    proc = subprocess.run(
        [CLI, *args, "--json", "--quiet"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    got: dict[str, Any] = json.loads(proc.stdout)
    return got


def run_timeout(name: str, log_format: str, **kw: Any) -> tuple[Any, list[LogEvent]]:
    """A fine invocation, then one whose second record sleeps past the 2 s timeout."""
    config = FunctionConfig(name, HANDLER, timeout=2, env=ENV, log_format=log_format)
    with LambdaFunction(config, **kw) as fn:
        ok = fn.invoke(sqs_event(("m0", 0)))
        late = fn.invoke(sqs_event(("m1", 0), ("m2", 30)))
        events = list(fn.events)
    assert ok.status == "success" and late.status == "timeout"
    return late, events


def watchdog_line(events: list[LogEvent], request_id: str) -> dict[str, Any]:
    for e in events:
        if e.message.startswith("{") and TIMEOUT_WARNING in e.message:
            doc: dict[str, Any] = json.loads(e.message)
            if doc.get("aws_request_id") == request_id:
                return doc
    raise AssertionError("no watchdog line")


def check(got: dict[str, Any], late: Any, events: list[LogEvent]) -> None:
    (failure,) = got["invocations"]  # the fine invocation is not one
    warning = watchdog_line(events, late.request_id)
    assert failure["cause"] == "timeout" and failure["request_id"] == late.request_id
    assert failure["correlation_id"] == warning["correlation_id"] and failure["correlation_id"]
    assert failure["in_flight_from"] == "watchdog"
    assert [(r["record_id"], r["correlation_id"]) for r in failure["in_flight"]] == [("m2", "cid-m2")]
    assert failure["function"] == "diag-timeout" and failure["memory_mb"] == 128
    assert failure["duration_ms"] >= 2000
    messages = [x["message"] for x in failure["last_lines"]]
    assert messages[-1] == TIMEOUT_WARNING and "record started" in messages
    assert {x["aws_request_id"] for x in failure["last_lines"]} == {late.request_id}
    assert got["counts"] == {"timeout": 1}


@pytest.mark.parametrize("log_format", ["Text", "JSON"])
def test_a_timeout_read_from_the_functions_log_file(log_format: str, tmp_path: Path) -> None:
    late, events = run_timeout("diag-timeout", log_format)
    log = tmp_path / "diag-timeout.log"
    log.write_text("".join(e.message + "\n" for e in events))  # as the events read when exported
    check(diag("failures", "--logs", str(log)), late, events)
    telemetry = diag("lambda", "--logs", str(log))
    (fn,) = telemetry["functions"]
    assert (fn["function"], fn["memory_mb"], fn["invocations"], fn["cold_starts"]) == (
        "diag-timeout",
        128,
        2,
        1,
    )
    assert fn["init_p50_ms"] > 0 and fn["billed_ms_total"] >= 2000


def test_a_timeout_read_from_cloudwatch_logs(diag_moto: str, monkeypatch: pytest.MonkeyPatch) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_ENDPOINT_URL")}
    env.update(FAKE_ENV, AWS_ENDPOINT_URL=diag_moto)
    for k, v in env.items():
        if k.startswith("AWS_"):
            monkeypatch.setenv(k, v)
    late, events = run_timeout("diag-timeout", "Text", ship_logs=True)
    got = diag("failures", "--log-group", "/aws/lambda/diag-timeout", "--since", "1h", env=env)
    check(got, late, events)
    assert got["invocations"][0]["log_stream"] == next(
        e.stream for e in events if e.request_id == late.request_id
    )
