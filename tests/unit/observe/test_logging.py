"""The log schema, levels per environment, exceptions, and stdlib logging through one chain."""

from __future__ import annotations

import json
import logging
import re

import pytest

from observe import correlation, get_logger, observed
from observe import logging as olog


def test_schema_field_order_and_types(observe_capture) -> None:
    with correlation.scope("cid-1"):
        get_logger("mod").info("hello", count=2, nested={"a": [1, 2]})
    (line,) = observe_capture.logs
    assert list(line)[:4] == ["timestamp", "level", "message", "logger"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", line["timestamp"])
    assert line == {
        **line,
        "level": "info",
        "message": "hello",
        "logger": "mod",
        "correlation_id": "cid-1",
        "count": 2,
        "nested": {"a": [1, 2]},
    }


@pytest.mark.parametrize(("env", "debug_shown"), [("dev", True), ("stg", False), ("prd", False)])
def test_default_level_per_environment(monkeypatch, observe_capture, env, debug_shown) -> None:
    monkeypatch.setenv("ENVIRONMENT", env)
    olog.configure(stream=observe_capture.stream)
    log = get_logger("lvl")
    log.debug("d")
    log.info("i")
    assert [line["message"] for line in observe_capture.logs] == (["d", "i"] if debug_shown else ["i"])


def test_log_level_variable_wins(monkeypatch, observe_capture) -> None:
    monkeypatch.setenv("ENVIRONMENT", "dev")
    monkeypatch.setenv("LOG_LEVEL", "warning")
    olog.configure(stream=observe_capture.stream)
    log = get_logger("lvl")
    log.info("hidden")
    log.warning("shown")
    assert [line["message"] for line in observe_capture.logs] == ["shown"]
    monkeypatch.setenv("LOG_LEVEL", "LOUD")
    with pytest.raises(ValueError, match="LOG_LEVEL='LOUD'"):
        olog.configure()


def test_exception_is_structured(observe_capture) -> None:
    try:
        {}["missing"]
    except KeyError:
        get_logger("x").exception("lookup failed")
    (line,) = observe_capture.logs
    assert line["level"] == "error"
    assert line["exception"]["type"] == "KeyError"
    assert "missing" in line["exception"]["message"]
    assert 'get_logger("x")' in line["exception"]["stack"] or "KeyError" in line["exception"]["stack"]


def test_stdlib_logging_goes_through_the_same_chain_once(observe_capture, lambda_context) -> None:
    lib = logging.getLogger("botocore.fake")

    @observed(pipeline="p")
    def handler(event, context):
        logging.getLogger("urllib3.connectionpool").warning("retrying %s", "host", extra={"attempt": 2})
        lib.info("botocore info is kept at INFO")
        return None

    handler({"correlation_id": "std-1"}, lambda_context)
    lines = [json.loads(x) for x in observe_capture.text.splitlines() if '"_aws"' not in x]
    std = [x for x in lines if x["logger"] == "urllib3.connectionpool"]
    assert len(std) == 1
    assert std[0]["message"] == "retrying host" and std[0]["attempt"] == 2
    assert std[0]["correlation_id"] == "std-1" and std[0]["level"] == "warning"
    assert sum(isinstance(h, olog.StructlogHandler) for h in logging.getLogger().handlers) == 1


def test_stdlib_exception_and_redaction(observe_capture) -> None:
    try:
        raise RuntimeError("token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl leaked")
    except RuntimeError:
        logging.getLogger("lib").exception("call failed for S7654321Z")
    (line,) = observe_capture.logs
    assert "S7654321Z" not in observe_capture.text and "eyJhbGci" not in observe_capture.text
    assert line["exception"]["type"] == "RuntimeError"
