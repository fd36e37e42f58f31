"""Progress on stderr for anything that takes more than a second, and nothing otherwise.

On a terminal it is a rich progress bar that disappears when the step is done; when stderr is a
file or a pipe, a plain line at most every few seconds. Library use (notebooks, tests) gets the
silent :data:`QUIET` unless it asks for one. stdout is never touched, so ``--json`` stays clean.
"""

from __future__ import annotations

import sys
import time
from types import TracebackType
from typing import IO, Any

#: Nothing is shown for a step shorter than this.
DELAY_S = 1.0
#: A plain (non-terminal) progress line is written at most this often.
PLAIN_EVERY_S = 5.0


class Step:
    """One step under way: call :meth:`advance` as work is done."""

    def __init__(self, owner: Progress, label: str, total: float | None, unit: str):
        self.owner = owner
        self.label = label
        self.total = total
        self.unit = unit
        self.done = 0.0
        self.count = 0
        self.started = time.monotonic()
        self._last_plain = 0.0
        self._bar: Any = None
        self._task: Any = None

    def advance(self, amount: float = 1, *, items: int = 0, note: str | None = None) -> None:
        """``amount`` more of ``total`` done (``items``: lines or objects, shown beside it)."""
        self.done += amount
        self.count += items
        if note is not None:
            self.label = note
        self.owner._show(self)

    def __enter__(self) -> Step:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.owner._finish(self)


class Progress:
    """Shows :class:`Step` s on ``stream`` (stderr) once they have run for :data:`DELAY_S`."""

    def __init__(self, stream: IO[str] | None = None, *, enabled: bool = True, prog: str = "observe-diag"):
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self.prog = prog
        self.tty = enabled and hasattr(self.stream, "isatty") and self.stream.isatty()

    def step(self, label: str, total: float | None = None, unit: str = "") -> Step:
        return Step(self, label, total, unit)

    def _text(self, s: Step) -> str:
        parts = [f"{self.prog}: {s.label}"]
        if s.total:
            parts.append(f"{min(100.0, 100.0 * s.done / s.total):.0f}%")
        if s.count:
            parts.append(f"{s.count:,} {s.unit or 'items'}")
        parts.append(f"{time.monotonic() - s.started:.0f}s")
        return " ".join(parts)

    def _show(self, s: Step) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if now - s.started < DELAY_S:
            return
        if self.tty:
            if s._bar is None:
                from rich.console import Console
                from rich.progress import BarColumn, TextColumn, TimeElapsedColumn
                from rich.progress import Progress as Bar

                s._bar = Bar(
                    TextColumn("{task.description}"),
                    BarColumn(),
                    TextColumn("{task.fields[count]}"),
                    TimeElapsedColumn(),
                    console=Console(file=self.stream),
                    transient=True,
                )
                s._bar.start()
                s._task = s._bar.add_task(s.label, total=s.total, count="")
            count = f"{s.count:,} {s.unit}" if s.count else ""
            s._bar.update(s._task, completed=s.done, description=s.label, count=count)
        elif now - s._last_plain >= PLAIN_EVERY_S or s._last_plain == 0.0:
            s._last_plain = now
            print(self._text(s), file=self.stream, flush=True)

    def _finish(self, s: Step) -> None:
        if s._bar is not None:
            s._bar.stop()
        elif self.enabled and not self.tty and s._last_plain:
            print(self._text(s) + " done", file=self.stream, flush=True)


#: Shows nothing.
QUIET = Progress(enabled=False)
