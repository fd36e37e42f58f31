"""The Lambda platform's lines in both formats: parsed, joined with observe's lines by request id,
the causes named, the REPORT telemetry and the memory recommendation.

The platform lines come from the emulator's own writer (emulator.platform_log, checked against
Lambda's shapes in tests/unit/emulator) and, for the shapes older functions still print, from
literal samples of CloudWatch Logs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from diagnostics import Diagnostics
from diagnostics.cli import main
from diagnostics.lambda_view import (
    INIT_FAILURE,
    OUT_OF_MEMORY,
    RUNTIME_EXITED,
    TIMEOUT,
    FunctionTelemetry,
    PlatformJoin,
    build,
    right_size,
)
from diagnostics.model import Window
from diagnostics.platform import from_record, parse_text
from diagnostics.queries import Clause, Selection, clause_filter, clause_patterns, prefilter
from diagnostics.report import build_report
from diagnostics.sources import parse_line
from emulator.platform_log import PlatformLog, Report
from observe.catalogue import TIMEOUT_WARNING
from tests.unit.diagnostics.diag_builders import line, stamp, summary

A, B, C, D, E, F, G, H = (f"{c * 8}-0000-4000-8000-{c * 12}" for c in "abcdef01")
FN = "ingest-worker"


def watchdog(seconds: float, rid: str, cid: str, flying: list[tuple[str, str]]) -> dict[str, Any]:
    """The deadline watchdog's line as observe writes it (observe/watchdog.py)."""
    return line(
        seconds,
        TIMEOUT_WARNING,
        level="warning",
        logger="observe",
        rid=rid,
        cid=cid,
        service=FN,
        elapsed_ms=2600.0,
        remaining_ms=400.0,
        in_flight=[
            {"batch_kind": "sqs", "record_id": r, "correlation_id": c, "running_ms": 2400.0}
            for r, c in flying
        ],
    )


def runtime_error(fmt: str, etype: str, message: str) -> str:
    """What the Python runtime writes for an exception at init (no request id yet)."""
    if fmt == "Text":
        return f"[ERROR] {etype}: {message}\nTraceback (most recent call last):"
    return json.dumps(
        {"timestamp": stamp(0), "level": "ERROR", "errorType": etype, "errorMessage": message,
         "requestId": "", "stackTrace": []}
    )  # fmt: skip


def script(fmt: str) -> list[str]:
    """One log, two environments interleaved (A and B run at once), then one of each failure.

    A: timed out mid-batch, the watchdog named m2 in flight; B: fine, at the same time.
    C: timed out, no watchdog line, no END; its lines name m7 last. D: out of memory (Runtime.OutOfMemory).
    F: its init failed (ImportModuleError), in the init and again in the invoke phase. G: sys.exit(2).
    H: the handler raised (observe's summary line says so; not the platform's business).
    """
    p = PlatformLog(fmt, function_name=FN)
    obs = lambda doc: json.dumps(doc)  # noqa: E731 - observe's lines are JSON in both formats
    ended: dict[str, Any] = {"status": "error", "platform_ended": True}
    no_pandas = "Unable to import module 'app': No module named 'pandas'"
    import_error = "Runtime.ImportModuleError"
    out: list[str | None] = [
        p.init_start("python:3.12.v40", "arn"),
        p.start(A),
        obs(line(1, "record started", rid=A, cid="cid-m1", message_id="m1")),
        p.start(B),
        obs(line(1.5, "record started", rid=B, cid="cid-m9", message_id="m9")),
        obs(line(1.6, "record started", rid=A, cid="cid-m2", message_id="m2")),
        obs(summary(1.7, rid=B, cid="cid-b")),
        p.runtime_done(B, 200.0, "success", None, 10),
        p.end(B),
        p.report(Report(B, 200.0, 1024, 180, init_ms=350.0)),
        obs(watchdog(2.6, A, "cid-a", [("m2", "cid-m2")])),
        p.timed_out(A, 3),
        p.runtime_done(A, 3000.0, "timeout", None, 0),
        p.end(A),
        p.report(Report(A, 3000.5, 1024, 240, init_ms=410.0, status="timeout", platform_ended=True)),
        # C: no watchdog, no END
        p.start(C),
        obs(line(10, "record started", rid=C, cid="cid-m6", message_id="m6")),
        obs(line(10.2, "record done", rid=C, cid="cid-m6", message_id="m6")),
        obs(line(10.3, "record started", rid=C, cid="cid-m7", message_id="m7")),
        p.timed_out(C, 3),
        p.report(Report(C, 3000.1, 1024, 260, status="timeout", platform_ended=True)),
        # D: out of memory
        p.start(D),
        obs(line(20, "page fetched", rid=D, cid="cid-d", message_id="m8")),
        p.runtime_exited(D, "Runtime exited with error: signal: killed"),
        p.runtime_done(D, 900.0, "error", "Runtime.OutOfMemory", 0),
        p.end(D),
        p.report(Report(D, 900.0, 1024, 1024, error_type="Runtime.OutOfMemory", **ended)),
        # F: a failed init, tried again in the invoke phase
        p.init_start("python:3.12.v40", "arn"),
        runtime_error(fmt, import_error, no_pandas),
        p.init_report(900.0, phase="init", status="error", error_type=import_error),
        p.start(F),
        runtime_error(fmt, import_error, no_pandas),
        p.init_report(800.0, phase="invoke", status="error", error_type=import_error),
        p.runtime_done(F, 810.0, "error", import_error, 0),
        p.end(F),
        p.report(Report(F, 810.0, 1024, 60, error_type=import_error, **ended)),
        # G: the handler called sys.exit(2)
        p.start(G),
        obs(line(40, "about to stop", rid=G, cid="cid-g")),
        p.runtime_exited(G, "Runtime exited with error: exit status 2"),
        p.runtime_done(G, 30.0, "error", "Runtime.ExitError", 0),
        p.end(G),
        p.report(Report(G, 30.0, 1024, 90, error_type="Runtime.ExitError", **ended)),
        # H: the handler's own error
        p.start(H),
        obs(summary(50, rid=H, cid="cid-h", failed=True)),
        p.runtime_done(H, 40.0, "error", "RuntimeError", 0),
        p.end(H),
        p.report(Report(H, 40.0, 1024, 100, status="error", error_type="RuntimeError")),
    ]  # fmt: skip
    return [x for x in out if x is not None]


def view_of(lines: list[str], tmp_path: Path, **load: Any) -> Any:
    path = tmp_path / "fn.log"
    path.write_text("\n".join(lines) + "\n")
    return Diagnostics.load(logs=path, config=None, **load).lambda_view()


# --- parsing ----------------------------------------------------------------------------------------


def test_text_lines_parse_into_platform_documents() -> None:
    p = PlatformLog("Text")
    report = parse_text(
        p.report(Report(A, 3004.92, 128, 33, init_ms=111.23, status="timeout", platform_ended=True))
    )
    assert report == {"@platform": {
        "type": "report", "request_id": A, "duration_ms": 3004.92, "billed_ms": 3117.0, "memory_mb": 128,
        "max_memory_mb": 33, "init_ms": 111.23, "status": "timeout", "format": "Text",
    }}  # fmt: skip
    killed = parse_text(p.runtime_exited(A, "Runtime exited with error: signal: killed") or "")
    assert killed == {"@platform": {"type": "exited", "request_id": A, "reason": "signal: killed",
                                    "error_type": "Runtime.ExitError"}}  # fmt: skip
    timed_out = parse_text(p.timed_out(A, 3) or "")
    assert (
        isinstance(timed_out, dict) and timed_out["@platform"]["timeout_s"] == 3.0 and timed_out["timestamp"]
    )
    init = parse_text(
        p.init_report(1236.04, phase="init", status="error", error_type="Runtime.ImportModuleError") or ""
    )
    assert init == {"@platform": {
        "type": "init_report", "duration_ms": 1236.04, "phase": "init", "status": "error",
        "error_type": "Runtime.ImportModuleError",
    }}  # fmt: skip
    # the shapes older functions print: spaces for tabs, no Status, "Process exited"
    old = parse_text(
        f"REPORT RequestId: {A}  Duration: 122204.28 ms  Billed Duration: 122300 ms  Memory Size: 256 MB  "
        "Max Memory Used: 256 MB"
    )
    assert isinstance(old, dict)
    assert old["@platform"]["duration_ms"] == 122204.28 and old["@platform"]["billed_ms"] == 122300.0
    assert old["@platform"]["max_memory_mb"] == 256 and "status" not in old["@platform"]
    exited = parse_text(f"RequestId: {A} Process exited before completing request")
    assert (
        isinstance(exited, dict)
        and exited["@platform"]["reason"] == "Process exited before completing request"
    )
    handled = parse_text("[ERROR]\t2026-11-26T04:00:00.000Z\tabc\tsomething failed")
    assert handled is None, "a logging call through the runtime's handler is not the runtime's error"
    assert parse_text("plain text") is None
    # through parse_line, as every source reads them
    assert parse_line("Runtime.ExitError").kind == "platform" and parse_line("Runtime.ExitError").doc is None


def test_json_records_parse_into_the_same_documents() -> None:
    p = PlatformLog("JSON", function_name=FN)
    got = parse_line(p.report(Report(A, 693.92, 128, 84, init_ms=397.68, status="timeout")))
    assert got.kind == "platform" and got.doc is not None
    assert got.doc["@platform"] == {
        "type": "report", "request_id": A, "duration_ms": 693.92, "billed_ms": 1092.0, "memory_mb": 128,
        "max_memory_mb": 84, "init_ms": 397.68, "status": "timeout", "format": "JSON",
    }  # fmt: skip
    assert got.doc["timestamp"].endswith("Z")
    init = from_record(json.loads(p.init_report(5.0, phase="invoke", status="error", error_type="X") or ""))
    assert (
        init is not None and init["@platform"]["phase"] == "invoke" and init["@platform"]["error_type"] == "X"
    )
    start = from_record(json.loads(p.init_start("v", "arn") or ""))
    assert start is not None and start["@platform"]["function_name"] == FN
    assert from_record({"type": "function", "record": {}}) is None
    assert parse_line(json.dumps({"type": "platform.report", "record": "x"})).kind == "doc", "not a record"


def test_only_a_platform_clause_selects_platform_lines() -> None:
    report = parse_line(PlatformLog("Text").report(Report(A, 1.0, 128, 30))).doc
    runtime = parse_line(runtime_error("JSON", "Runtime.ImportModuleError", "x")).doc
    assert report is not None and runtime is not None
    assert not Selection.everything(Window()).matches(report), (
        "questions about observe's lines never see them"
    )
    platform = Selection(Window(), (Clause(platform=True),))
    assert platform.matches(report) and platform.matches(runtime)
    assert not platform.matches(line(1, "observe's line"))
    with pytest.raises(ValueError, match="selected whole"):
        Clause(platform=True, min_level=40)
    # each translation lets every platform line through
    assert '"RequestId:"' in clause_patterns(Clause(platform=True))
    assert clause_filter(Clause(platform=True)).startswith(
        "@message like /RequestId:|INIT_REPORT|Task timed out|"
    )
    test = prefilter(platform)
    assert test is not None
    for text in script("Text") + script("JSON"):
        if text.startswith("INIT_START"):  # a Text INIT_START names nothing diagnostics uses
            continue
        if parse_line(text).kind == "platform" or '"errorType"' in text:
            assert test(text.encode()), text
    assert not test(json.dumps(line(1, "observe's line")).encode())


# --- joined: causes, ids, records in flight -----------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["Text", "JSON"])
def test_each_cause_with_its_request_id_correlation_id_and_records_in_flight(
    fmt: str, tmp_path: Path
) -> None:
    view = view_of(script(fmt), tmp_path)
    by_rid = {f.request_id: f for f in view.failures}
    assert set(by_rid) == {A, C, D, F, G}, "B ran fine; H's error is the handler's"
    assert view.counts == {TIMEOUT: 2, OUT_OF_MEMORY: 1, INIT_FAILURE: 1, RUNTIME_EXITED: 1}

    a = by_rid[A]  # interleaved with B; the watchdog named what was in flight
    assert a.cause == TIMEOUT and a.correlation_id == "cid-a" and a.function == FN
    assert a.in_flight == [
        {"batch_kind": "sqs", "record_id": "m2", "correlation_id": "cid-m2", "running_ms": 2400.0}
    ]
    assert a.in_flight_from == "watchdog"
    assert [x["message"] for x in a.last_lines] == ["record started", "record started", TIMEOUT_WARNING]
    assert all(x["aws_request_id"] == A for x in a.last_lines), "B's lines stay B's"
    assert a.duration_ms == 3000.5 and a.memory_mb == 1024

    c = by_rid[C]  # no watchdog line, no END: the last record its lines name
    assert c.cause == TIMEOUT and c.in_flight_from == "last lines"
    assert c.in_flight == [
        {"record_id": "m7", "correlation_id": "cid-m7", "batch_kind": None, "running_ms": None}
    ]
    assert c.correlation_id == "cid-m6", "no summary or watchdog line: the first line's id"
    assert any("no watchdog line" in e for e in c.evidence)

    d = by_rid[D]
    assert (
        d.cause == OUT_OF_MEMORY
        and "1,024 MB of 1,024 MB" in d.detail
        and d.in_flight[0]["record_id"] == "m8"
    )
    f = by_rid[F]
    assert f.cause == INIT_FAILURE and f.error_type == "Runtime.ImportModuleError"
    assert "invoke phase" in f.detail and "No module named 'pandas'" in f.detail
    assert f.correlation_id is None and f.in_flight == [] and f.in_flight_from == "unknown"
    g = by_rid[G]
    assert g.cause == RUNTIME_EXITED and g.correlation_id == "cid-g"
    if fmt == "Text":  # JSON says only Runtime.ExitError (no exit line in that format)
        assert "exit status 2" in g.detail
    assert view.unreported == 0 and view.init_errors_unplaced == 0


def test_older_lines_timeout_and_out_of_memory_without_a_status(tmp_path: Path) -> None:
    """Functions whose REPORT has no Status: the timed-out line, or the kill at the memory size."""
    lines = [
        f"START RequestId: {A} Version: $LATEST",
        f"2026-11-26T04:00:03.004Z {A} Task timed out after 3.00 seconds",
        f"END RequestId: {A}",
        f"REPORT RequestId: {A}\tDuration: 3003.46 ms\tBilled Duration: 3000 ms\tMemory Size: 256 MB\t"
        "Max Memory Used: 80 MB\t",
        f"START RequestId: {B} Version: $LATEST",
        f"RequestId: {B} Error: Runtime exited with error: signal: killed",
        "Runtime.ExitError",
        f"END RequestId: {B}",
        f"REPORT RequestId: {B}\tDuration: 122204.28 ms\tBilled Duration: 122300 ms\tMemory Size: 256 MB\t"
        "Max Memory Used: 256 MB\t",
        f"START RequestId: {C} Version: $LATEST",
        f"RequestId: {C} Process exited before completing request",
        f"REPORT RequestId: {C}\tDuration: 12.00 ms\tBilled Duration: 12 ms\tMemory Size: 256 MB\t"
        "Max Memory Used: 40 MB\t",
        f"START RequestId: {D} Version: $LATEST",  # still running when the log was read
    ]
    view = view_of(lines, tmp_path)
    causes = {f.request_id: (f.cause, f.detail) for f in view.failures}
    assert causes[A][0] == TIMEOUT and "3.00 s" in causes[A][1]
    assert causes[B][0] == OUT_OF_MEMORY and "signal: killed" in causes[B][1]
    assert causes[C] == (RUNTIME_EXITED, "the runtime exited: Process exited before completing request")
    assert D not in causes and view.unreported == 1
    assert view.failures[0].time is not None and view.failures[0].request_id == A, "its time from the line"


def test_cloudwatch_order_and_streams_place_an_init_failure(tmp_path: Path) -> None:
    """CloudWatch answers one filter pattern after another: INIT_REPORT arrives after every REPORT;
    the event times and log streams place it. A failed init whose retry worked fails nothing."""
    p = PlatformLog("Text")

    def ev(ms: int, text: str, stream: str) -> dict[str, Any]:
        doc = parse_line(text).doc
        assert doc is not None
        doc.setdefault("timestamp", f"2026-11-26T04:00:{ms // 1000:02d}.{ms % 1000:03d}Z")
        doc["@platform"]["stream"] = stream
        doc["@log"] = "/aws/lambda/auth-login"
        return doc

    failed = Report(A, 500.0, 256, 50, status="error", error_type="RuntimeError", platform_ended=True)
    docs = [  # "RequestId:" answers first, then "INIT_REPORT", then "[ERROR]"
        ev(1000, p.start(A), "s1"), ev(1600, p.report(failed), "s1"),
        ev(1100, p.start(B), "s2"), ev(1300, p.report(Report(B, 200.0, 256, 60, init_ms=300.0)), "s2"),
        ev(1500, p.init_report(400.0, phase="invoke", status="error", error_type="RuntimeError") or "", "s1"),
        ev(1050, p.init_report(300.0, phase="init", status="error", error_type="RuntimeError") or "", "s2"),
        ev(1450, "[ERROR] RuntimeError: cannot load the suite at /nope/suite.json", "s1"),
    ]  # fmt: skip
    join = PlatformJoin()
    for doc in docs:
        join.add(doc)
    view, _ = build(join, 50)
    (f,) = view.failures
    assert f.request_id == A and f.cause == INIT_FAILURE and f.function == "auth-login"
    assert "cannot load the suite at /nope/suite.json" in f.detail and f.log_stream == "s1"
    assert view.init_errors_unplaced == 1, "s2's init failed once, then B ran"


# --- telemetry and right-sizing --------------------------------------------------------------------------


def test_telemetry_from_report_lines(tmp_path: Path) -> None:
    p = PlatformLog("Text")
    lines = []
    for i in range(40):
        rid = f"{i:08d}-0000-4000-8000-000000000000"
        lines += [p.start(rid), json.dumps(summary(i, rid=rid, cid=f"c{i}", service="auth-login"))]
        cold = 300.0 + i if i % 10 == 0 else None  # 4 cold starts: 300, 310, 320, 330 ms
        lines.append(p.report(Report(rid, 100.0 + i, 1024, 150 + i, init_ms=cold)))
    view = view_of(lines, tmp_path)
    (t,) = view.telemetry
    assert (t.function, t.memory_mb, t.invocations, t.cold_starts) == ("auth-login", 1024, 40, 4)
    assert t.cold_start_rate == 0.1 and t.init_p50_ms == 310.0 and t.init_p99_ms == 330.0
    assert t.max_memory_p99_mb == 189 and t.max_memory_mb == 189
    billed = sum(
        Report("x", 100.0 + i, 1024, 1, init_ms=300.0 + i if i % 10 == 0 else None).billed_ms
        for i in range(40)
    )
    assert t.billed_ms_total == billed and t.gb_seconds == pytest.approx(billed / 1000.0)
    r = t.recommendation
    assert r is not None and r.memory_mb == 256, "189 MB + 20 % = 227 MB: 256 MB holds it"
    assert r.difference_gb_seconds == pytest.approx(billed / 1000.0 * (256 - 1024) / 1024)


def _telemetry(memory: int, p99: float, n: int = 100, oom: int = 0) -> FunctionTelemetry:
    return FunctionTelemetry(
        "fn", memory, n, 0, None, None, None, None, 10_000.0, None, None, p99, p99, p99, 10.0 * memory / 1024,
        failures={OUT_OF_MEMORY: oom} if oom else {},
    )  # fmt: skip


@pytest.mark.parametrize(
    ("memory", "p99", "oom", "expected"),
    [
        (1024, 200.0, 0, 256),  # 240 MB needed
        (128, 110.0, 0, 256),  # 132 MB needed: 128 is too small
        (512, 420.0, 0, 512),  # 504 MB needed: keep
        (512, 512.0, 3, 768),  # killed at the limit: one size up at least
        (10240, 10240.0, 1, 10240),  # nothing larger to give
    ],
)
def test_right_sizing_rule(memory: int, p99: float, oom: int, expected: int) -> None:
    r = right_size(_telemetry(memory, p99, oom=oom))
    assert r is not None and r.memory_mb == expected
    assert r.gb_seconds_then == pytest.approx(10.0 * expected / 1024)
    assert ("keep" in r.reason) == (expected == memory and not oom)
    assert right_size(_telemetry(0, 10.0)) is None
    assert "only 5 invocation(s)" in (right_size(_telemetry(1024, 10.0, n=5)) or r).reason


# --- what a person sees -----------------------------------------------------------------------------------


def _run(capsys: Any, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_failures_and_lambda_commands(tmp_path: Path, capsys: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    path = tmp_path / "fn.log"
    path.write_text("\n".join(script("Text")) + "\n")
    logs = ["--logs", str(path), "--config", str(tmp_path / "none.toml")]
    (tmp_path / "none.toml").write_text("")
    code, out, _ = _run(capsys, "failures", *logs)
    assert code == 0 and "Lambda invocation failures: 5\n" in out
    block = out[out.index(f"request id:     {A}") - 60 :]
    assert (
        "TIMEOUT" in block
        and "correlation id: cid-a" in block
        and "in flight (1, from the watchdog's line):\n        m2  cid cid-m2, sqs, running 2,400 ms" in block
    )
    assert "Failures: 1 in 1 group(s)" in out, "the handler's error, grouped as before"
    over = [ln for ln in out.splitlines() if len(ln) > 80 and " " in ln.strip()]
    assert over == []
    code, out, _ = _run(capsys, "failures", "--json", *logs)
    got = json.loads(out)
    assert got["counts"] == {"timeout": 2, "out of memory": 1, "init failure": 1, "runtime exited": 1}
    first = next(f for f in got["invocations"] if f["request_id"] == A)
    assert first["cause"] == "timeout" and first["correlation_id"] == "cid-a"
    assert (
        first["in_flight"][0]["record_id"] == "m2" and first["last_lines"][-1]["message"] == TIMEOUT_WARNING
    )
    code, out, _ = _run(capsys, "lambda", *logs)
    assert code == 0 and f"{FN} at 1,024 MB" in out and "cold starts:  28.6% (2)" in out
    assert "memory:       1,536 MB: +4.4 GB-s (+50%) over the window; 1 out-of-memory" in out
    assert [ln for ln in out.splitlines() if len(ln) > 80 and " " in ln.strip()] == []
    code, out, _ = _run(capsys, "lambda", "--json", *logs)
    (row,) = json.loads(out)["functions"]
    assert row["invocations"] == 7 and row["cold_start_rate"] == pytest.approx(2 / 7)
    assert row["recommendation"]["memory_mb"] == 1536, "killed at 1,024 MB: one size up"
    empty = tmp_path / "empty.log"
    empty.write_text(json.dumps(line(1, "nothing")) + "\n")
    code, out, _ = _run(capsys, "lambda", "--logs", str(empty), "--config", str(tmp_path / "none.toml"))
    assert code == 1 and "no REPORT line in the window" in out


def test_the_report_shows_the_invocations_lambda_ended_and_the_telemetry(tmp_path: Path) -> None:
    path = tmp_path / "fn.log"
    path.write_text("\n".join(script("JSON")) + "\n")
    (tmp_path / "none.toml").write_text("")
    html = build_report(Diagnostics.load(logs=path, config=tmp_path / "none.toml"))
    assert "Lambda ended 5 invocation(s)" in html, "on the first screen"
    section = html[html.index('<section id="lambda">') :]
    section = section[: section.index("</section>")]
    for expected in (
        A,
        C,
        "cid-a",
        "m2",
        "m7",
        "init failure",
        "out of memory",
        "runtime exited",
        TIMEOUT_WARNING,
    ):
        assert expected in section, expected
    assert 'href="#trace-cid-m2"' in section, "the record in flight links to its trace"
    telemetry = html[html.index('<section id="lambda-telemetry">') :]
    assert "1,536 MB" in telemetry and "28.6%" in telemetry
