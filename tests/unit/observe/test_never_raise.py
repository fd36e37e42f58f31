"""Nothing observe does raises into a handler in stg or prd; in dev it raises, never in place of
the handler's own exception. Each failure is a warning line and a TelemetryErrors count."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from observe import correlation, guard, observed, project, tracing
from observe import decorator as deco
from observe.config import ConfigError
from observe.project import ConfigFileError


class Boom(Exception):
    pass


@pytest.fixture(autouse=True)
def _fresh_warnings() -> Iterator[None]:
    guard.reset()
    yield
    guard.reset()


@pytest.fixture
def prd(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENVIRONMENT", "prd")
    monkeypatch.setenv("OBSERVE_STRICT", "false")  # prd as deployed (observe.testing would raise)


@observed(pipeline="p", service="svc")
def ok(event: Any, context: Any) -> str:
    return "result"


@observed(pipeline="p", service="svc")
def fails(event: Any, context: Any) -> str:
    raise Boom("the handler's own error")


def _warnings(capture: Any) -> list[dict[str, Any]]:
    return [x for x in capture.logs if x["level"] == "warning" and "telemetry_error" in x]


def test_a_failing_context_binding_lets_the_handler_run(prd, observe_capture, lambda_context, monkeypatch):
    def broken(event: Any) -> str:
        raise RuntimeError("cannot read this event")

    monkeypatch.setattr(correlation, "from_event", broken)
    assert ok({}, lambda_context) == "result"
    assert ok({}, lambda_context) == "result"
    (warning,) = _warnings(observe_capture)  # once per execution environment
    assert warning["about"] == "correlation id" and "cannot read this event" in warning["message"]
    assert observe_capture.metric_values("TelemetryErrors", kind="internal") == [1, 1]
    assert observe_capture.metric_values("Duration")  # the invocation was still observed


def test_a_failing_start_runs_the_handler_unobserved(prd, observe_capture, lambda_context, monkeypatch):
    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("no state")

    monkeypatch.setattr(deco._Invocation, "__init__", broken)
    assert ok({}, lambda_context) == "result"
    with pytest.raises(Boom):
        fails({}, lambda_context)
    assert [w["about"] for w in _warnings(observe_capture)] == ["invocation start"]
    assert observe_capture.metric_values("TelemetryErrors", kind="internal") == [1, 1]


def test_a_failing_flush_never_reaches_the_caller(prd, observe_capture, lambda_context, monkeypatch) -> None:
    def broken(*args: Any, **kwargs: Any) -> int:
        raise OSError("stdout is gone")

    monkeypatch.setattr(deco, "flush", broken)
    assert ok({}, lambda_context) == "result"
    with pytest.raises(Boom, match="the handler's own error"):
        fails({}, lambda_context)
    assert [w["about"] for w in _warnings(observe_capture)] == ["invocation summary"]
    assert correlation.get() is None  # the context was restored all the same


def test_in_dev_observe_failures_raise_but_never_replace_the_handlers_exception(
    observe_capture, lambda_context, monkeypatch
) -> None:
    monkeypatch.setenv("ENVIRONMENT", "dev")

    def broken(*args: Any, **kwargs: Any) -> int:
        raise OSError("stdout is gone")

    monkeypatch.setattr(deco, "flush", broken)
    with pytest.raises(OSError, match="stdout is gone"):
        ok({}, lambda_context)
    with pytest.raises(Boom):  # not the OSError: the caller sees what the handler raised
        fails({}, lambda_context)


def test_async_handlers_are_guarded_too(prd, observe_capture, lambda_context, monkeypatch) -> None:
    def broken(*args: Any, **kwargs: Any) -> int:
        raise OSError("stdout is gone")

    monkeypatch.setattr(deco, "flush", broken)

    @observed(pipeline="p", service="svc")
    async def handler(event: Any, context: Any) -> str:
        await asyncio.sleep(0)
        return "async result"

    assert asyncio.run(handler({}, lambda_context)) == "async result"
    assert [w["about"] for w in _warnings(observe_capture)] == ["invocation summary"]


@pytest.mark.parametrize("where", ["enter", "exit"])
def test_a_failing_tracing_hook_is_contained(
    where: str, prd, observe_capture, lambda_context, monkeypatch
) -> None:
    @contextmanager
    def span(*args: Any, **kwargs: Any) -> Iterator[None]:
        if where == "enter":
            raise RuntimeError("exporter misconfigured")
        yield None
        raise RuntimeError("flush failed")

    monkeypatch.setitem(tracing._state, "enabled", True)
    monkeypatch.setattr(tracing, "invocation_span", span)
    assert ok({}, lambda_context) == "result"
    with pytest.raises(Boom):
        fails({}, lambda_context)
    abouts = [w["about"] for w in _warnings(observe_capture)]
    assert abouts == [f"tracing {'start' if where == 'enter' else 'end'}"]


def test_a_bad_environment_name_is_reported_not_raised_in_lenient_mode(
    observe_capture, lambda_context, monkeypatch
) -> None:
    monkeypatch.setenv("ENVIRONMENT", "production")
    monkeypatch.setenv("OBSERVE_STRICT", "false")
    assert ok({}, lambda_context) == "result"
    (warning,) = _warnings(observe_capture)
    assert "ENVIRONMENT='production' is not one of dev, stg, prd" in warning["message"]
    monkeypatch.setenv("OBSERVE_STRICT", "true")
    with pytest.raises(ConfigError, match="ENVIRONMENT='production'"):
        ok({}, lambda_context)


@pytest.fixture
def bad_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    path = tmp_path / "observe.toml"
    path.write_text('[metrics.Shipped]\nunit = "count"\ndescription = "Orders shipped."\n', encoding="utf-8")
    monkeypatch.setenv("OBSERVE_CONFIG", str(path))
    project.reset()
    yield path
    monkeypatch.delenv("OBSERVE_CONFIG")
    project.reset()


def test_a_bad_configuration_file_keeps_a_prd_handler_running(
    prd, bad_config, observe_capture, lambda_context, monkeypatch
) -> None:
    from observe import telemetry

    telemetry.reset_cold_start()
    assert ok({}, lambda_context) == "result"
    (warning,) = _warnings(observe_capture)
    assert warning["telemetry_error"] == "config"
    assert "[metrics.Shipped] unit 'count' is not an EMF unit; use 'Count'" in warning["message"]
    assert str(bad_config.name) in warning["about"]


def test_a_bad_configuration_file_raises_in_dev(bad_config, monkeypatch) -> None:
    from observe.metrics import MetricsBuffer

    monkeypatch.setenv("ENVIRONMENT", "dev")
    with pytest.raises(ConfigFileError, match=r"observe.toml: \[metrics.Shipped\] unit 'count'"):
        MetricsBuffer().add("Shipped", 1)
