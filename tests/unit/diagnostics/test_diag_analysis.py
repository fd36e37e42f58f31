"""The pure analyses: invocations, trace, failures, throttles, metrics frame, quarantine, DLQ, anomalies."""

from __future__ import annotations

import json

from diagnostics import analysis
from diagnostics.model import DLQMessage, QuarantineDoc
from tests.unit.diagnostics.diag_builders import at, emf, line, summary

EXC_500 = {
    "type": "pipelines.ingest.source.SourceError",
    "message": "page-000003: source answered HTTP 500",
    "stack": "...",
}


def _batch() -> list[dict]:
    """Two worker invocations and one scheduler invocation, lines shuffled out of time order."""
    lines = [
        line(0.0, "tasks planned", service="ingest-scheduler", rid="sched", cid="run-1", tasks=2),
        summary(0.1, rid="sched", cid="run-1", service="ingest-scheduler", duration_ms=100),
        line(
            1.0,
            "record failed; it goes back to the queue",
            level="error",
            rid="w1",
            cid="run-1",
            logger="observe.batch",
            message_id="m-3",
            exception=EXC_500,
        ),
        line(
            1.5,
            "records quarantined",
            level="warning",
            rid="w1",
            cid="run-1",
            key="quarantine/source/_/page-000001.json",
            count=2,
        ),
        line(
            1.6,
            "throttled: stopping this batch",
            level="warning",
            rid="w1",
            cid="batch-w1",
            logger="observe.batch",
            throttle_source="http-429",
            throttle_code="429",
            retry_after_s=3,
            message_id="m-4",
            messages_returned=2,
        ),
        summary(2.0, rid="w1", cid="batch-w1", duration_ms=1500, batch_item_failures=2),
        line(
            5.0,
            "record failed; it goes back to the queue",
            level="error",
            rid="w2",
            cid="run-1",
            logger="observe.batch",
            message_id="m-3",
            exception={**EXC_500, "message": "page-000009: source answered HTTP 500"},
        ),
        summary(
            6.0,
            rid="w2",
            cid="batch-w2",
            failed=True,
            exception={"type": "RuntimeError", "message": "customer S1234567D broke it", "stack": ""},
            throttle_source="http-429",
            retry_after_s=1.0,
        ),
        line(7.0, "outside any invocation", rid=None),
    ]
    return [lines[i] for i in (3, 0, 8, 5, 1, 7, 2, 4, 6)]


def test_invocations_are_rebuilt_from_their_lines() -> None:
    invs = analysis.invocations(_batch())
    assert set(invs) == {"sched", "w1", "w2"}
    w1 = invs["w1"]
    assert (w1.outcome, w1.correlation_id, w1.duration_ms, w1.batch_item_failures) == (
        "ok",
        "batch-w1",
        1500,
        2,
    )
    assert w1.start == at(0.5) and w1.end == at(2.0)  # the summary's time minus its duration
    assert w1.record_correlation_ids == ["run-1"] and w1.problem_correlation_ids == ["run-1"]
    assert w1.keys == ["quarantine/source/_/page-000001.json"]
    assert w1.failed_message_ids == ["m-3", "m-4"]
    assert w1.contains(at(1.0)) and not w1.contains(at(10))
    assert invs["w2"].outcome == "failed" and invs["w2"].error == {
        "type": "RuntimeError",
        "message": "customer S1234567D broke it",
    }


def test_trace_follows_one_id_across_services_in_time_order() -> None:
    tr = analysis.trace(_batch(), "run-1", emf(0.1, rid="sched", cid="run-1", TasksPlanned=2))
    assert [x["message"] for x in tr.lines] == [
        "tasks planned",
        "invocation complete",
        "record failed; it goes back to the queue",
        "records quarantined",
        "record failed; it goes back to the queue",
    ]
    assert tr.services == ["ingest-scheduler", "ingest-worker"] and len(tr.errors) == 2
    assert [i.request_id for i in tr.invocations] == ["sched", "w1", "w2"]
    assert len(tr.metrics) == 1 and tr.found
    assert not analysis.trace(_batch(), "nobody").found


def test_failures_group_by_service_type_and_normalised_message() -> None:
    groups = analysis.failures(_batch())
    assert [(g.kind, g.error_type, g.count) for g in groups] == [
        ("record", "pipelines.ingest.source.SourceError", 2),
        ("invocation", "RuntimeError", 1),
    ]
    src = groups[0]
    assert src.detail == "page-#: source answered HTTP 500"  # padded page numbers grouped, the status kept
    assert src.example == "page-000003: source answered HTTP 500"
    assert (src.first_seen, src.last_seen) == (at(1.0), at(5.0))
    assert src.message_ids == ["m-3"] and src.request_ids == ["w1", "w2"] and src.correlation_ids == ["run-1"]
    assert (
        "S1234567D" not in json.dumps([g.example for g in groups]) and "[REDACTED:nric]" in groups[1].example
    )


def test_normalise_keeps_what_matters() -> None:
    assert analysis.normalise("page-000012 for 3f2a9c1e-0b6d-4c1e-9a7e-2f1d0c9b8a7f") == "page-# for <id>"
    assert (
        analysis.normalise("not an ISO-8601 time, HTTP 500 in 2026")
        == "not an ISO-8601 time, HTTP 500 in 2026"
    )
    assert (
        analysis.reason_label("body is not JSON (Expecting value: line 1 column 1 (char 0))")
        == "body is not JSON"
    )


def test_throttles_once_per_invocation_and_source() -> None:
    events = analysis.throttles(_batch())
    assert [(e.request_id, e.source, e.retry_after_s) for e in events] == [
        ("w1", "http-429", 3.0),
        ("w2", "http-429", 1.0),
    ]
    assert events[0].code == "429" and events[0].message_id == "m-4" and events[0].messages_returned == 2


def test_metrics_frame_has_one_row_per_value_and_marks_totals() -> None:
    docs = emf(3, rid="w1", RecordsFetched=[100, 50], values=[("Throttles", 1, {"source": "http-429"})])
    frame = analysis.metrics_frame(docs)
    assert set(analysis.FRAME_COLUMNS) <= set(frame.columns)
    fetched = frame[frame["metric"] == "RecordsFetched"]
    assert fetched["value"].tolist() == [100, 50] and fetched["is_total"].all()
    thr = frame[frame["metric"] == "Throttles"]
    assert sorted(thr["is_total"].tolist()) == [False, True]
    assert thr[~thr["is_total"]]["source"].tolist() == ["http-429"] and str(frame["timestamp"].dt.tz) == "UTC"
    assert analysis.totals(docs, ["Throttles", "RecordsFetched"]) == {"Throttles": 1, "RecordsFetched": 150}
    empty = analysis.metrics_frame([])
    assert empty.empty and list(empty.columns) == analysis.FRAME_COLUMNS


def _quarantine() -> list[QuarantineDoc]:
    return [
        QuarantineDoc(
            "quarantine/source/_/page-000001.json",
            {
                "quarantined_at": "2026-11-26T04:00:01.500Z",
                "correlation_id": "run-1",
                "count": 3,
                "records": [
                    {
                        "record": {"id": "a", "amount": -1, "email": "ann@example.com"},
                        "reasons": ["expect_column_values_to_be_between:amount"],
                    },
                    {
                        "record": {"id": "b", "amount": "12,50", "nric": "S1234567D"},
                        "reasons": [
                            "expect_column_values_to_be_in_type_list:amount",
                            "expect_column_values_to_be_between:amount",
                        ],
                    },
                    {"record": {"amount": 1}, "reasons": ["id: missing, empty or not a string/integer key"]},
                ],
            },
        ),
        QuarantineDoc(
            "quarantine/messages/m-9.json",
            {
                "correlation_id": "junk",
                "message_id": "m-9",
                "reasons": ["body is not JSON (Expecting value: line 1 column 1 (char 0))"],
                "body": "T7654321A",
            },
        ),
    ]


def test_quarantine_summary_counts_reasons_and_fields_and_masks_examples() -> None:
    s = analysis.quarantine_summary(_quarantine())
    assert (s.documents, s.records) == (2, 4)
    assert s.reasons["expect_column_values_to_be_between:amount"] == 2
    assert s.reasons["body is not JSON"] == 1
    assert s.fields == {"amount": 2, "id": 1}
    assert s.checks["structure"] == 1 and s.by_kind == {"records": 3, "message": 1}
    assert s.correlation_ids == {"run-1": 3, "junk": 1}
    assert [d["key"] for d in s.by_key] == [
        "quarantine/messages/m-9.json",
        "quarantine/source/_/page-000001.json",
    ]
    shown = json.dumps(s.examples)
    for secret in ("S1234567D", "T7654321A", "ann@example.com"):
        assert secret not in shown
    assert len(s.examples) == 4  # one per new reason: the body, a, b, the missing id


def test_dlq_summary_attaches_the_last_logged_failure() -> None:
    msgs = [
        DLQMessage(
            "m-3",
            json.dumps({"task": {"source": "src", "start_page": 3, "end_page": 3}}),
            {"correlation_id": "run-1"},
            {"ApproximateReceiveCount": "3", "SentTimestamp": "1795600000000"},
        ),
        DLQMessage("m-7", "{}", {}, {}),
    ]
    d = analysis.dlq_summary(msgs, _batch())
    assert (
        d.count == 2 and d.by_kind == {"task": 1, "other": 1} and d.by_correlation_id == {"run-1": 1, "-": 1}
    )
    row = d.rows[0]
    assert (row.failures, row.description, row.receive_count) == (2, "task src pages 3..3", 3)
    assert row.last_error == "pipelines.ingest.source.SourceError: page-000009: source answered HTTP 500"
    assert d.rows[1].failures == 0 and d.rows[1].last_error is None


def test_anomalies_come_from_the_breakdown_documents_and_the_checks_lines() -> None:
    docs = emf(
        1,
        values=[
            ("InputAnomalies", 1, {"check": "row_count"}),
            ("InputAnomalies", 1, {"check": "null_rate"}),
            ("InputAnomalies", 1, {"check": "row_count"}),
            ("ExpectationFailures", 4, {"expectation": "expect_column_values_to_not_be_null:id"}),
        ],
    )
    lines = [
        line(
            1, "input anomaly", level="warning", logger="observe.checks.drift", check="row_count", detail="x"
        ),
        line(1, "batch ingested", level="warning"),
    ]
    a = analysis.anomalies(lines, docs)
    assert a.by_check == {"row_count": 2, "null_rate": 1} and a.total == 3  # totals not double counted
    assert a.expectation_failures == {"expect_column_values_to_not_be_null:id": 4}
    assert [x["message"] for x in a.lines] == ["input anomaly"]


def test_ids_are_shown_as_they_are_and_data_masked() -> None:
    rid = "b94e6af6-4bd0-4d5d-936d-31f7200773eb"  # holds "f7200773e", which reads as a FIN
    assert analysis.shown_field("aws_request_id", rid) == rid
    assert analysis.shown_field("message_id", rid) == rid
    assert analysis.shown_field("detail", "for S1234567D") == "for [REDACTED:nric]"
    assert analysis.shown_field("nric", "anything") == "[REDACTED]"
