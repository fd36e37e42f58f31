"""The HTML report (parsed, never rendered here) and the observe-diag CLI (in-process)."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from diagnostics.alarms import load_alarms
from diagnostics.cli import main
from diagnostics.core import Diagnostics
from diagnostics.report import build_report
from tests.unit.diagnostics.diag_builders import (
    ALARMS_DIR,
    dlq_messages,
    observed_incident,
    quarantine_docs,
    write_evidence,
)


class Page(HTMLParser):
    """What a self-contained report must satisfy, collected while parsing."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.links: list[str] = []
        self.images: list[str] = []
        self.tags: set[str] = set()
        self.refs: list[str] = []  # every src / href

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        a = dict(attrs)
        if a.get("id"):
            self.ids.add(str(a["id"]))
        for name in ("src", "href"):
            if a.get(name):
                self.refs.append(str(a[name]))
        if tag == "a" and a.get("href"):
            self.links.append(str(a["href"]))
        if tag == "img":
            self.images.append(str(a.get("src")))


@pytest.fixture
def evidence(observe_capture: Any, lambda_context: Any) -> tuple[list[dict], list[dict], str]:
    return observed_incident(observe_capture, lambda_context)


def test_the_report_is_one_self_contained_file_with_working_links(evidence: Any) -> None:
    lines, emf, rid = evidence
    diag = Diagnostics.from_docs(
        [*lines, *emf],
        quarantine=quarantine_docs(datetime.now(UTC)),
        dlq=dlq_messages(),
        alarms=load_alarms(ALARMS_DIR),
    )
    html = build_report(diag, title="Incident 42")
    page = Page()
    page.feed(html)
    assert html.startswith("<!doctype html>") and "<title>Incident 42</title>" in html
    assert not page.tags & {"script", "link", "iframe", "object", "embed"}
    assert all(r.startswith(("#", "data:image/png;base64,")) for r in page.refs), "no external reference"
    assert len(page.images) >= 5  # alarm, activity, funnel, durations, quarantine reasons
    for src in page.images:
        assert base64.b64decode(src.split(",", 1)[1]).startswith(b"\x89PNG\r\n\x1a\n")
    internal = [h[1:] for h in page.links if h.startswith("#")]
    assert internal and all(target in page.ids for target in internal), "every link has its section"
    assert "trace-run-7" in page.ids and "#trace-run-7" in page.links
    assert "alarm-ingest-worker-RecordsQuarantined-dev" in page.ids
    assert rid in html and "quarantine/source/_/page-000001.json" in html
    assert "ConnectionError" in html and "page-000003: source answered HTTP 500" in html
    assert "S1234567D" not in html and "[REDACTED]" in html


def test_the_first_screen_says_what_is_firing_since_when_why_and_what_next(evidence: Any) -> None:
    lines, emf, _ = evidence
    diag = Diagnostics.from_docs([*lines, *emf], alarms=load_alarms(ALARMS_DIR))  # no quarantine, no DLQ
    html = build_report(diag, now=datetime(2026, 11, 26, 5, 0, tzinfo=UTC))
    first, rest = html.split('<section id="alarms">', 1)
    assert '<div class="now ALARM">' in first and "ingest-worker-RecordsQuarantined-dev" in first
    assert "in ALARM since" in first and "not recovered" not in first
    assert 'href="#trace-run-7"' in first  # the affected correlation ids, linked to their traces
    assert "Next: <code>observe diag trace run-7 --level warning</code>" in first
    assert "observe-diag" not in html  # the hints name the primary command, not its alias
    assert "The invocations quarantined records under 2 keys" in first  # the cause, in one sentence
    assert "quarantine not read: pass --bucket or --quarantine-dir" in first
    assert "DLQ not read: pass --dlq-url or --dlq-file" in first
    # only the alarms of the pipelines whose data was read; no rule text twice; honest column names
    assert "auth-login" not in html and "auth-callback" not in html
    assert rest.count("Sum of RecordsQuarantined &gt;= 100 per 5 min") == 1
    assert "invocation id" not in html and "correlation id of the invocation" in html


def test_report_values_carry_units_and_one_percentile_method() -> None:
    """Durations of 100, 200 and 300 ms: nearest-rank p99 is 300 ms (linear interpolation says 298)."""
    from tests.unit.diagnostics.diag_builders import emf, summary

    docs = []
    for i, ms in enumerate((100.0, 200.0, 300.0)):
        docs += [summary(i, rid=f"r{i}", cid=f"c{i}", duration_ms=ms), *emf(i, rid=f"r{i}", Duration=ms)]
    html = build_report(Diagnostics.from_docs(docs, alarms=load_alarms(ALARMS_DIR)))
    durations = html.split('<section id="durations">', 1)[1].split("</section>", 1)[0]
    assert "<td>ingest-worker</td><td class=n>200 ms</td><td class=n>300 ms</td>" in durations
    assert "298" not in durations and "11506.16" not in html
    assert "Percentiles (p50, p99 ...) are nearest-rank" in html


def test_an_axis_has_one_unit_on_every_tick() -> None:
    """An axis reaching 10 s is in seconds on every tick, below that in ms: never ``8,000 ms`` next to
    ``10 s``."""
    from diagnostics.units import axis_scale

    tick, label = axis_scale("Milliseconds", 10_327)
    assert label == "s" and [tick(v) for v in (0, 2000, 8000, 10000)] == ["0 s", "2 s", "8 s", "10 s"]
    tick, label = axis_scale("Milliseconds", 9_000)
    assert label == "ms" and [tick(v) for v in (0, 2000, 8000)] == ["0 ms", "2,000 ms", "8,000 ms"]
    tick, label = axis_scale("Percent", 100)
    assert label == "%" and tick(90) == "90 %"


def test_a_trace_in_the_report_hides_routine_requests_and_keeps_failed_ones() -> None:
    from tests.unit.diagnostics.diag_builders import line

    docs = [
        line(0, 'HTTP Request: GET http://source/records?page=1 "HTTP/1.1 200 OK"', cid="run-1",
             logger="pipelines.ingest.source"),
        line(1, 'HTTP Request: GET http://source/records?page=3 "HTTP/1.1 500 Internal Server Error"',
             cid="run-1", logger="pipelines.ingest.source"),
        line(2, "Found credentials in environment variables.", cid="run-1", logger="botocore.credentials"),
        line(3, "batch ingested", cid="run-1"),
    ]  # fmt: skip
    from diagnostics.report import _trace_html

    (tr,) = Diagnostics.from_docs(docs).traces(["run-1"])
    html = _trace_html(tr, max_lines=50)
    assert "page=3" in html and "batch ingested" in html
    assert "page=1" not in html and "Found credentials" not in html
    assert "2 routine line(s) below warning hidden" in html


@pytest.fixture
def files(evidence: Any, tmp_path: Path) -> dict[str, Path]:
    lines, emf, _ = evidence
    return write_evidence(tmp_path, lines, emf)


@pytest.fixture(autouse=True)
def wide(monkeypatch: pytest.MonkeyPatch) -> None:
    """Content assertions read unwrapped lines; the width itself has its own test."""
    monkeypatch.setenv("COLUMNS", "200")


def _run(capsys: Any, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _sources(f: dict[str, Path]) -> list[str]:
    return [
        "--logs", str(f["logs"]), "--quarantine-dir", str(f["quarantine"]), "--dlq-file", str(f["dlq"]),
        "--alarms-dir", str(ALARMS_DIR),
    ]  # fmt: skip


def test_alarm_prints_the_way_from_the_alarm_to_the_records(files: dict[str, Path], capsys: Any) -> None:
    code, out, err = _run(capsys, "alarm", "ingest-worker-RecordsQuarantined-dev", *_sources(files))
    assert code == 0, err
    for expected in (
        "Breaching datapoints (1)",
        "quarantine/source/_/page-000001.json",
        "quarantine/source/_/page-000003.malformed.json",
        "run-7",
        "m-3",
        "failed in these invocations",
        "ConnectionError: page-000003: source answered HTTP 500",
        "expect_x:amount (2)",
    ):
        assert expected in out, expected
    assert "quarantine/other/_/page-000001.json" not in out and "S1234567D" not in out

    code, out, _ = _run(capsys, "alarm", "ingest-worker-RecordsQuarantined-dev", "--json", *_sources(files))
    doc = json.loads(out)
    assert code == 0 and doc["state"] == "ALARM" and doc["correlation_ids"] == ["run-7"]
    assert doc["record_keys"][:2] == [
        "quarantine/source/_/page-000001.json",
        "quarantine/source/_/page-000002.json",
    ]
    assert doc["dlq"][0]["message_id"] == "m-3" and doc["reasons"]["expect_x:amount"] == 2


def test_exit_codes_say_found_not_found_or_bad_input(
    files: dict[str, Path], capsys: Any, tmp_path: Path
) -> None:
    code, out, _ = _run(capsys, "alarm", "ingest-worker-Throttles-dev", *_sources(files))
    assert code == 1 and "Nothing breached in this window" in out
    code, _, err = _run(capsys, "alarm", "ingest-worker-RecordQuarantined-dev", *_sources(files))
    assert code == 2 and "did you mean ingest-worker-RecordsQuarantined-dev" in err
    code, _, err = _run(capsys, "failures", "--logs", str(tmp_path / "nope.jsonl"))
    assert code == 2 and f"--logs {tmp_path / 'nope.jsonl'}: no such file or directory" in err
    code, _, err = _run(capsys, "failures")
    assert code == 2 and "give --logs PATH or --log-group NAME" in err
    code, _, err = _run(capsys, "quarantine", "--logs", str(files["logs"]))
    assert code == 2 and "give --bucket NAME or --quarantine-dir PATH" in err
    code, _, err = _run(capsys, "failures", "--logs", str(files["logs"]), "--since", "soonish")
    assert code == 2 and "--since/--start/--end: 'soonish' is not a duration" in err
    code, _, err = _run(capsys, "alarm", "x-dev", "--logs", str(files["logs"]), "--alarms-dir", str(tmp_path))
    assert code == 2 and "no *.alarms.json files" in err
    code, _, err = _run(capsys, "trace", "nobody", "--logs", str(files["logs"]))
    assert code == 1 and "no line carries correlation id 'nobody'" in err
    with pytest.raises(SystemExit) as exc:
        main(["explode"])
    assert exc.value.code == 2


def test_the_other_commands(files: dict[str, Path], capsys: Any) -> None:
    code, out, _ = _run(capsys, "trace", "run-7", "--level", "error", *_sources(files))
    assert code == 0 and "Lines at error or above (1)" in out and 'message_id="m-3"' in out
    code, out, _ = _run(capsys, "alarm", *_sources(files))
    assert code == 0 and out.index("ingest-worker-RecordsQuarantined-dev") < out.index(
        "ingest-worker-Duration-dev"
    )
    code, out, _ = _run(capsys, "failures", *_sources(files))
    assert code == 0 and "Failures: 1 in 1 group(s)" in out and "ConnectionError" in out
    code, out, _ = _run(capsys, "throttles", *_sources(files))
    assert code == 0 and "Throttles (0)" in out
    code, out, _ = _run(capsys, "quarantine", "--quarantine-dir", str(files["quarantine"]))
    assert code == 0 and "Quarantine: 6 record(s) in 5 document(s)" in out and "S1234567D" not in out
    code, out, _ = _run(capsys, "dlq", "--dlq-file", str(files["dlq"]), "--logs", str(files["logs"]))
    assert code == 0 and "DLQ: 2 message(s)" in out and "ConnectionError: page-000003" in out
    code, out, _ = _run(capsys, "anomalies", "--logs", str(files["logs"]))
    assert code == 0 and "Input anomalies: 0" in out
    code, out, err = _run(capsys, "failures", "--json", *_sources(files))
    got = json.loads(out)  # stdout: the JSON alone
    assert got["groups"][0]["error_type"] == "ConnectionError" and got["invocations"] == []
    assert "logs: file" in err and "Sources" in err  # what was read: on stderr
    code, out, err = _run(capsys, "dlq", "--json", "--dlq-file", str(files["dlq"]))
    assert json.loads(out)["count"] == 2 and "logs not read: pass --logs PATH" in err


def test_report_command_writes_the_file(files: dict[str, Path], capsys: Any, tmp_path: Path) -> None:
    target = tmp_path / "deep" / "report.html"
    code, out, _ = _run(capsys, "report", "--out", str(target), *_sources(files))
    assert code == 0 and f"report written to {target}" in out
    assert target.read_text().count("data:image/png;base64,") >= 5


def test_every_bad_option_is_a_clear_error_with_exit_2(
    files: dict[str, Path], capsys: Any, tmp_path: Path
) -> None:
    logs = ["--logs", str(files["logs"])]
    for argv, message in (
        (["failures", *logs, "--since", "99999999d"], "'99999999d' reaches back before 1970"),
        (["failures", *logs, "--since", "0m"], "not a duration longer than zero"),
        (["failures", *logs, "--start", "2026-13-01T00:00:00Z"], "is not an ISO-8601 time"),
        (
            ["failures", *logs, "--start", "2026-11-26T05:00:00Z", "--end", "2026-11-26T04:00:00Z"],
            "not before its end",
        ),
        (["quarantine", "--bucket", "b", "--quarantine-dir", str(files["quarantine"])], "not both"),
        (["dlq", "--dlq-file", str(tmp_path / "nope.jsonl")], "no such file"),
        (["report", *logs, "--out", str(files["logs"] / "r.html")], "cannot write it"),
        (["failures", *logs, "--replay"], "--replay: only with --log-group"),
        (["failures", *logs, "--engine", "insights"], "--engine insights: only with --log-group"),
        (
            ["alarm", *logs, "--pipeline", "nope"],
            "--pipeline nope: no alarm spec of that pipeline (known: auth",
        ),
        (["alarm", "--log-group", "g", "--environment", "xyz"], "--environment xyz: no alarm spec of that"),
        (["alarm", "--log-group", "g", "--namespace", " "], "--namespace: empty"),
        (["alarm", *logs, "--config", str(tmp_path / "none.toml")], "none.toml: no such file"),
    ):
        code, _, err = _run(capsys, *argv)
        assert code == 2 and message in err and "Traceback" not in err, (argv, err)
    for argv in (["trace", "x", *logs, "--max-lines", "0"], ["failures", *logs, "--query-timeout", "-1"]):
        with pytest.raises(SystemExit) as exc:
            main(argv)
        assert exc.value.code == 2
        assert "must be" in capsys.readouterr().err


def test_what_was_not_read_is_said_with_what_to_pass(files: dict[str, Path], capsys: Any) -> None:
    code, out, _ = _run(capsys, "alarm", "ingest-worker-RecordsQuarantined-dev", "--logs", str(files["logs"]))
    assert code == 0
    assert "quarantine not read: pass --bucket or --quarantine-dir" in out
    assert "the invocations' lines name 2 quarantine key(s)" in out
    assert "quarantine/source/_/page-000001.json" in out  # the keys the logs name, listed anyway
    assert "DLQ not read: pass --dlq-url or --dlq-file" in out
    assert "no failing records" not in out
    code, out, _ = _run(capsys, "dlq", "--dlq-file", str(files["dlq"]))
    assert code == 0 and "failures not looked up" in out and "failure(s) in the logs" not in out
    assert "logs not read: pass --logs PATH or --log-group NAME" in out


def test_a_truncated_emf_document_is_called_out_where_it_is_missing(
    evidence: Any, tmp_path: Path, capsys: Any
) -> None:
    lines, emf, _ = evidence
    whole = [json.dumps(d) for d in [*lines, *emf]]
    broken = next(i for i, x in enumerate(whole) if '"RecordsQuarantined"' in x and x.startswith('{"_aws"'))
    whole[broken] = whole[broken][: len(whole[broken]) // 2]  # cut on the way, as a full disk would
    path = tmp_path / "cut.jsonl"
    path.write_text("\n".join(whole) + "\n")
    code, out, _ = _run(capsys, "alarm", "ingest-worker-RecordsQuarantined-dev", "--logs", str(path))
    assert code == 1  # nothing breaches without the document...
    assert "1 EMF document(s) failed to parse: their values are missing from these datapoints" in out
    assert f"{path}:{broken + 1}" in out and "that is not certain" in out  # ...and it says why
    assert f"skipped {path}:{broken + 1}: an EMF document that failed to parse" in out


def test_output_fits_80_columns(files: dict[str, Path], capsys: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    for argv in (
        ["alarm", "ingest-worker-RecordsQuarantined-dev", *_sources(files)],
        ["alarm", *_sources(files)],
        ["trace", "run-7", *_sources(files)],
        ["failures", *_sources(files)],
        ["quarantine", "--quarantine-dir", str(files["quarantine"])],
        ["dlq", "--dlq-file", str(files["dlq"]), "--logs", str(files["logs"])],
    ):
        _, out, _ = _run(capsys, *argv)
        # a line may run over only when it is one unbreakable token (a long key or id on its own)
        over = [ln for ln in out.splitlines() if len(ln) > 80 and " " in ln.strip()]
        assert over == [], (argv, over)


def test_the_alarms_table_shows_how_many_periods_must_breach(
    evidence: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A peak at the threshold with the alarm OK is no contradiction once ``2 of 3`` is beside it."""
    from diagnostics.text import render_alarm_states

    lines, emf, _ = evidence
    diag = Diagnostics.from_docs([*lines, *emf], alarms=load_alarms(ALARMS_DIR))
    states = diag.alarm_states()
    throttles = next(e for e in states if e.alarm.name == "ingest-worker-Throttles-dev")
    assert throttles.alarm.condition_text == ">= 1, 2 of 3"
    quarantined = next(e for e in states if e.alarm.name == "ingest-worker-RecordsQuarantined-dev")
    assert quarantined.alarm.condition_text == ">= 100"  # 1 of 1: the threshold alone

    monkeypatch.setenv("COLUMNS", "120")
    wide = render_alarm_states(states).splitlines()
    row = next(x for x in wide if "ingest-worker-Throttles-dev" in x)
    assert ">= 1, 2 of 3" in row
    monkeypatch.setenv("COLUMNS", "80")
    narrow = render_alarm_states(states).splitlines()
    assert max(len(x.rstrip()) for x in narrow) <= 80
    i = next(i for i, x in enumerate(narrow) if "ingest-worker-Throttles-dev" in x)
    assert narrow[i].rstrip().endswith(">= 1") and narrow[i + 1].strip() == "2 of 3"

    html = build_report(diag, now=datetime(2026, 11, 26, 5, 0, tzinfo=UTC))
    alarms = html.split('<section id="alarms">', 1)[1].split("</section>", 1)[0]
    assert "&gt;= 1, 2 of 3" in alarms and "<th>alarm if</th>" in alarms
