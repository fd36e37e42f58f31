"""The deadline watchdog: one line and one EMF document shortly before Lambda kills a late invocation.

When an invocation runs into its timeout, Lambda kills the process: ``observed`` never writes its
summary line or its metrics, and the invocation is missing from every dashboard. The watchdog
writes, ``OBSERVE_TIMEOUT_MARGIN_MS`` (default 500 ms, at most a fifth of the invocation's time)
before the deadline the context reports:

1. one warning line, ``invocation about to time out``, with the invocation's fields and correlation
   id, ``elapsed_ms``, ``remaining_ms``, what is in flight (``observe.batch.in_flight()``: the
   records being processed and their correlation ids), where the handler is (``stack``: its
   innermost frames; for an async handler ``tasks``: the pending tasks and where each one waits)
   and ``buffered_lines``, the number of buffered lines written after it;
2. one EMF document with ``Duration`` so far, ``Timeouts`` = 1, ``MaxMemoryUsed``,
   ``MemoryUtilization`` and ``ColdStart``, so the invocation is counted;
3. the invocation's buffered lines, if buffering is on (:mod:`observe.buffer`).

If the invocation then ends before the kill, its summary line says ``watchdog_fired: true`` with
the real ``duration_ms``, and its EMF document leaves out what the watchdog already counted
(``Duration``, ``MaxMemoryUsed``, ``MemoryUtilization``, ``ColdStart``): every invocation is
counted once. ``Timeouts`` then counts an invocation that came within the margin of its deadline.

The cost on an invocation that ends in time is two dictionary operations and a comparison: one
daemon thread per process, started at the first invocation, sleeps until the earliest armed
deadline; an invocation that starts while the thread already sleeps to an earlier time does not
wake it (with one timeout per function, that is every invocation after the first), and the thread
wakes about once per timeout period while invocations keep coming. No thread, timer or signal is
set up per invocation. A thread rather than a signal: a Python signal handler runs in the main
thread between bytecodes, so it would write into a stream the handler may be in the middle of
writing (``RuntimeError: reentrant call``) and could not run at all while the handler waits in C
code. The watchdog writes through the same stream object as every line, so its lines wait for a
write in progress instead of cutting into it.

What it cannot do: Python code runs only with the GIL, so while the handler sits in C code that
holds the GIL (a C extension that does not release it; a regular expression backtracking) the
watchdog writes as soon as that call returns, which may be after the deadline; I/O, ``time.sleep``,
``await`` and pure-Python loops all let it run within a few milliseconds.
"""

from __future__ import annotations

import math
import os
import sys
import threading
import time
from typing import Any

from observe.catalogue import TIMEOUT_WARNING
from observe.config import ConfigError, number

MARGIN_VAR = "OBSERVE_TIMEOUT_MARGIN_MS"
#: Lambda timeouts are whole seconds, 1 to 900. 500 ms is far more than the watchdog needs to write
#: its line, its document and a full buffer (about a millisecond on one vCPU; a 128 MB function
#: gets a fraction of one, so tens of ms there) plus the wait for the GIL (the 5 ms switch
#: interval), and it leaves 2.5 s of a 3 s timeout (Lambda's default) to the handler.
DEFAULT_MARGIN_MS = 500.0
#: The margin never takes more than this share of the invocation's time: 200 ms of a 1 s timeout.
MAX_MARGIN_SHARE = 0.2
MESSAGE = TIMEOUT_WARNING
MAX_FRAMES = 20
MAX_TASKS = 10

_settings: list[float | None] = [None]  # the margin in ms, read at the first invocation; 0 = off


def configure(margin_ms: float | None = None) -> None:
    """Set the margin (``0`` turns the watchdog off); None reads ``OBSERVE_TIMEOUT_MARGIN_MS`` again."""
    _settings[0] = None if margin_ms is None else float(margin_ms)


def margin_ms() -> float:
    """The configured margin, in ms (0 when the watchdog is off)."""
    value = _settings[0]
    if value is None:
        value = _settings[0] = float(
            number(os.environ, MARGIN_VAR, DEFAULT_MARGIN_MS, minimum=0.0, unit="ms")
        )
    return value


class _Watchdog:
    """The armed invocations of this process and the one thread that watches their deadlines."""

    def __init__(self) -> None:
        self.armed: dict[Any, Any] = {}  # invocation -> itself (hashed by identity)
        self.cond = threading.Condition(threading.Lock())
        #: when the thread looks next; inf while it is deciding or has nothing to wait for, so an
        #: invocation armed meanwhile wakes it
        self.wake_at = math.inf
        #: how long the thread may sleep with nothing armed: the shortest time to a fire seen, so an
        #: invocation that starts later cannot be due before the thread looks again
        self.idle = math.inf
        self.thread: threading.Thread | None = None
        self.fired = 0

    def wake(self) -> None:
        """Make the thread look at the armed invocations again (starting it the first time)."""
        try:
            with self.cond:
                if self.thread is None:
                    self.thread = threading.Thread(target=self._run, name="observe-watchdog", daemon=True)
                    self.thread.start()
                self.cond.notify()
        except Exception as exc:  # no thread (a runtime without threads): the invocation goes on
            from observe import guard

            guard.record("internal", "watchdog", f"{type(exc).__name__}: {exc}")

    def disarm(self, inv: Any) -> bool:
        """Take the invocation back; False if the watchdog took it first (it fired)."""
        return self.armed.pop(inv, None) is not None

    def _run(self) -> None:
        clock = time.perf_counter
        cond = self.cond
        with cond:
            while True:
                self.wake_at = math.inf
                try:
                    now = clock()
                    nxt = math.inf
                    fired = False
                    for inv in list(self.armed):
                        if inv.fire_at <= now:
                            if self.armed.pop(inv, None) is inv:  # the invocation did not end first
                                fired = True
                                cond.release()
                                try:
                                    self.fired += 1
                                    fire(inv)
                                finally:
                                    cond.acquire()
                        elif inv.fire_at < nxt:
                            nxt = inv.fire_at
                    if fired:
                        continue  # an invocation may have been armed while the lock was released
                    if nxt == math.inf and self.idle != math.inf:
                        nxt = now + self.idle
                    self.wake_at = nxt
                    cond.wait(None if nxt == math.inf else max(0.0, nxt - now))
                except Exception:  # the watchdog outlives anything one invocation does to it
                    time.sleep(0.01)


_dog = _Watchdog()
_get_ident = threading.get_ident


def _after_fork() -> None:
    _dog.__init__()  # type: ignore[misc]  # the thread does not exist in a forked child


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)


def margin_setting() -> float:
    """The margin for the next invocation; a bad ``OBSERVE_TIMEOUT_MARGIN_MS`` raises in dev (strict)
    and is otherwise reported once (``TelemetryErrors{kind=config}``) and replaced by the default."""
    value = _settings[0]
    if value is not None:
        return value
    try:
        return margin_ms()
    except ConfigError as exc:
        _settings[0] = DEFAULT_MARGIN_MS  # reported once, not on every invocation
        from observe import guard

        guard.misuse("config", MARGIN_VAR, exc)
        return DEFAULT_MARGIN_MS


def arm(inv: Any, context: Any, margin: float, is_async: bool = False) -> bool:
    """Watch ``inv`` (an ``observed`` invocation: ``start``, ``ctx``, ``cid``, ``dims``, ``limit``,
    ``log``, ``properties()``) against the deadline ``context`` reports, ``margin`` ms before it;
    False when the context has no deadline. Sets ``inv.deadline``, ``inv.fire_at``, ``inv.thread``
    (and ``inv.task`` for an async handler). Never raises; costs well under a microsecond."""
    try:
        remaining = context.get_remaining_time_in_millis()
    except Exception:  # no context (a direct call), or one without a deadline
        return False
    kind = type(remaining)
    if (kind is not int and kind is not float) or remaining <= 0:
        return False
    if margin > remaining * MAX_MARGIN_SHARE:
        margin = remaining * MAX_MARGIN_SHARE
    start = inv.start
    inv.deadline = deadline = start + remaining / 1000.0
    inv.fire_at = fire_at = deadline - margin / 1000.0
    inv.thread = _get_ident()
    if is_async:
        inv.task = _current_task()
    dog = _dog
    dog.armed[inv] = inv
    if fire_at - start < dog.idle:
        dog.idle = fire_at - start
    if dog.wake_at > fire_at:  # the thread would look too late (or is not started): wake it
        dog.wake()
    return True


def _current_task() -> Any:
    import asyncio

    try:
        return asyncio.current_task()
    except RuntimeError:
        return None


#: The invocation ended: True if the watchdog had not fired for it (nothing was written).
disarm = _dog.disarm


def fired_count() -> int:
    """How many invocations the watchdog fired for in this process (tests, diagnostics)."""
    return _dog.fired


def note_context(ctx: dict[str, Any] | None) -> None:
    """The fields now bound in this thread (``observe.context``), for a warning about its invocation."""
    if not _dog.armed:
        return
    me = threading.get_ident()
    for inv in list(_dog.armed):
        if inv.thread == me:
            inv.ctx_now = ctx


def _where(frame: Any, stop: str | None) -> list[str]:
    """``file:line in function`` of ``frame`` and its callers, innermost last, up to the wrapper."""
    out: list[str] = []
    while frame is not None and len(out) < MAX_FRAMES:
        code = frame.f_code
        if stop is not None and code.co_filename == stop:
            break
        out.append(f"{code.co_filename}:{frame.f_lineno} in {code.co_name}")
        frame = frame.f_back
    out.reverse()
    return out


def _await_chain(coro: Any) -> list[str]:
    """Where a coroutine waits: its frame and the frames of what it awaits, innermost last."""
    out: list[str] = []
    while coro is not None and len(out) < MAX_FRAMES:
        frame = getattr(coro, "cr_frame", None) or getattr(coro, "gi_frame", None)
        if frame is None:
            break
        out.append(f"{frame.f_code.co_filename}:{frame.f_lineno} in {frame.f_code.co_name}")
        coro = getattr(coro, "cr_await", None) or getattr(coro, "gi_yieldfrom", None)
    return out


def _tasks(task: Any) -> list[dict[str, Any]]:
    """The invocation's task and the other pending tasks of its loop, each with where it waits."""
    import asyncio

    found: list[Any] = [task]
    try:
        loop = task.get_loop()
        for _ in range(10):  # the loop's thread may change the set while it is read
            try:
                others = [t for t in asyncio.all_tasks(loop) if t is not task]
                break
            except RuntimeError:
                continue
        else:
            others = []
        found.extend(others[: MAX_TASKS - 1])
    except Exception:
        pass
    out = []
    for t in found:
        try:
            out.append({"name": t.get_name(), "at": _await_chain(t.get_coro())})
        except Exception:
            continue
    return out


def _fields(inv: Any, elapsed_ms: float) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "elapsed_ms": round(elapsed_ms, 1),
        "remaining_ms": round((inv.deadline - time.perf_counter()) * 1000.0, 1),
        "timeout_margin_ms": round((inv.deadline - inv.fire_at) * 1000.0, 1),
    }
    batch = sys.modules.get("observe.batch")  # in flight only if the batch helpers are in use
    if batch is not None:
        fields["in_flight"] = batch.in_flight()
    try:
        task = getattr(inv, "task", None)
        if task is not None:
            fields["tasks"] = _tasks(task)
        else:
            from observe import decorator

            frame = sys._current_frames().get(inv.thread)
            fields["stack"] = _where(frame, decorator.__file__)
    except Exception:
        pass
    return fields


def fire(inv: Any) -> None:
    """Write the warning line, the EMF document and the buffered lines of ``inv``. Never raises."""
    try:
        from observe import correlation, metrics, telemetry
        from observe import logging as _log

        elapsed_ms = (time.perf_counter() - inv.start) * 1000.0
        fields = _fields(inv, elapsed_ms)
        log_state = inv.log
        waiting = len(log_state.buffer) if log_state is not None and log_state.buffer is not None else 0
        fields["buffered_lines"] = waiting
        ctx_token = _log.invocation_context.set(getattr(inv, "ctx_now", None) or inv.ctx)
        cid_token = correlation.set_id(inv.cid)
        try:
            # the warning line and its EMF document in one write: no other line comes between them
            line = _log.line_to_write("warning", MESSAGE, "observe", fields)
            rss = telemetry.max_rss_mb()
            buf = metrics.MetricsBuffer()
            buf.put("Duration", elapsed_ms)
            buf.put("Timeouts", 1)
            buf.put("MaxMemoryUsed", rss)
            if inv.limit:
                buf.put("MemoryUtilization", 100.0 * rss / inv.limit)
            buf.put("ColdStart", 1 if inv.ctx.get("cold_start") else 0)
            metrics.flush(buf, inv.dims, inv.properties(), first=line)
            if waiting:
                _log.flush_buffered(log_state, timeout=0.05)
        finally:
            correlation.reset(cid_token)
            _log.invocation_context.reset(ctx_token)
    except Exception:
        pass
