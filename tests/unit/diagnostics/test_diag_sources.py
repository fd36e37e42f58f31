"""Windows, line parsing and the local sources (files, quarantine mirror, DLQ dump)."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from diagnostics.model import DLQMessage, QuarantineDoc, SourceError, Window, doc_time, parse_duration
from diagnostics.queries import Selection
from diagnostics.sources import (
    CloudWatchLogSource,
    DirQuarantineSource,
    FileDLQSource,
    FileLogSource,
    parse_line,
    register_line_parser,
)
from tests.unit.diagnostics.diag_builders import REPO, at, emf, line


def test_durations_and_windows() -> None:
    assert parse_duration("90s") == timedelta(seconds=90)
    assert parse_duration("1.5h") == timedelta(minutes=90)
    assert parse_duration(" 2D ") == timedelta(days=2)
    with pytest.raises(ValueError, match="'soon' is not a duration"):
        parse_duration("soon")
    end = datetime(2026, 11, 26, 5, tzinfo=UTC)
    w = Window.build(since="1h", end="2026-11-26T05:00:00Z")
    assert (w.start, w.end) == (end - timedelta(hours=1), end)
    assert w.contains(end - timedelta(minutes=1)) and not w.contains(end) and w.contains(None)
    assert Window.build(start="2026-11-26T04:00:00+08:00").start == datetime(2026, 11, 25, 20, tzinfo=UTC)
    with pytest.raises(ValueError, match="either a relative window"):
        Window.build(since="1h", start="2026-11-26T04:00:00Z")
    with pytest.raises(ValueError, match="is not before its end"):
        Window.build(start="2026-11-26T05:00:00Z", end="2026-11-26T04:00:00Z")
    with pytest.raises(ValueError, match="not an ISO-8601 time"):
        Window.build(start="yesterday")
    with pytest.raises(ValueError, match="reaches back before 1970"):
        Window.build(since="99999999d")
    with pytest.raises(ValueError, match="too long a duration"):
        Window.build(since="9999999999d")
    with pytest.raises(ValueError, match="longer than zero"):
        parse_duration("0s")


def test_parse_line_takes_the_json_object_and_names_what_it_could_not_read() -> None:
    assert parse_line('{"a": 1}\n').doc == {"a": 1}
    prefixed = '2026-11-26T04:00:00.000Z\t8f0e\tINFO\t{"message": "x", "level": "info"}'
    assert parse_line(prefixed).doc == {"message": "x", "level": "info"}
    assert parse_line(prefixed.encode()).doc == {"message": "x", "level": "info"}
    start = parse_line("START RequestId: 8f0e Version: $LATEST")  # diagnostics.platform reads these
    assert start.kind == "platform"
    assert start.doc == {"@platform": {"type": "start", "request_id": "8f0e", "version": "$LATEST"}}
    for text, kind in (
        ("EXTENSION Name: x State: Ready Events: [INVOKE]", "platform"),  # the platform's, nothing kept
        ("", "blank"),
        ("[1, 2]", "not-json"),
        ("plain text", "not-json"),
        ("{not json", "malformed-json"),
    ):
        got = parse_line(text)
        assert (got.doc, got.kind) == (None, kind), text
    whole = json.dumps(emf(1, Duration=3.0)[0])
    truncated = parse_line(whole[: len(whole) // 2])
    assert truncated.kind == "malformed-emf" and "truncated?" in truncated.detail
    no_time = parse_line(json.dumps({"_aws": {"CloudWatchMetrics": []}, "Duration": 1}))
    assert no_time.kind == "malformed-emf" and "Timestamp" in no_time.detail


def test_a_registered_parser_turns_platform_lines_into_documents() -> None:
    from diagnostics import sources

    saved = list(sources.LINE_PARSERS)

    def report(text: str) -> dict | None:
        if text.startswith("REPORT RequestId:"):
            return {"platform": "report", "aws_request_id": text.split()[2]}
        return None

    try:
        register_line_parser("platform-report", report)
        assert parse_line("REPORT RequestId: 8f0e Duration: 3 ms").doc == {
            "platform": "report",
            "aws_request_id": "8f0e",
        }
        assert parse_line("START RequestId: 8f0e").kind == "platform"  # the recogniser still runs after it
    finally:
        sources.LINE_PARSERS[:] = saved


def test_doc_time_reads_log_and_emf_times() -> None:
    assert doc_time(line(5, "x")) == at(5)
    assert doc_time(emf(7, Duration=1.0)[0]) == at(7)
    assert doc_time({"message": "no time"}) is None


def test_file_source_reads_files_and_directories_within_the_window(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    whole = json.dumps(emf(3, Duration=3.0)[0])
    (tmp_path / "a" / "one.jsonl").write_text(
        json.dumps(line(1, "first")) + "\nSTART RequestId: x\n" + json.dumps(line(400, "late")) + "\n"
        + whole[:200] + "\n"
    )  # fmt: skip
    (tmp_path / "two.log").write_text(json.dumps(emf(2, Duration=3.0)[0]) + "\n\n")
    (tmp_path / "notes.md").write_text('{"message": "not a log file"}\n')
    src = FileLogSource(tmp_path)
    docs = list(src.read(Selection.everything(Window(at(0), at(300)))))
    assert [d.get("message", "emf") for d in docs] == ["first", "emf"]
    st = src.stats
    assert st.skipped.counts == {"platform": 1, "malformed-emf": 1}  # blank lines are not counted
    assert st.skipped.malformed == 1 and st.lines_fetched == 6 and st.lines_matched == 2
    (broken,) = st.skipped.examples
    assert broken.where == f"{tmp_path / 'a' / 'one.jsonl'}:4" and broken.kind == "malformed-emf"


def test_file_source_parses_only_the_lines_that_can_match(tmp_path: Path) -> None:
    rows = [line(i, f"line {i}", cid=f"run-{i % 7}", rid=f"req-{i % 3}") for i in range(70)]
    path = tmp_path / "x.jsonl"
    cut = '{"level": "error", "correlation_id": "run-3", "message": "cut sho'  # truncated on the way
    path.write_text("".join(json.dumps(r) + "\n" for r in rows) + cut + "\n" + "{broken run-5\n")
    src = FileLogSource(path)
    got = list(src.read(Selection.ids(Window(), "correlation_id", ["run-3"])))
    assert [d["message"] for d in got] == [f"line {i}" for i in range(3, 70, 7)]
    assert src.stats.lines_fetched == 72 and src.stats.lines_parsed == 11  # 10 lines + the cut one
    assert src.stats.skipped.counts == {"malformed-json": 1}  # the id's own broken line is reported
    by_rid = FileLogSource(path)
    assert len(list(by_rid.read(Selection.ids(Window(), "aws_request_id", ["req-1", "req-2"])))) == 46


def test_file_source_errors_name_the_path(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match=r"--logs .*missing\.jsonl: no such file or directory"):
        list(FileLogSource(tmp_path / "missing.jsonl").read(Selection.everything(Window())))
    with pytest.raises(SourceError, match="holds no log files"):
        list(FileLogSource(tmp_path).read(Selection.everything(Window())))


def _write(root: Path, key: str, doc: dict) -> None:
    path = root / key
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc))


def test_quarantine_mirror_is_read_from_its_root_or_the_quarantine_folder(tmp_path: Path) -> None:
    _write(tmp_path, "quarantine/source/_/page-000001.json", {"correlation_id": "c1", "records": []})
    _write(tmp_path, "quarantine/messages/m-1.json", {"correlation_id": "c2", "reasons": ["r"], "body": "x"})
    keys = sorted(d.key for d in DirQuarantineSource(tmp_path).read())
    assert keys == ["quarantine/messages/m-1.json", "quarantine/source/_/page-000001.json"]
    named = DirQuarantineSource(tmp_path).read(keys=["quarantine/messages/m-1.json"])
    assert [d.key for d in named] == ["quarantine/messages/m-1.json"]
    assert sorted(d.key for d in DirQuarantineSource(tmp_path / "quarantine").read()) == keys
    (tmp_path / "quarantine" / "bad.json").write_text("[1")
    with pytest.raises(SourceError, match=r"bad\.json: not a JSON quarantine document"):
        DirQuarantineSource(tmp_path).read()
    with pytest.raises(SourceError, match="no such directory"):
        DirQuarantineSource(tmp_path / "nope").read()


def test_quarantine_document_kinds_and_records() -> None:
    batch = QuarantineDoc(
        "quarantine/source/_/page-000002.json",
        {
            "quarantined_at": "2026-11-26T04:00:01.000Z",
            "correlation_id": "run-1",
            "task": {"source": "src"},
            "records": [{"record": {"id": "a"}, "reasons": ["id: bad"]}],
        },
    )
    assert (batch.kind, batch.count, batch.correlation_id, batch.source) == ("records", 1, "run-1", "src")
    assert batch.quarantined_at == at(1)
    page = QuarantineDoc(
        "quarantine/source/_/page-000003.malformed.json", {"reasons": ["bad body"], "body": "{x"}
    )
    assert page.kind == "malformed-page" and page.records == [{"record": "{x", "reasons": ["bad body"]}]
    msg = QuarantineDoc(
        "quarantine/messages/m.json", {"reasons": ["not JSON"], "body": "x"}, metadata={"correlation_id": "m"}
    )
    assert msg.kind == "message" and msg.correlation_id == "m"
    assert QuarantineDoc("quarantine/a.unstorable.json", {"records": []}).kind == "unstorable"


def test_dlq_messages_describe_themselves_without_their_data(tmp_path: Path) -> None:
    task = {"task": {"source": "src", "partition": "p1", "start_page": 3, "end_page": 4}}
    raw = [
        {
            "MessageId": "m1",
            "Body": json.dumps(task),
            "Attributes": {
                "ApproximateReceiveCount": "3",
                "SentTimestamp": str(int(at(0).timestamp() * 1000)),
            },
            "MessageAttributes": {"correlation_id": {"StringValue": "run-1", "DataType": "String"}},
        },
        {"MessageId": "m2", "Body": json.dumps({"records": [{"nric": "S1234567D"}], "source": "push"})},
        {"MessageId": "m3", "Body": "not json"},
    ]
    path = tmp_path / "dlq.jsonl"
    path.write_text("".join(json.dumps(m) + "\n" for m in raw))
    msgs = FileDLQSource(path).read()
    assert [m.kind for m in msgs] == ["task", "records", "unparseable"]
    assert msgs[0].describe() == "task src partition p1 pages 3..4"
    assert (msgs[0].correlation_id, msgs[0].receive_count, msgs[0].sent_at) == ("run-1", 3, at(0))
    assert "S1234567D" not in msgs[1].describe() and msgs[1].describe() == "1 pushed record(s) from push"
    path.write_text(json.dumps(raw[0]) + "\n{oops\n")
    with pytest.raises(SourceError, match="line 2: not JSON"):
        FileDLQSource(path).read()
    assert DLQMessage.from_sqs({"MessageId": "x", "Body": "{}"}).kind == "other"


class _Paginator:
    def __init__(self, pages: list[dict]) -> None:
        self.pages = pages
        self.kwargs: dict = {}

    def paginate(self, **kwargs: object) -> list[dict]:
        self.kwargs = dict(kwargs)
        return self.pages


class _Logs:
    """A stand-in logs client that, like an emulator, ignores the time range it is given."""

    def __init__(self, pages: list[dict]) -> None:
        self.paginator = _Paginator(pages)

    def get_paginator(self, name: str) -> _Paginator:
        assert name == "filter_log_events"
        return self.paginator


def test_cloudwatch_source_filters_the_window_itself() -> None:
    inside, outside = line(10, "inside"), line(4000, "outside")
    untimed = {"message": "no timestamp field", "level": "info"}
    events = [
        {"timestamp": int(at(10).timestamp() * 1000), "message": json.dumps(inside) + "\n"},
        {"timestamp": int(at(4000).timestamp() * 1000), "message": json.dumps(outside)},
        {"timestamp": int(at(20).timestamp() * 1000), "message": "END RequestId: 8f0e"},
        {"timestamp": int(at(30).timestamp() * 1000), "message": json.dumps(untimed)},
    ]
    client = _Logs([{"events": events[:2]}, {"events": events[2:]}])
    src = CloudWatchLogSource(["/aws/lambda/ingest-worker"], client=client)
    docs = list(src.read(Selection.everything(Window(at(0), at(3600)))))
    assert [d["message"] for d in docs] == ["inside", "no timestamp field"]
    assert docs[1]["timestamp"] == "2026-11-26T04:00:30.000Z"  # the event's time when the line has none
    assert src.stats.skipped.counts == {"platform": 1} and src.stats.lines_fetched == 4
    assert client.paginator.kwargs == {
        "logGroupName": "/aws/lambda/ingest-worker",
        "startTime": int(at(0).timestamp() * 1000),
        "endTime": int(at(3600).timestamp() * 1000),
    }
    # an id is asked for with a quoted-term pattern; what comes back is re-checked all the same
    list(src.read(Selection.ids(Window(at(0), at(3600)), "correlation_id", ["run-7"])))
    assert client.paginator.kwargs["filterPattern"] == '"run-7"'
    with pytest.raises(SourceError, match="give at least one log group"):
        CloudWatchLogSource([])


def test_importing_the_cli_loads_nothing_heavy() -> None:
    code = (
        "import sys, diagnostics, diagnostics.cli, diagnostics.core; "
        "heavy = ('pandas', 'numpy', 'boto3', 'botocore', 'matplotlib'); "
        "heavy = sorted(m for m in heavy if m in sys.modules); "
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO)
    assert out.stdout.strip() == ""


def test_progress_shows_only_for_steps_over_a_second(monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    from diagnostics import progress

    now = [0.0]
    monkeypatch.setattr(progress.time, "monotonic", lambda: now[0])
    buf = io.StringIO()
    p = progress.Progress(buf)  # not a terminal: plain lines, at most every few seconds
    with p.step("quick", total=10) as s:
        s.advance(5)
    assert buf.getvalue() == "", "nothing for a step under a second"
    with p.step("reading x", total=100, unit="lines") as s:
        now[0] = 2.0
        s.advance(50, items=1_000)
        now[0] = 3.0
        s.advance(10, items=100)  # within PLAIN_EVERY_S of the last line: not repeated
    lines = buf.getvalue().splitlines()
    assert lines == [
        "observe-diag: reading x 50% 1,000 lines 2s",
        "observe-diag: reading x 60% 1,100 lines 3s done",
    ]
    quiet = io.StringIO()
    with progress.Progress(quiet, enabled=False).step("reading y") as s:
        now[0] = 10.0
        s.advance(1)
    assert quiet.getvalue() == ""


def test_the_block_search_finds_what_the_line_loop_finds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Searching a file in blocks for the selection's tokens gives the same lines, numbers and skips
    as reading it line by line, whatever the block size (lines cut by a block edge included)."""
    from diagnostics import sources

    rows = [json.dumps(line(i, f"m{i}", cid=f"run-{i % 5}", rid=f"r{i % 4}")) for i in range(60)]
    rows[13] = '{"correlation_id": "run-3", "message": "cut on the wa'  # truncated, still naming its id
    rows[27] = '{"correlation_id": "run-2", "message": "' + "x" * 300 + '"}'  # longer than a block
    path = tmp_path / "x.jsonl"
    path.write_text("\n".join(rows))  # no newline at the end
    sel = Selection.ids(Window(), "correlation_id", ["run-2", "run-3"])
    expected = [json.loads(r) for r in rows if ('"run-2"' in r or '"run-3"' in r) and r.endswith("}")]
    for block in (64, 100, 4096, 1 << 22):
        monkeypatch.setattr(sources, "SCAN_BLOCK", block)
        src = FileLogSource(path)
        assert list(src.read(sel)) == expected, block
        assert src.stats.lines_fetched == 60 and src.stats.skipped.counts == {"malformed-json": 1}, block
        assert src.stats.skipped.examples[0].where == f"{path}:14", block
