"""`make bench`: run every benchmark, then gather docs/benchmarks/*.md into docs/benchmarks.md."""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path

from benchmarks._common import DOCS, machine

ORDER = ["overhead", "overhead_features", "redact", "import", "events", "checks", "ingest", "triage"]


def collect() -> Path:
    """Concatenate the per-benchmark results, in a fixed order, into docs/benchmarks.md."""
    parts = sorted(DOCS.glob("*.md"), key=lambda p: (ORDER.index(p.stem) if p.stem in ORDER else 99, p.stem))
    out = DOCS.parent / "benchmarks.md"
    text = (
        "# Benchmarks\n\nRun with `make bench` (each benchmark also runs alone: "
        "`.venv/bin/python -m benchmarks.bench_<name>`). Every section names the machine and date it was "
        f"measured on. Last gathered on: {machine()}.\n\n"
    )
    out.write_text(text + "\n".join(p.read_text(encoding="utf-8") for p in parts), encoding="utf-8")
    return out


def main(names: list[str]) -> None:
    names = names or [p.stem.removeprefix("bench_") for p in sorted(Path(__file__).parent.glob("bench_*.py"))]
    for name in names:
        print(f"--- benchmarks.bench_{name}", flush=True)
        importlib.import_module(f"benchmarks.bench_{name}").main()
    print(f"wrote {collect()}")


if __name__ == "__main__":
    os.environ.setdefault("ENVIRONMENT", "dev")
    main(sys.argv[1:])
