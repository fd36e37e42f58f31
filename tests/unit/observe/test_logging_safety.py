"""Logging never raises, never prints a raw record, and keeps every line under the event bound."""

from __future__ import annotations

import contextlib
import io
import json
import logging
import math
from collections import OrderedDict, deque
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from observe import get_logger, observed, redact
from observe import logging as olog


class RaisingStr:
    def __str__(self) -> str:
        raise RuntimeError("str failed")

    def __repr__(self) -> str:
        raise RuntimeError("repr failed")


class ReturnsNotAString:
    def __str__(self) -> Any:
        return 42

    __repr__ = __str__


class BadMapping(dict):
    def items(self):  # type: ignore[override]
        raise RuntimeError("items failed")


class BadDataclassLike:
    __dataclass_fields__ = ("not", "fields")  # looks like a dataclass to dataclasses.is_dataclass


def awkward_values() -> dict[str, Any]:
    cycle: dict[str, Any] = {"a": 1}
    cycle["self"] = cycle
    lst: list[Any] = [1]
    lst.append(lst)
    return {
        "bytes_keys": {b"k": 1, b"\xff\xfe": b"\xff\x00", (1, 2): "tuple key", None: 0, 1.5: "f"},
        "cycle": cycle,
        "list_cycle": lst,
        "raising": RaisingStr(),
        "not_a_string": ReturnsNotAString(),
        "bad_mapping": BadMapping(a=1),
        "bad_dataclass": BadDataclassLike(),
        "huge_int": 10**5000,
        "big_int": 2**70,
        "nan": math.nan,
        "inf": -math.inf,
        "surrogate": "a\ud800b",
        "non_utf8": b"\xc3\x28\xa0\xa1",
        "deep": _deep(200),
        "deque": deque([1, "S1234567D"]),
        "ordered": OrderedDict(password="x"),
        "type": int,
        "func": print,
        "generator": (i for i in range(3)),
        "exc": ValueError(RaisingStr()),
    }


@contextlib.contextmanager
def only_observe_handlers() -> Any:
    """Detach pytest's own log-capture handlers for the block: they re-raise a record that cannot be
    formatted (to show test authors their mistakes), which is not what a handler meets in Lambda."""
    root = logging.getLogger()
    foreign = [h for h in root.handlers if not isinstance(h, olog.StructlogHandler)]
    for h in foreign:
        root.removeHandler(h)
    try:
        yield
    finally:
        for h in foreign:
            root.addHandler(h)


def _deep(n: int) -> Any:
    v: Any = "leaf"
    for _ in range(n):
        v = {"level": [v]}
    return v


def test_awkward_values_render_and_the_line_goes_out(observe_capture) -> None:
    with only_observe_handlers():
        get_logger("x").info("awkward", **awkward_values())
        logging.getLogger("lib").warning("awkward %s", RaisingStr(), extra=awkward_values())
    lines = observe_capture.logs
    assert lines[0]["message"] == "awkward"
    first = lines[0]
    assert first["cycle"] == {"a": 1, "self": "[cycle]"}
    assert first["huge_int"].startswith("[int of") and first["big_int"] == str(2**70)
    assert first["nan"] is None and first["surrogate"] == "a?b"
    assert first["raising"].startswith("<unprintable") and "[REDACTED:nric]" in first["deque"]
    assert first["ordered"] == {"password": "[REDACTED]"}
    assert "[TRUNCATED: nested too deep]" in json.dumps(first["deep"])
    assert first["bad_mapping"].startswith("[unrenderable")
    assert lines[1]["logger"] == "lib" and lines[1]["message"].startswith("awkward <unprintable")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text() | st.binary()
        | st.builds(RaisingStr) | st.builds(ReturnsNotAString)
        | st.sampled_from([math.nan, 10**400, "S1234567D", "\ud800"]),
        lambda inner: st.lists(inner, max_size=4)
        | st.tuples(inner, inner)
        | st.frozensets(st.integers(), max_size=3)
        | st.dictionaries(st.text(max_size=8) | st.binary(max_size=8) | st.integers(), inner, max_size=4),
        max_leaves=30,
    ),
    st.text(max_size=30),
)  # fmt: skip
def test_logging_never_raises_on_arbitrary_nested_objects(observe_capture, value, message) -> None:
    observe_capture.clear()
    with only_observe_handlers():
        get_logger("h").info(message, value=value, **({"k": value} if isinstance(value, dict) else {}))
        get_logger("h").info(message + " %s %r", value, value)
        logging.getLogger("h.std").error(message, extra={"value": value})
        logging.getLogger("h.std").error("%s %d", value, value)
    lines = observe_capture.text.splitlines()
    assert len(lines) == 4
    for line in lines:
        json.loads(line)


def test_bad_format_arguments_do_not_raise_nor_print(observe_capture, capfd) -> None:
    log = get_logger("fmt")
    with only_observe_handlers():
        log.info("%d items", "not a number")
        log.info("%s and %s", "only one")
        log.info("%(missing)s", {"present": 1})
        log.info(None, 1)
        logging.getLogger("std").warning("%d rows for %s", "x", "S1234567D")
        logging.getLogger("std").warning({"password": "hunter2"})
    out, err = capfd.readouterr()
    assert err == "" and out == ""
    msgs = [line["message"] for line in observe_capture.logs]
    assert len(msgs) == 6 and all("[format failed: TypeError" in m or "KeyError" in m for m in msgs[:4])
    assert "S1234567D" not in observe_capture.text and "hunter2" not in observe_capture.text


def test_a_masked_value_that_no_longer_fits_its_conversion_is_shown_as_text() -> None:
    line = olog.interpolate("100%%d done, pin %(pin)06d for %(user)s", {"pin": 123456, "user": "ann"})
    assert line == "100%d done, pin [REDACTED] for ann"


def test_a_failure_inside_the_chain_is_one_minimal_line(observe_capture, monkeypatch) -> None:
    def broken(*args: Any) -> Any:
        raise RuntimeError("renderer broke for S1234567D")

    monkeypatch.setattr(olog, "render", broken)
    get_logger("boom").info("secret S1234567D", token="tok-123456")
    logging.getLogger("boom.std").error("secret %s", "S1234567D")
    (a, b) = observe_capture.logs
    for line in (a, b):
        assert line["message"] == "log event could not be rendered; its content is dropped"
        assert line["error_type"] == "RuntimeError" and line["logger"] == "observe.logging"
    assert a["event_logger"] == "boom" and b["event_logger"] == "boom.std" and b["event_level"] == "error"
    assert "S1234567D" not in observe_capture.text and "tok-123456" not in observe_capture.text


def test_handle_error_prints_nothing_of_the_record(capfd, observe_capture) -> None:
    handler = next(h for h in logging.getLogger().handlers if isinstance(h, olog.StructlogHandler))
    record = logging.LogRecord("lib", logging.ERROR, __file__, 1, "password=%s", ("hunter2",), None)
    try:
        raise ValueError("while handling")
    except ValueError:
        handler.handleError(record)
    _, err = capfd.readouterr()
    assert err == "" and "hunter2" not in observe_capture.text
    assert observe_capture.logs[-1]["event_logger"] == "lib"


def test_a_handler_sees_nothing_from_logging(observe_capture, lambda_context, monkeypatch) -> None:
    monkeypatch.setattr(redact, "redact_processor", _raise)
    monkeypatch.setattr(olog, "redact_processor", _raise)

    @observed
    def handler(event, context):
        get_logger("in").info("hello", n=1)
        get_logger("in").info("%d", "x")
        logging.getLogger("in.std").info("x %s", RaisingStr())
        return {"ok": True}

    with only_observe_handlers():
        assert handler({}, lambda_context) == {"ok": True}
    assert len(observe_capture.logs) == 4  # three failure lines and the summary's


def _raise(*args: Any) -> Any:
    raise TypeError("processor failed")


def test_streams_that_fail_do_not_raise(monkeypatch) -> None:
    class Closed(io.StringIO):
        def write(self, s: str) -> int:
            raise ValueError("I/O operation on closed file")

    ascii_stream = io.TextIOWrapper(io.BytesIO(), encoding="ascii")
    try:
        for stream in (Closed(), ascii_stream):
            olog.configure(level="INFO", stream=stream)
            get_logger("s").info("naïve café ☕ S1234567D")
            logging.getLogger("s").info("naïve ☕")
        ascii_stream.flush()
        written = ascii_stream.buffer.getvalue().decode("ascii")  # type: ignore[attr-defined]
        assert "caf\\xe9" in written and "S1234567D" not in written
    finally:
        olog.reset()


# --- size bounds -------------------------------------------------------------------------------------


def test_one_long_field_is_cut_with_a_marker(observe_capture) -> None:
    get_logger("b").info("big", payload="word " * 50_000)
    (line,) = observe_capture.logs
    assert len(line["payload"]) <= redact.MAX_FIELD_CHARS + 64
    assert line["payload"].endswith("chars]") and "[TRUNCATED:" in line["payload"]


def test_an_event_stays_under_the_cloudwatch_limit_and_says_what_was_cut(observe_capture) -> None:
    fields = {f"f{i}": "x " * 16_000 for i in range(20)}  # 20 fields of 32 kB: 640 kB before the bound
    get_logger("b").info("many", rows=list(range(50_000)), **fields)
    raw = observe_capture.text.splitlines()[0]
    assert len(raw.encode()) <= olog.MAX_EVENT_BYTES
    line = json.loads(raw)
    assert line["message"] == "many" and line["level"] == "info"
    assert line["truncated"]["original_bytes"] > olog.MAX_EVENT_BYTES
    assert set(line["truncated"]["fields"]) and all(k in line for k in line["truncated"]["fields"])
    # multi-byte text is counted in bytes, not characters
    get_logger("b").info("wide", **{f"w{i}": "☕" * 30_000 for i in range(6)})
    assert len(observe_capture.text.splitlines()[1].encode()) <= olog.MAX_EVENT_BYTES


def test_large_containers_are_cut_by_the_value_budget(observe_capture) -> None:
    get_logger("b").info("list", items=["y" * 1000] * 1000)
    (line,) = observe_capture.logs
    assert line["items"][-1].startswith("[TRUNCATED:") and len(line["items"]) < 1000


@pytest.mark.parametrize("level", ["debug", "info", "warning", "error", "critical", "exception", "msg"])
def test_every_level_method_goes_through_the_chain(observe_capture, level) -> None:
    getattr(get_logger("lv"), level)("token=%s", "abc123def")
    (line,) = observe_capture.logs
    assert line["message"] == "token=[REDACTED]"
