"""The `observe` command: init refuses to overwrite, check's exit codes and messages, metrics, diag."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from observe import project
from observe_cli.main import main

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(autouse=True)
def _fresh() -> Iterator[None]:
    """Each command as in its own process: no configuration loaded before, none left after."""
    project.reset()
    yield
    project.reset()


def test_init_writes_a_starter_that_passes_check_and_refuses_to_overwrite(tmp_path: Path, capsys) -> None:
    team = tmp_path / "shipping-team"
    (team / ".git").mkdir(parents=True)  # a project root: the search stops here
    assert main(["init", "--dir", str(team), "--service", "ship-api"]) == 0
    toml = (team / "observe.toml").read_text()
    assert 'namespace = "ShippingTeam"' in toml and "[pipelines.shipping-team]" in toml
    assert 'services = ["ship-api"]' in toml
    assert '@observed(pipeline="shipping-team", service="ship-api")' in (team / "handler.py").read_text()
    assert main(["check", "--config", str(team / "observe.toml"), str(team)]) == 0
    out = capsys.readouterr().out
    assert "observe check: ok:" in out and "1 metric calls in 1 files" in out
    (team / "handler.py").write_text("# mine\n")
    assert main(["init", "--dir", str(team)]) == 2
    err = capsys.readouterr().err
    assert "observe.toml exists; not overwriting" in err and "handler.py exists" in err
    assert (team / "handler.py").read_text() == "# mine\n"  # nothing was touched


def test_check_exits_1_with_file_line_and_2_without_a_configuration(
    tmp_path: Path, capsys, monkeypatch
) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / "observe.toml").write_text('[metrics.Sent]\nunit = "count"\ndescription = "Sent."\n')
    monkeypatch.chdir(tmp_path)
    assert main(["check"]) == 1  # the configuration itself is what failed
    assert (
        "observe.toml: [metrics.Sent] unit 'count' is not an EMF unit; use 'Count'" in capsys.readouterr().err
    )
    (tmp_path / "observe.toml").write_text('[metrics.Sent]\nunit = "Count"\ndescription = "Sent."\n')
    (tmp_path / "job.py").write_text("import observe\n\nobserve.metric('Snet', 1)\n")
    project.reset()
    assert main(["check"]) == 1
    out = capsys.readouterr().out
    assert "job.py:3: metric 'Snet' is not declared; did you mean 'Sent'?" in out
    empty = tmp_path / "elsewhere"
    (empty / ".git").mkdir(parents=True)
    monkeypatch.chdir(empty)
    monkeypatch.delenv("OBSERVE_CONFIG", raising=False)
    assert main(["dashboards", "build", "--out", str(tmp_path / "out")]) == 2
    assert "no observe.toml found" in capsys.readouterr().err


def test_metrics_lists_the_standard_and_the_projects_metrics(capsys) -> None:
    assert main(["metrics", "--config", str(ROOT / "observe.toml")]) == 0
    out = capsys.readouterr().out
    assert "## Standard metrics of observe" in out and "`TelemetryErrors`" in out
    assert (
        "## Metrics of ingest" in out and "| `RecordsQuarantined` |" in out and "ingest: ingest-worker" in out
    )


def test_diag_reads_the_alarms_of_the_configuration(tmp_path: Path, capsys) -> None:
    from observe.metrics import MetricsBuffer, documents

    buf = MetricsBuffer()
    buf.add("RecordsQuarantined", 150)
    doc = documents(buf, {"service": "ingest-worker", "pipeline": "ingest", "environment": "prd"},
                    {"aws_request_id": "r-1", "function_name": "pipelines-prd-ingest-worker"})  # fmt: skip
    logs = tmp_path / "logs.jsonl"
    logs.write_text("\n".join(json.dumps(d) for d in doc) + "\n")
    alarm = "ingest-worker-RecordsQuarantined-prd"  # prd's thresholds, from the configuration
    code = main(
        ["--config", str(ROOT / "observe.toml"), "diag", "alarm", alarm, "--logs", str(logs), "--json"]
    )
    assert code == 0, capsys.readouterr().err
    triage = json.loads(capsys.readouterr().out)
    assert (
        triage["alarm"] == "ingest-worker-RecordsQuarantined-prd" and triage["breaching"][0]["value"] == 150
    )


def test_check_counts_calls_it_cannot_check_and_lists_them_on_request(
    tmp_path: Path, capsys, monkeypatch
) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / "observe.toml").write_text('[metrics.Sent]\nunit = "Count"\ndescription = "Sent."\n')
    (tmp_path / "job.py").write_text("from observe import metric\n\nname = 'Sent'\nmetric(name, 1)\n")
    monkeypatch.chdir(tmp_path)
    assert main(["check"]) == 0  # run time still refuses an undeclared name; the check cannot see it
    out = capsys.readouterr().out
    assert "1 not checkable (--notes lists them)" in out and "note:" not in out
    assert main(["check", "--notes"]) == 0
    out = capsys.readouterr().out
    assert "note: job.py:4:" in out and "(--notes lists them)" not in out
