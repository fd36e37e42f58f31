"""The catalogue is the one place metric names live: code may emit only what it lists."""

from __future__ import annotations

import re
from pathlib import Path

from observe import catalogue

ROOT = Path(__file__).resolve().parents[3]
# metric("Name", ...), buffer.add/put("Name", ...), and metric(name="Name") calls
EMIT = re.compile(r"""\b(?:metric|add|put)\(\s*(?:name\s*=\s*)?["']([A-Z][A-Za-z0-9]+)["']""")


def emitted_names() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for folder in ("observe", "pipelines", "dashboards", "diagnostics", "demo"):
        for path in (ROOT / folder).rglob("*.py"):
            for name in EMIT.findall(path.read_text(encoding="utf-8")):
                found.setdefault(name, []).append(str(path.relative_to(ROOT)))
    return found


def test_every_emitted_metric_is_catalogued() -> None:
    names = emitted_names()
    assert "Duration" in names and "Errors" in names  # the scan itself works
    missing = {n: where for n, where in names.items() if n not in catalogue.CATALOGUE}
    assert not missing, f"metrics emitted but not in observe/catalogue.py: {missing}"


def test_scan_would_catch_an_uncatalogued_name(tmp_path) -> None:
    sample = 'metric("NotARealMetric", 1)\nbuf.add("AlsoNot", 2, source="x")\n'
    assert EMIT.findall(sample) == ["NotARealMetric", "AlsoNot"]


def test_definitions_are_valid_and_documented() -> None:
    for m in catalogue.CATALOGUE.values():
        assert m.unit in catalogue.EMF_UNITS
        assert m.description.endswith(".")
        assert m.group
    table = catalogue.as_markdown()
    assert all(f"`{name}`" in table for name in catalogue.CATALOGUE)


def test_docs_table_is_current() -> None:
    doc = (ROOT / "docs" / "metrics.md").read_text(encoding="utf-8")
    assert catalogue.as_markdown() in doc, "docs/metrics.md is stale: run `make docs`"
