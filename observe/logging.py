"""Structured logs: one JSON line per event, through one structlog processor chain.

The chain is ``exceptions -> redaction -> render``. Rendering puts the fixed fields first
(timestamp, level, message, logger), then the invocation's context (service, pipeline,
environment, function, cold start, request id, correlation id, trace ids), then the caller's
fields. stdlib ``logging`` (boto3, urllib3, httpx ...) is routed through the same chain, so a
library's warning carries the correlation id too and nothing is printed twice.

The chain is built by :func:`configure` and not by ``structlog.configure``: an application's own
structlog setup is left alone. structlog itself is imported by the first :func:`get_logger`.
"""

from __future__ import annotations

import json
import logging as _stdlib_logging
import sys
import time
from contextvars import ContextVar
from typing import IO, Any

from observe import config, correlation
from observe.redact import redact_processor

#: The invocation's fixed fields, set by ``observed`` for the duration of a call.
invocation_context: ContextVar[dict[str, Any] | None] = ContextVar("observe_invocation", default=None)

_LEVELS = {"debug": 10, "info": 20, "warning": 30, "warn": 30, "error": 40, "exception": 40, "critical": 50}
_state: dict[str, Any] = {"configured": False, "stream": None, "level": 20, "tracing": False}
_loggers: dict[str | None, Any] = {}


class _Writer:
    """The final 'logger': writes rendered lines to the configured stream (stdout by default)."""

    __slots__ = ()

    def _write(self, line: str) -> None:
        stream = _state["stream"] or sys.stdout
        stream.write(line + "\n")

    msg = debug = info = warning = warn = error = exception = critical = fatal = log = _write


WRITER = _Writer()


def write_line(line: str) -> None:
    """Write one already-rendered line (used for EMF documents) to the log stream."""
    (_state["stream"] or sys.stdout).write(line + "\n")


# --- timestamps: ISO-8601 UTC with milliseconds, the second part cached --------------------------
_ts_cache: list[Any] = [-1, ""]


def timestamp() -> str:
    """Now as ``2026-11-26T04:05:06.789Z``."""
    now = time.time()
    sec = int(now)
    if sec != _ts_cache[0]:
        _ts_cache[0] = sec
        _ts_cache[1] = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(sec))
    return f"{_ts_cache[1]}.{int((now - sec) * 1000):03d}Z"


# --- processors ------------------------------------------------------------------------------------


def exception_info(exc: BaseException) -> dict[str, str]:
    """An exception as structured fields: type, message, stack."""
    import traceback  # only on the error path

    return {
        "type": f"{type(exc).__module__}.{type(exc).__qualname__}".removeprefix("builtins."),
        "message": str(exc),
        "stack": "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)),
    }


def format_exception(logger: Any, method_name: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    """Turn ``exc_info`` (or ``log.exception``) into an ``exception`` field of structured parts."""
    exc_info = event_dict.pop("exc_info", None)
    if method_name == "exception" and exc_info is None:
        exc_info = True
    if exc_info:
        exc: BaseException | None
        if isinstance(exc_info, BaseException):
            exc = exc_info
        elif isinstance(exc_info, tuple):
            exc = exc_info[1]
        else:
            exc = sys.exc_info()[1]
        if exc is not None:
            event_dict["exception"] = exception_info(exc)
    return event_dict


def _default(obj: Any) -> Any:
    if isinstance(obj, (set, frozenset)):
        return list(obj)
    return str(obj)


def _make_dumps() -> Any:
    """orjson when installed (about 5x faster on these small dicts), else the stdlib encoder."""
    try:
        import orjson
    except ImportError:  # pragma: no cover - orjson is a core dependency; this keeps a bare install working
        return json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=_default).encode
    option = orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY
    encode = orjson.dumps

    def dumps(obj: Any) -> str:
        return encode(obj, default=_default, option=option).decode()

    return dumps


_encoder: list[Any] = []


def _dumps(obj: Any) -> str:
    """Compact JSON of ``obj``; the encoder is chosen on first use (orjson imports ~6 ms of stdlib)."""
    if not _encoder:
        _encoder.append(_make_dumps())
    return _encoder[0](obj)


def render(logger: Any, method_name: str, event_dict: dict[str, Any]) -> str:
    """Assemble the line: fixed fields, invocation context, correlation id, caller's fields."""
    out: dict[str, Any] = {
        "timestamp": timestamp(),
        "level": "error"
        if method_name == "exception"
        else ("warning" if method_name == "warn" else method_name),
        "message": event_dict.pop("event", ""),
        "logger": event_dict.pop("logger", None),
    }
    ctx = invocation_context.get()
    if ctx is not None:
        out.update(ctx)
    out["correlation_id"] = correlation.get()
    if _state["tracing"]:
        from observe import tracing

        out.update(tracing.current_ids())
    out.update(event_dict)
    return _dumps(out)


PROCESSORS: list[Any] = [format_exception, redact_processor, render]


def emit(method: str, message: str, logger_name: str | None, fields: dict[str, Any]) -> None:
    """Run one event through the chain and write it, without a structlog logger object.

    For observe's own summary line and the stdlib bridge: the same processors, minus the
    bound-logger bookkeeping. ``fields`` is consumed.
    """
    if _LEVELS.get(method, 20) < _state["level"]:
        return
    fields["event"] = message
    fields["logger"] = logger_name
    for proc in PROCESSORS:
        fields = proc(None, method, fields)
    WRITER._write(fields)  # type: ignore[arg-type]  # the last processor returned the rendered line


# --- configuration --------------------------------------------------------------------------------


def configure(level: str | int | None = None, stream: IO[str] | None = None, *, stdlib: bool = True) -> None:
    """Build the chain: minimum level (``LOG_LEVEL`` / environment default), stream, stdlib bridge.

    Called for you on first use; call it again to change the level or capture output in tests.
    """
    if level is None:
        level = config.log_level()
    lvl = level if isinstance(level, int) else _LEVELS[level.lower()]
    _state.update(configured=True, stream=stream, level=lvl)
    _loggers.clear()
    if stdlib:
        _install_stdlib_bridge(lvl)


def reset() -> None:
    """Forget the configuration: the next logger reads the environment again (tests)."""
    _state.update(configured=False, stream=None)
    _loggers.clear()


def set_tracing(enabled: bool) -> None:
    """Add (or drop) trace_id / span_id on every line."""
    _state["tracing"] = enabled


def get_logger(name: str | None = None, **initial: Any) -> Any:
    """A structlog logger whose lines go through the house chain; cached per name."""
    if not initial:
        cached = _loggers.get(name)
        if cached is not None:
            return cached
    if not _state["configured"]:
        configure()
    import structlog  # imported on first use: `import observe` stays cheap

    wrapper = structlog.make_filtering_bound_logger(_state["level"])
    logger = structlog.wrap_logger(
        WRITER,
        processors=PROCESSORS,
        wrapper_class=wrapper,
        context_class=dict,
        cache_logger_on_first_use=True,
    ).bind(logger=name, **initial)
    if not initial:
        _loggers[name] = logger
    return logger


# --- stdlib logging bridge ----------------------------------------------------------------------

_STD_ATTRS = frozenset(vars(_stdlib_logging.LogRecord("", 0, "", 0, "", (), None)).keys()) | {
    "message",
    "asctime",
    "taskName",
}


class StructlogHandler(_stdlib_logging.Handler):
    """Routes stdlib records through the house chain (one JSON line each)."""

    def emit(self, record: _stdlib_logging.LogRecord) -> None:
        try:
            method = record.levelname.lower()
            if method not in _LEVELS:
                method = "info"
            fields = {
                k: v for k, v in record.__dict__.items() if k not in _STD_ATTRS and not k.startswith("_")
            }
            if record.exc_info:
                fields["exc_info"] = record.exc_info
            emit(method, record.getMessage(), record.name, fields)
        except Exception:  # pragma: no cover - logging must never raise into the caller
            self.handleError(record)


def _install_stdlib_bridge(level: int) -> None:
    root = _stdlib_logging.getLogger()
    # Drop the Lambda runtime's own handler (and any earlier bridge): one line per event.
    for handler in list(root.handlers):
        root.removeHandler(handler)
    root.addHandler(StructlogHandler())
    root.setLevel(level)
    # botocore is chatty at DEBUG (aiodynamo logs every request body); keep them at INFO.
    for noisy in ("botocore", "boto3", "urllib3", "s3transfer", "httpcore", "aiodynamo", "aiohttp"):
        _stdlib_logging.getLogger(noisy).setLevel(max(level, 20))
