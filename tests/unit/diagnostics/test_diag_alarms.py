"""Alarm specs from terraform/generated, and their replay over EMF documents."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from diagnostics.alarms import (
    AlarmSpecError,
    UnknownAlarmError,
    culprits,
    evaluate,
    evaluate_expression,
    find_alarm,
    load_alarms,
    samples,
    statistic,
)
from diagnostics.model import Window, iso
from tests.unit.diagnostics.diag_builders import ALARMS_DIR, at, emf

DIMS = {"service": "ingest-worker", "pipeline": "ingest", "environment": "dev"}


@pytest.fixture(scope="module")
def alarms() -> list:
    return load_alarms(ALARMS_DIR)


def test_every_shipped_alarm_loads_and_resolves_per_environment(alarms: list) -> None:
    names = {a.name for a in alarms}
    assert {f"ingest-worker-RecordsQuarantined-{env}" for env in ("dev", "stg", "prd")} <= names
    assert "auth-callback-ErrorRate-prd" in names
    spec = find_alarm(alarms, "ingest-worker-RecordsQuarantined-prd")
    assert (spec.name, spec.environment, spec.metric, spec.service) == (
        "ingest-worker-RecordsQuarantined-prd",
        "prd",
        "RecordsQuarantined",
        "ingest-worker",
    )
    assert dict(spec.dimensions)["environment"] == "prd"
    assert (spec.statistic, spec.threshold, spec.period) == ("Sum", 100.0, 300)
    rate = find_alarm(alarms, "ingest-worker-ErrorRate-stg")
    assert rate.queries and all(
        dict(q.dimensions).get("environment") == "stg" for q in rate.queries if q.metric_name
    )


def test_an_unknown_alarm_names_close_matches(alarms: list) -> None:
    with pytest.raises(UnknownAlarmError, match="did you mean ingest-worker-RecordsQuarantined-dev"):
        find_alarm(alarms, "ingest-worker-RecordQuarantined-dev")
    with pytest.raises(UnknownAlarmError, match="end in their environment"):
        find_alarm(alarms, "ingest-worker-RecordsQuarantined")


def test_any_environment_and_a_deployment_prefix_resolve(alarms: list, tmp_path: Path) -> None:
    # a template file (a team's own build, placeholders kept) resolves any environment name
    dev = (ALARMS_DIR / "ingest.dev.alarms.json").read_text()
    template = dev.replace('-dev"', '-${environment}"').replace(
        '"environment": "dev"', '"environment": "${environment}"'
    )
    (tmp_path / "ingest.alarms.json").write_text(template)
    qa = find_alarm(
        load_alarms(tmp_path), "ingest-worker-RecordsQuarantined-qa"
    )  # a team's own environment name
    assert qa.environment == "qa" and dict(qa.dimensions)["environment"] == "qa"
    assert qa.template == "ingest-worker-RecordsQuarantined-${environment}"
    deployed = find_alarm(alarms, "acme-data-ingest-worker-RecordsQuarantined-prd")  # terraform's name_prefix
    assert (deployed.name, deployed.environment, deployed.service) == (
        "acme-data-ingest-worker-RecordsQuarantined-prd",
        "prd",
        "ingest-worker",
    )


def test_bad_alarm_files_are_named_with_the_field(tmp_path: Path) -> None:
    with pytest.raises(AlarmSpecError, match="no such directory"):
        load_alarms(tmp_path / "nope")
    with pytest.raises(AlarmSpecError, match=r"no \*\.alarms\.json files"):
        load_alarms(tmp_path)
    spec = json.loads((ALARMS_DIR / "ingest.dev.alarms.json").read_text())[3]
    bad = dict(spec, comparison_operator="GreaterThanUpperThreshold")
    (tmp_path / "x.alarms.json").write_text(json.dumps([bad]))
    with pytest.raises(
        AlarmSpecError, match=r"x\.alarms\.json: alarm .*comparison_operator 'GreaterThanUpperThreshold'"
    ):
        load_alarms(tmp_path)
    (tmp_path / "x.alarms.json").write_text(json.dumps([dict(spec, statistic="Median")]))
    with pytest.raises(AlarmSpecError, match="statistic 'Median' is not supported"):
        load_alarms(tmp_path)
    (tmp_path / "x.alarms.json").write_text("{")
    with pytest.raises(AlarmSpecError, match=r"x\.alarms\.json: not JSON"):
        load_alarms(tmp_path)


def test_statistics() -> None:
    values = [float(v) for v in range(1, 101)]
    assert statistic(values, "Sum") == 5050 and statistic(values, "SampleCount") == 100
    assert statistic(values, "Average") == 50.5 and statistic(values, "Minimum") == 1
    assert (
        statistic(values, "Maximum") == 100
        and statistic(values, "p99") == 99
        and statistic(values, "p50") == 50
    )
    assert statistic([7.0], "p99") == 7 and statistic([], "Sum") is None
    with pytest.raises(ValueError, match="not supported"):
        statistic(values, "tm99")


def test_samples_count_only_documents_with_exactly_the_alarm_dimensions() -> None:
    docs = emf(10, values=[("Throttles", 1, {"source": "http-429"})])  # total + breakdown documents
    assert len(docs) == 2
    assert [s.value for s in samples(docs, "Throttles", DIMS)] == [1.0]
    assert [s.value for s in samples(docs, "Throttles", {**DIMS, "source": "http-429"})] == [1.0]
    assert samples(docs, "Throttles", {**DIMS, "environment": "prd"}) == []
    assert samples(docs, "Throttles", DIMS, namespace="Other") == []
    assert len(samples(docs, "Throttles", DIMS, namespace="${namespace}")) == 1


def test_sums_per_aligned_period_against_the_threshold(alarms: list) -> None:
    spec = find_alarm(alarms, "ingest-worker-RecordsQuarantined-dev")  # Sum >= 100 over 300 s, 1 of 1
    docs = [
        *emf(10, rid="a", RecordsQuarantined=[60, 30]),
        *emf(299, rid="b", RecordsQuarantined=20),  # same period: 110
        *emf(300, rid="c", RecordsQuarantined=99),  # next period: 99, not breaching
        *emf(20, rid="x", env="prd", RecordsQuarantined=500),  # another environment
    ]
    ev = evaluate(spec, docs)
    assert [(d.start, d.value, d.breaching) for d in ev.datapoints] == [
        (at(0), 110, True),
        (at(300), 99, False),
    ]
    # it fired at the end of the first period and recovered at the end of the next: OK now
    assert ev.fired and ev.state == "OK" and ev.entered_alarm == at(300) and ev.recovered_at == at(600)
    assert [(c.time, c.old, c.new) for c in ev.changes] == [
        (at(300), "INSUFFICIENT_DATA", "ALARM"),
        (at(600), "ALARM", "OK"),
    ]
    assert ev.summary().startswith(f"OK; in ALARM from {iso(at(300))}; recovered {iso(at(600))}")
    still = evaluate(spec, docs[:-2])  # without the next period: still in ALARM, not recovered
    assert still.state == "ALARM" and still.recovered_at is None and "not recovered" in still.summary()
    blamed = [(s.doc["aws_request_id"], s.value) for s in culprits(spec, ev.datapoints[0])]
    assert blamed == [("a", 60), ("a", 30), ("b", 20)]  # largest first
    late = evaluate(spec, docs, Window(at(300), at(600)))
    assert not late.fired and late.state == "OK" and [d.value for d in late.datapoints] == [99]


def test_n_of_m_periods_and_missing_data(alarms: list) -> None:
    spec = find_alarm(alarms, "ingest-worker-Throttles-dev")  # Sum >= 1, 2 of 3 periods
    one = emf(10, Throttles=1)
    assert not evaluate(spec, one).fired
    apart = [*one, *emf(3 * 300 + 10, rid="r2", Throttles=1)]  # breaching periods 0 and 3: never 2 in 3
    ev = evaluate(spec, apart)
    assert [d.breaching for d in ev.datapoints] == [True, False, False, True] and not ev.fired
    near = [*one, *emf(2 * 300 + 10, rid="r2", Throttles=1)]  # periods 0 and 2: 2 of 3
    ev = evaluate(spec, near)
    assert [d.in_alarm for d in ev.datapoints] == [False, False, True] and ev.entered_alarm == at(900)
    missing_breaches = evaluate(
        type(spec)(**{**spec.__dict__, "treat_missing_data": "breaching"}),
        [*emf(10, Throttles=0), *emf(610, rid="z", Throttles=0)],
    )
    assert [d.value for d in missing_breaches.datapoints] == [0, None, 0] and not missing_breaches.fired
    assert evaluate(spec, [], Window(at(0), at(900))).state == "INSUFFICIENT_DATA"


def test_levels_use_their_statistic_and_blame_the_values_over_the_threshold(alarms: list) -> None:
    spec = find_alarm(alarms, "ingest-worker-MemoryUtilization-dev")  # Maximum >= 90
    docs = [*emf(5, rid="ok", MemoryUtilization=40.0), *emf(6, rid="hot", MemoryUtilization=95.0)]
    ev = evaluate(spec, docs)
    assert ev.datapoints[0].value == 95 and ev.fired
    assert [s.doc["aws_request_id"] for s in culprits(spec, ev.datapoints[0])] == ["hot"]
    p99 = find_alarm(alarms, "ingest-worker-Duration-dev")  # p99 >= 60000, 3 of 3
    slow = [
        doc for i in range(3) for doc in emf(300 * i + 1, rid=f"r{i}", Duration=[100.0] * 98 + [70_000.0] * 2)
    ]
    ev = evaluate(p99, slow)
    assert [d.value for d in ev.datapoints] == [70_000.0] * 3 and ev.fired


def test_error_rate_is_metric_math_over_errors_and_invocations(alarms: list) -> None:
    spec = find_alarm(alarms, "ingest-worker-ErrorRate-dev")  # 100 * errors / invocations >= 5
    docs = [doc for i in range(19) for doc in emf(i, rid=f"ok{i}", Duration=10.0, Errors=0)]
    docs += emf(30, rid="bad", Duration=10.0, values=[("Errors", 1, {"error_type": "ValueError"})])
    ev = evaluate(spec, docs)
    assert ev.datapoints[0].value == pytest.approx(5.0) and ev.fired
    assert [s.doc["aws_request_id"] for s in culprits(spec, ev.datapoints[0])] == ["bad"]
    assert evaluate(spec, docs[:-2]).datapoints[0].value == 0  # 19 clean invocations


def test_metric_math_is_parsed_never_evaluated_as_python() -> None:
    assert (
        evaluate_expression(
            "IF(invocations > 0, 100 * errors / invocations, 0)", {"invocations": 4, "errors": 1}
        )
        == 25
    )
    assert (
        evaluate_expression(
            "IF(invocations > 0, 100 * errors / invocations, 0)", {"invocations": 0, "errors": 0}
        )
        == 0
    )
    assert evaluate_expression("errors / invocations", {"invocations": 0, "errors": 1}) is None
    assert evaluate_expression("MAX(a, b) - ABS(-c)", {"a": 1, "b": 5, "c": 2}) == 3
    for bad in ("__import__('os').system('true')", "a.real", "a if b else c", "lambda: 1"):
        with pytest.raises(ValueError, match="metric math"):
            evaluate_expression(bad, {"a": 1, "b": 1, "c": 1})
    with pytest.raises(ValueError, match="unknown query id 'z'"):
        evaluate_expression("z + 1", {})


def test_concrete_alarms_of_other_environments_are_left_out_of_a_replay(alarms: list) -> None:
    from diagnostics.alarms import Replay

    dev, prd = (
        find_alarm(alarms, "ingest-worker-Throttles-dev"),
        find_alarm(alarms, "ingest-worker-Throttles-prd"),
    )
    replay = Replay([dev, prd])
    for doc in emf(10, Throttles=1):  # written in dev
        replay.add(doc)
    assert [s.name for s in replay.resolved()] == ["ingest-worker-Throttles-dev"]
