"""Dashboards and alarms as code: from the project's observe.toml, thresholds drawn, JSON for terraform."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from dashboards import factory
from dashboards.build import build, manifest
from dashboards.config import SEVERITIES, AlarmChoice, PipelineSpec, load, specs
from dashboards.monitoring import build_alarms, build_dashboard, validate
from observe import catalogue, project
from observe.catalogue import UnknownMetricError

ROOT = Path(__file__).resolve().parents[3]
CONFIG = load(ROOT / "observe.toml")
PIPELINES = specs(CONFIG, "dev")
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
    """(metric, service, threshold) for every annotation next to a metric of that service; for an
    AWS metric (``AWS/SQS/...``, the function or queue name without the deployment's prefix)."""
    out = []
    for w in dashboard["widgets"]:
        if w["type"] != "metric":
            continue
        for ann in w["properties"].get("annotations", {}).get("horizontal", []):
            for row in metric_rows(w):
                if row[0].startswith("AWS/"):
                    resource = row[3].removeprefix(factory.RESOURCE_PREFIX)
                    out.append((f"{row[0]}/{row[1]}", resource, ann["value"]))
                    continue
                service = row[row.index("service") + 1]
                out.append((row[1], service, ann["value"]))
    return out


@pytest.mark.parametrize("name", sorted(PIPELINES))
def test_every_metric_on_the_dashboard_is_catalogued(name: str) -> None:
    dashboard = build_dashboard(PIPELINES[name])
    rows = [row for w in dashboard["widgets"] if w["type"] == "metric" for row in metric_rows(w)]
    names = {row[1] for row in rows if row[0] == factory.NAMESPACE}
    assert names and names <= set(catalogue.CATALOGUE)
    aws = {(row[0], row[1]) for row in rows if row[0] != factory.NAMESPACE}
    assert aws and aws <= set(catalogue.AWS_UNITS)  # the project declares functions and queues
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
        watched = alarm.get("resource", alarm["service"])  # AWS metrics: the function or queue
        assert (metric, watched, alarm["threshold"]) in lines, alarm["name"]


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
        elif a["namespace"] == factory.NAMESPACE:
            assert a["metric_name"] in catalogue.CATALOGUE
            assert ("statistic" in a) != ("extended_statistic" in a)
            assert a["dimensions"]["environment"] == "${environment}"
        else:
            assert (a["namespace"], a["metric_name"]) in catalogue.AWS_UNITS
            assert ("statistic" in a) != ("extended_statistic" in a)
            assert a["dimensions"] == {
                catalogue.AWS_METRICS[a["metric"]].dimension: factory.RESOURCE_PREFIX + a["resource"]
            }


def test_only_known_placeholders() -> None:
    for spec in PIPELINES.values():
        text = json.dumps([build_dashboard(spec), build_alarms(spec)])
        found = set(re.findall(r"\$\{(\w+)\}", text))
        assert found == {
            "environment",
            "region",
            "namespace",
            "alarm_arn_prefix",
            "log_group_prefix",
            "resource_prefix",
        }


def test_bad_configuration_fails_at_build_time() -> None:
    spec = PIPELINES["ingest"]
    with pytest.raises(UnknownMetricError):
        build_alarms(spec._replace(alarms=(AlarmChoice("RecordsFetchd", 1, "warning"),)))
    with pytest.raises(ValueError, match="no service emits 'TasksFailed'"):
        alarm = AlarmChoice("TasksFailed", 1, "warning")
        build_alarms(PipelineSpec("x", "x", ("svc",), ("ingest",), {}, (alarm,)))


def test_generated_files_are_current(tmp_path: Path) -> None:
    written = build(tmp_path, CONFIG)
    generated = ROOT / "terraform" / "generated"
    assert {p.name for p in written} == {p.name for p in generated.iterdir() if p.suffix == ".json"}, (
        "terraform/generated has files no pipeline writes (or lacks some): run `make docs`"
    )
    for path in written:
        committed = generated / path.name
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


def test_one_file_per_environment_with_its_overrides_and_the_environment_filled_in() -> None:
    """auth's ErrorRate alarm pages at 2% everywhere but prd (1%): each file carries its own."""
    for env in ("dev", "stg", "prd"):
        alarms = build_alarms(specs(CONFIG, env)["auth"])
        rate = [a for a in alarms if a["metric"] == "ErrorRate"]
        assert rate and {a["threshold"] for a in rate} == {1.0 if env == "prd" else 2.0}
    text = (ROOT / "terraform" / "generated" / "auth.prd.alarms.json").read_text()
    assert "${environment}" not in text and '"auth-login-ErrorRate-prd"' in text
    dashboard = (ROOT / "terraform" / "generated" / "auth.prd.dashboard.json").read_text()
    assert "critical: ErrorRate >= 1" in dashboard and "critical: ErrorRate >= 2" not in dashboard


def test_an_alarm_switched_off_in_an_environment_is_left_out_there(tmp_path: Path) -> None:
    cfg = project.build(
        {
            "metrics": {"Shipped": {"unit": "Count", "description": "Orders shipped."}},
            "pipelines": {
                "orders": {
                    "services": ["orders-api"],
                    "emits": {"orders-api": ["Shipped"]},
                    "alarms": [
                        {"metric": "Shipped", "threshold": 1, "comparison": "<",
                         "environments": {"dev": {"enabled": False}, "prd": {"threshold": 10}}},
                    ],
                }
            },
        }
    )  # fmt: skip
    project.use(cfg)
    try:
        assert build_alarms(specs(cfg, "dev")["orders"]) == []
        (prd,) = build_alarms(specs(cfg, "prd")["orders"])
        assert prd["threshold"] == 10 and prd["comparison_operator"] == "LessThanThreshold"
        assert prd["metric_name"] == "Shipped"
        (stg,) = build_alarms(specs(cfg, "stg")["orders"])
        assert stg["threshold"] == 1
        rows = [w for w in build_dashboard(specs(cfg, "prd")["orders"])["widgets"] if "orders:" in str(w)]
        assert rows, "the team's metric group gets its own row"
    finally:
        for name in cfg.metrics:
            catalogue.unregister(name)


def test_manifest_tells_terraform_the_namespace_files_and_endpoints() -> None:
    m = manifest(CONFIG)
    assert m["namespace"] == "DataPipelines"
    assert m["environments"]["prd"]["files"]["ingest"] == {
        "dashboard_file": "ingest.prd.dashboard.json",
        "alarms_file": "ingest.prd.alarms.json",
    }
    assert m["environments"]["prd"]["notification_emails"]["critical"] == ["data-oncall@example.com"]
    assert m["environments"]["dev"]["notification_emails"] == {}


def test_build_removes_files_of_pipelines_that_are_gone(tmp_path: Path) -> None:
    stale = tmp_path / "old.dev.alarms.json"
    stale.write_text("[]")
    keep = tmp_path / "notes.txt"
    keep.write_text("x")
    build(tmp_path, CONFIG)
    assert not stale.exists() and keep.exists()
