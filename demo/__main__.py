"""`make demo`: every demo in turn (the observe core, then the pipelines end to end)."""

from __future__ import annotations

import importlib

DEMOS = ["demo.observe_core", "demo.ingest", "demo.auth"]


def main() -> None:
    for name in DEMOS:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        module.main()


if __name__ == "__main__":
    main()
