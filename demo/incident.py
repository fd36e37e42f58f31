"""Demo of an incident that writes no line of its own: the ingest worker times out mid-batch.

The worker runs as on Lambda (its own process under ``awslambdaric``, fed by the SQS event source
mapping from a moto queue with a DLQ, ``maxReceiveCount`` 2), with a timeout of 2 s; page 2 of its
batch answers only after 5 s (:func:`emulator.scenario.timeout_incident`). The platform kills it
at the deadline, twice (one per delivery), then the queue dead-letters the batch. Shown: what the
function's log holds (observe's watchdog warning and its ``Timeouts`` document before the
platform's ``Task timed out``), where every message went, and the triage ``observe diag failures``
and ``observe diag dlq`` make of the saved log and DLQ (written to ``out/demo/incident/``).

Run: ``.venv/bin/python -m demo.incident``.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

from demo.show import COLOURS, RESET, heading, platform_line, render
from observe.catalogue import TIMEOUT_WARNING

OUT = Path("out/demo/incident")
TIMEOUT_S = 3.0


def _show(line: str) -> None:
    """One of observe's lines; the watchdog's warning with what was in flight, one record a line."""
    doc = json.loads(line)
    if doc.get("message") != TIMEOUT_WARNING:
        render(line)
        return
    print(
        f"  {doc['timestamp'][11:]} {COLOURS['warning']}warning{RESET} {doc['message']}: "
        f"elapsed {doc['elapsed_ms']:.0f} ms, {doc['remaining_ms']:.0f} ms left"
    )
    for record in doc.get("in_flight", []):
        print(
            f"      in flight: {record['batch_kind']} record {record['record_id']} (correlation id "
            f"{record['correlation_id']}), running {record['running_ms']:.0f} ms"
        )


def main(out_dir: str | Path = OUT) -> None:
    """Run the incident on a fresh local emulator, print it and its triage."""
    from emulator.moto_server import moto_server
    from emulator.scenario import save_run, timeout_incident
    from emulator.source_api import source_api
    from observe import logging as olog

    heading(
        f"Incident: the ingest worker times out mid-batch (timeout {TIMEOUT_S:g} s, a page that takes 5 s)"
    )
    olog.configure(level="WARNING", stream=io.StringIO())  # this harness's own boto3 lines stay out
    try:
        with moto_server(), source_api() as source:
            run = timeout_incident(source, timeout=TIMEOUT_S)
            saved = save_run(run.lines, run.bucket, run.dlq_url, out_dir)
    finally:
        olog.reset()

    first = run.stats.results[0].request_id
    heading(f"The worker's log, first delivery (request {first}; info lines elided)")
    for event in run.events:
        if event.request_id not in (None, first):
            continue
        line = event.message
        if line.startswith("{"):
            if '"level":"info"' not in line:
                _show(line)
        elif line.startswith(("REPORT ", "INIT_REPORT ")):
            platform_line("platform", line)
        else:
            print(f"  {'platform':<17}{line}")

    heading("Where every message went")
    print(
        f"  sent {len(run.sent)}, finished {len(run.processed)}, in the DLQ {len(run.dead)}, lost "
        f"{len(run.lost())}; deliveries: {len(run.deliveries)} "
        f"({', '.join(r.status for r in run.stats.results)})"
    )

    logs, dlq = saved["logs"], saved["dlq"]
    # the commands an on-call engineer types: what Lambda ended and why, then what gave up
    for command in (["failures", "--logs", str(logs)], ["dlq", "--dlq-file", str(dlq)]):
        heading(f"observe diag {' '.join(command)}")
        sys.stdout.flush()
        subprocess.run([sys.executable, "-m", "observe_cli", "diag", *command, "--quiet"], check=True)


if __name__ == "__main__":
    main()
