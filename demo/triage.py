"""Demo of the diagnostics: from the alarm that fired to the failing records and their cause.

Runs after the ingest demo and reads what it left in ``out/demo/``: every log line and EMF
document (``ingest.jsonl``), the quarantine objects mirrored under ``s3/quarantine/...`` and, when
present, the DLQ messages (``dlq.jsonl``). When the ingest demo has not run, it makes those files
itself from a small real incident (moto server + the local source API + the real ingest worker,
:mod:`emulator.scenario`). Then it replays the alarms of the project's observe.toml (as terraform
ships them) over the EMF documents, picks the one that fired, prints the alarm-to-record triage and
one trace, and writes the HTML report to ``out/demo/report.html``.
"""

from __future__ import annotations

from pathlib import Path

OUT = Path("out/demo")
#: When several alarms fired, the one to walk through first.
PREFERRED = ("RecordsQuarantined", "TasksFailed", "ErrorRate", "Throttles", "InputAnomalies")


def _banner(text: str) -> None:
    print(f"\n{'#' * 100}\n# {text}\n{'#' * 100}")


def ensure_outputs(out: Path) -> None:
    """Make ``out/ingest.jsonl`` (and the quarantine mirror, the DLQ dump) if the ingest demo did not."""
    if (out / "ingest.jsonl").is_file():
        return
    from emulator.scenario import incident

    print(f"{out / 'ingest.jsonl'} not found: running a small ingest incident on a local moto server ...")
    with incident(out_dir=out) as result:
        print(
            f"  {len(result.lines)} lines written; {result.n_malformed} malformed records served, page "
            f"{result.failing_page} always 500, page {result.malformed_page} malformed once, a later run "
            "throttled once"
        )


def main(out_dir: str | Path = OUT, config: str | Path | None = None) -> int:
    """Print the triage of the alarm that fired and write ``report.html``; returns 0."""
    from diagnostics import Diagnostics
    from diagnostics.report import write_report
    from diagnostics.text import render_alarm_states, render_trace, render_triage

    out = Path(out_dir)
    ensure_outputs(out)
    quarantine = out / "s3"
    dlq = out / "dlq.jsonl"
    diag = Diagnostics.load(
        logs=out / "ingest.jsonl",
        quarantine_dir=quarantine if quarantine.is_dir() else None,
        dlq_file=dlq if dlq.is_file() else None,
        config=config,  # None: the project's observe.toml, found from the working directory
    )
    _banner("diagnostics: which alarms would have fired?")
    print(diag.describe())
    states = diag.alarm_states()
    print(render_alarm_states(states))
    firing = [e for e in states if e.fired]
    if not firing:
        print("\nNo alarm fired over these documents; the report still has the metrics and any failures.")
    else:
        rank = {m: i for i, m in enumerate(PREFERRED)}
        pick = min(firing, key=lambda e: rank.get(e.alarm.metric, len(rank)))
        _banner(f"observe-diag alarm {pick.alarm.name} --logs {out / 'ingest.jsonl'} ...")
        triage = diag.from_alarm(pick.alarm.name)
        print(render_triage(triage))
        if triage.correlation_ids:
            cid = triage.correlation_ids[0]
            _banner(f"observe-diag trace {cid} --level warning")
            print(render_trace(diag.trace(cid), max_lines=25, min_level="warning"))
    report = write_report(diag, out / "report.html", title="Ingest demo: triage report")
    print(f"\nHTML report: {report} (self-contained; open it in a browser)")
    return 0


if __name__ == "__main__":
    main()
