"""``@observed``: the one decorator a handler needs.

On entry it binds the correlation id (from the event, else new), the cold-start flag and the
function's identity; the handler's log lines carry them. On return or raise it writes one
summary line and the EMF documents (duration, peak memory, memory utilisation, cold start,
errors, throttles, batch item failures and the handler's own metrics), then returns the result
or re-raises the exception unchanged. Nothing is swallowed and nothing is printed twice.

Nothing observe does here raises into the handler in stg or prd (:mod:`observe.guard`): if
binding the context fails the handler runs unobserved; if the summary line, the EMF flush or a
tracing hook fails, the handler's result or exception is what the caller gets. Each such failure
is one warning line and a ``TelemetryErrors{kind=internal}`` count; in dev it raises, so it is
found (but never in place of the handler's own exception).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Any, TypeVar

from observe import config, correlation, guard, project, telemetry, tracing, watchdog
from observe import logging as _log
from observe.catalogue import MEMORY_WARNING
from observe.config import ENVIRONMENTS, ConfigError
from observe.metrics import MetricsBuffer, flush
from observe.metrics import _current as _current_metrics

F = TypeVar("F", bound=Callable[..., Any])
_summary_logger_name = "observe"
_CO_COROUTINE = 0x0080  # inspect.CO_COROUTINE, without importing inspect/asyncio


class _Invocation:
    """State of one invocation between entry and exit (and what the deadline watchdog reads)."""

    __slots__ = (
        "armed", "buffer", "cid", "cid_token", "ctx", "ctx_now", "ctx_token", "deadline", "dims",
        "fire_at", "limit", "log", "log_token", "m_token", "start", "task", "thread",
    )  # fmt: skip

    def __init__(
        self,
        event: Any,
        context: Any,
        service: str | None,
        pipeline: str,
        fn_name: str,
        is_async: bool = False,
    ) -> None:
        self.start = time.perf_counter()
        environment = config.env("ENVIRONMENT") or "dev"
        if environment not in ENVIRONMENTS:
            _bad_environment(environment)
        svc = service or config.env("SERVICE_NAME") or fn_name
        cold = telemetry.take_cold_start()
        if cold:
            project.ensure_loaded()  # the configuration, once: a bad file shows on the first invocation
        try:
            cid = correlation.from_event(event) or correlation.from_runtime_trace()
        except Exception as exc:  # a malformed event must not cost the handler its run
            guard.failure("internal", "correlation id", exc)
            cid = None
        self.cid = cid or correlation.new_id()
        self.ctx: dict[str, Any] = {
            "service": svc,
            "pipeline": pipeline,
            "environment": environment,
            "function_name": getattr(context, "function_name", None) or fn_name,
            "function_version": getattr(context, "function_version", None),
            "cold_start": cold,
            "aws_request_id": getattr(context, "aws_request_id", None),
        }
        outer = _log.invocation_context.get()
        if outer:  # fields bound outside (at import time), or an enclosing invocation's
            self.ctx = {**outer, **self.ctx}
        self.dims = {"service": svc, "pipeline": pipeline, "environment": environment}
        self.limit = telemetry.memory_limit_mb(context)
        self.buffer = MetricsBuffer()
        margin = watchdog.margin_setting() if outer is None or "aws_request_id" not in outer else 0.0
        self.ctx_token = _log.invocation_context.set(self.ctx)
        try:
            self.cid_token = correlation.set_id(self.cid)
        except BaseException:
            _log.invocation_context.reset(self.ctx_token)
            raise
        self.m_token = _current_metrics.set(self.buffer)
        # (sampling and buffering: None, at no cost, while neither is configured)
        started = None if _log._state["floor"] is None else _log.start_invocation()
        if started is None:
            self.log = None
        else:
            self.log, self.log_token = started
            if self.log.sampled:  # every line of the invocation says why it has debug lines
                self.ctx["debug_sampled"] = True
        # the outermost invocation only: a nested observed call runs inside its deadline
        self.armed = bool(margin) and watchdog.arm(self, context, margin, is_async)

    def properties(self) -> dict[str, Any]:
        """The fields every EMF document of the invocation carries besides its dimensions."""
        return {
            "correlation_id": self.cid,
            "aws_request_id": self.ctx["aws_request_id"],
            "function_name": self.ctx["function_name"],
        }

    def finish(self, result: Any, error: BaseException | None) -> None:
        """Write the summary line and the metrics; restore the outer context. Never raises in stg/prd,
        and never in place of the handler's exception."""
        fired = self.armed and not watchdog.disarm(self)  # first: the watchdog cannot fire after this
        try:
            self._report(result, error, fired)
        except Exception as exc:
            guard.failure("internal", "invocation summary", exc, handler_failed=error is not None)
        finally:
            if self.log is not None:
                _log.end_invocation(self.log_token)
            _current_metrics.reset(self.m_token)
            try:
                correlation.reset(self.cid_token)
            finally:
                _log.invocation_context.reset(self.ctx_token)

    def _report(self, result: Any, error: BaseException | None, fired: bool) -> None:
        duration_ms = (time.perf_counter() - self.start) * 1000.0
        rss = telemetry.max_rss_mb()
        buf = self.buffer
        put = buf.put
        fields: dict[str, Any] = {"duration_ms": round(duration_ms, 3), "max_memory_mb": _rounded_mb(rss)}
        # A successful invocation's standard values go to the EMF document after the handler's own,
        # in this order, without a trip through the buffer (``flush(tail=...)``); otherwise they are
        # buffered here, in the same order.
        tail: dict[str, float] | None = None
        if fired:  # the watchdog's document counted these already: once per invocation
            fields["watchdog_fired"] = True
        elif error is None:
            tail = {"Duration": duration_ms, "MaxMemoryUsed": rss}
            if self.limit:
                tail["MemoryUtilization"] = 100.0 * rss / self.limit
            tail["ColdStart"] = 1 if self.ctx["cold_start"] else 0
        else:
            put("Duration", duration_ms)
            put("MaxMemoryUsed", rss)
            if self.limit:
                put("MemoryUtilization", 100.0 * rss / self.limit)
            put("ColdStart", 1 if self.ctx["cold_start"] else 0)
        throttle = None
        if error is not None:
            buf.add("Errors", 1, error_type=type(error).__name__)
            throttle = telemetry.classify_throttle(error)
            if throttle is not None and not buf.count("Throttles"):
                telemetry.record_throttle(throttle)
        elif tail is not None:
            tail["Errors"] = 0
        else:
            put("Errors", 0)
        for name, _ in buf.values:
            if name == "Throttles":
                break
        else:
            if tail is not None:
                tail["Throttles"] = 0
            else:
                put("Throttles", 0)
        if isinstance(result, dict) and isinstance(result.get("batchItemFailures"), list):
            failed = len(result["batchItemFailures"])
            if tail is not None:
                tail["BatchItemFailures"] = failed
            else:
                put("BatchItemFailures", failed)
            fields["batch_item_failures"] = failed
        if not _log._state["configured"]:
            _log.configure()
        if self.limit:
            high = telemetry.memory_warning(rss, self.limit)
            if high is not None:
                _log.emit("warning", MEMORY_WARNING, _summary_logger_name, high)
        if error is None:  # observe's own numbers only: no redaction pass (line_to_write's `own`)
            line = _log.line_to_write("info", "invocation complete", _summary_logger_name, fields, own=True)
        else:
            if throttle is not None:
                fields["throttle_source"] = throttle.source
                fields["retry_after_s"] = throttle.retry_after
            fields["exc_info"] = error
            # (with buffering on, what the invocation buffered is written first)
            line = _log.line_to_write("error", "invocation failed", _summary_logger_name, fields)
        flush(buf, self.dims, self.properties(), first=line, tail=tail)


_last_rss: list[float] = [-1.0, -1.0]  # the peak RSS last seen, and its rounding


def _rounded_mb(rss: float) -> float:
    """``round(rss, 1)``, remembered: the peak RSS rarely changes between invocations, and a float's
    round() costs as much as a dictionary of fields."""
    if rss != _last_rss[0]:
        _last_rss[0], _last_rss[1] = rss, round(rss, 1)
    return _last_rss[1]


def _bad_environment(env: str) -> None:
    """An ``ENVIRONMENT`` that is not dev/stg/prd: reported (once); the invocation uses it as given."""
    guard.misuse(
        "config",
        "ENVIRONMENT",
        ConfigError(f"ENVIRONMENT={env!r} is not one of {', '.join(ENVIRONMENTS)}"),
    )


def _start(
    event: Any, context: Any, service: str | None, pipeline: str, name: str, is_async: bool = False
) -> _Invocation | None:
    """The invocation's state, or None (the handler then runs unobserved) if binding it failed."""
    try:
        return _Invocation(event, context, service, pipeline, name, is_async)
    except Exception as exc:
        guard.failure("internal", "invocation start", exc)
        return None


def _open_span(inv: _Invocation, event: Any, context: Any) -> Any:
    """The entered invocation span (a context manager), or None when tracing is off or failed."""
    try:
        span = tracing.invocation_span(event, context, inv.ctx["function_name"], inv.ctx["cold_start"])
        span.__enter__()
        return span
    except Exception as exc:
        guard.failure("internal", "tracing start", exc)
        return None


def _close_span(span: Any, error: BaseException | None) -> None:
    try:
        if error is None:
            span.__exit__(None, None, None)
        else:
            span.__exit__(type(error), error, error.__traceback__)
    except Exception as exc:
        if exc is not error:
            guard.failure("internal", "tracing end", exc, handler_failed=error is not None)


def observed(fn: F | None = None, *, pipeline: str = "default", service: str | None = None) -> Any:
    """Wrap a Lambda handler ``(event, context)``, sync or async, with logs, metrics and traces.

    ``pipeline`` groups functions on dashboards; ``service`` defaults to ``SERVICE_NAME`` and
    then to the function's name. Usable bare (``@observed``) or with arguments.
    """

    def decorate(handler: F) -> F:
        name = handler.__name__
        code = getattr(handler, "__code__", None)
        if code is not None:
            project.note_handler(code.co_filename)  # its observe.toml is looked for on first need

        if code is not None and code.co_flags & _CO_COROUTINE:

            @functools.wraps(handler)
            async def async_wrapper(event: Any, context: Any = None, *args: Any, **kwargs: Any) -> Any:
                inv = _start(event, context, service, pipeline, name, True)
                if inv is None:
                    return await handler(event, context, *args, **kwargs)
                span = None if tracing._state["enabled"] is False else _open_span(inv, event, context)
                result: Any = None
                error: BaseException | None = None
                try:
                    result = await handler(event, context, *args, **kwargs)
                    return result
                except BaseException as exc:
                    error = exc
                    _leave(exc)
                    raise
                finally:
                    if span is not None:
                        _close_span(span, error)
                    inv.finish(result, error)

            return async_wrapper  # type: ignore[return-value]

        @functools.wraps(handler)
        def wrapper(event: Any, context: Any = None, *args: Any, **kwargs: Any) -> Any:
            inv = _start(event, context, service, pipeline, name)
            if inv is None:
                return handler(event, context, *args, **kwargs)
            # the common case: tracing off, no context manager at all
            span = None if tracing._state["enabled"] is False else _open_span(inv, event, context)
            result: Any = None
            error: BaseException | None = None
            try:
                result = handler(event, context, *args, **kwargs)
                return result
            except BaseException as exc:
                error = exc
                _leave(exc)
                raise
            finally:
                if span is not None:
                    _close_span(span, error)
                inv.finish(result, error)

        return wrapper  # type: ignore[return-value]

    if fn is not None:
        return decorate(fn)
    return decorate


def _leave(exc: BaseException) -> None:
    """Under ``OBSERVE_REDACT_ERRORS`` (on in stg and prd), redact the exception about to leave the
    handler, in place: what the Lambda runtime prints and returns of it then carries no secret
    (:func:`observe.redact.redact_exception` says what changes and what a caller keeps)."""
    import contextlib

    from observe import redact

    with contextlib.suppress(Exception):  # never in place of the handler's own exception
        if redact.errors_redacted():
            redact.redact_exception(exc)
