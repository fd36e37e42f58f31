"""``python -m dashboards build --out DIR``: the same as ``observe dashboards build --out DIR``.

Kept for scripts written before the ``observe`` command; the CLI is the documented way.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from dashboards.build import build
from dashboards.config import load


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m dashboards", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="write the JSON files")
    b.add_argument("--out", type=Path, default=Path("terraform/generated"))
    b.add_argument("--config", type=Path, default=None, help="the observe.toml (default: found from here)")
    args = parser.parse_args(argv)
    for path in build(args.out, load(args.config)):
        print(path)


if __name__ == "__main__":
    main()
