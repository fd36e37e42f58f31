"""Debug sampling and buffered lines: what one invocation logs below the configured level.

Two settings change what happens to a line below ``LOG_LEVEL`` (docs/logging.md):

- ``LOG_DEBUG_SAMPLE_RATE`` (0 to 1): that share of invocations logs at DEBUG. The draw is made at
  the start of every invocation (not once per execution environment), so a warm environment does
  not stay sampled or unsampled for its whole life.
- ``LOG_BUFFER_LEVEL`` (DEBUG, INFO or WARNING): lines from that level up to below ``LOG_LEVEL`` are
  kept in a bounded buffer of the invocation instead of being dropped, and written only if the
  invocation fails, a line at error level is logged, or the deadline watchdog fires; otherwise the
  buffer is dropped when the invocation ends.

A buffered line is rendered when it is logged, through the same chain as every line (exceptions,
redaction, render), and kept as its final JSON text: no secret is held unredacted any longer than a
written line is, the line shows the values, correlation id and context of the moment it was logged
(not of the moment it is written), and writing the buffer is a plain write of strings (the watchdog
has the least to do at the worst moment). The price, one full render per buffered line, is paid only
by lines in the buffered range while buffering is on; with both settings off nothing here runs.

The buffer keeps the **newest** lines: past ``LOG_BUFFER_MAX_LINES`` lines or ``LOG_BUFFER_MAX_BYTES``
bytes (UTF-8) the oldest are dropped, and when the buffer is written a warning line first says how
many lines and bytes were dropped. A single line larger than the byte bound is not kept (counted
as dropped).
"""

from __future__ import annotations

import os
import threading
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any

from observe.config import ConfigError, number

SAMPLE_RATE_VAR = "LOG_DEBUG_SAMPLE_RATE"
BUFFER_LEVEL_VAR = "LOG_BUFFER_LEVEL"
MAX_LINES_VAR = "LOG_BUFFER_MAX_LINES"
MAX_BYTES_VAR = "LOG_BUFFER_MAX_BYTES"

#: Lines kept per invocation: enough for the story of a failed batch at a few lines a record.
DEFAULT_MAX_LINES = 256
#: Bytes kept per invocation (about 250 lines of 500 bytes): small beside any memory size, and
#: written in well under a millisecond when the watchdog fires.
DEFAULT_MAX_BYTES = 128 * 1024
#: Levels a buffer may start at; error lines are never buffered (they trigger the write).
BUFFER_LEVELS = {"DEBUG": 10, "INFO": 20, "WARNING": 30, "WARN": 30}
_OFF = frozenset({"", "off", "none", "false", "0"})


class Settings:
    """Sampling and buffering, as read from the environment (or given to ``configure``)."""

    __slots__ = ("buffer_level", "max_bytes", "max_lines", "sample_rate")

    def __init__(
        self,
        sample_rate: float = 0.0,
        buffer_level: int | None = None,
        max_lines: int = DEFAULT_MAX_LINES,
        max_bytes: int = DEFAULT_MAX_BYTES,
    ) -> None:
        if not 0.0 <= sample_rate <= 1.0:
            raise ConfigError(f"{SAMPLE_RATE_VAR}={sample_rate!r} must be a number from 0 to 1")
        if buffer_level is not None and buffer_level not in BUFFER_LEVELS.values():
            raise ConfigError(f"{BUFFER_LEVEL_VAR}={buffer_level!r} must be DEBUG, INFO or WARNING")
        if max_lines < 1 or max_bytes < 1:
            raise ConfigError(f"{MAX_LINES_VAR} and {MAX_BYTES_VAR} must be >= 1")
        self.sample_rate = sample_rate
        self.buffer_level = buffer_level
        self.max_lines = max_lines
        self.max_bytes = max_bytes

    def floor(self, level: int) -> int | None:
        """The lowest level a line may need to reach the chain at, under ``level``; None when neither
        sampling nor buffering can ever apply (the common case: loggers then stay as fast as ever)."""
        low = level
        if self.sample_rate > 0.0:
            low = 10
        if self.buffer_level is not None:
            low = min(low, self.buffer_level)
        return low if low < level else None


def buffer_level_of(value: str | int | None) -> int | None:
    """A buffer level from its name (``DEBUG``, ``INFO``, ``WARNING``) or number; None for off."""
    if value is None or isinstance(value, int):
        return value
    text = value.strip()
    if text.lower() in _OFF:
        return None
    level = BUFFER_LEVELS.get(text.upper())
    if level is None:
        raise ConfigError(
            f"{BUFFER_LEVEL_VAR}={value!r} must be DEBUG, INFO or WARNING (error lines are never buffered), "
            "or empty for no buffering"
        )
    return level


def from_env(env: Mapping[str, str] | None = None) -> Settings:
    """The settings from the environment; a bad value raises :class:`ConfigError` naming it."""
    env = os.environ if env is None else env
    rate = number(env, SAMPLE_RATE_VAR, 0.0, minimum=0.0)
    if rate > 1.0:
        raise ConfigError(f"{SAMPLE_RATE_VAR}={env.get(SAMPLE_RATE_VAR)!r} must be a number from 0 to 1")
    return Settings(
        sample_rate=float(rate),
        buffer_level=buffer_level_of(env.get(BUFFER_LEVEL_VAR)),
        max_lines=number(env, MAX_LINES_VAR, DEFAULT_MAX_LINES, minimum=1, integer=True),
        max_bytes=number(env, MAX_BYTES_VAR, DEFAULT_MAX_BYTES, minimum=1, integer=True),
    )


def _size(line: str) -> int:
    """Bytes of ``line`` once written (UTF-8, with its newline)."""
    return (len(line) if line.isascii() else len(line.encode("utf-8", "surrogatepass"))) + 1


class LineBuffer:
    """The newest rendered lines of one invocation, at most ``max_lines`` and ``max_bytes``.

    Safe to add to from the handler's threads and to take from the watchdog's thread: every change
    is made under one lock, held for a few list operations only.
    """

    __slots__ = ("bytes", "dropped", "dropped_bytes", "lines", "lock", "max_bytes", "max_lines")

    def __init__(self, max_lines: int, max_bytes: int) -> None:
        self.lines: deque[str] = deque()
        self.bytes = 0
        self.dropped = 0
        self.dropped_bytes = 0
        self.max_lines = max_lines
        self.max_bytes = max_bytes
        self.lock = threading.Lock()

    def add(self, line: str) -> None:
        """Keep ``line``; drop the oldest lines while over a bound."""
        size = _size(line)
        with self.lock:
            if size > self.max_bytes:
                self.dropped += 1
                self.dropped_bytes += size
                return
            lines = self.lines
            lines.append(line)
            self.bytes += size
            while len(lines) > self.max_lines or self.bytes > self.max_bytes:
                old = _size(lines.popleft())
                self.bytes -= old
                self.dropped += 1
                self.dropped_bytes += old

    def take(self, timeout: float = -1) -> tuple[list[str], int, int]:
        """Everything kept, and how many lines and bytes were dropped; the buffer is then empty.

        ``timeout`` bounds the wait for the lock (the watchdog does not wait for a stuck thread: it
        then takes what it can see without the lock).
        """
        got = self.lock.acquire(timeout=timeout)
        try:
            lines = list(self.lines)
            dropped, dropped_bytes = self.dropped, self.dropped_bytes
            self.lines.clear()
            self.bytes = self.dropped = self.dropped_bytes = 0
        finally:
            if got:
                self.lock.release()
        return lines, dropped, dropped_bytes

    def __len__(self) -> int:
        return len(self.lines)


class InvocationLog:
    """What one invocation logs below the configured level: its level, and its buffer if any.

    ``level``: lines at or above it are written (DEBUG when the invocation is sampled);
    ``floor``: lines below it are dropped at once; lines in between go to the buffer, which is made
    at the first of them (``buffer`` is None until then).
    """

    __slots__ = ("buffer", "floor", "level", "max_bytes", "max_lines", "sampled")

    def __init__(self, level: int, floor: int, sampled: bool, max_lines: int = 0, max_bytes: int = 0) -> None:
        self.level = level
        self.floor = floor
        self.sampled = sampled
        self.buffer: LineBuffer | None = None
        self.max_lines = max_lines
        self.max_bytes = max_bytes

    def open_buffer(self) -> LineBuffer:
        """The invocation's buffer, made on first use."""
        buf = self.buffer
        if buf is None:
            buf = self.buffer = LineBuffer(self.max_lines, self.max_bytes)
        return buf


def start(settings: Settings, level: int, draw: Callable[[], float]) -> InvocationLog:
    """The state of a new invocation: sampled (a fresh draw) or not, buffering when configured."""
    if settings.sample_rate > 0.0 and draw() < settings.sample_rate:
        return InvocationLog(10, 10, True)
    low = settings.buffer_level
    if low is not None and low < level:
        return InvocationLog(level, low, False, settings.max_lines, settings.max_bytes)
    return InvocationLog(level, level, False)


def overflow_fields(dropped: int, dropped_bytes: int, buffer: LineBuffer) -> dict[str, Any]:
    """The fields of the warning line that says what the buffer dropped."""
    return {
        "dropped_lines": dropped,
        "dropped_bytes": dropped_bytes,
        "buffer_max_lines": buffer.max_lines,
        "buffer_max_bytes": buffer.max_bytes,
    }
