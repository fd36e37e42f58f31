"""The X-Ray trace id of the invocation as the correlation fallback of an event without an id."""

from __future__ import annotations

from typing import Any

import pytest

from observe import correlation, get_logger, observed
from observe.testing import FakeLambdaContext

log = get_logger("tests.trace")
ROOT_1 = "1-5759e988-bd862e3fe1be46a994272793"
ROOT_2 = "1-6759e988-0d862e3fe1be46a994272794"


@observed(pipeline="p", service="s")
def handler(event: Any, context: Any) -> str | None:
    log.info("working")
    return correlation.get()


def test_an_event_without_an_id_takes_the_invocations_trace_root_under_the_runtime(
    observe_capture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9001")
    monkeypatch.setenv("_X_AMZN_TRACE_ID", f"Root={ROOT_1};Parent=53995c3f42cd8ad8;Sampled=1")
    assert handler({"anything": 1}, FakeLambdaContext()) == ROOT_1
    # the runtime rewrites it before every invocation: each one takes its own
    monkeypatch.setenv("_X_AMZN_TRACE_ID", f"Root={ROOT_2};Parent=53995c3f42cd8ad8;Sampled=0")
    assert handler({}, FakeLambdaContext()) == ROOT_2
    # and deletes it when an invocation has none: a new id, not the previous invocation's
    monkeypatch.delenv("_X_AMZN_TRACE_ID")
    third = handler({}, FakeLambdaContext())
    assert third not in (ROOT_1, ROOT_2) and len(third or "") == 36
    assert [x["correlation_id"] for x in observe_capture.logs if x["message"] == "working"] == [
        ROOT_1,
        ROOT_2,
        third,
    ]


def test_an_id_the_event_carries_comes_first(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9001")
    monkeypatch.setenv("_X_AMZN_TRACE_ID", f"Root={ROOT_1}")
    event = {
        "version": "2.0",
        "headers": {"x-correlation-id": "cid-7"},
        "requestContext": {"requestId": "r", "http": {}},
    }
    assert handler(event, FakeLambdaContext()) == "cid-7"


def test_outside_the_runtime_a_leftover_variable_is_not_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_LAMBDA_RUNTIME_API", raising=False)
    monkeypatch.setenv("_X_AMZN_TRACE_ID", f"Root={ROOT_1}")
    ids = {handler({}, FakeLambdaContext()) for _ in range(3)}
    assert ROOT_1 not in ids and len(ids) == 3
    assert correlation.from_runtime_trace() is None


def test_a_malformed_trace_variable_gives_no_id(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9001")
    for bad in ("", "Parent=1;Sampled=0", "Root=", "Root=" + "x" * 500):
        monkeypatch.setenv("_X_AMZN_TRACE_ID", bad)
        assert correlation.from_runtime_trace() is None
