"""``python -m dashboards build --out DIR``: write the dashboard and alarm JSON for terraform."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from dashboards.config import PIPELINES
from dashboards.monitoring import build_alarms, build_dashboard


def build(out: Path) -> list[Path]:
    """Write ``<pipeline>.dashboard.json`` and ``<pipeline>.alarms.json`` for every pipeline."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, spec in PIPELINES.items():
        for suffix, payload in (("dashboard", build_dashboard(spec)), ("alarms", build_alarms(spec))):
            path = out / f"{name}.{suffix}.json"
            path.write_text(json.dumps(payload, indent=2, sort_keys=False) + "\n", encoding="utf-8")
            written.append(path)
    return written


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m dashboards", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="write the JSON files")
    b.add_argument("--out", type=Path, default=Path("terraform/generated"))
    args = parser.parse_args(argv)
    for path in build(args.out):
        print(path)


if __name__ == "__main__":
    main()
