"""Dashboards and alarms as code: built from the catalogue, thresholds drawn, JSON for terraform."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from dashboards import __main__ as cli
from dashboards.config import PIPELINES, SEVERITIES, AlarmChoice, PipelineSpec
from dashboards.monitoring import build_alarms, build_dashboard
from observe import catalogue
from observe.catalogue import UnknownMetricError

ROOT = Path(__file__).resolve().parents[3]
ALARM_KEYS = {
    "name",
    "description",
    "severity",
    "threshold",
    "comparison_operator",
    "evaluation_periods",
    "datapoints_to_alarm",
    "treat_missing_data",
}


def metric_rows(widget: dict[str, Any]) -> list[list[Any]]:
    return [row for row in widget["properties"].get("metrics", []) if isinstance(row[0], str)]


def drawn(dashboard: dict[str, Any]) -> list[tuple[str, str, float]]:
    """(metric, service, threshold) for every annotation next to a metric of that service."""
    out = []
    for w in dashboard["widgets"]:
        if w["type"] != "metric":
            continue
        for ann in w["properties"].get("annotations", {}).get("horizontal", []):
            for row in metric_rows(w):
                service = row[row.index("service") + 1]
                out.append((row[1], service, ann["value"]))
    return out


@pytest.mark.parametrize("name", sorted(PIPELINES))
def test_every_metric_on_the_dashboard_is_catalogued(name: str) -> None:
    dashboard = build_dashboard(PIPELINES[name])
    names = {row[1] for w in dashboard["widgets"] if w["type"] == "metric" for row in metric_rows(w)}
    assert names and names <= set(catalogue.CATALOGUE)
    searches = [
        row[0]["expression"]
        for w in dashboard["widgets"]
        if w["type"] == "metric"
        for row in w["properties"]["metrics"]
        if isinstance(row[0], dict) and "SEARCH" in row[0]["expression"]
    ]
    for expr in searches:
        assert re.search(r'MetricName="(\w+)"', expr).group(1) in catalogue.CATALOGUE


@pytest.mark.parametrize("name", sorted(PIPELINES))
def test_every_alarm_threshold_is_drawn_on_its_widget(name: str) -> None:
    spec = PIPELINES[name]
    dashboard = build_dashboard(spec)
    lines = drawn(dashboard)
    for alarm in build_alarms(spec):
        metric = "Errors" if alarm["metric"] == "ErrorRate" else alarm["metric"]
        assert (metric, alarm["service"], alarm["threshold"]) in lines, alarm["name"]


@pytest.mark.parametrize("name", sorted(PIPELINES))
def test_layout_fits_the_grid_without_overlap(name: str) -> None:
    cells: set[tuple[int, int]] = set()
    for w in build_dashboard(PIPELINES[name])["widgets"]:
        assert w["x"] >= 0 and w["x"] + w["width"] <= 24
        for x in range(w["x"], w["x"] + w["width"]):
            for y in range(w["y"], w["y"] + w["height"]):
                assert (x, y) not in cells, f"overlap at {(x, y)}"
                cells.add((x, y))


@pytest.mark.parametrize("name", sorted(PIPELINES))
def test_alarm_specs_follow_the_contract(name: str) -> None:
    alarms = build_alarms(PIPELINES[name])
    assert len({a["name"] for a in alarms}) == len(alarms)
    for a in alarms:
        assert set(a) >= ALARM_KEYS and a["severity"] in SEVERITIES and len(a["name"]) <= 255
        if "metric_queries" in a:
            ids = [q["id"] for q in a["metric_queries"]]
            assert len(set(ids)) == len(ids) and all(re.fullmatch(r"[a-z][a-zA-Z0-9_]*", i) for i in ids)
            assert sum(q["return_data"] for q in a["metric_queries"]) == 1
        else:
            assert a["metric_name"] in catalogue.CATALOGUE
            assert ("statistic" in a) != ("extended_statistic" in a)
            assert a["dimensions"]["environment"] == "${environment}"


def test_only_known_placeholders() -> None:
    for spec in PIPELINES.values():
        text = json.dumps([build_dashboard(spec), build_alarms(spec)])
        assert set(re.findall(r"\$\{(\w+)\}", text)) == {"environment", "region", "namespace"}


def test_bad_configuration_fails_at_build_time() -> None:
    spec = PIPELINES["ingest"]
    with pytest.raises(UnknownMetricError):
        build_alarms(spec._replace(alarms=(AlarmChoice("RecordsFetchd", 1, "warning"),)))
    with pytest.raises(ValueError, match="no emitters listed for 'TasksPlanned'"):
        build_dashboard(PipelineSpec("x", "x", ("svc",), ("ingest",), {}, ()))


def test_generated_files_are_current(tmp_path: Path) -> None:
    written = cli.build(tmp_path)
    for path in written:
        committed = ROOT / "terraform" / "generated" / path.name
        assert committed.exists(), f"{committed} missing: run `make docs`"
        assert committed.read_text() == path.read_text(), f"{committed.name} is stale: run `make docs`"
