"""The deadline watchdog: one warning line and one EMF document before a fake deadline, never for
invocations that finish in time, one thread per process, safe with async handlers, the GIL and a
handler in the middle of a write; and the memory warning."""

from __future__ import annotations

import asyncio
import ctypes
import io
import json
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from observe import bind, get_logger, observed, telemetry, watchdog
from observe import logging as olog
from observe.batch import process_sqs_batch
from observe.buffer import Settings
from observe.catalogue import MEMORY_WARNING, TIMEOUT_WARNING
from observe.config import ConfigError
from observe.testing import Captured, FakeLambdaContext

log = get_logger("tests.watchdog")
APIGW = {
    "version": "2.0",
    "headers": {"x-correlation-id": "cid-w"},
    "requestContext": {"requestId": "r", "http": {}},
}


@pytest.fixture(autouse=True)
def _margin() -> Iterator[None]:
    watchdog.configure(100)  # ms; the 20% cap applies to the short fake deadlines below
    yield
    watchdog.configure()
    telemetry.configure_memory_warning()


def warnings_of(cap: Captured) -> list[dict[str, Any]]:
    return [x for x in cap.logs if x["message"] == TIMEOUT_WARNING]


def wait_for(predicate: Any, timeout: float = 3.0) -> None:
    end = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > end:
            raise AssertionError("timed out waiting")
        time.sleep(0.01)


def test_fires_before_the_deadline_with_its_fields_and_counts_the_invocation_once(observe_capture) -> None:
    fired_before = watchdog.fired_count()

    @observed(pipeline="p", service="s")
    def handler(event: Any, context: Any) -> str:
        bind(order_id="o-5")
        time.sleep(0.8)  # past the fire time (400 ms) and the fake deadline (500 ms): nothing kills it
        return "late but done"

    ctx = FakeLambdaContext(remaining_ms=500)
    started = time.perf_counter()
    assert handler(APIGW, ctx) == "late but done"
    assert watchdog.fired_count() == fired_before + 1
    (warning,) = warnings_of(observe_capture)
    assert warning["level"] == "warning" and warning["logger"] == "observe"
    assert warning["correlation_id"] == "cid-w" and warning["aws_request_id"] == ctx.aws_request_id
    assert warning["service"] == "s" and warning["order_id"] == "o-5"  # what the handler bound
    assert 395 <= warning["elapsed_ms"] < 800 and warning["timeout_margin_ms"] == 100.0
    assert warning["remaining_ms"] <= 105 and warning["remaining_ms"] == pytest.approx(
        500 - warning["elapsed_ms"], abs=5
    )
    assert any("in handler" in frame for frame in warning["stack"])  # where the handler is
    assert not any("decorator.py" in frame for frame in warning["stack"])
    assert warning["buffered_lines"] == 0
    # the EMF documents: the watchdog's, then the end's without what the watchdog counted
    first, last = observe_capture.metrics
    assert first["Timeouts"] == 1 and 395 <= first["Duration"] < 800 and first["ColdStart"] == 1
    assert first["correlation_id"] == "cid-w" and "MemoryUtilization" in first
    assert "Duration" not in last and "ColdStart" not in last and "Timeouts" not in last
    assert last["Errors"] == 0
    assert observe_capture.metric_values("Duration") == [first["Duration"]]
    summary = observe_capture.logs[-1]
    assert summary["message"] == "invocation complete" and summary["watchdog_fired"] is True
    assert summary["duration_ms"] >= 800 and (time.perf_counter() - started) < 3
    order = [x.get("message", "EMF") for x in observe_capture._parsed()]
    assert order == [TIMEOUT_WARNING, "EMF", "invocation complete", "EMF"]


def test_never_fires_for_invocations_that_finish_and_uses_one_thread(observe_capture) -> None:
    @observed(pipeline="p", service="s")
    def handler(event: Any, context: Any) -> int:
        log.info("quick")
        return event["n"]

    handler({"n": -1}, FakeLambdaContext(remaining_ms=600))  # the thread exists from here on
    threads = threading.active_count()
    fired_before = watchdog.fired_count()
    for n in range(200):
        assert handler({"n": n}, FakeLambdaContext(remaining_ms=600 + n % 7)) == n  # fire times 480 ms ahead
    time.sleep(0.6)  # every one of them would have been due by now
    assert watchdog.fired_count() == fired_before and not warnings_of(observe_capture)
    assert threading.active_count() == threads
    assert [t.name for t in threading.enumerate()].count("observe-watchdog") == 1
    assert observe_capture.metric_values("Timeouts") == []


def test_an_async_handler_names_its_tasks_and_where_they_wait(observe_capture) -> None:
    @observed(pipeline="p", service="s")
    async def handler(event: Any, context: Any) -> str:
        async def fetch(page: int) -> None:
            await asyncio.sleep(0.9 if page == 2 else 0)

        await asyncio.gather(*(asyncio.create_task(fetch(p), name=f"fetch-{p}") for p in (1, 2)))
        return "ok"

    assert asyncio.run(handler(APIGW, FakeLambdaContext(remaining_ms=500))) == "ok"
    (warning,) = warnings_of(observe_capture)
    tasks = {t["name"]: t["at"] for t in warning["tasks"]}
    assert "fetch-2" in tasks and any("in fetch" in frame for frame in tasks["fetch-2"])
    assert "fetch-1" not in tasks  # finished: not pending any more
    assert observe_capture.metric_values("Timeouts") == [1]


def test_in_flight_records_and_buffered_lines(observe_capture) -> None:
    olog.configure(level="INFO", stream=observe_capture.stream, below_level=Settings(buffer_level=10))
    blog = get_logger("tests.watchdog.buffered")

    def record(r: dict[str, Any]) -> None:
        blog.debug("fetching", message_id=r["messageId"])
        if r["messageId"] == "m2":
            time.sleep(0.9)

    @observed(pipeline="p", service="s")
    def handler(event: Any, context: Any) -> Any:
        return process_sqs_batch(event, record)

    event = {
        "Records": [
            {
                "messageId": m,
                "body": "{}",
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:ap-southeast-1:123456789012:q",
                "attributes": {},
                "messageAttributes": {"correlation_id": {"stringValue": f"cid-{m}", "dataType": "String"}},
            }
            for m in ("m1", "m2")
        ]
    }
    assert handler(event, FakeLambdaContext(remaining_ms=500)) == {"batchItemFailures": []}
    (warning,) = warnings_of(observe_capture)
    (flight,) = warning["in_flight"]
    assert (
        flight["batch_kind"] == "sqs" and flight["record_id"] == "m2" and flight["correlation_id"] == "cid-m2"
    )
    assert warning["buffered_lines"] == 2
    messages = [x.get("message", "EMF") for x in observe_capture._parsed()]
    at = messages.index(TIMEOUT_WARNING)
    assert messages[at : at + 4] == [TIMEOUT_WARNING, "EMF", "fetching", "fetching"]
    written = [x for x in observe_capture.logs if x["message"] == "fetching"]
    assert [x["correlation_id"] for x in written] == ["cid-m1", "cid-m2"] and all(
        x["buffered"] for x in written
    )


def test_a_handler_holding_the_gil_in_c_code_delays_the_line_until_it_lets_go(observe_capture) -> None:
    if not sys.platform.startswith("linux"):
        pytest.skip("ctypes.PyDLL(None).usleep is the Linux libc's")
    hold_gil = ctypes.PyDLL(None).usleep  # a PyDLL call keeps the GIL for its whole duration

    @observed(pipeline="p", service="s")
    def handler(event: Any, context: Any) -> str:
        hold_gil(600_000)  # 0.6 s in C with the GIL, across the fire time (400 ms)
        time.sleep(0.5)  # then a wait that lets other threads run
        return "ok"

    assert handler(APIGW, FakeLambdaContext(remaining_ms=500)) == "ok"
    (warning,) = warnings_of(observe_capture)
    assert warning["elapsed_ms"] >= 590  # it could not run while the C call held the GIL
    assert observe_capture.metric_values("Timeouts") == [1]


def test_a_pure_python_loop_does_not_keep_the_watchdog_from_firing_on_time(observe_capture) -> None:
    @observed(pipeline="p", service="s")
    def handler(event: Any, context: Any) -> int:
        end = time.perf_counter() + 0.9
        n = 0
        while time.perf_counter() < end:  # bytecode: the GIL changes hands every 5 ms
            n += 1
        return n

    handler(APIGW, FakeLambdaContext(remaining_ms=500))
    (warning,) = warnings_of(observe_capture)
    assert 395 <= warning["elapsed_ms"] < 700  # within the switch interval, plus what a busy machine adds


class MidWrite(io.StringIO):
    """A stream like a buffered file: one write at a time; a write of a 'slow' line stalls halfway."""

    def __init__(self) -> None:
        super().__init__()
        self.lock = threading.Lock()

    def write(self, text: str) -> int:
        with self.lock:
            if "slow write" in text:
                half = len(text) // 2
                super().write(text[:half])
                time.sleep(1.0)  # the fire time (500 ms) falls inside it even on a loaded machine
                return super().write(text[half:]) + half
            return super().write(text)


def test_a_handler_in_the_middle_of_a_write_gets_its_line_whole(observe_capture) -> None:
    stream = MidWrite()
    olog.configure(level="DEBUG", stream=stream)
    slog = get_logger("tests.watchdog.slow")

    @observed(pipeline="p", service="s")
    def handler(event: Any, context: Any) -> str:
        slog.info("slow write", payload="y" * 5000)  # in progress from ~0 to 1,000 ms: the fire time (500 ms)
        return "ok"

    handler(APIGW, FakeLambdaContext(remaining_ms=600))
    # the watchdog waited for the write in progress; the end of the invocation may have come first
    wait_for(lambda: stream.getvalue().count("\n") == 5)
    lines = [json.loads(x) for x in stream.getvalue().splitlines()]  # every line whole
    messages = [x.get("message", "EMF") for x in lines]
    assert messages[0] == "slow write" and len(lines[0]["payload"]) == 5000
    assert sorted(messages) == sorted(["slow write", TIMEOUT_WARNING, "EMF", "invocation complete", "EMF"])
    assert messages[messages.index(TIMEOUT_WARNING) + 1] == "EMF"  # its document right after it
    assert next(x for x in lines if x.get("message") == "invocation complete")["watchdog_fired"] is True


def test_a_nested_observed_call_runs_inside_its_callers_deadline(observe_capture) -> None:
    @observed(pipeline="p", service="inner")
    def inner(event: Any, context: Any) -> None:
        time.sleep(0.8)

    @observed(pipeline="p", service="outer")
    def outer(event: Any, context: Any) -> None:
        inner(event, context)

    outer(APIGW, FakeLambdaContext(remaining_ms=500))
    (warning,) = warnings_of(observe_capture)
    assert warning["service"] == "outer"
    assert observe_capture.metric_values("Timeouts") == [1]


def test_off_with_a_zero_margin_and_a_bad_margin_is_named(observe_capture, monkeypatch) -> None:
    watchdog.configure(0)

    @observed(pipeline="p", service="s")
    def handler(event: Any, context: Any) -> None:
        time.sleep(0.3)

    handler(APIGW, FakeLambdaContext(remaining_ms=300))
    assert not warnings_of(observe_capture)
    watchdog.configure()
    monkeypatch.setenv("OBSERVE_TIMEOUT_MARGIN_MS", "soon")
    with pytest.raises(ConfigError, match="OBSERVE_TIMEOUT_MARGIN_MS='soon'"):
        watchdog.margin_setting()
    assert watchdog.margin_setting() == watchdog.DEFAULT_MARGIN_MS  # reported once, then the default


def test_no_context_or_no_deadline_arms_nothing(observe_capture) -> None:
    @observed(pipeline="p", service="s")
    def handler(event: Any, context: Any) -> str:
        return "ok"

    class NoDeadline:
        aws_request_id = "r"

    assert handler({}, None) == "ok" and handler({}, NoDeadline()) == "ok"
    assert not watchdog._dog.armed


# --- memory ---------------------------------------------------------------------------------------


def test_an_invocation_ending_above_the_memory_threshold_writes_a_warning(
    observe_capture, monkeypatch
) -> None:
    peak = [100.0]
    now = [100.0]
    monkeypatch.setattr(telemetry, "max_rss_mb", lambda: peak[0])
    monkeypatch.setattr(telemetry, "current_rss_mb", lambda: now[0])
    telemetry.configure_memory_warning(90)

    @observed(pipeline="p", service="s")
    def handler(event: Any, context: Any) -> None:
        peak[0] = event["peak"]
        now[0] = event["now"]

    def warned() -> list[dict[str, Any]]:
        found = [x for x in observe_capture.logs if x["message"] == MEMORY_WARNING]
        observe_capture.clear()
        return found

    ctx = FakeLambdaContext(memory_limit_in_mb=512)
    handler({"peak": 400.0, "now": 400.0}, ctx)  # 78%: nothing
    assert warned() == []
    handler({"peak": 470.0, "now": 300.0}, ctx)  # the peak crossed 90% in this invocation
    (w,) = warned()
    assert w["level"] == "warning" and w["memory_utilization"] == 91.8 and w["memory_limit_mb"] == 512
    assert w["max_memory_mb"] == 470.0 and w["rss_mb"] == 300.0 and w["threshold_percent"] == 90.0
    handler({"peak": 470.0, "now": 300.0}, ctx)  # the peak stays (it never goes down): not again
    assert warned() == []
    handler({"peak": 480.0, "now": 475.0}, ctx)  # still resident above 90%: again
    assert len(warned()) == 1
    telemetry.configure_memory_warning(0)
    handler({"peak": 500.0, "now": 500.0}, ctx)
    assert warned() == []
