"""The function's memory size, enforced on its runtime process the way the machine allows.

Lambda puts each execution environment in a cgroup whose limit is the memory size; when the
function goes over, the kernel's OOM killer sends SIGKILL, the platform reports
``Runtime.OutOfMemory``, and REPORT's ``Max Memory Used`` is the cgroup's peak. Two ways here:

``cgroup`` (cgroup v2 ``memory.max``)
    The most faithful: the kernel's own accounting (anonymous memory, page cache, every process
    of the environment) and its OOM kill. Used when the unified hierarchy has the memory
    controller and we may create a child group (root, and a writable ``/sys/fs/cgroup``: a VM
    or a privileged container; not an ordinary container, whose cgroup tree is read-only). The
    environment gets ``<root>/lambda-emulator/<env>`` with ``memory.max`` = memory size,
    ``memory.swap.max`` = 0 and ``memory.oom.group`` = 1; ``Max Memory Used`` is
    ``memory.peak`` (kernel >= 5.19; else the highest ``memory.current`` sampled).
    The process joins the group before it runs a line of Python (a ``sh -c 'echo $$ >
    cgroup.procs; exec ...'`` wrapper).

``watchdog`` (resident set size, sampled)
    Where no cgroup can be made (cgroup v1 hosts, unprivileged containers): a thread reads
    ``VmRSS`` / ``VmHWM`` from ``/proc/<pid>/status`` every 5 ms and sends SIGKILL as soon as
    the resident set exceeds the memory size: the same signal, exit status and report as a
    cgroup kill. Less faithful: it counts the runtime process's resident memory only (not page
    cache, not child processes), and a burst of allocation can overshoot the limit by what the
    process allocates within one sampling interval before it is killed. ``Max Memory Used`` is
    the kernel's exact peak RSS (``VmHWM``), reported at most at the memory size.

``RLIMIT_AS`` is not used: it caps virtual address space, which a Python process reserves far
beyond what it touches (thread stacks, arenas, numpy/OpenBLAS buffers: a process with pandas
loaded maps several times its resident set), so a limit equal to the memory size would fail
imports that run in far less memory on Lambda, and a failed allocation raises ``MemoryError``
inside the handler instead of the kill Lambda performs.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

MB = 1024 * 1024
CGROUP_ROOT = Path("/sys/fs/cgroup")
MODES = ("auto", "cgroup", "watchdog", "off")


class MemoryLimit(Protocol):
    """Enforces one environment's memory size and measures its peak."""

    kind: str

    def wrap(self, argv: list[str]) -> list[str]:
        """The command to start instead of ``argv`` (to join a cgroup before it runs)."""
        ...

    def attach(self, pid: int, on_kill: Callable[[], None]) -> None:
        """Start watching process ``pid``; ``on_kill`` runs if the limit kills it."""
        ...

    def peak_mb(self) -> float:
        """The most memory the environment has held, in MB."""
        ...

    @property
    def oom_killed(self) -> bool:
        """Whether the environment was killed for going over its memory size."""
        ...

    def close(self) -> None:
        """Stop watching and release what was made (the process is gone)."""
        ...


def _status_kb(pid: int) -> dict[str, int]:
    out: dict[str, int] = {}
    with open(f"/proc/{pid}/status", "rb") as f:
        for line in f:
            if line.startswith((b"VmRSS:", b"VmHWM:")):
                key, value = line.split(b":", 1)
                out[key.decode()] = int(value.split()[0])
    return out


class RssWatchdog:
    """Kills the process with SIGKILL when its resident set exceeds ``limit_mb`` (sampled)."""

    kind = "watchdog"

    def __init__(self, limit_mb: int, interval: float = 0.005) -> None:
        self.limit_kb = limit_mb * 1024
        self.interval = interval
        self._peak_kb = 0
        self._killed = False
        self._pid: int | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def wrap(self, argv: list[str]) -> list[str]:
        return argv

    def attach(self, pid: int, on_kill: Callable[[], None]) -> None:
        self._pid = pid

        def watch() -> None:
            while not self._stop.is_set():
                try:
                    kb = _status_kb(pid)
                except (OSError, ValueError):
                    return  # the process is gone
                self._peak_kb = max(self._peak_kb, kb.get("VmHWM", 0), kb.get("VmRSS", 0))
                if kb.get("VmRSS", 0) > self.limit_kb:
                    self._killed = True
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
                    on_kill()
                    return
                self._stop.wait(self.interval)

        self._thread = threading.Thread(target=watch, name=f"memory-watchdog-{pid}", daemon=True)
        self._thread.start()

    def peak_mb(self) -> float:
        if self._pid is not None and not self._killed:
            with contextlib.suppress(OSError, ValueError):
                self._peak_kb = max(self._peak_kb, _status_kb(self._pid).get("VmHWM", 0))
        return min(self._peak_kb, self.limit_kb) / 1024

    @property
    def oom_killed(self) -> bool:
        return self._killed

    def close(self) -> None:
        self._stop.set()


class CgroupV2:
    """A cgroup v2 group per environment with ``memory.max`` = the memory size (kernel OOM kill)."""

    kind = "cgroup"

    def __init__(self, limit_mb: int, root: Path = CGROUP_ROOT, parent: str = "lambda-emulator") -> None:
        self.limit_mb = limit_mb
        self.root = root
        self.parent = root / parent
        self.group = self.parent / f"env-{uuid.uuid4().hex[:12]}"
        self._sampled = 0
        self._stop = threading.Event()
        self._made = False

    @classmethod
    def available(cls, root: Path = CGROUP_ROOT) -> bool:
        """Whether ``root`` is a cgroup v2 hierarchy whose memory controller we may delegate."""
        try:
            controllers = (root / "cgroup.controllers").read_text().split()
            enabled = (root / "cgroup.subtree_control").read_text().split()
        except OSError:
            return False
        return "memory" in controllers and "memory" in enabled and os.access(root, os.W_OK)

    def _write(self, path: Path, value: str) -> None:
        path.write_text(value)

    def wrap(self, argv: list[str]) -> list[str]:
        self.parent.mkdir(exist_ok=True)
        if "memory" not in (self.parent / "cgroup.subtree_control").read_text().split():
            self._write(self.parent / "cgroup.subtree_control", "+memory")
        self.group.mkdir()
        self._made = True
        self._write(self.group / "memory.max", str(self.limit_mb * MB))
        for name, value in (("memory.swap.max", "0"), ("memory.oom.group", "1")):
            if (self.group / name).exists():
                self._write(self.group / name, value)
        procs = str(self.group / "cgroup.procs")
        return ["/bin/sh", "-c", 'echo $$ > "$0" && exec "$@"', procs, *argv]

    def attach(self, pid: int, on_kill: Callable[[], None]) -> None:
        def watch() -> None:  # for kernels without memory.peak, and to tell the runner of a kill
            while not self._stop.is_set():
                try:
                    self._sampled = max(self._sampled, int((self.group / "memory.current").read_text()))
                except (OSError, ValueError):
                    return
                if self.oom_killed:
                    on_kill()
                    return
                self._stop.wait(0.005)

        threading.Thread(target=watch, name=f"cgroup-watch-{pid}", daemon=True).start()

    def peak_mb(self) -> float:
        peak = self._sampled
        with contextlib.suppress(OSError, ValueError):
            peak = max(peak, int((self.group / "memory.peak").read_text()))
        return min(peak / MB, float(self.limit_mb))

    @property
    def oom_killed(self) -> bool:
        try:
            for line in (self.group / "memory.events").read_text().splitlines():
                key, _, value = line.partition(" ")
                if key == "oom_kill" and int(value) > 0:
                    return True
        except (OSError, ValueError):
            pass
        return False

    def close(self) -> None:
        self._stop.set()
        if self._made:
            with contextlib.suppress(OSError):
                self.group.rmdir()


class NoLimit(RssWatchdog):
    """Measures the peak like the watchdog but never kills (``memory_limit="off"``)."""

    kind = "off"

    def __init__(self, limit_mb: int) -> None:
        super().__init__(limit_mb=1 << 30, interval=0.05)
        self.report_limit_kb = limit_mb * 1024

    def peak_mb(self) -> float:
        return min(super().peak_mb() * 1024, self.report_limit_kb) / 1024


def memory_limit(mode: str, limit_mb: int) -> MemoryLimit:
    """The enforcement for ``mode``: ``auto`` (a cgroup where possible, else the watchdog),
    ``cgroup`` (error if unavailable), ``watchdog`` or ``off``."""
    if mode not in MODES:
        raise ValueError(f"memory_limit={mode!r} is not one of {', '.join(MODES)}")
    if mode == "off":
        return NoLimit(limit_mb)
    if mode == "watchdog":
        return RssWatchdog(limit_mb)
    if CgroupV2.available():
        return CgroupV2(limit_mb)
    if mode == "cgroup":
        raise RuntimeError(
            f"memory_limit='cgroup': {CGROUP_ROOT} is not a writable cgroup v2 hierarchy with the memory "
            "controller enabled (cgroup v1, or a read-only container cgroup); use 'auto' or 'watchdog'"
        )
    return RssWatchdog(limit_mb)
