"""Where the evidence comes from, behind one small interface per kind, read only as far as asked.

- Log lines and EMF documents (:class:`LogSource`): a local JSONL file or directory
  (:class:`FileLogSource`, streamed line by line, a raw-bytes test before any line is parsed),
  CloudWatch Logs (:class:`CloudWatchLogSource`: ``filter_log_events`` with a filter pattern per
  id, or a Logs Insights query), or documents already in memory (:class:`MemoryLogSource`).
  Every source is asked with a :class:`~diagnostics.queries.Selection` and re-checks each line
  against it client-side, whatever the service did with the pattern or the query.
- Quarantine documents: the backup bucket (:class:`S3QuarantineSource`) or a local mirror of its
  ``quarantine/`` prefix (:class:`DirQuarantineSource`).
- DLQ messages: the queue itself (:class:`SQSDLQSource`, peeked and never deleted) or a JSONL
  dump of ``receive_message`` answers (:class:`FileDLQSource`).

Lines are turned into documents by the parsers of :data:`LINE_PARSERS` (JSON objects, with or
without a text prefix; the Lambda runtime's platform lines are recognised and set aside); a
later parser can be registered with :func:`register_line_parser`. What could not be parsed is
kept in :class:`SkipLog` with where it was (``file:line`` or group/stream and time) and what it
looked like, and an EMF document that failed to parse is called out as such.

boto3 is imported only by the AWS sources, when they read.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from diagnostics import queries
from diagnostics.model import DLQMessage, QuarantineDoc, SourceError, Window, doc_time, from_ms, iso
from diagnostics.platform import IGNORED, PLATFORM_ROOT, Ignored, from_record, is_platform, parse_text
from diagnostics.progress import QUIET, Progress
from diagnostics.queries import EMF_ROOT, INSIGHTS_MAX_ROWS, Selection

LOG_SUFFIXES = (".jsonl", ".json", ".log", ".ndjson", ".txt")
#: How much of a file is searched at a time for the tokens a selection's lines must hold.
SCAN_BLOCK = 4 << 20
#: How many skipped lines are kept with their place (the rest are counted).
SKIP_EXAMPLES = 20

# --- turning a line into a document ------------------------------------------------------------------


#: A parser: the text of a line -> a document, IGNORED (known, nothing to keep) or None (not mine).
LineParser = Callable[[str], "dict[str, Any] | Ignored | None"]


def platform_line(text: str) -> dict[str, Any] | Ignored | None:
    """The Lambda platform's Text-format lines (``START``/``REPORT RequestId: ...``, ``Task timed
    out``, ``INIT_REPORT`` ...) as platform documents (:mod:`diagnostics.platform`)."""
    return parse_text(text)


#: Tried in order on every line that does not start with a JSON object.
LINE_PARSERS: list[tuple[str, LineParser]] = [("platform", platform_line)]


def register_line_parser(name: str, parser: LineParser, *, first: bool = True) -> None:
    """Add (or replace) a parser for lines that hold no JSON object, e.g. the platform lines."""
    LINE_PARSERS[:] = [(n, p) for n, p in LINE_PARSERS if n != name]
    LINE_PARSERS.insert(0 if first else len(LINE_PARSERS), (name, parser))


@dataclass(frozen=True)
class Parsed:
    """What one line held: a document, or why there is none (``kind``) and a detail."""

    doc: dict[str, Any] | None
    kind: str = "doc"  # doc | blank | platform | not-json | malformed-json | malformed-emf
    detail: str = ""


_BLANK = Parsed(None, "blank")


def _loads(raw: bytes | str) -> Any:
    import orjson

    return orjson.loads(raw)


def parse_line(raw: bytes | str) -> Parsed:
    """The document on one log line.

    A JSON object may follow a text prefix (``2026-... <request id> INFO {...}``); an EMF
    document must have an ``_aws`` object with a numeric ``Timestamp``, or it is reported as a
    malformed EMF document (its metrics would be missing from every chart and alarm otherwise).
    """
    text = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else raw
    text = text.strip()
    if not text:
        return _BLANK
    start = text.find("{")
    if start != 0:
        for name, parser in LINE_PARSERS:
            got = parser(text)
            if isinstance(got, dict):
                return Parsed(got, "platform" if is_platform(got) else "doc")
            if got is IGNORED:
                return Parsed(None, name)
        if start < 0:
            return Parsed(None, "not-json", "no JSON object on the line")
    body = text[start:]
    try:
        doc = _loads(body)
    except ValueError as exc:
        kind = "malformed-emf" if f'"{EMF_ROOT}"' in body else "malformed-json"
        return Parsed(None, kind, f"{exc}; {len(body)} characters (truncated?)")
    if not isinstance(doc, dict):
        return Parsed(None, "not-json", f"a JSON {type(doc).__name__}, not an object")
    if EMF_ROOT in doc:
        aws = doc[EMF_ROOT]
        if not isinstance(aws, dict) or not isinstance(aws.get("Timestamp"), int | float):
            return Parsed(None, "malformed-emf", f"{EMF_ROOT}.Timestamp missing or not a number")
        if not isinstance(aws.get("CloudWatchMetrics"), list):
            return Parsed(None, "malformed-emf", f"{EMF_ROOT}.CloudWatchMetrics missing or not a list")
    elif isinstance(doc.get("type"), str) and doc["type"].startswith("platform."):
        record = from_record(doc)
        if record is not None:
            return Parsed(record, "platform")
    return Parsed(doc)


#: What each kind of skipped line is called in reports.
SKIP_KINDS = {
    "malformed-emf": "an EMF document that failed to parse (its metrics are missing)",
    "malformed-json": "a JSON line that failed to parse",
    "not-json": "not a JSON line",
    "platform": "a Lambda platform line (START/END/REPORT ...), not needed by the question",
}


@dataclass
class Skipped:
    where: str  # file:line, or group/stream @ time
    kind: str
    detail: str
    preview: str  # the start of the line, masked


@dataclass
class SkipLog:
    """Lines that gave no document: counted by kind, the first few kept with their place."""

    counts: Counter[str] = field(default_factory=Counter)
    examples: list[Skipped] = field(default_factory=list)

    def add(self, where: str, parsed: Parsed, raw: bytes | str) -> None:
        self.counts[parsed.kind] += 1
        if parsed.kind != "platform" and len(self.examples) < SKIP_EXAMPLES:
            from observe.redact import redact_text

            text = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else raw
            self.examples.append(Skipped(where, parsed.kind, parsed.detail, redact_text(text.strip()[:100])))

    @property
    def malformed(self) -> int:
        """Lines that should have been documents and were not (platform lines excluded)."""
        return sum(n for k, n in self.counts.items() if k != "platform")

    def merge(self, other: SkipLog) -> None:
        self.counts.update(other.counts)
        room = SKIP_EXAMPLES - len(self.examples)
        self.examples += other.examples[: max(0, room)]


@dataclass
class ReadStats:
    """What reading cost and gave: requests, lines and bytes fetched, lines parsed and matched."""

    requests: int = 0
    lines_fetched: int = 0
    bytes_fetched: int = 0
    lines_parsed: int = 0
    lines_matched: int = 0
    skipped: SkipLog = field(default_factory=SkipLog)
    notes: list[str] = field(default_factory=list)  # caps hit, patterns an emulator ignored ...

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    def merge(self, other: ReadStats) -> None:
        self.requests += other.requests
        self.lines_fetched += other.lines_fetched
        self.bytes_fetched += other.bytes_fetched
        self.lines_parsed += other.lines_parsed
        self.lines_matched += other.lines_matched
        self.skipped.merge(other.skipped)
        for n in other.notes:
            self.note(n)


class LogSource(Protocol):
    """Reads the log lines and EMF documents a selection wants, each re-checked client-side."""

    description: str
    kind: str  # "file" | "memory" | "cloudwatch"
    stats: ReadStats
    progress: Progress

    def read(self, sel: Selection) -> Iterator[dict[str, Any]]: ...


# --- documents in memory ----------------------------------------------------------------------------


class MemoryLogSource:
    """Documents already parsed (a notebook's, a test's)."""

    kind = "memory"

    def __init__(self, docs: Iterable[dict[str, Any]], description: str = "documents in memory"):
        self.docs = list(docs)
        self.description = description
        self.stats = ReadStats()
        self.progress = QUIET

    def read(self, sel: Selection) -> Iterator[dict[str, Any]]:
        self.stats.requests += 1
        for doc in self.docs:
            self.stats.lines_fetched += 1
            self.stats.lines_parsed += 1
            if sel.matches(doc):
                self.stats.lines_matched += 1
                yield doc


# --- files ---------------------------------------------------------------------------------------------


class FileLogSource:
    """A JSONL file, or every ``*.jsonl`` / ``*.json`` / ``*.log`` ... file under a directory, streamed."""

    kind = "file"

    def __init__(self, path: str | Path, *, progress: Progress = QUIET):
        self.path = Path(path)
        self.description = f"file {self.path}" if not self.path.is_dir() else f"directory {self.path}"
        self.stats = ReadStats()
        self.progress = progress

    def files(self) -> list[Path]:
        """The files read, in name order; SourceError if the path does not exist or holds none."""
        if self.path.is_file():
            return [self.path]
        if self.path.is_dir():
            found = sorted(p for p in self.path.rglob("*") if p.is_file() and p.suffix in LOG_SUFFIXES)
            if not found:
                raise SourceError(
                    f"--logs {self.path}: the directory holds no log files ({', '.join(LOG_SUFFIXES)})"
                )
            return found
        raise SourceError(f"--logs {self.path}: no such file or directory")

    def read(self, sel: Selection) -> Iterator[dict[str, Any]]:
        files = self.files()
        test = queries.prefilter(sel)
        tokens = queries.screen_tokens(sel)
        total = sum(f.stat().st_size for f in files)
        with self.progress.step(f"reading {self.path}", total=total, unit="lines") as step:
            for f in files:
                self.stats.requests += 1
                if test is not None and tokens:
                    yield from self._scan(f, sel, test, tokens, step)
                else:
                    yield from self._lines(f, sel, test, step)
                self.stats.bytes_fetched += f.stat().st_size

    def _open(self, f: Path) -> Any:
        try:
            return f.open("rb")
        except OSError as exc:
            raise SourceError(f"--logs {f}: cannot read it ({exc.strerror})") from None

    def _take(self, raw: bytes, where: Callable[[], str], sel: Selection) -> dict[str, Any] | None:
        """One candidate line: parsed, its failure recorded, re-checked against the selection."""
        st = self.stats
        st.lines_parsed += 1
        parsed = parse_line(raw)
        if parsed.doc is None:
            if parsed.kind != "blank":
                st.skipped.add(where(), parsed, raw)
            return None
        if sel.matches(parsed.doc):
            st.lines_matched += 1
            return parsed.doc
        if parsed.kind == "platform":
            st.skipped.add(where(), parsed, raw)  # counted as set aside, not as malformed
        return None

    def _lines(
        self, f: Path, sel: Selection, test: Callable[[bytes], bool] | None, step: Any
    ) -> Iterator[dict[str, Any]]:
        """Every line, with the byte test when there is one (conditions no token can screen)."""
        n = done = 0
        with self._open(f) as handle:
            for n, raw in enumerate(handle, 1):
                done += len(raw)
                if n % 20_000 == 0:
                    step.advance(done, items=20_000)
                    done = 0
                if test is not None and not test(raw):
                    continue
                doc = self._take(raw, lambda n=n: f"{f}:{n}", sel)  # type: ignore[misc]
                if doc is not None:
                    yield doc
        self.stats.lines_fetched += n
        step.advance(done, items=n % 20_000)

    def _scan(
        self, f: Path, sel: Selection, test: Callable[[bytes], bool], tokens: tuple[bytes, ...], step: Any
    ) -> Iterator[dict[str, Any]]:
        """Blocks of the file searched for the tokens a wanted line must hold; only the lines around a
        hit are cut out, tested and parsed (the rest is never split into lines)."""
        rx = re.compile(b"|".join(re.escape(t) for t in sorted(set(tokens), key=len, reverse=True)))
        before = 0  # lines before the current block
        carry = b""
        with self._open(f) as handle:
            while True:
                block = handle.read(SCAN_BLOCK)
                data = carry + block
                if not data:
                    break
                if block:
                    cut = data.rfind(b"\n") + 1
                    if cut == 0:  # one line longer than a block: read on
                        carry = data
                        continue
                    data, carry = data[:cut], data[cut:]
                else:
                    carry = b""
                newlines = data.count(b"\n")
                last_start, counted_to, lines_to = -1, 0, 0
                for m in rx.finditer(data):
                    start = data.rfind(b"\n", 0, m.start()) + 1
                    if start == last_start:
                        continue
                    last_start = start
                    end = data.find(b"\n", m.end())
                    end = len(data) if end < 0 else end
                    lines_to += data.count(b"\n", counted_to, start)
                    counted_to = start
                    raw = data[start:end]
                    if not test(raw):
                        continue
                    number = before + lines_to + 1
                    doc = self._take(raw, lambda number=number: f"{f}:{number}", sel)  # type: ignore[misc]
                    if doc is not None:
                        yield doc
                lines = newlines + (0 if data.endswith(b"\n") else 1)
                before += newlines
                self.stats.lines_fetched += lines
                step.advance(len(block), items=lines)
                if not block:
                    break


# --- CloudWatch Logs ------------------------------------------------------------------------------------

ENGINES = ("auto", "filter", "insights")
#: ``auto`` switches to Logs Insights for windows longer than this.
INSIGHTS_FROM = timedelta(hours=24)


def _aws_error(exc: Exception, what: str, service: str) -> SourceError:
    """A botocore error as a SourceError that names the option and what to do."""
    from botocore.exceptions import ClientError, NoCredentialsError, NoRegionError

    if isinstance(exc, ClientError):
        err = exc.response.get("Error", {})
        message = " ".join(str(err.get("Message") or "").split())
        if message.startswith("<") or len(message) > 200:  # an HTML error page, not a message
            message = f"HTTP {exc.response.get('ResponseMetadata', {}).get('HTTPStatusCode', '?')}"
        return SourceError(f"{what}: {service} refused ({err.get('Code')}): {message}")
    if isinstance(exc, NoRegionError):
        return SourceError(f"{what}: no AWS region: pass --region or set AWS_REGION")
    if isinstance(exc, NoCredentialsError):
        return SourceError(f"{what}: no AWS credentials (set AWS_PROFILE or the AWS_* variables)")
    return SourceError(f"{what}: cannot reach {service} ({exc})")


def _iso_ms(ms: int) -> str:
    return from_ms(ms).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class CloudWatchLogSource:
    """Log groups of CloudWatch Logs, asked for the lines a selection wants.

    ``engine``: ``filter`` (``filter_log_events``, one quoted-term pattern per id, paginated),
    ``insights`` (one Logs Insights query, polled with backoff, at most ``insights_limit`` rows)
    or ``auto`` (Insights for windows longer than a day or open-ended, else filter).
    """

    kind = "cloudwatch"

    def __init__(
        self,
        groups: Iterable[str],
        *,
        client: Any = None,
        region: str | None = None,
        engine: str = "auto",
        query_timeout: float = 120.0,
        insights_limit: int = INSIGHTS_MAX_ROWS,
        progress: Progress = QUIET,
    ):
        self.groups = list(groups)
        if not self.groups:
            raise SourceError(
                "--log-group: give at least one log group name (e.g. /aws/lambda/ingest-worker)"
            )
        if engine not in ENGINES:
            raise SourceError(f"--engine {engine!r}: choose one of {', '.join(ENGINES)}")
        self.client = client
        self.region = region
        self.engine = engine
        self.query_timeout = query_timeout
        self.insights_limit = insights_limit
        self.description = "log groups " + ", ".join(self.groups)
        self.stats = ReadStats()
        self.progress = progress

    def _client(self) -> Any:
        if self.client is None:
            import boto3

            self.client = boto3.client("logs", region_name=self.region)
        return self.client

    def engine_for(self, window: Window) -> str:
        if self.engine != "auto":
            return self.engine
        if window.start is None or window.end is None or window.end - window.start > INSIGHTS_FROM:
            return "insights"
        return "filter"

    def read(self, sel: Selection) -> Iterator[dict[str, Any]]:
        if self.engine_for(sel.span()) == "insights":
            yield from self._read_insights(sel)
        else:
            yield from self._read_filter(sel)

    def _accept(
        self, message: str, timestamp: int | None, where: str, sel: Selection, stream: str | None = None
    ) -> dict[str, Any] | None:
        st = self.stats
        st.lines_fetched += 1
        st.bytes_fetched += len(message.encode("utf-8", errors="replace"))
        st.lines_parsed += 1
        parsed = parse_line(message)
        if parsed.doc is None:
            if parsed.kind != "blank":
                st.skipped.add(where, parsed, message)
            return None
        doc = parsed.doc
        if doc_time(doc) is None and isinstance(timestamp, int):
            doc["timestamp"] = _iso_ms(timestamp)
        if not sel.matches(doc):  # client-side, whatever the service did with the pattern
            if parsed.kind == "platform":
                st.skipped.add(where, parsed, message)
            return None
        if stream and parsed.kind == "platform":
            doc[PLATFORM_ROOT]["stream"] = stream  # which environment: lines without an id are placed by it
        st.lines_matched += 1
        return doc

    def _read_filter(self, sel: Selection) -> Iterator[dict[str, Any]]:
        from botocore.exceptions import BotoCoreError, ClientError

        pairs = queries.filter_patterns(sel)
        if any(p is None for _, p in pairs):  # some clause needs every line: one unfiltered read
            pairs = [(queries.Clause(window=sel.span()), None)]
        seen: set[str] | None = set() if len(pairs) > 1 else None
        client = self._client()
        with self.progress.step(f"filter_log_events on {len(self.groups)} group(s)", unit="lines") as step:
            for group in self.groups:
                for clause, pattern in pairs:
                    w = clause.window or sel.window
                    kwargs: dict[str, Any] = {"logGroupName": group}
                    if w.start_ms is not None:
                        kwargs["startTime"] = w.start_ms
                    if w.end_ms is not None:
                        kwargs["endTime"] = w.end_ms
                    if pattern:
                        kwargs["filterPattern"] = pattern
                    try:
                        for page in client.get_paginator("filter_log_events").paginate(**kwargs):
                            self.stats.requests += 1
                            events = page.get("events", [])
                            step.advance(len(events), items=len(events))
                            for event in events:
                                if seen is not None:
                                    eid = str(event.get("eventId"))
                                    if eid in seen:
                                        continue
                                    seen.add(eid)
                                ts = event.get("timestamp")
                                when = iso(from_ms(ts)) if ts else "?"
                                where = f"{group}/{event.get('logStreamName', '?')} @ {when}"
                                doc = self._accept(
                                    event.get("message", ""), ts, where, sel, event.get("logStreamName")
                                )
                                if doc is not None:
                                    doc.setdefault("@log", group)
                                    yield doc
                    except ClientError as exc:
                        if exc.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
                            raise SourceError(f"--log-group {group}: no such log group") from None
                        raise _aws_error(exc, f"--log-group {group}", "CloudWatch Logs") from None
                    except BotoCoreError as exc:
                        raise _aws_error(exc, f"--log-group {group}", "CloudWatch Logs") from None

    def _read_insights(self, sel: Selection) -> Iterator[dict[str, Any]]:
        from diagnostics.cloudwatch import run_insights

        span = sel.span()
        if span.start is None:
            raise SourceError("Logs Insights needs a window start: pass --since or --start")
        end = span.end or datetime.now(UTC)
        rows = run_insights(
            self._client(),
            self.groups,
            span.start,
            end,
            queries.insights_query(sel, self.insights_limit),
            limit=self.insights_limit,
            timeout=self.query_timeout,
            stats=self.stats,
            progress=self.progress,
        )
        for row in rows:
            message = row.get("@message")
            if message is None:
                self.stats.note("Logs Insights rows without @message were ignored")
                continue
            ts = _insights_time(row.get("@timestamp"))
            where = f"{row.get('@log', '?')}/{row.get('@logStream', '?')} @ {row.get('@timestamp', '?')}"
            doc = self._accept(message, ts, where, sel, row.get("@logStream"))
            if doc is not None:
                if row.get("@log"):
                    doc.setdefault("@log", str(row["@log"]).split(":")[-1])
                yield doc


def _insights_time(value: str | None) -> int | None:
    """``2026-11-26 04:05:06.789`` (Insights' @timestamp, UTC) or epoch ms as text -> epoch ms."""
    if not value:
        return None
    if value.isdigit():
        return int(value)
    try:
        t = datetime.fromisoformat(value.replace(" ", "T"))
    except ValueError:
        return None
    return int((t.replace(tzinfo=UTC) if t.tzinfo is None else t).timestamp() * 1000)


# --- quarantine -------------------------------------------------------------------------------------------


class QuarantineSource(Protocol):
    """Reads quarantine documents: those named, those written in given time ranges, or all in a
    window (all of them when none of these is given)."""

    description: str
    fetched: int  # documents read so far

    def read(
        self,
        *,
        window: Window | None = None,
        keys: Iterable[str] = (),
        ranges: Sequence[tuple[datetime, datetime]] = (),
    ) -> list[QuarantineDoc]: ...


def _load_json(raw: bytes, where: str) -> dict[str, Any]:
    try:
        doc = json.loads(raw)
    except ValueError as exc:
        raise SourceError(f"{where}: not a JSON quarantine document ({exc})") from None
    if not isinstance(doc, dict):
        raise SourceError(f"{where}: a quarantine document must be a JSON object, found {type(doc).__name__}")
    return doc


def _wanted(
    key: str,
    when: datetime | None,
    window: Window | None,
    keys: set[str],
    ranges: Sequence[tuple[datetime, datetime]],
) -> bool:
    """Named, written in one of the ranges, or in the window; asked for nothing in particular: all."""
    if window is None and not keys and not ranges:
        return True
    if key in keys:
        return True
    if when is not None and any(lo <= when <= hi for lo, hi in ranges):
        return True
    return window is not None and window.contains(when)


class _AllAtOnce:
    """A quarantine source read whole once (a local mirror, documents in memory), then filtered."""

    description: str
    fetched: int = 0
    _docs: list[QuarantineDoc] | None = None

    def _load(self) -> list[QuarantineDoc]:
        raise NotImplementedError

    def read(
        self,
        *,
        window: Window | None = None,
        keys: Iterable[str] = (),
        ranges: Sequence[tuple[datetime, datetime]] = (),
    ) -> list[QuarantineDoc]:
        if self._docs is None:
            self._docs = self._load()
            self.fetched = len(self._docs)
        wanted = set(keys)
        return [d for d in self._docs if _wanted(d.key, d.quarantined_at, window, wanted, ranges)]


class DirQuarantineSource(_AllAtOnce):
    """A local mirror of the bucket: ``ROOT/quarantine/...`` (or ROOT is the quarantine folder itself)."""

    def __init__(self, root: str | Path):
        self.root = Path(root)
        self.description = f"directory {self.root}"

    def _load(self) -> list[QuarantineDoc]:
        if not self.root.is_dir():
            raise SourceError(f"--quarantine-dir {self.root}: no such directory")
        base = self.root / "quarantine" if (self.root / "quarantine").is_dir() else self.root
        docs = []
        for f in sorted(base.rglob("*.json")):
            key = "quarantine/" + f.relative_to(base).as_posix()
            modified = datetime.fromtimestamp(f.stat().st_mtime, UTC)
            docs.append(QuarantineDoc(key, _load_json(f.read_bytes(), str(f)), modified))
        return docs


class S3QuarantineSource:
    """The newest version of the objects under ``prefix`` in the backup bucket.

    The listing (keys and LastModified) is read whole; only the objects named, or written in a
    range or the window asked for (LastModified within five minutes of it), are fetched.
    """

    SLACK = timedelta(minutes=5)

    def __init__(
        self, bucket: str, prefix: str = "quarantine/", *, client: Any = None, region: str | None = None
    ):
        self.bucket = bucket
        self.prefix = prefix
        self.client = client
        self.region = region
        self.description = f"s3://{bucket}/{prefix}"
        self.fetched = 0
        self._got: dict[str, QuarantineDoc] = {}  # objects already fetched in this session, by key

    def read(
        self,
        *,
        window: Window | None = None,
        keys: Iterable[str] = (),
        ranges: Sequence[tuple[datetime, datetime]] = (),
    ) -> list[QuarantineDoc]:
        from botocore.exceptions import BotoCoreError, ClientError

        if self.client is None:
            import boto3

            self.client = boto3.client("s3", region_name=self.region)
        wanted = set(keys)
        wide = [(lo - self.SLACK, hi + self.SLACK) for lo, hi in ranges]
        wide_window = (
            Window(
                window.start - self.SLACK if window.start else None,
                window.end + self.SLACK if window.end else None,
            )
            if window is not None
            else None
        )
        out = []
        try:
            for page in self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=self.prefix
            ):
                for obj in page.get("Contents", []):
                    if not _wanted(obj["Key"], obj.get("LastModified"), wide_window, wanted, wide):
                        continue
                    doc = self._got.get(obj["Key"])
                    if doc is None:
                        got = self.client.get_object(Bucket=self.bucket, Key=obj["Key"])
                        self.fetched += 1
                        where = f"s3://{self.bucket}/{obj['Key']}"
                        doc = self._got[obj["Key"]] = QuarantineDoc(
                            obj["Key"],
                            _load_json(got["Body"].read(), where),
                            got.get("LastModified"),
                            dict(got.get("Metadata") or {}),
                            got.get("VersionId"),
                        )
                    if _wanted(doc.key, doc.quarantined_at, window, wanted, ranges):
                        out.append(doc)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "NoSuchBucket":
                raise SourceError(f"--bucket {self.bucket}: no such bucket") from None
            raise _aws_error(exc, f"--bucket {self.bucket}", "S3") from None
        except BotoCoreError as exc:
            raise _aws_error(exc, f"--bucket {self.bucket}", "S3") from None
        return out


# --- DLQ ------------------------------------------------------------------------------------------------


class DLQSource(Protocol):
    """Reads the messages of a dead-letter queue without removing them."""

    description: str

    def read(self) -> list[DLQMessage]: ...


def peek_queue(
    queue_url: str, *, max_messages: int = 1000, client: Any = None, hold_seconds: int = 30
) -> list[dict[str, Any]]:
    """Every visible message of a queue, without deleting any.

    Messages are received with a short visibility timeout (so one peek sees each message once),
    then made visible again at once (``ChangeMessageVisibility`` to 0). Receiving counts as a
    receive (``ApproximateReceiveCount`` goes up), which is harmless on a DLQ without its own
    redrive policy. If this process dies mid-peek, the messages reappear after ``hold_seconds``.
    """
    if client is None:
        import boto3

        client = boto3.client("sqs")
    seen: dict[str, dict[str, Any]] = {}
    empty = 0
    try:
        while len(seen) < max_messages and empty < 2:
            batch = client.receive_message(
                QueueUrl=queue_url,
                MaxNumberOfMessages=10,
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
                VisibilityTimeout=hold_seconds,
                WaitTimeSeconds=0,
            ).get("Messages", [])
            fresh = [m for m in batch if m["MessageId"] not in seen]
            empty = 0 if fresh else empty + 1
            for m in fresh:
                seen[m["MessageId"]] = m
    finally:
        handles = [m["ReceiptHandle"] for m in seen.values()]
        for offset in range(0, len(handles), 10):
            client.change_message_visibility_batch(
                QueueUrl=queue_url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": h, "VisibilityTimeout": 0}
                    for i, h in enumerate(handles[offset : offset + 10])
                ],
            )
    return list(seen.values())


class SQSDLQSource:
    """A DLQ on SQS, peeked with :func:`peek_queue` (nothing is deleted)."""

    def __init__(self, queue_url: str, *, client: Any = None, max_messages: int = 1000):
        self.queue_url = queue_url
        self.client = client
        self.max_messages = max_messages
        self.description = f"queue {queue_url}"

    def read(self) -> list[DLQMessage]:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            raw = peek_queue(self.queue_url, max_messages=self.max_messages, client=self.client)
        except (ClientError, BotoCoreError) as exc:
            raise _aws_error(exc, f"--dlq-url {self.queue_url}", "SQS") from None
        return [DLQMessage.from_sqs(m) for m in raw]


class FileDLQSource:
    """A JSONL file of SQS messages as ``receive_message`` returns them (one per line)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.description = f"file {self.path}"

    def read(self) -> list[DLQMessage]:
        if not self.path.is_file():
            raise SourceError(f"--dlq-file {self.path}: no such file")
        out = []
        with self.path.open(encoding="utf-8") as handle:
            for n, line in enumerate(handle, 1):
                if not line.strip():
                    continue
                try:
                    msg = json.loads(line)
                except ValueError as exc:
                    raise SourceError(f"--dlq-file {self.path}, line {n}: not JSON ({exc})") from None
                if not isinstance(msg, dict) or "MessageId" not in msg:
                    raise SourceError(f"--dlq-file {self.path}, line {n}: not an SQS message (no MessageId)")
                out.append(DLQMessage.from_sqs(msg))
        return out


class MemoryQuarantineSource(_AllAtOnce):
    """Quarantine documents already in memory."""

    def __init__(self, docs: Iterable[QuarantineDoc], description: str = "documents in memory"):
        self.docs = list(docs)
        self.description = description

    def _load(self) -> list[QuarantineDoc]:
        return self.docs


class MemoryDLQSource:
    """DLQ messages already in memory."""

    def __init__(self, messages: Iterable[DLQMessage], description: str = "messages in memory"):
        self.messages = list(messages)
        self.description = description

    def read(self) -> list[DLQMessage]:
        return list(self.messages)
