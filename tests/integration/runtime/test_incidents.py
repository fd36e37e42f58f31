"""Scripted incidents of the real ingest worker under ``awslambdaric``, fed by the SQS event source
mapping from a moto queue with a DLQ (``maxReceiveCount`` 2), fetching from the local source API:
a timeout mid-batch, an out-of-memory kill on a large page, a failed init (a bad ``SUITE_PATH``)
and a ``sys.exit``. Each loses no message (every one sent is finished or dead-lettered, after two
deliveries) and leaves the platform's lines in the function's log; the timeout also the watchdog's
warning and its ``Timeouts`` document.

Each incident runs once per module (a fixture of its own, sharing the moto server and one source
API, each incident on a partition of its own), and its tests read the run.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from emulator.moto_server import FAKE_ENV
from emulator.scenario import IncidentRun, incident_pages, timeout_incident, worker_incident
from emulator.source_api import SourceAPI, source_api, valid_record
from observe.catalogue import TIMEOUT_WARNING

pytestmark = pytest.mark.integration

INCIDENT_WORKER = "tests.integration.runtime.incident_worker.handler"
EAGER_WORKER = "tests.integration.runtime.incident_worker_eager.handler"
BAD_SUITE = "/nonexistent/suite.json"
ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def incident_source(runtime_moto: str) -> Iterator[SourceAPI]:
    """The local source API, with the AWS variables pointing at the session's moto server."""
    with pytest.MonkeyPatch.context() as mp, source_api() as api:
        for k, v in FAKE_ENV.items():
            mp.setenv(k, v)
        mp.setenv("AWS_ENDPOINT_URL", runtime_moto)
        yield api


@pytest.fixture(scope="module")
def timed_out(incident_source: SourceAPI) -> IncidentRun:
    return timeout_incident(incident_source, timeout=3.0)


@pytest.fixture(scope="module")
def out_of_memory(incident_source: SourceAPI) -> IncidentRun:
    # 60 MB of records on page 2: its body, its text and its records are well over what the
    # worker has left of 256 MB (it idles near 110 MB); page 1 is small
    import random

    big = "x" * (512 * 1024)
    template = valid_record(random.Random(7), "big", 1)
    large = [dict(template, id=f"big-{i:03d}", name=big) for i in range(120)]
    return worker_incident("oom", incident_source, [incident_pages(seed=12)[0], large], memory_mb=256)


@pytest.fixture(scope="module")
def failed_init(incident_source: SourceAPI) -> IncidentRun:
    return worker_incident(
        "init", incident_source, incident_pages(seed=13), handler=EAGER_WORKER, env={"SUITE_PATH": BAD_SUITE}
    )


@pytest.fixture(scope="module")
def exited(incident_source: SourceAPI) -> IncidentRun:
    return worker_incident(
        "exit",
        incident_source,
        incident_pages(seed=14),
        handler=INCIDENT_WORKER,
        env={"EXIT_ON_PAGE": "2", "EXIT_STATUS": "3"},
        log_format="JSON",
    )


def assert_nothing_lost(run: IncidentRun) -> None:
    """Every message sent is finished or in the DLQ (once), after ``maxReceiveCount`` deliveries."""
    assert run.lost() == set()
    assert len(run.sent) == len(run.processed) + len(run.dead) == 2
    assert sorted(run.dead_ids) == sorted(run.sent), "the whole batch shared the failure"
    for m in run.dead:
        assert int(m["Attributes"]["ApproximateReceiveCount"]) >= 2, m["Attributes"]
        assert m["MessageAttributes"]["correlation_id"]["StringValue"] == run.sent[m["MessageId"]]
    # one invocation per delivery, both of the same batch of two
    assert run.stats.invocations == 2 and run.stats.deleted == 0
    assert [sorted(ids) for ids in run.deliveries] == [sorted(run.sent)] * 2


def docs(lines: list[str]) -> list[dict[str, Any]]:
    out = []
    for line in lines:
        try:
            doc = json.loads(line)
        except ValueError:
            continue
        if isinstance(doc, dict):
            out.append(doc)
    return out


def of_request(run: IncidentRun, request_id: str) -> list[str]:
    return [e.message for e in run.events if e.request_id == request_id]


def page_task(run: IncidentRun, page: int) -> str:
    """The message id of the task for ``page``."""
    return next(mid for mid, cid in run.sent.items() if cid.startswith(f"{run.name}-{page}-"))


REPORT = re.compile(
    r"REPORT RequestId: (\S+)\t.*\tMax Memory Used: (\d+) MB\t(?:Init Duration: [\d.]+ ms\t)?(.*)$"
)


def report_tail(lines: list[str]) -> tuple[str, int, str]:
    """(request id, max memory used, status part) of the one REPORT line in ``lines``."""
    (line,) = [ln for ln in lines if ln.startswith("REPORT ")]
    m = REPORT.fullmatch(line)
    assert m, line
    return m[1], int(m[2]), m[3]


def triage(run: IncidentRun, tmp_path: Path) -> tuple[list[dict[str, Any]], str]:
    """What ``observe diag failures --json`` says of the function's log (saved as a file, as
    exported), and the HTML report of the same log."""
    from diagnostics import Diagnostics
    from diagnostics.report import write_report

    logs = tmp_path / f"{run.name}.jsonl"
    logs.write_text("\n".join(run.lines) + "\n", encoding="utf-8")
    cli = [sys.executable, "-m", "observe_cli", "diag", "failures", "--logs", str(logs), "--json", "--quiet"]
    proc = subprocess.run(cli, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    report = write_report(Diagnostics.load(logs=logs), tmp_path / f"{run.name}.html", title=run.name)
    return json.loads(proc.stdout)["invocations"], report.read_text(encoding="utf-8")


def assert_triaged(run: IncidentRun, tmp_path: Path, cause: str) -> list[dict[str, Any]]:
    """Both the CLI and the report name each failed invocation: its cause, its request id, and
    its correlation id (that of observe's lines of the request, None when it wrote none)."""
    failures, html = triage(run, tmp_path)
    assert [f["cause"] for f in failures] == [cause] * 2
    assert [f["request_id"] for f in failures] == [r.request_id for r in run.stats.results]
    assert f"<b>{cause}</b>" in html
    for f in failures:
        mine = docs(of_request(run, f["request_id"]))
        assert f["correlation_id"] == next(
            (d["correlation_id"] for d in mine if d.get("correlation_id")), None
        )
        assert f["request_id"] in html and (f["correlation_id"] is None or f["correlation_id"] in html)
        for record in f["in_flight"]:
            assert record["record_id"] in html and record["correlation_id"] in html
    return failures


def assert_in_flight_from_last_lines(run: IncidentRun, failure: dict[str, Any]) -> None:
    """Killed without a watchdog line: the records in flight come from the record_id every line of a
    record carries, and are records of this batch with their own correlation ids."""
    assert failure["in_flight_from"] != "watchdog" and failure["in_flight"], failure
    for record in failure["in_flight"]:
        assert run.sent.get(record["record_id"]) == record["correlation_id"], (record, run.sent)


def test_a_timeout_mid_batch_is_warned_about_counted_redelivered_dead_lettered_and_triaged(
    timed_out: IncidentRun, tmp_path: Path
) -> None:
    run = timed_out
    assert_nothing_lost(run)
    assert [r.status for r in run.stats.results] == ["timeout", "timeout"]
    slow = page_task(run, 2)
    for result in run.stats.results:
        lines = of_request(run, result.request_id)
        killed = next(i for i, ln in enumerate(lines) if ln.endswith("Task timed out after 3.00 seconds"))
        assert lines[killed].split()[1] == result.request_id
        assert report_tail(lines)[2] == "Status: timeout\t"
        assert lines[killed + 1 :][:2] == [f"END RequestId: {result.request_id}", lines[-1]]
        parsed = [(i, d) for i, ln in enumerate(lines) for d in docs([ln])]
        warnings = [(i, d) for i, d in parsed if d.get("message") == TIMEOUT_WARNING]
        counted = [(i, d) for i, d in parsed if "_aws" in d]
        if result is not run.stats.results[0] and not warnings:
            # After the kill the next init is a suppressed init, counted in the invocation's time;
            # on a loaded machine it can use up the time before the handler starts: nothing to warn
            # about then, as on Lambda. The first delivery's init is not counted: it always warns.
            assert not counted
            continue
        ((at, warning),) = warnings
        assert at < killed and warning["aws_request_id"] == result.request_id
        flying = {f["record_id"]: f["correlation_id"] for f in warning["in_flight"]}
        assert flying.items() <= run.sent.items(), "only the batch's records, with their correlation ids"
        if result is run.stats.results[0]:
            # with its init not counted, the slow task is surely under way by the warning
            assert flying.get(slow) == run.sent[slow], warning["in_flight"]
        ((emf_at, emf),) = counted
        assert at < emf_at < killed and emf["Timeouts"] == 1 and emf["aws_request_id"] == result.request_id
        assert not any(d.get("message") == "invocation complete" for _, d in parsed)
    # the triage names the slow task's message and correlation id as in flight, from the watchdog
    failures = assert_triaged(run, tmp_path, "timeout")
    assert all("Task timed out after 3.00 seconds" in f["evidence"] for f in failures)
    first = failures[0]
    assert first["in_flight_from"] == "watchdog"
    assert {r["record_id"]: r["correlation_id"] for r in first["in_flight"]}.get(slow) == run.sent[slow]


def test_out_of_memory_on_a_large_page_kills_the_worker_loses_nothing_and_is_triaged(
    out_of_memory: IncidentRun, tmp_path: Path
) -> None:
    run = out_of_memory
    assert_nothing_lost(run)
    assert [r.error_type for r in run.stats.results] == ["Runtime.OutOfMemory"] * 2
    for result in run.stats.results:
        lines = of_request(run, result.request_id)
        killed = f"RequestId: {result.request_id} Error: Runtime exited with error: signal: killed"
        assert f"{killed}\nRuntime.ExitError" in lines
        rid, used, status = report_tail(lines)
        assert rid == result.request_id and used == 256
        assert status == "Status: error\tError Type: Runtime.OutOfMemory\t"
        # killed from outside: observe wrote no summary line and no EMF document for it
        assert not [d for d in docs(lines) if "_aws" in d or d.get("message", "").startswith("invocation ")]
    for f in assert_triaged(run, tmp_path, "out of memory"):
        assert f["error_type"] == "Runtime.OutOfMemory" and f["max_memory_mb"] == f["memory_mb"] == 256
        assert_in_flight_from_last_lines(run, f)


def test_a_bad_suite_path_fails_the_init_each_delivery_until_the_dlq_and_is_triaged(
    failed_init: IncidentRun, tmp_path: Path
) -> None:
    run = failed_init
    assert_nothing_lost(run)
    assert [r.error_type for r in run.stats.results] == ["ConfigError"] * 2
    assert all(BAD_SUITE in r.payload["errorMessage"] for r in run.stats.results)
    reports = [
        re.sub(r"Init Duration: [\d.]+ ms", "", ln) for ln in run.lines if ln.startswith("INIT_REPORT ")
    ]
    assert reports == [
        f"INIT_REPORT \tPhase: {phase}\tStatus: error\tError Type: ConfigError"
        for phase in ("init", "invoke") * 2
    ]
    errors = [ln for ln in run.lines if ln.startswith("[ERROR] ConfigError: ")]
    assert len(errors) == 4 and all(f"SUITE_PATH='{BAD_SUITE}'" in ln for ln in errors)
    for result in run.stats.results:
        assert (
            report_tail(of_request(run, result.request_id))[2] == "Status: error\tError Type: ConfigError\t"
        )


def test_sys_exit_mid_batch_is_a_runtime_exit_in_the_json_log_format_and_is_triaged(
    exited: IncidentRun, tmp_path: Path
) -> None:
    run = exited
    assert_nothing_lost(run)
    assert [r.error_type for r in run.stats.results] == ["Runtime.ExitError"] * 2
    assert all(
        r.payload["errorMessage"].endswith("Runtime exited with error: exit status 3")
        for r in run.stats.results
    )
    records = [d for d in docs(run.lines) if str(d.get("type", "")).startswith("platform.")]
    for result in run.stats.results:
        mine = [d for d in records if d["record"].get("requestId") == result.request_id]
        assert [d["type"] for d in mine] == ["platform.start", "platform.runtimeDone", "platform.report"]
        done, report = mine[1]["record"], mine[2]["record"]
        assert done["status"] == report["status"] == "error"
        assert done["errorType"] == report["errorType"] == "Runtime.ExitError"
        # the handler saw the SystemExit go by: observe's failure line names it
        lines = of_request(run, result.request_id)
        (failed,) = [d for d in docs(lines) if d.get("message") == "invocation failed"]
        assert failed["exception"]["type"] == "SystemExit" and "in run_task" in failed["exception"]["stack"]
    for f in assert_triaged(run, tmp_path, "runtime exited"):
        assert f["error_type"] == "Runtime.ExitError"
        assert_in_flight_from_last_lines(run, f)
