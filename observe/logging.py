"""Structured logs: one JSON line per event, through one structlog processor chain that never raises.

The chain is ``exceptions -> redaction -> render``. Rendering puts the fixed fields first
(timestamp, level, message, logger), then the invocation's context (service, pipeline,
environment, function, cold start, request id, correlation id, trace ids), then the caller's
fields. stdlib ``logging`` (boto3, urllib3, httpx ...) is routed through the same chain, so a
library's warning carries the correlation id too, is redacted the same way, and nothing is printed
twice.

Nothing from logging reaches the caller: arguments that cannot be formatted, values that cannot be
encoded (bytes keys, cycles, objects whose ``__str__`` raises, huge integers, lone surrogates) get
a safe rendering and the line still goes out; if the chain itself fails, one minimal line says so
(and carries nothing of the event but its level and logger). One line stays under CloudWatch's
256 KB event limit: the largest fields are cut, and a ``truncated`` field says which.

The chain is built by :func:`configure` and not by ``structlog.configure``: an application's own
structlog setup is left alone. structlog's bound logger is imported by the first :func:`get_logger`,
without the rest of structlog (:mod:`observe.structlog_core`).
"""

from __future__ import annotations

import functools
import json
import logging as _stdlib_logging
import re
import sys
import time
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from typing import IO, Any

from observe import buffer as _buffer
from observe import config, correlation
from observe.redact import (
    MASK,
    MAX_FIELD_CHARS,
    cut,
    exception_fields,
    record_fields,
    redact_args,
    redact_processor,
    redact_text,
    redact_value,
    safe_str,
)

#: The invocation's fixed fields, set by ``observed`` for the duration of a call (and the fields
#: :mod:`observe.context` binds on top of them).
invocation_context: ContextVar[dict[str, Any] | None] = ContextVar("observe_invocation", default=None)
#: The invocation's sampling draw and buffer; set by ``observed`` only while sampling or buffering
#: is configured (:mod:`observe.buffer`).
invocation_log: ContextVar[_buffer.InvocationLog | None] = ContextVar("observe_invocation_log", default=None)

#: CloudWatch Logs' event limit is 256 KB including 26 bytes of overhead; keep a margin.
MAX_EVENT_BYTES = 256 * 1024 - 1024

_LEVELS = {"debug": 10, "info": 20, "warning": 30, "warn": 30, "error": 40, "exception": 40, "critical": 50}
_state: dict[str, Any] = {
    "configured": False,
    "stream": None,
    "level": 20,
    "tracing": False,
    "dropped": 0,
    # sampling and buffering (observe.buffer): "floor" is the lowest level any line may need; None
    # while neither is configured, and then nothing below runs for a line under the level
    "floor": None,
    "settings": _buffer.Settings(),
    "draw": None,  # the sampling's random source; None: random.random (imported when sampling is on)
}
_loggers: dict[str | None, Any] = {}


class _Writer:
    """The final 'logger': writes rendered lines to the configured stream (stdout by default)."""

    __slots__ = ()

    def _write(self, line: str) -> None:
        stream = _state["stream"] or sys.stdout
        try:
            stream.write(line + "\n")
        except UnicodeEncodeError:  # a stream that is not UTF-8: escape rather than lose the line
            try:
                stream.write(line.encode("ascii", "backslashreplace").decode("ascii") + "\n")
            except Exception:
                _state["dropped"] += 1
        except Exception:  # a closed or broken stream: the handler must go on
            _state["dropped"] += 1

    def _write_error(self, line: str) -> None:
        """An error-level line: what the invocation buffered goes out first (observe.buffer)."""
        if _state["floor"] is not None:
            flush_buffered(invocation_log.get())
        self._write(line)

    msg = debug = info = warning = warn = log = _write
    error = exception = critical = fatal = _write_error


WRITER = _Writer()


def write_line(line: str) -> None:
    """Write one already-rendered line (used for EMF documents) to the log stream."""
    WRITER._write(line)


# --- timestamps: ISO-8601 UTC with milliseconds, the second part cached --------------------------
_ts_cache: list[Any] = [-1, "", -1, ""]  # [second, its text, millisecond, its text]


def timestamp() -> str:
    """Now as ``2026-11-26T04:05:06.789Z`` (the lines of one invocation often share a millisecond)."""
    ms = int(time.time() * 1000)
    if ms == _ts_cache[2]:
        return _ts_cache[3]
    sec = ms // 1000
    if sec != _ts_cache[0]:
        _ts_cache[0] = sec
        _ts_cache[1] = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(sec))
    text = f"{_ts_cache[1]}.{ms % 1000:03d}Z"
    _ts_cache[2], _ts_cache[3] = ms, text
    return text


# --- processors ------------------------------------------------------------------------------------


def exception_info(exc: BaseException) -> dict[str, Any]:
    """An exception as structured fields (type, message, stack: chained causes and notes included),
    redacted."""
    return redact_value(exception_fields(exc, stack=True))


def format_exception(logger: Any, method_name: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    """Turn ``exc_info`` (or ``log.exception``) into an ``exception`` field of structured parts; a
    ``stack_info`` text is kept as ``stack``. Both are redacted by the next processor."""
    exc_info = event_dict.pop("exc_info", None)
    if method_name == "exception" and exc_info is None:
        exc_info = True
    if exc_info:
        exc: Any
        if isinstance(exc_info, BaseException):
            exc = exc_info
        elif isinstance(exc_info, tuple):
            exc = exc_info[1] if len(exc_info) > 1 else None
        else:
            exc = sys.exc_info()[1]
        if isinstance(exc, BaseException):
            event_dict["exception"] = exception_fields(exc, stack=True)
    stack_info = event_dict.pop("stack_info", None)
    if isinstance(stack_info, str) and stack_info:
        event_dict["stack"] = cut(stack_info, MAX_FIELD_CHARS - 64, keep_end=True)
    return event_dict


def _default(obj: Any) -> Any:
    if isinstance(obj, (set, frozenset)):
        return list(obj)
    return safe_str(obj)


def _make_dumps() -> Any:
    """orjson when installed (about 5x faster on these small dicts), else the stdlib encoder."""
    try:
        import orjson
    except ImportError:  # pragma: no cover - orjson is a core dependency; this keeps a bare install working
        encode_text = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=_default).encode

        def dumps_bytes(obj: Any) -> bytes:
            return encode_text(obj).encode("utf-8")

        return dumps_bytes
    # No OPT_NON_STR_KEYS: it takes orjson off its fast path for keys (a line costs about twice as
    # much); what reaches the encoder has text keys (the redaction makes every key text), and a dict
    # that does not is encoded after _sanitise (encode_line), as anything else orjson refuses.
    return functools.partial(orjson.dumps, default=_default, option=orjson.OPT_SERIALIZE_NUMPY)


_encoder: list[Any] = []


def _load_encoder() -> Any:
    """The encoder, chosen on first use (orjson imports ~6 ms of stdlib)."""
    if not _encoder:
        _encoder.append(_make_dumps())
    return _encoder[0]


def _dumps_bytes(obj: Any) -> bytes:
    """Compact UTF-8 JSON of ``obj``."""
    return (_encoder[0] if _encoder else _load_encoder())(obj)


def _dumps(obj: Any) -> str:
    """Compact JSON of ``obj`` as text."""
    return _dumps_bytes(obj).decode()


def _sanitise(obj: Any, depth: int = 0) -> Any:
    """``obj`` with what no JSON encoder takes made safe: lone surrogates, keys that are not text,
    integers beyond 64 bits, unknown types (after a first encoding attempt failed)."""
    if isinstance(obj, str):
        return obj.encode("utf-8", "replace").decode("utf-8")
    if obj is None or isinstance(obj, (bool, float)):
        return obj
    if isinstance(obj, int):
        return obj if -(2**63) <= obj < 2**64 else safe_str(obj)[:64]
    if depth > 32:
        return "[TRUNCATED: nested too deep]"
    if isinstance(obj, dict):
        return {
            _sanitise(k if isinstance(k, str) else safe_str(k)): _sanitise(v, depth + 1)
            for k, v in obj.items()
        }
    if isinstance(obj, (list, tuple)):
        return [_sanitise(v, depth + 1) for v in obj]
    return _sanitise(redact_text(safe_str(obj)))


def _shrink(out: dict[str, Any], size: int) -> bytes:
    """Cut the largest fields of a line over :data:`MAX_EVENT_BYTES` until it fits; say what was cut."""
    target = MAX_EVENT_BYTES - 2048
    keep = {"timestamp", "level", "logger", "correlation_id", "aws_request_id"}
    sizes = sorted(((len(_dumps_bytes({k: v})), k) for k, v in out.items() if k not in keep), reverse=True)
    total = size
    cut_fields: list[str] = []
    for field_size, key in sizes:
        if total <= target or field_size < 256:
            break  # small fields cost little and say the most (the message, ids)
        value = out[key]
        over = total - target
        if isinstance(value, str) and field_size - over > 1024:
            # a string keeps what fits (already redacted, so a prefix shows nothing new)
            out[key] = cut(value, max(512, (len(value) * (field_size - over)) // field_size))
        else:
            out[key] = f"[TRUNCATED: {key} was {field_size} bytes]"
        total -= field_size - len(_dumps_bytes({key: out[key]}))
        cut_fields.append(key)
    out["truncated"] = {"fields": cut_fields, "original_bytes": size}
    line = _dumps_bytes(out)
    if len(line) <= MAX_EVENT_BYTES:
        return line
    fixed: dict[str, Any] = {
        k: out[k] for k in ("timestamp", "level", "logger", "correlation_id") if k in out
    }
    fixed["message"] = cut(str(out.get("message", "")), 1024) if isinstance(out.get("message"), str) else ""
    fixed["truncated"] = {"fields": [k for k in out if k not in fixed], "original_bytes": size}
    return _dumps_bytes(fixed)


def encode_line(out: dict[str, Any]) -> str:
    """``out`` as one JSON line under the event limit, whatever it holds."""
    dumps = _encoder[0] if _encoder else _load_encoder()
    try:
        line = dumps(out)
    except Exception:
        out = _sanitise(out)
        line = dumps(out)
    if len(line) > MAX_EVENT_BYTES:
        line = _shrink(out, len(line))
    text = line.decode("utf-8")
    if not text.isascii() and ("\x85" in text or "\u2028" in text or "\u2029" in text):  # line breaks
        text = text.replace("\x85", "\\u0085").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    return text


_NO_CONTEXT: dict[str, Any] = {}


def render(logger: Any, method_name: str, event_dict: dict[str, Any]) -> str:
    """Assemble the line: fixed fields, invocation context, correlation id, caller's fields."""
    level = "error" if method_name == "exception" else ("warning" if method_name == "warn" else method_name)
    message = event_dict.pop("event", "")
    name = event_dict.pop("logger", None)
    ctx = invocation_context.get() or _NO_CONTEXT
    if _state["tracing"]:
        from observe import tracing

        ids = tracing.current_ids()
    else:
        ids = _NO_CONTEXT
    # one dict display: what four update() calls in this order would make, a little cheaper
    out = {"timestamp": timestamp(), "level": level, "message": message, "logger": name, **ctx,
           "correlation_id": correlation.get(), **ids, **event_dict}  # fmt: skip
    return encode_line(out)


def failure_line(method: str, logger_name: Any, error: BaseException) -> str:
    """The one minimal line written when the chain itself failed on an event: its level, its logger
    and the kind of failure; nothing of the event's content."""
    try:
        name = redact_text(safe_str(logger_name)[:200]) if logger_name is not None else None
        cid = correlation.get()
        return json.dumps(
            {
                "timestamp": timestamp(),
                "level": "error",
                "message": "log event could not be rendered; its content is dropped",
                "logger": "observe.logging",
                "correlation_id": cid if isinstance(cid, str) else None,
                "event_logger": name,
                "event_level": method if method in _LEVELS else "info",
                "error_type": type(error).__name__,
            },
            ensure_ascii=True,
        )
    except Exception:  # even the minimal line failed: a constant one
        return '{"level":"error","message":"log event could not be rendered","logger":"observe.logging"}'


def chain_failed(method: str, logger_name: Any, error: BaseException) -> None:
    """Write :func:`failure_line` (never raises)."""
    try:
        WRITER._write(failure_line(method, logger_name, error))
    except Exception:
        _state["dropped"] += 1


def process(logger: Any, method_name: str, event_dict: dict[str, Any]) -> str:
    """The whole chain as one processor that cannot raise: exceptions, redaction, render."""
    try:
        if "exc_info" in event_dict or "stack_info" in event_dict or method_name == "exception":
            event_dict = format_exception(logger, method_name, event_dict)
        return render(logger, method_name, redact_processor(logger, method_name, event_dict))
    except Exception as exc:
        return failure_line(
            method_name, event_dict.get("logger") if isinstance(event_dict, dict) else None, exc
        )


PROCESSORS: list[Any] = [process]


def emit(method: str, message: str, logger_name: str | None, fields: dict[str, Any]) -> None:
    """Run one event through the chain and write it, without a structlog logger object.

    For observe's own summary line and the stdlib bridge: the same processors, minus the
    bound-logger bookkeeping. ``fields`` is consumed. Never raises.
    """
    lvl = _LEVELS.get(method, 20)
    if lvl < _state["level"]:
        if _state["floor"] is None:
            return
        st = invocation_log.get()
        if st is None:
            return
        if lvl >= 40:  # under LOG_LEVEL=CRITICAL: never buffered, but it writes the buffer
            flush_buffered(st)
            if lvl < st.level:
                return
        elif lvl < st.floor:
            return
        elif lvl < st.level:
            fields["event"] = message
            fields["logger"] = logger_name
            _capture(st, method, fields)
            return
    elif lvl >= 40 and _state["floor"] is not None:
        flush_buffered(invocation_log.get())
    try:
        fields["event"] = message
        fields["logger"] = logger_name
        WRITER._write(process(None, method, fields))
    except Exception as exc:
        chain_failed(method, logger_name, exc)


def line_to_write(
    method: str, message: str, logger_name: str | None, fields: dict[str, Any], *, own: bool = False
) -> str | None:
    """:func:`emit` for a caller that writes the line together with more text (the summary line and
    its EMF documents go out in one write): the rendered line when it is to be written now as it is;
    otherwise None, and the line was handled as :func:`emit` handles it (dropped under the level,
    buffered, or written after the invocation's buffered lines). ``fields`` is consumed. Never raises.

    ``own``: the message, the logger name and every field are observe's own constants and numbers
    (the summary line of a successful invocation), so the redaction pass, which could change none of
    them, is skipped; the invocation's context on the line was redacted when it was bound."""
    if _state["floor"] is not None or _LEVELS.get(method, 20) < _state["level"]:
        emit(method, message, logger_name, fields)
        return None
    fields["event"] = message
    fields["logger"] = logger_name
    if own:
        try:
            return render(None, method, fields)
        except Exception as exc:
            return failure_line(method, logger_name, exc)
    return process(None, method, fields)  # never raises: a failed chain gives its failure line


#: A ``%`` conversion of a template: ``%s``, ``%(name)06d``, ``%-8.2f``; or a literal ``%%``, matched
#: so that ``%%d`` is not read as a conversion.
_CONVERSION = re.compile(
    r"%%|%(\([^()]{0,64}\))?[-#0 +]{0,5}(?:\*|\d{1,3})?(?:\.(?:\*|\d{1,3}))?[diouxXeEfFgGcrsa]"
)


def _as_text_conversion(m: re.Match[str]) -> str:
    return "%%" if m.group(0) == "%%" else f"%{m.group(1) or ''}s"


def interpolate(template: Any, args: Any) -> str:
    """``template % args`` the way logging and structlog do it, with the arguments redacted first
    (structured: a dict argument is masked by key before it is turned into text). A masked value no
    longer fits ``%d``: then every conversion becomes ``%s`` (``pin %(pin)d`` shows ``pin
    [REDACTED]``; the raw arguments are never formatted into the line). A template that does not
    fit its arguments at all shows the template and the redacted arguments side by side."""
    try:
        if isinstance(args, Mapping):
            safe: Any = redact_value(args)
        elif isinstance(args, tuple):
            if len(args) == 1 and isinstance(args[0], Mapping) and args[0]:
                safe = redact_value(args[0])
            else:
                safe = redact_args(args)
        else:
            safe = redact_args((args,))
    except Exception:
        safe = ("[arguments could not be rendered]",)
    text = template if isinstance(template, str) else safe_str(template)
    try:
        return text % safe
    except Exception as exc:
        error = exc
    try:
        raw = args[0] if isinstance(args, tuple) and len(args) == 1 and isinstance(args[0], Mapping) else args
        _ = text % raw  # fits the raw arguments: redaction made a value unfit (its text is not used)
        return _CONVERSION.sub(_as_text_conversion, text) % safe
    except Exception:
        return f"{text} [format failed: {type(error).__name__}; args: {safe_str(safe)[:2000]}]"


# --- configuration --------------------------------------------------------------------------------


def configure(
    level: str | int | None = None,
    stream: IO[str] | None = None,
    *,
    stdlib: bool = True,
    below_level: _buffer.Settings | None = None,
    draw: Callable[[], float] | None = None,
) -> None:
    """Build the chain: minimum level (``LOG_LEVEL`` / environment default), stream, stdlib bridge,
    and what happens below the level: debug sampling and buffering (``below_level``, else
    ``LOG_DEBUG_SAMPLE_RATE`` / ``LOG_BUFFER_*`` from the environment; :mod:`observe.buffer`).

    ``draw`` is the random source of the sampling (``random.random`` by default; tests pass a seeded
    one). Called for you on first use; call it again to change the level or capture output in tests.
    Loggers made before a call keep the levels they were made with.
    """
    if level is None:
        level = config.log_level()
    lvl = level if isinstance(level, int) else _LEVELS[level.lower()]
    bad: config.ConfigError | None = None
    if below_level is not None:
        settings = below_level
    else:
        try:
            settings = _buffer.from_env()
        except config.ConfigError as exc:  # reported below, once the chain can write the report
            settings, bad = _buffer.Settings(), exc
    floor = settings.floor(lvl)
    _state.update(
        configured=True,
        stream=stream,
        level=lvl,
        floor=floor,
        settings=settings,
        draw=draw,
    )
    _loggers.clear()
    if stdlib:
        _install_stdlib_bridge(lvl if floor is None else floor)
    from observe import project

    project.ensure_loaded()  # the project's redaction rules apply from the first line
    if bad is not None:  # raises in dev; in stg/prd one warning and a count, and both settings off
        from observe import guard

        guard.misuse("config", "LOG_DEBUG_SAMPLE_RATE / LOG_BUFFER_*", bad)


def reset() -> None:
    """Forget the configuration: the next logger reads the environment again (tests)."""
    _state.update(configured=False, stream=None, floor=None, settings=_buffer.Settings(), draw=None)
    _loggers.clear()


# --- per invocation: the sampling draw and the buffer (observe.buffer) ---------------------------


def start_invocation() -> tuple[_buffer.InvocationLog, Any] | None:
    """Draw this invocation's sampling and open its buffer (``observed`` calls it on entry); None,
    at no cost, while neither sampling nor buffering is configured. The second item undoes it."""
    if _state["floor"] is None:
        return None
    draw = _state["draw"]
    if draw is None:
        import random  # only once sampling or buffering is configured: not on every cold start

        draw = _state["draw"] = random.random
    st = _buffer.start(_state["settings"], _state["level"], draw)
    return st, invocation_log.set(st)


def end_invocation(token: Any) -> None:
    """Drop the invocation's buffer, unwritten (``observed`` calls it on exit)."""
    invocation_log.reset(token)


def _capture(st: _buffer.InvocationLog, method: str, event_dict: dict[str, Any]) -> None:
    """Render a line below the level into the invocation's buffer (``st.floor`` <= its level <
    ``st.level``: only a buffering invocation has a floor under its level)."""
    try:
        event_dict["buffered"] = True
        st.open_buffer().add(process(None, method, event_dict))
    except Exception as exc:
        chain_failed(method, event_dict.get("logger"), exc)


def flush_buffered(st: _buffer.InvocationLog | None, *, timeout: float = -1) -> int:
    """Write the invocation's buffered lines (after one warning line if some were dropped at the
    bound) and empty the buffer; the number of lines written. Never raises."""
    buf = st.buffer if st is not None else None
    if not buf:
        return 0
    try:
        lines, dropped, dropped_bytes = buf.take(timeout)
        if dropped:
            WRITER._write(
                process(
                    None,
                    "warning",
                    {
                        "event": "log buffer full: its oldest lines were dropped",
                        "logger": "observe",
                        **_buffer.overflow_fields(dropped, dropped_bytes, buf),
                    },
                )
            )
        for line in lines:
            WRITER._write(line)
        return len(lines)
    except Exception as exc:
        chain_failed("warning", "observe", exc)
        return 0


def set_tracing(enabled: bool) -> None:
    """Add (or drop) trace_id / span_id on every line."""
    _state["tracing"] = enabled


_safe_classes: dict[tuple[int, int | None], type] = {}
#: structlog's level names by number (``structlog._log_levels.LEVEL_TO_NAME``), the methods of a logger.
LEVEL_TO_NAME = {50: "critical", 40: "error", 30: "warning", 20: "info", 10: "debug"}


def _safe_logger_class(min_level: int, floor: int | None = None) -> type:
    """A structlog bound logger (``BoundLoggerBase``: structlog's ``bind``/``new``/``unbind`` and
    processor chain) with structlog's filtering methods for ``min_level`` (a method below it is a bare
    ``return None``; ``is_enabled_for``, ``get_effective_level``, ``log``, ``a*`` variants), whose
    positional-argument formatting and whole chain cannot raise into the caller (a bad ``%``
    template, a failing processor).

    With a ``floor`` (sampling or buffering configured), the methods from ``floor`` up to below
    ``min_level`` decide per invocation: write (a sampled invocation), render into the buffer, or
    drop (an error line writes what the invocation buffered first: :meth:`_Writer._write_error`).

    Built on ``BoundLoggerBase`` alone (:mod:`observe.structlog_core`), not on
    ``structlog.make_filtering_bound_logger``: that one's module imports asyncio for its ``a*``
    methods, which hand the call to a thread pool; here they run the call in place, like the rest.
    """
    cls = _safe_classes.get((min_level, floor))
    if cls is not None:
        return cls
    from observe.structlog_core import bound_logger_base

    base = bound_logger_base()
    lowest = min_level if floor is None else floor

    def _proxy_to_logger(self: Any, method_name: str, event: Any = None, **event_kw: Any) -> Any:
        try:
            args, kw = self._process_event(method_name, event, event_kw)
            return getattr(self._logger, method_name)(*args, **kw)
        except Exception as exc:
            chain_failed(method_name, self._context.get("logger"), exc)
            return None
        except BaseException as exc:  # structlog's DropEvent: a processor dropped the event
            if type(exc).__name__ == "DropEvent":
                return None
            raise

    def make(name: str) -> tuple[Any, Any]:
        def meth(self: Any, event: Any = None, *args: Any, **kw: Any) -> Any:
            if args:
                event = interpolate(event, args)
            try:  # _proxy_to_logger, inline: one call less on every line
                args, kw = self._process_event(name, event, kw)
                return getattr(self._logger, name)(*args, **kw)
            except Exception as exc:
                chain_failed(name, self._context.get("logger"), exc)
                return None
            except BaseException as exc:
                if type(exc).__name__ == "DropEvent":
                    return None
                raise

        async def ameth(self: Any, event: Any = None, *args: Any, **kw: Any) -> Any:
            return meth(self, event, *args, **kw)

        meth.__name__, ameth.__name__ = name, f"a{name}"
        return meth, ameth

    def make_below(name: str, lvl: int) -> tuple[Any, Any]:
        """A method under the level: its line is written, buffered or dropped per invocation."""

        def meth(self: Any, event: Any = None, *args: Any, **kw: Any) -> Any:
            st = invocation_log.get()
            if st is None:
                return None
            if lvl >= 40:  # under LOG_LEVEL=CRITICAL: an error line is never buffered, it writes the buffer
                if st.buffer:
                    flush_buffered(st)
                if lvl < st.level:
                    return None
                return self._proxy_to_logger(name, interpolate(event, args) if args else event, **kw)
            if lvl < st.floor:
                return None
            if args:
                event = interpolate(event, args)
            if lvl >= st.level:  # a sampled invocation
                return self._proxy_to_logger(name, event, **kw)
            try:
                event_dict = self._context.copy()
                event_dict.update(kw)
                event_dict["event"] = event
            except Exception as exc:
                chain_failed(name, self._context.get("logger"), exc)
                return None
            _capture(st, name, event_dict)
            return None

        async def ameth(self: Any, event: Any = None, *args: Any, **kw: Any) -> Any:
            return meth(self, event, *args, **kw)

        meth.__name__, ameth.__name__ = name, f"a{name}"
        return meth, ameth

    def _nop(self: Any, event: Any = None, *args: Any, **kw: Any) -> None:
        return None

    async def _anop(self: Any, event: Any = None, *args: Any, **kw: Any) -> None:
        return None

    meths: dict[str, Any] = {"_proxy_to_logger": _proxy_to_logger}
    for lvl, name in LEVEL_TO_NAME.items():
        if lvl < lowest:
            meths[name], meths[f"a{name}"] = _nop, _anop
        elif lvl < min_level:
            meths[name], meths[f"a{name}"] = make_below(name, lvl)
        else:
            meths[name], meths[f"a{name}"] = make(name)

    def exception(self: Any, event: Any = None, *args: Any, **kw: Any) -> Any:
        kw.setdefault("exc_info", True)
        return self.error(event, *args, **kw)

    async def aexception(self: Any, event: Any = None, *args: Any, **kw: Any) -> Any:
        if kw.get("exc_info", True) is True:
            kw["exc_info"] = sys.exc_info()
        return self.error(event, *args, **kw)

    def log(self: Any, level: Any, event: Any = None, *args: Any, **kw: Any) -> Any:
        try:
            if level < lowest:
                return None
            name = LEVEL_TO_NAME[level]
        except Exception as exc:
            chain_failed("info", self._context.get("logger"), exc)
            return None
        return getattr(self, name)(event, *args, **kw)

    async def alog(self: Any, level: Any, event: Any = None, *args: Any, **kw: Any) -> Any:
        return log(self, level, event, *args, **kw)

    meths.update(exception=exception, aexception=aexception, log=log, alog=alog)
    meths.update(fatal=meths["critical"], afatal=meths["acritical"], warn=meths["warning"])
    meths.update(awarn=meths["awarning"], msg=meths["info"], amsg=meths["ainfo"])
    meths.update(
        is_enabled_for=lambda self, level: level >= min_level, get_effective_level=lambda self: min_level
    )
    label = {0: "Notset", **{k: v.capitalize() for k, v in LEVEL_TO_NAME.items()}}.get(
        min_level, str(min_level)
    )
    cls = type(f"SafeBoundLoggerFilteringAt{label}", (base,), meths)
    _safe_classes[(min_level, floor)] = cls
    return cls


def get_logger(name: str | None = None, **initial: Any) -> Any:
    """A structlog logger whose lines go through the house chain; cached per name."""
    if not initial:
        cached = _loggers.get(name)
        if cached is not None:
            return cached
    if not _state["configured"]:
        configure()
    cls = _safe_logger_class(_state["level"], _state["floor"])
    logger = cls(WRITER, PROCESSORS, {"logger": name, **initial})
    if not initial:
        _loggers[name] = logger
    return logger


# --- stdlib logging bridge ----------------------------------------------------------------------

_STD_ATTRS = frozenset(vars(_stdlib_logging.LogRecord("", 0, "", 0, "", (), None)).keys()) | {
    "message",
    "asctime",
    "taskName",
}
#: Libraries whose request and response bodies are never logged: a body shows as its size.
LIBRARY_LOGGERS: frozenset[str] = frozenset(
    {
        "botocore",
        "boto3",
        "urllib3",
        "httpx",
        "httpcore",
        "s3transfer",
        "aiobotocore",
        "requests",
        "aiohttp",
        "aiodynamo",
    }
)


def _body(value: Any) -> Any:
    if isinstance(value, (str, bytes, bytearray, memoryview)):
        return f"[REDACTED:body {len(value)} bytes]"
    if value is None or isinstance(value, (bool, int, float)):
        return value
    return "[REDACTED:body]"


def _without_body(a: Any) -> Any:
    """``a`` with its ``body`` member as its size: a dict (botocore's request dict) or a record such as
    aiodynamo's ``Request(method, url, headers, body)`` and ``Response(status, body)`` dataclasses."""
    if isinstance(a, Mapping):
        return {**a, "body": _body(a["body"])} if "body" in a else a
    if isinstance(a, (str, bytes, int, float)) or a is None:
        return a
    fields = record_fields(a)
    if fields is not None and "body" in fields:
        fields["body"] = _body(fields["body"])
        return fields
    return a


def _library_args(template: str, args: Any) -> Any:
    """A library record's arguments with every request or response body replaced by its size:
    the whole argument when the template speaks of a body (botocore's ``Response body:\\n%r``), and
    the ``body`` member of a dict or record argument (botocore's ``Making request ... with params:
    %s``, aiodynamo's ``sending request %r``)."""
    if "body" in template.lower():
        if isinstance(args, Mapping):
            return {k: _body(v) for k, v in args.items()}
        return tuple(_body(a) for a in args) if isinstance(args, tuple) else (_body(args),)
    if isinstance(args, tuple):
        return tuple(_without_body(a) for a in args)
    return args


def record_message(record: _stdlib_logging.LogRecord) -> str:
    """A record's message, formatted with its arguments redacted (never raises)."""
    msg = record.msg
    args = record.args
    if not isinstance(msg, str):
        msg = safe_str(redact_value(msg)) if not isinstance(msg, (int, float)) else str(msg)
    if not args:
        return msg
    if record.name.partition(".")[0] in LIBRARY_LOGGERS:
        try:
            args = _library_args(msg, args)
        except Exception:
            args = (MASK,)
    return interpolate(msg, args)


class StructlogHandler(_stdlib_logging.Handler):
    """Routes stdlib records through the house chain (one JSON line each); never raises and never
    prints a record to stderr."""

    def emit(self, record: _stdlib_logging.LogRecord) -> None:
        try:
            method = str(record.levelname).lower()
            if method not in _LEVELS:
                method = "info"
            fields = {
                k: v
                for k, v in record.__dict__.items()
                if k not in _STD_ATTRS and not (isinstance(k, str) and k.startswith("_"))
            }
            if record.exc_info:
                fields["exc_info"] = record.exc_info
            if record.stack_info:
                fields["stack_info"] = record.stack_info
            emit(method, record_message(record), record.name, fields)
        except Exception as exc:
            chain_failed("error", getattr(record, "name", None), exc)

    def handleError(self, record: _stdlib_logging.LogRecord) -> None:
        """The stdlib default prints the raw message and arguments to stderr: not here."""
        chain_failed("error", getattr(record, "name", None), sys.exc_info()[1] or RuntimeError("handler"))


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
