"""The query-building logic on its own: filter patterns, Logs Insights text, the files' byte test.

moto ignores JSON filter patterns and Insights ``filter``/``stats``, so these are the only tests
of what CloudWatch would be sent; the property test checks the one rule every translation keeps:
it may let through more than the selection wants, never less.
"""

from __future__ import annotations

import json
from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from diagnostics.model import Window
from diagnostics.queries import (
    INSIGHTS_MAX_ROWS,
    Clause,
    Selection,
    clause_patterns,
    failures_stats_query,
    filter_patterns,
    insights_field,
    insights_query,
    prefilter,
    quote_term,
)
from observe.catalogue import LOG_FIELDS
from tests.unit.diagnostics.diag_builders import at, emf, line


def test_ids_become_one_quoted_term_each_and_unquotable_values_fetch_everything() -> None:
    sel = Selection.ids(Window(at(0), at(60)), LOG_FIELDS.correlation_id, ["run-7", "a.b:c#d"])
    assert [p for _, p in filter_patterns(sel)] == ['"a.b:c#d"', '"run-7"']
    assert quote_term('say "hi"') is None and quote_term("back\\slash") is None and quote_term("") is None
    assert clause_patterns(Clause(field="correlation_id", values=frozenset(['x"y']))) == [None]


def test_other_clauses_use_the_most_selective_term_they_have() -> None:
    assert clause_patterns(Clause(metric="RecordsQuarantined")) == ['"RecordsQuarantined"']
    assert clause_patterns(Clause(present=LOG_FIELDS.throttle_source)) == ['"throttle_source"']
    assert clause_patterns(Clause(logger_prefix="observe.checks", min_level=30)) == ['"observe.checks"']
    (level,) = clause_patterns(Clause(min_level=40))
    assert level == (
        '{ $.level = "critical" || $.level = "CRITICAL" || $.level = "error" || $.level = "ERROR" '
        '|| $.level = "fatal" || $.level = "FATAL" }'
    )
    assert clause_patterns(Clause(emf=True)) == ['"CloudWatchMetrics"']
    assert clause_patterns(Clause()) == [None]


def test_insights_query_text_is_built_from_the_catalogue_field_names() -> None:
    w = Window(at(0), at(3600))
    trace = insights_query(Selection.ids(w, LOG_FIELDS.correlation_id, ["run-7"]), limit=500)
    assert trace == (
        'fields @timestamp, @message, @log, @logStream | filter correlation_id in ["run-7"] '
        "| sort @timestamp asc | limit 500"
    )
    union = Selection(w, (Clause(metric="Errors"), Clause(present="throttle_source", emf=False)))
    assert insights_query(union) == (
        "fields @timestamp, @message, @log, @logStream "
        "| filter (ispresent(_aws.Timestamp) and ispresent(Errors)) "
        "or (not ispresent(_aws.Timestamp) and ispresent(throttle_source)) "
        "| sort @timestamp asc | limit 10000"
    )
    every = insights_query(Selection.everything(w))
    assert "filter" not in every and every.endswith(f"limit {INSIGHTS_MAX_ROWS}")
    assert insights_field("odd-name") == "`odd-name`" and insights_field("exception.type") == "exception.type"
    quoted = insights_query(Selection.ids(w, "correlation_id", ['he said "x"']))
    assert 'in ["he said \\"x\\""]' in quoted


def test_the_failures_stats_query_counts_server_side() -> None:
    q = failures_stats_query()
    assert q.startswith('fields coalesce(service, "-") as svc, coalesce(exception.type, "-") as etype')
    levels = '["CRITICAL", "ERROR", "FATAL", "critical", "error", "fatal"]'
    assert f"filter not ispresent(_aws.Timestamp) and level in {levels}" in q
    assert "stats count(*) as n, min(@timestamp) as first_seen" in q
    assert "earliest(correlation_id) as cid" in q and "earliest(aws_request_id) as rid" in q
    assert "by svc, logger, message, etype, detail" in q and q.endswith("limit 10000")


def test_a_union_keeps_each_selections_window_on_its_clauses() -> None:
    a = Selection.ids(Window(at(0), at(10)), LOG_FIELDS.request_id, ["r1"])
    b = Selection.ids(Window(at(100), at(110)), LOG_FIELDS.request_id, ["r2"])
    u = Selection.union(a, b)
    assert u.span() == Window(at(0), at(110))
    assert u.matches(line(5, "x", rid="r1")) and not u.matches(line(105, "x", rid="r1"))
    assert u.matches(line(105, "x", rid="r2")) and not u.matches(line(5, "x", rid="r2"))


def test_selection_matches_re_checks_what_a_pattern_let_through() -> None:
    sel = Selection.ids(Window(), LOG_FIELDS.correlation_id, ["run-7"])
    assert sel.matches(line(1, "x", cid="run-7")) and not sel.matches(line(1, "x", cid="run-70"))
    metric = Selection(Window(), (Clause(metric="RecordsQuarantined"),))
    assert metric.matches(emf(1, RecordsQuarantined=3)[0]) and not metric.matches(emf(1, Duration=1.0)[0])
    assert not metric.matches(line(1, "RecordsQuarantined mentioned in a log line"))
    errors = Selection(Window(), (Clause(min_level=40),))
    assert errors.matches(line(1, "x", level="ERROR")) and not errors.matches(line(1, "x", level="warning"))
    assert not errors.matches(emf(1, Errors=1)[0])


_ids = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=12)


@settings(max_examples=200, deadline=None)
@given(
    wanted=st.lists(_ids, min_size=1, max_size=4),
    present=st.lists(_ids, min_size=1, max_size=6),
    level=st.sampled_from(["debug", "info", "warning", "WARN", "error", "Error", "critical"]),
    min_level=st.sampled_from([None, 30, 40]),
    spacing=st.booleans(),
)
def test_the_byte_test_never_drops_a_line_the_selection_wants(
    wanted: list[str], present: list[str], level: str, min_level: int | None, spacing: bool
) -> None:
    clauses = [Clause(field=LOG_FIELDS.correlation_id, values=frozenset(wanted))]
    if min_level is not None:
        clauses.append(Clause(min_level=min_level))
    sel = Selection(Window(), tuple(clauses))
    test = prefilter(sel)
    for cid in present + wanted[:1]:
        doc = line(1, "m", level=level, cid=cid)
        raw = (
            json.dumps(doc) if spacing else json.dumps(doc, separators=(",", ":"), ensure_ascii=False)
        ).encode()
        if sel.matches(doc):
            assert test is None or test(raw), (cid, raw)


def test_the_byte_test_drops_what_cannot_match() -> None:
    test = prefilter(Selection.ids(Window(), LOG_FIELDS.request_id, [f"req-{i}" for i in range(200)]))
    assert test is not None
    assert test(json.dumps(line(1, "x", rid="req-17")).encode())
    assert not test(json.dumps(line(1, "x", rid="req-999")).encode())
    assert not test(b'{"message": "req-17 mentioned, not the field"}')
    assert test(b'{"aws_request_id": "req-\\u0031", "x": 1}')  # an escaped value is parsed to be sure
    emf_test = prefilter(Selection(Window(), (Clause(metric="RecordsQuarantined"),)))
    assert emf_test is not None and emf_test(b'{"_aws": {"Timestamp": 1, "CloudWat')  # a cut EMF line is seen
    assert prefilter(Selection.everything(Window(at(0), at(0) + timedelta(hours=1)))) is None
