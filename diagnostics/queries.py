"""What a question needs from the logs, and how each kind of source is asked for it.

A :class:`Selection` says which lines a question needs: the lines of one correlation id, the EMF
documents carrying a metric in a breaching period, the lines at error or above. It is a list of
:class:`Clause` (a line is wanted when any clause matches it). Every source applies
:meth:`Selection.matches` itself, client-side, to whatever came back; the translations below only
make the sources send and parse less:

- :func:`filter_patterns`: CloudWatch Logs filter patterns for ``filter_log_events``, one per
  clause (one per id: a quoted term matches the id as a substring, so ``run-7`` also lets
  ``run-70`` through; the re-check drops it);
- :func:`insights_query`: the Logs Insights query text (``fields ... | filter ... | sort | limit``);
- :func:`prefilter`: a cheap test on a file line's raw bytes before it is parsed.

A translation may let through more than matches (a longer id, an emulator that ignores JSON
patterns or Insights ``filter``) but never less. Field names come from
:data:`observe.catalogue.LOG_FIELDS`, metric names from the catalogue.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from diagnostics.model import Window, doc_time
from diagnostics.platform import PLATFORM_TERMS, is_platform, is_runtime_error
from observe.catalogue import LOG_FIELDS

#: Level names (lower case) and their numbers; anything else counts as info.
LEVELS = {"debug": 10, "info": 20, "warning": 30, "warn": 30, "error": 40, "critical": 50, "fatal": 50}
#: The hard cap of one Logs Insights query's results.
INSIGHTS_MAX_ROWS = 10_000
#: The longest filter pattern CloudWatch Logs accepts.
MAX_PATTERN = 1024
#: Field an EMF document is recognised by (its metadata object).
EMF_ROOT = "_aws"
_PLATFORM_TOKENS = [t.encode() for t in PLATFORM_TERMS]


def level_of(doc: dict[str, Any]) -> int:
    """The numeric level of a log line (info when absent or unknown)."""
    return LEVELS.get(str(doc.get(LOG_FIELDS.level, "info")).lower(), 20)


def is_emf(doc: dict[str, Any]) -> bool:
    return isinstance(doc.get(EMF_ROOT), dict)


def emf_metrics(doc: dict[str, Any]) -> set[str]:
    """The metric names an EMF document declares."""
    out: set[str] = set()
    for directive in (doc.get(EMF_ROOT) or {}).get("CloudWatchMetrics") or []:
        if isinstance(directive, dict):
            out.update(str(m.get("Name")) for m in directive.get("Metrics") or [] if isinstance(m, dict))
    return out


@dataclass(frozen=True)
class Clause:
    """One kind of wanted line; every condition given must hold.

    ``field``/``values``: the field's value (as text) is one of ``values``; ``emf``: only EMF
    documents (True) or only log lines (False); ``metric``: an EMF document declaring it;
    ``min_level``: a log line at or above; ``present``: the field is there and not empty;
    ``logger_prefix``: the logger's name starts with it; ``window``: overrides the selection's;
    ``platform``: the Lambda platform's lines (:mod:`diagnostics.platform`) and the runtime's error
    records, and nothing else (no other clause ever matches a platform line).
    """

    field: str | None = None
    values: frozenset[str] = frozenset()
    emf: bool | None = None
    metric: str | None = None
    min_level: int | None = None
    present: str | None = None
    logger_prefix: str | None = None
    window: Window | None = None
    platform: bool = False

    def __post_init__(self) -> None:
        if (self.field is None) != (not self.values):
            raise ValueError("Clause: give field and values together")
        if self.metric is not None and self.emf is False:
            raise ValueError("Clause: a metric is carried by EMF documents only")
        if self.platform and (
            self.field or self.metric or self.min_level or self.present or self.logger_prefix
        ):
            raise ValueError("Clause: platform lines are selected whole (only a window goes with them)")

    @property
    def wants_emf(self) -> bool | None:
        if self.platform:
            return False
        if self.metric is not None:
            return True
        if self.min_level is not None or self.logger_prefix is not None:
            return False
        return self.emf

    def matches(self, doc: dict[str, Any], default: Window) -> bool:
        """Whether ``doc`` is wanted (its time inside the clause's window, or the selection's)."""
        if self.platform:
            if not (is_platform(doc) or is_runtime_error(doc)):
                return False
        elif is_platform(doc):
            return False
        emf = is_emf(doc)
        wants = self.wants_emf
        if wants is not None and wants != emf:
            return False
        if self.field is not None:
            value = doc.get(self.field)
            if value is None or str(value) not in self.values:
                return False
        if self.metric is not None and self.metric not in emf_metrics(doc):
            return False
        if self.min_level is not None and level_of(doc) < self.min_level:
            return False
        if self.present is not None and doc.get(self.present) in (None, "", [], {}):
            return False
        if self.logger_prefix is not None and not str(doc.get(LOG_FIELDS.logger) or "").startswith(
            self.logger_prefix
        ):
            return False
        return (self.window or default).contains(doc_time(doc))


@dataclass(frozen=True)
class Selection:
    """The lines a question needs: any of ``clauses``, inside ``window`` (unless a clause has its own)."""

    window: Window
    clauses: tuple[Clause, ...] = field(default_factory=lambda: (Clause(),))

    @classmethod
    def everything(cls, window: Window) -> Selection:
        return cls(window, (Clause(),))

    @classmethod
    def ids(cls, window: Window, field_name: str, values: Iterable[str]) -> Selection:
        """Lines whose ``field_name`` is one of ``values``."""
        return cls(window, (Clause(field=field_name, values=frozenset(values)),))

    def matches(self, doc: dict[str, Any]) -> bool:
        return any(c.matches(doc, self.window) for c in self.clauses)

    def span(self) -> Window:
        """The smallest window holding every clause's window (for a source that takes one range)."""
        windows = [c.window or self.window for c in self.clauses]
        starts = [w.start for w in windows]
        ends = [w.end for w in windows]
        start = None if any(s is None for s in starts) else min(s for s in starts if s is not None)
        end = None if any(e is None for e in ends) else max(e for e in ends if e is not None)
        return Window(start, end)

    @classmethod
    def union(cls, *selections: Selection) -> Selection:
        """Lines any of ``selections`` wants (each keeps its own window on its clauses)."""
        clauses = tuple(c if c.window else _with_window(c, s.window) for s in selections for c in s.clauses)
        return cls(Selection(Window(), clauses).span(), clauses)


def _with_window(c: Clause, w: Window) -> Clause:
    return dataclasses.replace(c, window=w)


# --- CloudWatch Logs filter patterns ----------------------------------------------------------------


def quote_term(value: str) -> str | None:
    """``value`` as a quoted filter-pattern term, or None when a pattern cannot hold it.

    CloudWatch wants terms with anything but letters, digits and ``_`` inside double quotes; a
    value holding a double quote or a backslash cannot be put in one safely.
    """
    if not value or '"' in value or "\\" in value or len(value) + 2 > MAX_PATTERN:
        return None
    return f'"{value}"'


def _level_pattern(min_level: int) -> str:
    names = sorted({n for n, v in LEVELS.items() if v >= min_level})
    variants = [v for n in names for v in (n, n.upper())]
    tests = " || ".join(f'$.{LOG_FIELDS.level} = "{v}"' for v in variants)
    return "{ " + tests + " }"


def clause_patterns(c: Clause) -> list[str | None]:
    """The filter patterns that fetch a superset of ``c`` (None: no pattern, fetch everything).

    One quoted term per id (CloudWatch and moto both match a quoted term as text); else the
    metric's name, the field's name, the logger's prefix; a level becomes a JSON pattern (which
    an emulator may ignore, so the client-side re-check does the work there).
    """
    if c.values:
        return [quote_term(v) for v in sorted(c.values)]
    if c.platform:
        return [quote_term(t) for t in PLATFORM_TERMS]
    for term in (c.metric, c.present, c.logger_prefix):
        if term:
            return [quote_term(term)]
    if c.min_level is not None:
        return [_level_pattern(c.min_level)]
    if c.wants_emf:
        return [quote_term("CloudWatchMetrics")]
    return [None]


def filter_patterns(sel: Selection) -> list[tuple[Clause, str | None]]:
    """(clause, pattern) pairs to send; a None pattern means that clause needs every line."""
    return [(c, p) for c in sel.clauses for p in clause_patterns(c)]


# --- Logs Insights ----------------------------------------------------------------------------------

_PLAIN_FIELD = re.compile(r"^@?[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")


def insights_field(name: str) -> str:
    """A field name as Logs Insights reads it (backquoted when it has other characters)."""
    return name if _PLAIN_FIELD.match(name) else "`" + name.replace("`", "``") + "`"


def insights_string(value: str) -> str:
    """A string literal for a Logs Insights query."""
    return json.dumps(value, ensure_ascii=False)


def _emf_test(present: bool) -> str:
    test = f"ispresent({EMF_ROOT}.Timestamp)"
    return test if present else f"not {test}"


def _regex_literal(text: str) -> str:
    """``text`` as a literal inside a Logs Insights ``/regex/`` (spaces stay plain)."""
    return re.sub(r"([.\[\]()*+?{}|^$\\/])", r"\\\1", text)


def clause_filter(c: Clause) -> str | None:
    """The Logs Insights ``filter`` expression of one clause (None: every line)."""
    parts: list[str] = []
    if c.platform:
        parts.append("@message like /" + "|".join(_regex_literal(t) for t in PLATFORM_TERMS) + "/")
    if c.field is not None:
        values = ", ".join(insights_string(v) for v in sorted(c.values))
        parts.append(f"{insights_field(c.field)} in [{values}]")
    wants = c.wants_emf
    if wants is not None:
        parts.append(_emf_test(wants))
    if c.metric is not None:
        parts.append(f"ispresent({insights_field(c.metric)})")
    if c.min_level is not None:
        names = sorted({v for n, lv in LEVELS.items() if lv >= c.min_level for v in (n, n.upper())})
        parts.append(
            f"{insights_field(LOG_FIELDS.level)} in [{', '.join(insights_string(n) for n in names)}]"
        )
    if c.present is not None:
        parts.append(f"ispresent({insights_field(c.present)})")
    if c.logger_prefix is not None:
        parts.append(f"{insights_field(LOG_FIELDS.logger)} like /^{re.escape(c.logger_prefix)}/")
    return " and ".join(parts) or None


def insights_query(sel: Selection, limit: int = INSIGHTS_MAX_ROWS) -> str:
    """``fields @timestamp, @message, @log, @logStream | filter ... | sort @timestamp asc | limit N``.

    The clauses' own windows are not expressed (the query runs over :meth:`Selection.span`);
    the client-side re-check applies them.
    """
    if not 1 <= limit <= INSIGHTS_MAX_ROWS:
        raise ValueError(f"Logs Insights limit must be 1..{INSIGHTS_MAX_ROWS}, not {limit}")
    tests = [clause_filter(c) for c in sel.clauses]
    parts = ["fields @timestamp, @message, @log, @logStream"]
    if tests and all(t is not None for t in tests):
        parts.append("filter " + " or ".join(f"({t})" if len(tests) > 1 else str(t) for t in tests))
    parts += ["sort @timestamp asc", f"limit {limit}"]
    return " | ".join(parts)


def failures_stats_query(min_level: int = 40, limit: int = INSIGHTS_MAX_ROWS) -> str:
    """Error lines counted by service, logger, message, exception type and detail (Logs Insights ``stats``).

    The detail is the exception's message, else ``error``, else ``reason``; one example of each
    id field comes along (``earliest``). Messages that differ only by ids are merged client-side
    (:func:`diagnostics.analysis.normalise`), so the groups here may be finer.
    """
    f = LOG_FIELDS
    exc = f"{f.exception}"
    level = clause_filter(Clause(min_level=min_level))
    return " | ".join(
        [
            f'fields coalesce({insights_field(f.service)}, "-") as svc, '
            f'coalesce({exc}.type, "-") as etype, '
            f'coalesce({exc}.message, error, reason, "") as detail',
            f"filter {level}",
            "stats count(*) as n, min(@timestamp) as first_seen, max(@timestamp) as last_seen, "
            f"earliest({f.correlation_id}) as cid, latest({f.correlation_id}) as cid_last, "
            f"earliest({f.message_id}) as mid, earliest({f.request_id}) as rid "
            f"by svc, {f.logger}, {f.message}, etype, detail",
            "sort n desc",
            f"limit {limit}",
        ]
    )


def throttles_stats_query(limit: int = INSIGHTS_MAX_ROWS) -> str:
    """Throttles, one row per invocation and source (Logs Insights ``stats``): when, the code, the
    retry-after, and one of each id (``earliest``), as :class:`diagnostics.analysis.ThrottleCollector`
    keeps them."""
    f = LOG_FIELDS
    present = clause_filter(Clause(present=f.throttle_source, emf=False))
    return " | ".join(
        [
            f"filter {present}",
            f"stats earliest(@timestamp) as t, earliest({f.retry_after_s}) as retry, "
            f"earliest({f.correlation_id}) as cid, earliest({f.message_id}) as mid, "
            f"earliest({f.messages_returned}) as returned, earliest({f.message}) as msg, count(*) as n "
            f"by {f.service}, {f.throttle_source}, {f.throttle_code}, {f.request_id}",
            "sort t asc",
            f"limit {limit}",
        ]
    )


# --- files: a test on the raw bytes before parsing -----------------------------------------------------


def _ascii_token(value: str) -> bytes | None:
    """``value`` as it appears between quotes in a JSON line, when that is certain."""
    if value and value.isascii() and value.isprintable() and '"' not in value and "\\" not in value:
        return value.encode()
    return None


def prefilter(sel: Selection) -> Callable[[bytes], bool] | None:
    """A test a raw line must pass to be worth parsing, or None (parse every line).

    Ids are looked up by extracting the field's value with a regular expression (one set lookup
    per line, however many ids); other conditions by a byte string the line must hold.
    """
    by_field: dict[str, set[bytes]] = {}
    needles: list[bytes] = []
    folded: list[bytes] = []
    for c in sel.clauses:
        if c.values:
            tokens = [_ascii_token(v) for v in c.values]
            if any(t is None for t in tokens):
                return None
            by_field.setdefault(c.field or "", set()).update(t for t in tokens if t is not None)
        elif c.platform:
            needles += _PLATFORM_TOKENS
        elif c.wants_emf:
            needles.append(b'"' + EMF_ROOT.encode() + b'"')  # truncated EMF lines are seen too
        elif c.present or c.logger_prefix:
            needles.append(b'"' + str(c.present or c.logger_prefix).encode())
        elif c.min_level is not None:
            folded += [n.encode() for n, v in LEVELS.items() if v >= c.min_level]
        else:
            return None
    extractors = [
        (re.compile(rb'"' + re.escape(name.encode()) + rb'"\s*:\s*"([^"\\]*)(.)'), wanted)
        for name, wanted in by_field.items()
    ]

    def test(raw: bytes) -> bool:
        for rx, wanted in extractors:
            for m in rx.finditer(raw):
                if m.group(1) in wanted or m.group(2) != b'"':
                    return True
        if any(n in raw for n in needles):
            return True
        if folded:
            low = raw.lower()
            return any(n in low for n in folded)
        return False

    return test


def screen_tokens(sel: Selection) -> tuple[bytes, ...] | None:
    """Byte strings at least one of which every wanted line holds (a quoted id, ``"_aws"``, a field
    or logger name), for searching a file in blocks; None when a clause has none (levels, everything).

    :func:`prefilter` still decides on each line a token was found in.
    """
    out: list[bytes] = []
    for c in sel.clauses:
        if c.values:
            tokens = [_ascii_token(v) for v in c.values]
            if any(t is None for t in tokens):
                return None
            out += [b'"' + t + b'"' for t in tokens if t is not None]
        elif c.platform:
            out += _PLATFORM_TOKENS
        elif c.wants_emf:
            out.append(b'"' + EMF_ROOT.encode() + b'"')
        elif c.present or c.logger_prefix:
            out.append(b'"' + str(c.present or c.logger_prefix).encode())
        else:
            return None
    return tuple(out) or None


def chunks(values: Sequence[str], size: int) -> list[list[str]]:
    """``values`` in lists of at most ``size``."""
    return [list(values[i : i + size]) for i in range(0, len(values), size)]
