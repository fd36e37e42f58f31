"""Every event source: the sample events in tests/fixtures/events yield their natural id."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from observe import correlation

EVENTS = Path(__file__).parents[2] / "fixtures" / "events"
MANIFEST = json.loads((EVENTS / "manifest.json").read_text())


def test_every_fixture_is_in_the_manifest() -> None:
    files = {p.stem for p in EVENTS.glob("*.json")} - {"manifest"}
    assert files == set(MANIFEST)


@pytest.mark.parametrize("name", sorted(MANIFEST))
def test_sample_event(name: str) -> None:
    event = json.loads((EVENTS / f"{name}.json").read_text())
    want = MANIFEST[name]
    found = correlation.describe(event)
    assert (found.correlation_id, found.source, found.origin) == (
        want["correlation_id"],
        want["source"],
        want["origin"],
    )
    assert correlation.from_event(event) == want["correlation_id"]
