"""Dashboards and alarms as code: built from the catalogue, thresholds drawn, JSON for terraform."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from dashboards import __main__ as cli
from dashboards import factory
from dashboards.config import PIPELINES, SEVERITIES, AlarmChoice, PipelineSpec
from dashboards.monitoring import build_alarms, build_dashboard, validate
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
        if '"${namespace}"' in expr:  # the pipeline's own metrics (AWS/SQS is AWS's)
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
        found = set(re.findall(r"\$\{(\w+)\}", text))
        assert found == {"environment", "region", "namespace", "alarm_arn_prefix", "log_group_prefix"}


def test_bad_configuration_fails_at_build_time() -> None:
    spec = PIPELINES["ingest"]
    with pytest.raises(UnknownMetricError):
        build_alarms(spec._replace(alarms=(AlarmChoice("RecordsFetchd", 1, "warning"),)))
    with pytest.raises(ValueError, match="no emitters listed for 'TasksPlanned'"):
        build_dashboard(
            PipelineSpec("x", "x", ("svc",), ("ingest",), {}, (AlarmChoice("TasksPlanned", 1, "warning"),))
        )


def test_generated_files_are_current(tmp_path: Path) -> None:
    written = cli.build(tmp_path)
    for path in written:
        committed = ROOT / "terraform" / "generated" / path.name
        assert committed.exists(), f"{committed} missing: run `make docs`"
        assert committed.read_text() == path.read_text(), f"{committed.name} is stale: run `make docs`"


# --- the layout a person reads, and the rules every widget keeps --------------------------------------


def _widget(metrics: list, *, title: str = "w", left: str = "count", anns: list | None = None) -> dict:
    props = {"title": title, "metrics": metrics, "yAxis": {"left": {"label": left, "min": 0}}}
    if anns:
        props["annotations"] = {"horizontal": anns}
    return {"type": "metric", "x": 0, "y": 6, "width": 8, "height": 6, "properties": props}


def _body(*widgets: dict) -> dict:
    status = {"type": "alarm", "x": 0, "y": 0, "width": 24, "height": 6, "properties": {"title": "alarms"}}
    return {"widgets": [status, *widgets]}


def test_the_validator_rejects_what_the_dashboards_got_wrong() -> None:
    m = factory.metric
    mixed = _widget([m("Errors", "p", "svc"), m("Duration", "p", "svc")])
    assert any("left axis mixes units ['Count', 'Milliseconds']" in p for p in validate(_body(mixed)))
    rate_with_counts = _widget([*factory.error_rate_rows("p", "svc", 0), m("Errors", "p", "svc")])
    assert any("mixes units ['Count', 'Percent']" in p for p in validate(_body(rate_with_counts)))
    schema = '{"${namespace}",service,pipeline,environment,error_type}'
    unfiltered = f"SEARCH('{schema} MetricName=\"Errors\"', 'Sum', 300)"
    search = _widget([[{"expression": unfiltered, "id": "s"}]])
    assert any("a per-service SEARCH that does not name the service" in p for p in validate(_body(search)))
    unquoted = _widget([[{"expression": unfiltered.replace('"${namespace}"', "${namespace}"), "id": "s"}]])
    assert any("is not quoted in SEARCH" in p for p in validate(_body(unquoted)))
    ann = {"label": "warning: Errors >= 1", "value": 1}
    twice = _widget([m("Errors", "p", "svc")], anns=[ann, ann])
    assert any("drawn twice" in p for p in validate(_body(twice)))
    long_title = _widget(
        [m("Errors", "p", "svc")], title="a title far too long to be shown whole in eight columns"
    )
    assert any("longer than a 8-column widget shows" in p for p in validate(_body(long_title)))
    negative = _widget([m("Errors", "p", "svc")])
    del negative["properties"]["yAxis"]["left"]["min"]
    assert any("may go below zero" in p for p in validate(_body(negative)))
    assert any("row 0 must be the alarm-status widget" in p for p in validate({"widgets": [negative]}))
    assert validate(_body(_widget([m("Errors", "p", "svc")]))) == []


def test_built_searches_are_per_service_with_the_namespace_quoted() -> None:
    expr = factory.search("Errors", "ingest", "error_type", service="ingest-worker")["expression"]
    assert expr.startswith("""SEARCH('{"${namespace}","service","pipeline","environment","error_type"}""")
    assert 'service="ingest-worker"' in expr and 'pipeline="ingest"' in expr


@pytest.mark.parametrize("name", sorted(PIPELINES))
def test_row_0_is_the_alarm_states_then_error_rate_dlq_depth_and_the_funnel(name: str) -> None:
    spec = PIPELINES[name]
    widgets = build_dashboard(spec)["widgets"]
    status = widgets[0]
    assert (status["type"], status["y"], status["width"]) == ("alarm", 0, 24)
    assert status["properties"]["alarms"] == [f"${{alarm_arn_prefix}}{a['name']}" for a in build_alarms(spec)]
    row1 = sorted((w for w in widgets if w["y"] == status["height"]), key=lambda w: w["x"])
    titles = [w["properties"]["title"] for w in row1]
    assert titles == [
        "error rate per service (%)",
        "dead-letter queues: messages waiting",
        f"{spec.groups[1]}: counts",
    ]
    rate = row1[0]["properties"]
    assert rate["yAxis"]["left"]["label"] == "%" and len(rate["annotations"]["horizontal"]) == 1  # drawn once


def test_memory_draws_its_percentage_on_the_right_axis() -> None:
    widgets = build_dashboard(PIPELINES["ingest"])["widgets"]
    mem = next(w for w in widgets if w["properties"].get("title") == "ingest-worker: memory (MB and %)")[
        "properties"
    ]
    axes = {row[1]: row[-1].get("yAxis", "left") for row in mem["metrics"]}
    assert axes == {"MaxMemoryUsed": "left", "MemoryUtilization": "right"}
    assert (mem["yAxis"]["left"]["label"], mem["yAxis"]["right"]["label"]) == ("MB", "%")
    (threshold,) = mem["annotations"]["horizontal"]
    assert threshold["value"] == 90 and threshold["yAxis"] == "right"  # 90 %, not 90 MB


def _saved(name: str) -> str:
    text = (ROOT / "terraform" / "modules" / "observability" / "queries" / f"{name}.logsinsights").read_text()
    return " ".join(line for line in text.splitlines() if line and not line.startswith("#"))


@pytest.mark.parametrize("name", sorted(PIPELINES))
def test_log_widgets_run_the_saved_triage_queries(name: str) -> None:
    spec = PIPELINES[name]
    logs = [w for w in build_dashboard(spec)["widgets"] if w["type"] == "log"]
    assert [w["properties"]["title"] for w in logs] == [
        f"{name}: errors, newest first",
        f"{name}: throttles by source",
    ]
    sources = " | ".join(f"SOURCE '${{log_group_prefix}}{s}'" for s in spec.services)
    for widget, saved in zip(logs, ("errors", "throttles"), strict=True):
        assert widget["properties"]["query"] == f"{sources} | {_saved(saved)}"
