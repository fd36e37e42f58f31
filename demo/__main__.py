"""`make demo`: every demo in turn (the observe core, the ingest pipeline, its triage, a timeout
incident and its triage, the login chain).

Each runs in a process of its own, as each Lambda would: cold starts and memory figures are then
those of that function alone, not of everything the demos before it loaded.
"""

from __future__ import annotations

import subprocess
import sys

DEMOS = ["demo.observe_core", "demo.ingest", "demo.triage", "demo.incident", "demo.auth"]


def main() -> None:
    for name in DEMOS:
        sys.stdout.flush()
        result = subprocess.run([sys.executable, "-m", name], check=False)
        if result.returncode != 0:
            sys.exit(f"make demo: {name} failed (exit {result.returncode})")


if __name__ == "__main__":
    main()
