"""The triage notebook, executed with nbclient, and demo/triage.py, both on a real incident."""

from __future__ import annotations

import io
import shutil
from contextlib import redirect_stdout
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

import demo.triage
from tests.integration.diagnostics.conftest import Incident

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[3]
NOTEBOOK = REPO / "diagnostics" / "notebooks" / "triage.ipynb"


def _outputs(nb: nbformat.NotebookNode) -> tuple[str, int, list[str]]:
    """(all text output, number of PNG images, error names)."""
    text, images, errors = [], 0, []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if out.output_type == "stream":
                text.append(out.text)
            elif out.output_type in ("display_data", "execute_result"):
                images += "image/png" in out.data
                text.append(out.data.get("text/plain", ""))
                text.append(out.data.get("text/html", ""))
            elif out.output_type == "error":
                errors.append(f"{out.ename}: {out.evalue}")
    return "\n".join(text), images, errors


def _run_notebook(incident: Incident, alarm: str, *, quarantine: bool = True) -> tuple[str, int, list[str]]:
    out = incident.out
    nb = nbformat.read(NOTEBOOK, as_version=4)
    at = next(i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", []))
    params = f'LOGS = "{out / "ingest.jsonl"}"\nDLQ_FILE = "{out / "dlq.jsonl"}"\nALARM = "{alarm}"\n'
    params += f'QUARANTINE_DIR = "{out / "s3"}"' if quarantine else "QUARANTINE_DIR = None"
    nb.cells.insert(at + 1, nbformat.v4.new_code_cell(params))
    NotebookClient(
        nb, kernel_name="python3", timeout=180, resources={"metadata": {"path": str(REPO)}}
    ).execute()
    return _outputs(nb)


def test_the_triage_notebook_runs_from_the_alarm_to_the_records(diag_incident: Incident) -> None:
    r = diag_incident.result
    text, images, errors = _run_notebook(diag_incident, r.quarantine_alarm)
    assert errors == []
    assert images >= 2, "the datapoints plot and the reasons chart"
    assert f"{r.quarantine_alarm}: watches RecordsQuarantined of service ingest-worker" in text
    assert "state: ALARM; in ALARM from" in text and "cause: " in text
    assert f"trace {r.run_id}:" in text and "across ingest-scheduler, ingest-worker" in text
    assert "quarantine/source/_/page-000001.json" in text and ".malformed.json" in text
    assert "expect_column_values_to_be_between:amount" in text and "failed in these invocations" in text
    for secret in r.secrets:
        assert secret not in text


@pytest.mark.parametrize(
    ("metric", "expect"),
    [
        ("Throttles", "throttled by http-429"),  # breached one period of the three it needs: did not fire
        ("TasksFailed", "did not fire in the window"),  # 3 failed tasks, under its threshold of 5
        ("InputAnomalies", "INSUFFICIENT_DATA"),  # nothing of it in the data at all
    ],
)
def test_the_notebook_runs_for_alarms_that_did_not_fire(
    diag_incident: Incident, metric: str, expect: str
) -> None:
    r = diag_incident.result
    text, _, errors = _run_notebook(diag_incident, f"ingest-worker-{metric}-{r.environment}")
    assert errors == [], errors
    assert f"ingest-worker-{metric}-{r.environment}: watches {metric}" in text
    assert expect in text


def test_the_notebook_says_when_the_quarantine_was_not_read(diag_incident: Incident) -> None:
    r = diag_incident.result
    text, _, errors = _run_notebook(diag_incident, r.quarantine_alarm, quarantine=False)
    assert errors == [], errors
    assert "quarantine not read: set BUCKET or QUARANTINE_DIR" in text
    assert "quarantine/source/_/page-000001.json" in text  # the keys the invocations' lines name


def test_demo_triage_reads_the_ingest_demo_outputs(diag_incident: Incident, tmp_path: Path) -> None:
    r = diag_incident.result
    out = tmp_path / "demo"
    shutil.copytree(diag_incident.out, out)
    buf = io.StringIO()
    with redirect_stdout(buf):
        assert demo.triage.main(out) == 0
    printed = buf.getvalue()
    assert "running a small ingest incident" not in printed, "the existing outputs are used"
    assert f"ALARM: {r.quarantine_alarm} (warning)" in printed
    assert "quarantine/source/_/page-000001.json" in printed and r.run_id in printed
    assert f"observe diag trace {r.run_id} --level warning" in printed
    assert (out / "report.html").stat().st_size > 50_000
    for secret in r.secrets:
        assert secret not in printed and secret not in (out / "report.html").read_text()


@pytest.mark.e2e
def test_demo_triage_makes_its_own_incident_when_the_ingest_demo_has_not_run(tmp_path: Path) -> None:
    buf = io.StringIO()
    with redirect_stdout(buf):
        assert demo.triage.main(tmp_path / "fresh") == 0
    printed = buf.getvalue()
    assert "running a small ingest incident on a local moto server" in printed
    assert "ALARM: ingest-worker-RecordsQuarantined-dev (warning)" in printed
    assert (tmp_path / "fresh" / "ingest.jsonl").is_file() and (tmp_path / "fresh" / "report.html").is_file()
    assert sorted(p.name for p in (tmp_path / "fresh" / "s3" / "quarantine").iterdir()) == [
        "messages", "partner-push", "source",
    ]  # fmt: skip
