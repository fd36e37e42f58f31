"""from_alarm over what observe really writes: an @observed SQS handler, captured, then triaged."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from diagnostics.alarms import UnknownAlarmError, load_alarms
from diagnostics.core import Diagnostics
from tests.unit.diagnostics.diag_builders import (
    ALARMS_DIR,
    dlq_messages,
    line,
    observed_incident,
    quarantine_docs,
)


@pytest.fixture
def incident(observe_capture: Any, lambda_context: Any) -> tuple[list[dict], list[dict], str]:
    return observed_incident(observe_capture, lambda_context)


def test_from_alarm_walks_from_the_datapoint_to_the_records_and_the_cause(incident: Any) -> None:
    lines, emf, rid = incident
    now = datetime.now(UTC)
    diag = Diagnostics.from_docs(
        [*lines, *emf], quarantine=quarantine_docs(now), dlq=dlq_messages(), alarms=load_alarms(ALARMS_DIR)
    )
    t = diag.from_alarm("ingest-worker-RecordsQuarantined-dev")
    assert t.fired and [d.value for d in t.breaching] == [120]
    assert [(b.request_id, b.value, b.outcome, b.function_name) for b in t.invocations] == [
        (rid, 120, "ok", "test-function")
    ]
    assert t.correlation_ids == ["run-7"]  # the records' id, not the batch's own
    assert t.record_keys == [
        "quarantine/source/_/page-000001.json",
        "quarantine/source/_/page-000002.json",
        "quarantine/source/_/page-000003.malformed.json",  # same id, written during the invocation
    ]
    assert t.quarantine_summary.records == 4 and t.quarantine_summary.fields == {"amount": 2, "id": 1}
    assert [(m.row.message_id, m.matched_by) for m in t.dlq] == [("m-3", "failed in these invocations")]
    assert t.dlq[0].row.last_error == "ConnectionError: page-000003: source answered HTTP 500"
    assert t.causes[0].startswith(
        "4 record(s) quarantined in 3 document(s); top reasons: expect_x:amount (2)"
    )
    assert any("ConnectionError: page-000003: source answered HTTP 500" in c for c in t.causes)
    assert any(c.startswith("in the DLQ: task source pages 3..end (message m-3") for c in t.causes)
    assert "S1234567D" not in json.dumps(t.quarantine_summary.examples)


def test_an_alarm_that_did_not_breach_has_nothing_to_blame(incident: Any) -> None:
    lines, emf, _ = incident
    diag = Diagnostics.from_docs([*lines, *emf], alarms=load_alarms(ALARMS_DIR))
    t = diag.from_alarm("ingest-worker-Throttles-dev")
    assert t.evaluation.state == "OK" and not t.breaching and not t.invocations and not t.causes
    with pytest.raises(UnknownAlarmError):
        diag.from_alarm("ingest-worker-Nope-dev")


def test_the_session_object_answers_the_same_questions(incident: Any) -> None:
    lines, emf, rid = incident
    diag = Diagnostics.from_docs(
        [*lines, *emf],
        quarantine=quarantine_docs(datetime.now(UTC)),
        dlq=dlq_messages(),
        alarms=load_alarms(ALARMS_DIR),
    )
    states = diag.alarm_states()
    assert states[0].alarm.name == "ingest-worker-RecordsQuarantined-dev" and states[0].fired
    assert all(not e.fired for e in states[1:])
    assert diag.from_alarm("ingest-worker-RecordsQuarantined-dev").invocations[0].request_id == rid
    trace = diag.trace("run-7")
    assert [x["message"] for x in trace.lines] == [
        "records quarantined",
        "records quarantined",
        "record failed; it goes back to the queue",
    ]
    assert [g.error_type for g in diag.failures()] == ["ConnectionError"]
    assert diag.invocations()[rid].batch_item_failures == 1
    assert diag.metrics_frame().query("metric == 'RecordsQuarantined'")["value"].sum() == 120
    assert diag.dlq_summary().count == 2 and diag.quarantine_summary().documents == 5


def test_without_a_quarantine_source_the_triage_says_so_and_names_the_logged_keys(incident: Any) -> None:
    lines, emf, _ = incident
    t = Diagnostics.from_docs([*lines, *emf], alarms=load_alarms(ALARMS_DIR)).from_alarm(
        "ingest-worker-RecordsQuarantined-dev"
    )
    assert not t.quarantine_read and not t.dlq_read and t.quarantine == []
    assert t.logged_keys == ["quarantine/source/_/page-000001.json", "quarantine/source/_/page-000002.json"]
    assert "quarantine not read: pass --bucket or --quarantine-dir" in t.headline
    assert any("the quarantine was not read" in c for c in t.causes)


def test_one_big_invocation_is_triaged_in_linear_work(monkeypatch: pytest.MonkeyPatch) -> None:
    """4,000 lines in one invocation: every line's level is looked at a bounded number of times (the
    quadratic version re-scanned the invocation's lines for each of them)."""
    from diagnostics import analysis, triage
    from tests.unit.diagnostics.diag_builders import emf, line, summary

    n = 4000
    docs = [line(i * 0.01, "records quarantined", level="warning", rid="big", cid=f"run-{i % 40}",
                 key=f"quarantine/s/_/page-{i:06d}.json") for i in range(n)]  # fmt: skip
    docs += [summary(41, rid="big", cid="batch"), *emf(41, rid="big", cid="batch", RecordsQuarantined=n)]
    calls = {"n": 0}
    real = analysis.level_of

    def counting(doc: dict) -> int:
        calls["n"] += 1
        return real(doc)

    for module in (analysis, triage):
        monkeypatch.setattr(module, "level_of", counting)
    t = Diagnostics.from_docs(docs, alarms=load_alarms(ALARMS_DIR)).from_alarm(
        "ingest-worker-RecordsQuarantined-dev"
    )
    assert len(t.correlation_ids) == 40 and len(t.logged_keys) == n
    assert calls["n"] < 10 * n, calls["n"]


def test_traces_with_a_bound_keep_the_warnings_and_errors_and_count_the_rest() -> None:
    """A long trace keeps its warnings and errors (memory bounded by ``keep``), and says how many
    lines the id has; a short one keeps every line."""
    docs = [line(i, f"step {i}", cid="run-a", rid="r1") for i in range(40)]
    for i in (7, 25, 38):
        docs[i] = line(i, f"slow {i}", level="warning", cid="run-a", rid="r1")
    docs[39] = line(39, "boom", level="error", cid="run-a", rid="r1")
    docs += [line(50, "only", cid="run-b", rid="r2"), line(51, "two", cid="run-b", rid="r2")]
    diag = Diagnostics.from_docs(docs)
    long, short = diag.traces(["run-a", "run-b"], keep=5)
    assert long.total == 40 and long.count == 40 and long.found
    assert [x["message"] for x in long.lines] == ["slow 7", "slow 25", "slow 38", "boom"]
    assert short.total is None and short.count == 2 and [x["message"] for x in short.lines] == ["only", "two"]
    (whole,) = diag.traces(["run-a"])
    assert whole.total is None and len(whole.lines) == 40
