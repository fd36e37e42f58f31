"""Shared helpers for the benchmarks: the machine description and the results file."""

from __future__ import annotations

import datetime as _dt
import os
import platform
import statistics
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parents[1] / "docs" / "benchmarks"


def machine() -> str:
    """One line naming the machine, the interpreter and the date."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{platform.system()} {platform.release()}, {cpu}, {os.cpu_count()} cores, "
        f"Python {sys.version.split()[0]}, {_dt.date.today().isoformat()}"
    )


def write(name: str, title: str, body: str) -> Path:
    """Write ``docs/benchmarks/<name>.md`` with the machine line, and echo it."""
    DOCS.mkdir(parents=True, exist_ok=True)
    path = DOCS / f"{name}.md"
    text = f"## {title}\n\nMachine: {machine()}\n\n{body.rstrip()}\n"
    path.write_text(text, encoding="utf-8")
    print(text)
    return path


def median_us(samples_ns: list[int]) -> float:
    """Median of nanosecond samples, in microseconds."""
    return statistics.median(samples_ns) / 1000.0


def pct(samples_ns: list[int], q: float) -> float:
    """The q-quantile (0..1) of nanosecond samples, in microseconds."""
    ordered = sorted(samples_ns)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] / 1000.0
