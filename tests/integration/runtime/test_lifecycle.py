"""Handlers under the real ``awslambdaric``: init once, the timeout, the memory size, failed inits, exits."""

from __future__ import annotations

import re
import resource
import time

import pytest

from emulator.lambda_function import RESERVED, FunctionConfig

REPORT = re.compile(
    r"REPORT RequestId: (?P<rid>\S+)\tDuration: (?P<duration>[\d.]+) ms\t"
    r"Billed Duration: (?P<billed>\d+) ms\tMemory Size: (?P<size>\d+) MB\tMax Memory Used: (?P<used>\d+) MB\t"
    r"(?:Init Duration: (?P<init>[\d.]+) ms\t)?"
    r"(?:Status: (?P<status>\w+)\t(?:Error Type: (?P<etype>\S+)\t)?)?$"
)


def report_of(result) -> re.Match:
    lines = [line for line in result.lines if line.startswith("REPORT ")]
    assert len(lines) == 1, result.lines
    match = REPORT.fullmatch(lines[0])
    assert match, lines[0]
    return match


def test_init_once_then_invocations_in_the_same_process(make_function, monkeypatch) -> None:
    monkeypatch.setenv("CALLER_ONLY", "must not leak into the function")
    fn = make_function("counter", name="counter-fn", timeout=5, memory_mb=256, env={"GREETING": "hi"})
    results = [fn.invoke({"n": i}, client_context={"custom": {"k": "v"}}) for i in range(3)]
    assert [r.status for r in results] == ["success"] * 3
    assert [r.payload["invocations"] for r in results] == [1, 2, 3]
    assert (
        len({r.payload["pid"] for r in results}) == 1
        and results[0].payload["pid"] == results[0].payload["init_pid"]
    )
    assert fn.environments == 1
    assert [r.cold for r in results] == [True, False, False]
    first = results[0].payload
    assert first["event"] == {"n": 0} and first["request_id"] == results[0].request_id
    assert first["function_arn"] == "arn:aws:lambda:ap-southeast-1:123456789012:function:counter-fn"
    assert first["memory_limit_in_mb"] == "256"
    assert 3000 < first["remaining_ms"] <= 5000
    assert first["client_context"] == {"k": "v"}
    env = first["env"]
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == "counter-fn" and env["AWS_LAMBDA_FUNCTION_VERSION"] == "$LATEST"
    assert env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "256" and env["AWS_REGION"] == "ap-southeast-1"
    assert env["AWS_LAMBDA_LOG_GROUP_NAME"] == "/aws/lambda/counter-fn"
    assert re.fullmatch(r"\d{4}/\d\d/\d\d/\[\$LATEST\][0-9a-f]{32}", env["AWS_LAMBDA_LOG_STREAM_NAME"])
    assert env["_HANDLER"] == "tests.integration.runtime.handlers.counter"
    assert env["AWS_LAMBDA_INITIALIZATION_TYPE"] == "on-demand" and env["AWS_EXECUTION_ENV"].startswith(
        "AWS_Lambda_python"
    )
    assert env["_X_AMZN_TRACE_ID"].startswith("Root=1-") and env["LAMBDA_TASK_ROOT"]
    assert env["GREETING"] == "hi" and env["CALLER_ONLY"] is None
    assert env["AWS_LAMBDA_LOG_FORMAT"] is None, "Text format: the runtime is not told a format"
    # the platform lines, in order, for each invocation; Init Duration only on the first
    lines = fn.lines()
    assert lines[0].startswith("INIT_START Runtime Version: ")
    assert sum(line.startswith("INIT_START") for line in lines) == 1
    for i, r in enumerate(results):
        assert r.lines[r.lines.index(f"START RequestId: {r.request_id} Version: $LATEST") + 1 :][-2:] == [
            f"END RequestId: {r.request_id}",
            r.lines[-1],
        ]
        m = report_of(r)
        assert m["rid"] == r.request_id and m["size"] == "256" and m["status"] is None
        assert (m["init"] is not None) == (i == 0)
        assert int(m["billed"]) == pytest.approx(float(m["duration"]) + float(m["init"] or 0), abs=1)
        assert 5 < int(m["used"]) <= 256
    # the runtime's own peak RSS (observe's MaxMemoryUsed) is its own, not the size of the process
    # that started it (Linux carries ru_maxrss across fork and exec)
    parent_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    used = int(report_of(results[-1])["used"])
    assert results[-1].payload["maxrss_mb"] <= used + 5 < parent_mb, (
        results[-1].payload["maxrss_mb"],
        parent_mb,
    )


def test_a_timeout_kills_the_process_at_the_deadline_and_the_next_invocation_inits_again(
    make_function,
) -> None:
    fn = make_function("sleeper", timeout=2)
    started = time.perf_counter()
    result = fn.invoke({"seconds": 30})
    took = time.perf_counter() - started
    assert result.status == "timeout" and result.error_type == "Sandbox.Timedout"
    assert 2.0 <= took < 6, "killed at the 2 s deadline, not after the handler's 30 s"
    assert result.payload == {
        "errorType": "Sandbox.Timedout",
        "errorMessage": f"RequestId: {result.request_id} Error: Task timed out after 2.00 seconds",
    }
    assert "sleeping 30 s" in result.lines
    assert any(
        re.fullmatch(rf"\S+Z {result.request_id} Task timed out after 2\.00 seconds", ln)
        for ln in result.lines
    )
    m = report_of(result)
    assert m["status"] == "timeout" and float(m["duration"]) >= 2000 and m["init"] is not None
    dead = result.pid
    with pytest.raises(ProcessLookupError):
        import os

        os.kill(dead, 0)
    # the next invocation: a fresh process, a suppressed init (no INIT_START, no Init Duration)
    again = fn.invoke({"seconds": 0})
    assert again.ok and again.payload == "awake" and again.pid != dead and again.cold
    assert fn.environments == 2
    assert not any(line.startswith("INIT_START") for line in again.lines)
    assert report_of(again)["init"] is None and report_of(again)["status"] is None
    warm = fn.invoke({"seconds": 0})
    assert warm.pid == again.pid and not warm.cold


def test_out_of_memory_kills_the_process_and_is_reported_as_lambda_reports_it(make_function) -> None:
    fn = make_function("hog", memory_mb=128, timeout=20)
    result = fn.invoke({})
    assert result.status == "error" and result.error_type == "Runtime.OutOfMemory"
    assert result.payload == {
        "errorType": "Runtime.OutOfMemory",
        "errorMessage": f"RequestId: {result.request_id} Error: Runtime exited with error: signal: killed",
    }
    assert (
        f"RequestId: {result.request_id} Error: Runtime exited with error: signal: killed\nRuntime.ExitError"
        in (result.lines)
    )
    m = report_of(result)
    assert m["status"] == "error" and m["etype"] == "Runtime.OutOfMemory"
    assert m["used"] == "128", "the peak is the memory size at the kill"
    assert fn.memory_enforcement is None and fn.environments == 1
    assert fn.invoke({}).error_type == "Runtime.OutOfMemory", "the next one starts afresh and hits it again"


def test_sys_exit_in_a_handler_is_a_runtime_exit_error(make_function) -> None:
    fn = make_function("exits")
    result = fn.invoke({"code": 3})
    assert result.status == "error" and result.error_type == "Runtime.ExitError"
    assert (
        result.payload["errorMessage"]
        == f"RequestId: {result.request_id} Error: Runtime exited with error: exit status 3"
    )
    assert "about to exit" in result.lines
    m = report_of(result)
    assert m["status"] == "error" and m["etype"] == "Runtime.ExitError"
    assert (
        fn.invoke({"code": 0}).payload["errorMessage"].endswith("Runtime exited without providing a reason")
    )


def test_a_handler_error_is_the_runtime_error_json_and_keeps_the_process(make_function) -> None:
    fn = make_function("raiser")
    first, second = fn.invoke({"n": 1}), fn.invoke({"n": 2})
    assert first.status == "error" and first.error_type == "ValueError"
    assert first.payload["errorMessage"] == "bad input 1" and first.payload["requestId"] == first.request_id
    assert any("raise ValueError" in frame for frame in first.payload["stackTrace"])
    logged = [ln for ln in first.lines if ln.startswith("[ERROR] ValueError: bad input 1")]
    assert len(logged) == 1 and "\nTraceback (most recent call last):\n" in logged[0], first.lines
    assert report_of(first)["status"] is None, "the handler's own error is not a platform status"
    assert second.pid == first.pid and fn.environments == 1


@pytest.mark.parametrize(
    ("handler", "error_type", "message"),
    [
        (
            "tests.integration.runtime.no_such_module.handler",
            "Runtime.ImportModuleError",
            "Unable to import module",
        ),
        ("tests.integration.runtime.broken_init.handler", "RuntimeError", "cannot load the suite"),
        ("counter_missing", "Runtime.HandlerNotFound", "Handler 'counter_missing' missing"),
    ],
)
def test_a_failed_init_is_reported_through_init_error_and_retried_in_the_invocation(
    make_function, handler: str, error_type: str, message: str
) -> None:
    fn = make_function(handler)
    result = fn.invoke({})
    assert result.status == "error" and result.error_type == error_type
    assert result.payload["errorType"] == error_type and message in result.payload["errorMessage"]
    reports = [ln for ln in result.lines if ln.startswith("INIT_REPORT ")]
    assert [re.sub(r"Init Duration: [\d.]+ ms", "", ln) for ln in reports] == [
        f"INIT_REPORT \tPhase: init\tStatus: error\tError Type: {error_type}",
        f"INIT_REPORT \tPhase: invoke\tStatus: error\tError Type: {error_type}",
    ]
    assert sum(f"[ERROR] {error_type}: " in ln for ln in result.lines) == 2, (
        "the runtime's error, once per init"
    )
    m = report_of(result)
    assert m["status"] == "error" and m["etype"] == error_type and m["init"] is None
    assert fn.environments == 2


def test_an_init_longer_than_its_limit_is_a_timeout(make_function, tmp_path) -> None:
    (tmp_path / "slow_init.py").write_text("import time\ntime.sleep(30)\ndef handler(e, c):\n    return 1\n")
    fn = make_function("slow_init.handler", init_timeout=1, timeout=1, task_root=str(tmp_path))
    started = time.perf_counter()
    result = fn.invoke({})
    assert time.perf_counter() - started < 6
    assert result.status == "timeout"
    reports = [ln for ln in result.lines if ln.startswith("INIT_REPORT ")]
    assert len(reports) == 2 and all(ln.endswith("Status: timeout") for ln in reports)
    assert any("Task timed out after 1.00 seconds" in ln for ln in result.lines)


def test_the_configuration_is_checked_like_lambda_checks_it() -> None:
    with pytest.raises(ValueError, match="reserved environment variable"):
        FunctionConfig("f", "m.h", env={"AWS_REGION": "us-east-1"})
    with pytest.raises(ValueError, match="timeout"):
        FunctionConfig("f", "m.h", timeout=901)
    with pytest.raises(ValueError, match="memory_mb"):
        FunctionConfig("f", "m.h", memory_mb=64)
    with pytest.raises(ValueError, match="log_format"):
        FunctionConfig("f", "m.h", log_format="XML")
    assert "AWS_LAMBDA_RUNTIME_API" in RESERVED


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_processes_a_handler_started_go_with_its_environment(make_function) -> None:
    fn = make_function("spawner", timeout=5)
    result = fn.invoke({})
    child = result.payload
    assert result.ok and _alive(child)
    started = time.perf_counter()
    fn.close()
    assert time.perf_counter() - started < 5, "closing does not wait on the child's hold of stdout"
    deadline = time.monotonic() + 5
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(child), "killed with the environment's process group"


def test_warm_runs_the_init_ahead_and_the_first_invocation_still_reports_it(make_function) -> None:
    fn = make_function("counter")
    init_ms = fn.warm()
    assert init_ms is not None and init_ms > 0 and fn.pid is not None
    assert fn.warm() is None, "already up"
    first, second = fn.invoke({}), fn.invoke({})
    assert first.pid == fn.pid and first.cold and not second.cold
    assert float(report_of(first)["init"]) == pytest.approx(init_ms, abs=0.01)
    assert report_of(second)["init"] is None
    assert fn.environments == 1
