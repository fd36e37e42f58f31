"""Debug sampling (per invocation) and buffered lines below the level (bounded, written on failure)."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import random
from collections.abc import Iterator
from typing import Any

import pytest

from observe import buffer, get_logger, observed
from observe import logging as olog
from observe.batch import process_sqs_batch
from observe.buffer import Settings
from observe.config import ConfigError
from observe.testing import FakeLambdaContext

APIGW = {
    "version": "2.0",
    "headers": {"x-correlation-id": "cid-9"},
    "requestContext": {"requestId": "r", "http": {}},
}
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"


class Out:
    """Configure observe at INFO with the given settings below the level; the lines it wrote."""

    def __init__(self) -> None:
        self.stream = io.StringIO()

    def configure(self, level: str = "INFO", draw: Any = None, **settings: Any) -> Any:
        olog.configure(level=level, stream=self.stream, below_level=Settings(**settings), draw=draw)
        return get_logger("tests.below")

    @property
    def lines(self) -> list[dict[str, Any]]:
        return [json.loads(x) for x in self.stream.getvalue().splitlines() if x.strip()]

    @property
    def logs(self) -> list[dict[str, Any]]:
        return [x for x in self.lines if "_aws" not in x]

    def messages(self) -> list[str]:
        return [x["message"] for x in self.logs]

    def clear(self) -> None:
        self.stream.seek(0)
        self.stream.truncate()


@pytest.fixture
def out() -> Iterator[Out]:
    o = Out()
    yield o
    olog.reset()


def sqs(*ids: str) -> dict[str, Any]:
    return {
        "Records": [
            {
                "messageId": m,
                "body": json.dumps({"id": m}),
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:ap-southeast-1:123456789012:q",
                "attributes": {},
                "messageAttributes": {"correlation_id": {"stringValue": f"cid-{m}", "dataType": "String"}},
            }
            for m in ids
        ]
    }


# --- sampling -----------------------------------------------------------------------------------


def test_sampling_is_drawn_for_every_invocation_from_the_random_source(out: Out) -> None:
    log = out.configure(sample_rate=0.5, draw=random.Random(7).random)

    @observed(pipeline="p", service="s")
    def handler(event: Any, context: Any) -> None:
        log.debug("detail", n=event["n"])
        log.info("work", n=event["n"])

    for n in range(40):
        handler({"n": n}, FakeLambdaContext())
    replay = random.Random(7)
    expected = [n for n in range(40) if replay.random() < 0.5]
    debug = [x for x in out.logs if x["message"] == "detail"]
    assert [x["n"] for x in debug] == expected
    # warm invocations are sampled and not sampled alike: the draw is not made once per environment
    assert (
        0 < len(expected) < 40
        and any(n > 0 for n in expected)
        and any(n not in expected for n in range(1, 40))
    )
    sampled = {x["aws_request_id"] for x in debug}
    for line in out.logs:  # every line of a sampled invocation says so, and only those
        assert line.get("debug_sampled", False) is (line["aws_request_id"] in sampled)


def test_sampling_covers_stdlib_records_and_outside_invocations_the_level_holds(out: Out) -> None:
    log = out.configure(sample_rate=1.0)
    lib = logging.getLogger("tests.some_library")

    @observed(pipeline="p", service="s")
    def handler(event: Any, context: Any) -> None:
        lib.debug("library detail %s", "x")
        log.debug("app detail")

    handler({}, FakeLambdaContext())
    log.debug("outside any invocation")
    lib.debug("library outside")
    assert out.messages()[:2] == ["library detail x", "app detail"]
    assert "outside any invocation" not in out.messages() and "library outside" not in out.messages()


def test_a_rate_of_zero_samples_nothing_and_keeps_debug_calls_free(out: Out) -> None:
    log = out.configure(sample_rate=0.0)
    assert olog._state["floor"] is None  # nothing below the level can ever apply
    assert type(log.bind()).debug.__name__ == "_nop"  # the same bare `return None` as without the feature

    @observed(pipeline="p", service="s")
    def handler(event: Any, context: Any) -> None:
        log.debug("never")

    handler({}, FakeLambdaContext())
    assert "never" not in out.messages()


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"LOG_DEBUG_SAMPLE_RATE": "1.5"}, "LOG_DEBUG_SAMPLE_RATE"),
        ({"LOG_DEBUG_SAMPLE_RATE": "often"}, "LOG_DEBUG_SAMPLE_RATE"),
        ({"LOG_BUFFER_LEVEL": "ERROR"}, "LOG_BUFFER_LEVEL"),
        ({"LOG_BUFFER_LEVEL": "verbose"}, "LOG_BUFFER_LEVEL"),
        ({"LOG_BUFFER_MAX_LINES": "0"}, "LOG_BUFFER_MAX_LINES"),
        ({"LOG_BUFFER_MAX_BYTES": "-1"}, "LOG_BUFFER_MAX_BYTES"),
    ],
)
def test_bad_settings_name_the_variable(env: dict[str, str], named: str) -> None:
    with pytest.raises(ConfigError, match=named):
        buffer.from_env(env)


def test_settings_from_the_environment() -> None:
    s = buffer.from_env(
        {"LOG_DEBUG_SAMPLE_RATE": "0.05", "LOG_BUFFER_LEVEL": "info", "LOG_BUFFER_MAX_LINES": "9"}
    )
    assert (s.sample_rate, s.buffer_level, s.max_lines, s.max_bytes) == (
        0.05,
        20,
        9,
        buffer.DEFAULT_MAX_BYTES,
    )
    assert buffer.from_env({"LOG_BUFFER_LEVEL": "off"}).buffer_level is None
    assert buffer.from_env({}).floor(20) is None  # both off: no floor, loggers as they always were


def test_configure_reads_the_environment(out: Out, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOG_BUFFER_LEVEL", "DEBUG")
    olog.configure(level="INFO", stream=out.stream)
    assert olog._state["floor"] == 10 and olog._state["settings"].buffer_level == 10


# --- buffering ----------------------------------------------------------------------------------


def test_buffered_lines_are_dropped_when_the_invocation_succeeds(out: Out) -> None:
    log = out.configure(buffer_level=10)

    @observed(pipeline="p", service="s")
    def handler(event: Any, context: Any) -> None:
        log.debug("step one")
        log.info("done")

    handler({}, FakeLambdaContext())
    assert out.messages() == ["done", "invocation complete"]


def test_a_failed_invocation_writes_its_buffer_before_the_failure_line(out: Out) -> None:
    log = out.configure(buffer_level=10)

    @observed(pipeline="p", service="s")
    def handler(event: Any, context: Any) -> None:
        log.debug("step %s", 1)
        logging.getLogger("tests.lib").debug("library step")
        log.info("visible")
        log.debug("step two", rows=3)
        raise ValueError("boom")

    with pytest.raises(ValueError):
        handler(APIGW, FakeLambdaContext())
    assert out.messages() == ["visible", "step 1", "library step", "step two", "invocation failed"]
    lines = out.logs
    for line in lines[1:4]:
        assert line["buffered"] is True and line["level"] == "debug" and line["correlation_id"] == "cid-9"
    assert lines[3]["rows"] == 3
    assert lines[1]["timestamp"] <= lines[0]["timestamp"]  # each keeps the time it was logged at
    assert "buffered" not in lines[0] and "buffered" not in lines[4]


def test_an_error_line_writes_the_buffer_first_and_buffering_starts_again(out: Out) -> None:
    log = out.configure(buffer_level=10)

    @observed(pipeline="p", service="s")
    def handler(event: Any, context: Any) -> None:
        log.debug("before the error")
        log.error("something failed")
        log.debug("after the error")  # buffered again, and dropped at the successful end

    handler({}, FakeLambdaContext())
    assert out.messages() == ["before the error", "something failed", "invocation complete"]


def test_a_failed_record_of_a_batch_writes_the_buffer_with_each_records_correlation_id(out: Out) -> None:
    log = out.configure(buffer_level=10)

    def record(r: dict[str, Any]) -> None:
        log.debug("parsing", message_id=r["messageId"])
        if r["messageId"] == "m2":
            raise ValueError("bad record")

    @observed(pipeline="p", service="s")
    def handler(event: Any, context: Any) -> Any:
        return process_sqs_batch(event, record)

    assert handler(sqs("m1", "m2"), FakeLambdaContext()) == {"batchItemFailures": [{"itemIdentifier": "m2"}]}
    parsing = [x for x in out.logs if x["message"] == "parsing"]
    assert [(x["message_id"], x["correlation_id"]) for x in parsing] == [("m1", "cid-m1"), ("m2", "cid-m2")]
    failed = next(i for i, x in enumerate(out.logs) if x["level"] == "error")
    assert all(out.logs.index(x) < failed for x in parsing)


def test_the_buffer_keeps_the_newest_lines_and_says_what_it_dropped(out: Out) -> None:
    log = out.configure(buffer_level=10, max_lines=5)
    sizes: list[int] = []

    @observed(pipeline="p", service="s")
    def handler(event: Any, context: Any) -> None:
        for i in range(12):
            log.debug("line", i=i)
        buf = olog.invocation_log.get().buffer  # type: ignore[union-attr]
        assert len(buf) == 5
        sizes.extend([buf.bytes, buf.dropped, buf.dropped_bytes])
        raise RuntimeError("fail")

    with pytest.raises(RuntimeError):
        handler({}, FakeLambdaContext())
    logs = out.logs
    assert (
        logs[0]["message"] == "log buffer full: its oldest lines were dropped"
        and logs[0]["level"] == "warning"
    )
    assert logs[0]["dropped_lines"] == 7 and logs[0]["buffer_max_lines"] == 5
    assert logs[0]["dropped_bytes"] == sizes[2] > 0
    assert [x["i"] for x in logs[1:6]] == [7, 8, 9, 10, 11]
    assert (
        sum(len(json.dumps(x, separators=(",", ":"), ensure_ascii=False)) + 1 for x in logs[1:6])
        >= sizes[0] * 0.9
    )


def test_the_byte_bound_and_a_line_larger_than_it(out: Out) -> None:
    log = out.configure(buffer_level=10, max_bytes=2000)

    @observed(pipeline="p", service="s")
    def handler(event: Any, context: Any) -> None:
        log.debug("huge", blob="x" * 5000)  # larger than the whole buffer: not kept
        for i in range(20):
            log.debug("small", i=i)
        buf = olog.invocation_log.get().buffer  # type: ignore[union-attr]
        assert buf.bytes <= 2000
        raise RuntimeError("fail")

    with pytest.raises(RuntimeError):
        handler({}, FakeLambdaContext())
    logs = out.logs
    assert logs[0]["message"].startswith("log buffer full") and logs[0]["dropped_bytes"] > 5000
    kept = [x for x in logs if x["message"] == "small"]
    assert kept and kept[-1]["i"] == 19 and not any(x["message"] == "huge" for x in logs)
    assert sum(len(json.dumps(x, separators=(",", ":"))) + 1 for x in kept) <= 2000


def test_buffered_lines_are_redacted_when_they_are_kept(out: Out) -> None:
    log = out.configure(buffer_level=10)
    held: list[str] = []

    @observed(pipeline="p", service="s")
    def handler(event: Any, context: Any) -> None:
        log.debug("login", password="hunter2", token=JWT)
        log.debug(f"header Authorization: Bearer {JWT}")
        logging.getLogger("tests.lib").debug("got %s", {"client_secret": "s3cr3t-value"})
        held.extend(olog.invocation_log.get().buffer.lines)  # type: ignore[union-attr]
        raise ValueError("x")

    with pytest.raises(ValueError):
        handler({}, FakeLambdaContext())
    assert len(held) == 3
    for text in [*held, out.stream.getvalue()]:  # what is held in memory and what is written
        assert "hunter2" not in text and JWT not in text and "s3cr3t-value" not in text
    assert out.logs[0]["password"] == "[REDACTED]"


def test_a_buffer_belongs_to_its_invocation(out: Out) -> None:
    log = out.configure(buffer_level=10)

    @observed(pipeline="p", service="s")
    def handler(event: Any, context: Any) -> None:
        log.debug("from", n=event["n"])
        if event["n"] == 2:
            raise ValueError("x")

    handler({"n": 1}, FakeLambdaContext())
    with pytest.raises(ValueError):
        handler({"n": 2}, FakeLambdaContext())
    assert [x["n"] for x in out.logs if x["message"] == "from"] == [2]
    assert olog.invocation_log.get() is None  # nothing of it is left after the invocation


def test_async_tasks_buffer_into_their_invocation(out: Out) -> None:
    log = out.configure(buffer_level=10)

    @observed(pipeline="p", service="s")
    async def handler(event: Any, context: Any) -> None:
        async def one(i: int) -> None:
            log.debug("task step", i=i)
            await asyncio.sleep(0)
            if i == 2:
                raise ValueError("task failed")

        await asyncio.gather(one(1), one(2))

    with pytest.raises(ValueError):
        asyncio.run(handler({}, FakeLambdaContext()))
    assert sorted(x["i"] for x in out.logs if x["message"] == "task step") == [1, 2]


def test_under_critical_an_error_line_still_writes_the_buffer(out: Out) -> None:
    log = out.configure(level="CRITICAL", buffer_level=30)

    @observed(pipeline="p", service="s")
    def handler(event: Any, context: Any) -> None:
        log.warning("held")
        log.error("not written, but writes what was held")
        log.critical("written")

    handler({}, FakeLambdaContext())
    assert out.messages() == ["held", "written"]


def test_buffering_applies_only_below_the_level(out: Out) -> None:
    log = out.configure(level="INFO", buffer_level=20)  # INFO is not below INFO: nothing to buffer
    assert olog._state["floor"] is None

    @observed(pipeline="p", service="s")
    def handler(event: Any, context: Any) -> None:
        log.debug("dropped")
        log.info("written")

    handler({}, FakeLambdaContext())
    assert out.messages() == ["written", "invocation complete"]


def test_a_bad_setting_raises_in_dev_and_is_reported_and_off_in_prd(
    out: Out, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOG_BUFFER_LEVEL", "LOUD")
    with pytest.raises(ConfigError, match="LOG_BUFFER_LEVEL='LOUD'"):
        olog.configure(level="INFO", stream=out.stream)
    monkeypatch.setenv("OBSERVE_STRICT", "false")
    from observe import guard

    guard.reset()
    olog.configure(level="INFO", stream=out.stream)
    assert olog._state["floor"] is None  # off
    (line,) = [x for x in out.logs if x["message"].startswith("telemetry dropped (config)")]
    assert "LOG_BUFFER_LEVEL='LOUD'" in line["message"] and line["level"] == "warning"
    assert any(d.get("TelemetryErrors") == 1 and d.get("kind") == "config" for d in out.lines if "_aws" in d)
