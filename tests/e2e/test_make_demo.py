"""`make demo` end to end: every demo runs in its own process and says what it should."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.e2e
def test_the_demo_runs_the_pipelines_and_the_triage() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "OTEL_"))}
    proc = subprocess.run(
        [sys.executable, "-m", "demo"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600
    )
    out = proc.stdout
    assert proc.returncode == 0, proc.stderr[-3000:]
    # the core demo, the ingest run, the triage from the alarm, the login chain
    assert "observe core: one decorator, four kinds of event" in out
    match = re.search(r"(\d+)/(\d+) source keys hold their newest valid version", out)
    assert match and match.group(1) == match.group(2)
    assert re.search(r"ALARM\s+ingest-worker-RecordsQuarantined-dev", out)
    assert "Failing records:" in out and "quarantine/source/" in out
    assert (ROOT / "out" / "demo" / "report.html").stat().st_size > 10_000
    # the timeout incident: the watchdog's warning before the platform's kill, nothing lost
    incident = out[out.index("Incident: the ingest worker times out mid-batch") :]
    assert incident.index("invocation about to time out") < incident.index(
        "Task timed out after 3.00 seconds"
    )
    assert "sent 2, finished 0, in the DLQ 2, lost 0; deliveries: 2 (timeout, timeout)" in incident
    # and its triage: observe diag names the cause, the request, the slow task in flight, the DLQ
    triage = incident[incident.index("observe diag failures") :]
    assert "Lambda invocation failures: 2" in triage and re.search(r"TIMEOUT\s+ingest-worker", triage)
    assert re.search(r"in flight \(\d, from the watchdog's line\):", triage) and "cid timeout-2-" in triage
    assert "DLQ: 2 message(s)" in triage and "correlation id\n      timeout-2-" in triage
    assert "login complete" in out and "state_replayed" in out
    assert "Traceback" not in out and "Traceback" not in proc.stderr
    assert "S1234567D" not in out and "Bearer " not in out
