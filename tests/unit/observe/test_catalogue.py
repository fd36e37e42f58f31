"""Metric names live where their owner declares them: observe its standard ones, pipelines theirs.

The project's own code passes `observe check` (every emitted name declared, with its unit and
dimensions), and observe/ names no metric a pipeline or the example team declares.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from dashboards.config import load
from observe import catalogue
from observe.catalogue import MetricDef
from observe_cli.docs import metrics_markdown
from observe_cli.scan import scan

ROOT = Path(__file__).resolve().parents[3]


def pipeline_metric_names() -> dict[str, str]:
    """Every metric a pipeline (or the example team) declares -> the file declaring it."""
    names = {}
    for path in [*ROOT.glob("pipelines/*/observe.toml"), *ROOT.glob("examples/*/observe.toml")]:
        for name in tomllib.loads(path.read_text(encoding="utf-8")).get("metrics", {}):
            names[name] = str(path.relative_to(ROOT))
    return names


def test_observe_names_no_pipeline_metric() -> None:
    names = pipeline_metric_names()
    assert {"RecordsFetched", "AuthFailures"} <= set(names)  # the declarations were found
    pattern = re.compile(r"\b(" + "|".join(map(re.escape, names)) + r")\b")
    offenders = [
        f"{path.relative_to(ROOT)}:{n}: {m.group(1)} (declared in {names[m.group(1)]})"
        for path in sorted((ROOT / "observe").rglob("*.py"))
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if (m := pattern.search(line))
    ]
    assert not offenders, "observe/ must not name a pipeline's metric:\n" + "\n".join(offenders)


def test_the_grep_would_catch_a_pipeline_metric_in_observe(tmp_path: Path) -> None:
    names = pipeline_metric_names()
    pattern = re.compile(r"\b(" + "|".join(map(re.escape, names)) + r")\b")
    assert pattern.search('    metric("RecordsQuarantined", 1)')
    assert not pattern.search('    metric("RecordsQuarantinedTotal", 1)')


def test_the_project_passes_observe_check() -> None:
    config = load(ROOT / "observe.toml")
    result = scan([ROOT], config, relative_to=ROOT)
    assert result.calls >= 20  # the scan itself found the pipelines' calls
    assert not result.problems, "\n".join(map(str, result.problems))


def test_check_names_file_line_and_fix_for_each_offender(tmp_path: Path) -> None:
    config = load(ROOT / "observe.toml")
    code = tmp_path / "handler.py"
    code.write_text(
        "from observe import metric as m\nimport observe\n\n"
        "def handler(event, context):\n"
        '    m("RecordsFetchd", 1)\n'
        '    observe.metric("FetchLatency", 3, "Seconds")\n'
        '    observe.metric("AuthFailures", 1, reason="x", user="y")\n'
        '    m(event["name"], 1)\n'
        '    m("NotDeclared", 1)  # observe-check: ignore\n',
        encoding="utf-8",
    )
    result = scan([tmp_path], config, relative_to=tmp_path)
    assert [str(f) for f in result.problems or []] == [
        "handler.py:5: metric 'RecordsFetchd' is not declared; did you mean 'RecordsFetched'? else add "
        "[metrics.RecordsFetchd] to observe.toml",
        "handler.py:6: metric 'FetchLatency' is declared in Milliseconds, not Seconds",
        "handler.py:7: metric 'AuthFailures': dimension(s) ['user'] not declared (declared: ['reason'])",
    ]
    assert [f.line for f in result.notes or []] == [8]


def test_standard_definitions_are_valid_and_documented() -> None:
    assert set(catalogue.STANDARD) >= {
        "Duration", "MaxMemoryUsed", "MemoryUtilization", "ColdStart", "Errors", "Throttles",
        "BatchItemFailures", "TelemetryErrors", "InputAnomalies", "ExpectationFailures",
    }  # fmt: skip
    for m in catalogue.STANDARD.values():
        assert not catalogue.problems(m)
        assert m.description.endswith(".") and m.group and m.source == "observe"
    table = catalogue.as_markdown()
    assert all(f"`{name}`" in table for name in catalogue.STANDARD)


def test_registering_refuses_a_standard_name_and_a_different_redeclaration() -> None:
    with pytest.raises(ValueError, match="standard metric of observe"):
        catalogue.register(MetricDef("Duration", "Seconds", "x.", "x"))
    catalogue.register(MetricDef("ShippedTest", "Count", "x.", "x", source="a.toml"))
    try:
        catalogue.register(MetricDef("ShippedTest", "Count", "x.", "x", source="b.toml"))  # same: fine
        with pytest.raises(ValueError, match=r"declared twice, differently: in a\.toml and in c\.toml"):
            catalogue.register(MetricDef("ShippedTest", "Bytes", "x.", "x", source="c.toml"))
    finally:
        catalogue.unregister("ShippedTest")


def test_docs_metrics_is_current() -> None:
    doc = (ROOT / "docs" / "metrics.md").read_text(encoding="utf-8")
    assert doc == metrics_markdown(load(ROOT / "observe.toml")), "docs/metrics.md is stale: run `make docs`"
