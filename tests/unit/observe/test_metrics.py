"""EMF documents: declarations enforced (raise in dev, drop and count in stg/prd), dimension sets, limits."""

from __future__ import annotations

import json

import pytest

from observe import catalogue, guard
from observe.catalogue import MetricDef, MetricError, UnknownMetricError
from observe.metrics import MetricsBuffer, documents, metric

DIMS = {"service": "s", "pipeline": "p", "environment": "dev"}


def validate_emf(doc: dict) -> None:
    """The structural rules CloudWatch applies to an EMF document."""
    aws = doc["_aws"]
    assert isinstance(aws["Timestamp"], int)
    for directive in aws["CloudWatchMetrics"]:
        assert 1 <= len(directive["Metrics"]) <= 100
        for dim_set in directive["Dimensions"]:
            assert len(dim_set) <= 30
            for dim in dim_set:
                assert isinstance(doc[dim], str)
        for m in directive["Metrics"]:
            value = doc[m["Name"]]
            values = value if isinstance(value, list) else [value]
            assert 1 <= len(values) <= 100
            assert m["Unit"] in catalogue.EMF_UNITS
    json.dumps(doc)


def test_unknown_metric_is_refused_with_the_fix() -> None:
    buf = MetricsBuffer()
    with pytest.raises(UnknownMetricError) as err:
        buf.add("RecordsFetchd", 1)
    text = str(err.value)
    assert "metric 'RecordsFetchd' is not declared; declare it in observe.toml" in text
    assert "[metrics.RecordsFetchd]" in text and 'unit = "Count"' in text and "observe check" in text


def test_undeclared_dimension_wrong_unit_and_bad_values_are_refused() -> None:
    buf = MetricsBuffer()
    with pytest.raises(MetricError, match=r"dimension\(s\) \['source'\] not declared"):
        buf.add("RecordsFetched", 1, source="x")
    with pytest.raises(MetricError, match=r"declared in Milliseconds, not Seconds"):
        buf.add("Duration", 1, unit="Seconds")
    with pytest.raises(MetricError, match="must be 1 to 1024 characters"):
        buf.add("Throttles", 1, source="")
    for bad in ("many", float("nan"), float("inf"), None):
        with pytest.raises(MetricError, match=r"not a .*number"):
            buf.add("RecordsFetched", bad)  # type: ignore[arg-type]
    assert not buf


@pytest.mark.parametrize("environment", ["stg", "prd"])
def test_in_stg_and_prd_misuse_is_dropped_warned_once_and_counted(
    environment: str, observe_capture, lambda_context, monkeypatch
) -> None:
    from observe import observed

    monkeypatch.setenv("ENVIRONMENT", environment)
    monkeypatch.setenv("OBSERVE_STRICT", "false")  # what stg/prd are without observe.testing
    guard.reset()

    @observed(pipeline="ingest", service="ingest-worker")
    def handler(event, context):
        metric("RecordsFetchd", 1)  # observe-check: ignore
        metric("RecordsFetchd", 2)  # observe-check: ignore
        metric("FetchLatency", 3, "Seconds")  # observe-check: ignore
        metric("AuthFailures", 1, reason="x", user="u-123")  # observe-check: ignore
        metric("RecordsFetched", "many")  # type: ignore[arg-type]
        metric("RecordsFetched", 7)
        return "ok"

    assert handler({}, lambda_context) == "ok"
    assert handler({}, lambda_context) == "ok"
    warnings = [line for line in observe_capture.logs if line["level"] == "warning"]
    assert sorted(w["telemetry_error"] for w in warnings) == [
        "bad_dimension", "bad_unit", "bad_value", "undeclared_metric",
    ]  # fmt: skip  # one line per name and kind per process, not per call or per invocation
    undeclared = next(w for w in warnings if w["telemetry_error"] == "undeclared_metric")
    assert "RecordsFetchd" in undeclared["message"]
    assert observe_capture.metric_values("RecordsFetched") == [7, 7]  # the good value still written
    assert not observe_capture.metric_values("RecordsFetchd")
    assert not observe_capture.metric_values("FetchLatency")
    assert not observe_capture.metric_values("AuthFailures")
    assert observe_capture.metric_values("TelemetryErrors") == [1] * 10  # 5 drops an invocation
    assert sum(observe_capture.metric_values("TelemetryErrors", kind="undeclared_metric")) == 4


def test_observe_strict_true_raises_even_in_prd(monkeypatch) -> None:
    monkeypatch.setenv("ENVIRONMENT", "prd")
    monkeypatch.setenv("OBSERVE_STRICT", "true")
    with pytest.raises(UnknownMetricError):
        MetricsBuffer().add("RecordsFetchd", 1)


def test_without_observe_testing_dev_raises_and_prd_does_not(monkeypatch) -> None:
    monkeypatch.delenv("OBSERVE_STRICT", raising=False)
    monkeypatch.setattr(guard, "_testing", [False])
    monkeypatch.setenv("ENVIRONMENT", "dev")
    assert guard.strict()
    monkeypatch.setenv("ENVIRONMENT", "prd")
    assert not guard.strict()
    monkeypatch.setattr(guard, "_testing", [True])
    assert guard.strict()  # observe.testing: tests catch what prd would only count


def test_extra_dimensions_get_their_own_document_and_count_in_the_total() -> None:
    buf = MetricsBuffer()
    buf.add("Throttles", 1, source="http-429")
    buf.add("Throttles", 1, source="aws-throttling")
    buf.add("RecordsFetched", 10)
    docs = documents(buf, DIMS)
    for d in docs:
        validate_emf(d)
    by_dims = {tuple(d["_aws"]["CloudWatchMetrics"][0]["Dimensions"][0]): d for d in docs}
    assert by_dims[("service", "pipeline", "environment")]["Throttles"] == [1, 1]
    assert len(docs) == 3
    sources = sorted(d["source"] for d in docs if "source" in d)
    assert sources == ["aws-throttling", "http-429"]


def test_more_than_100_values_are_split_across_documents() -> None:
    buf = MetricsBuffer()
    for i in range(250):
        buf.add("FetchLatency", float(i))
    docs = documents(buf, DIMS)
    assert len(docs) == 3
    for d in docs:
        validate_emf(d)
    values = [
        v
        for d in docs
        for v in (d["FetchLatency"] if isinstance(d["FetchLatency"], list) else [d["FetchLatency"]])
    ]
    assert values == [float(i) for i in range(250)]


def test_more_than_100_metrics_are_split_across_documents(monkeypatch) -> None:
    extra = {f"Custom{i}": MetricDef(f"Custom{i}", "Count", "test", "test") for i in range(150)}
    monkeypatch.setattr(catalogue, "CATALOGUE", {**catalogue.CATALOGUE, **extra})
    buf = MetricsBuffer()
    for name in extra:
        buf.add(name, 1)
    docs = documents(buf, DIMS)
    assert len(docs) == 2
    for d in docs:
        validate_emf(d)
    assert sum(len(d["_aws"]["CloudWatchMetrics"][0]["Metrics"]) for d in docs) == 150


def test_too_many_dimensions_is_a_clear_error() -> None:
    buf = MetricsBuffer()
    buf.add("RecordsFetched", 1)
    dims = {f"d{i}": "x" for i in range(31)}
    with pytest.raises(ValueError, match="EMF allows 30"):
        documents(buf, dims)
    with pytest.raises(ValueError, match="more than 30 dimensions"):
        catalogue.register(MetricDef("Wide", "Count", "x", "x", dimensions=tuple(f"e{i}" for i in range(28))))


def test_bad_unit_in_a_definition_is_refused() -> None:
    with pytest.raises(ValueError, match="not an EMF unit; use one of Bits, Bits/Second"):
        catalogue.register(MetricDef("X", "Records", "x", "x"))
    with pytest.raises(ValueError, match="unit 'count' is not an EMF unit; use 'Count'"):
        catalogue.register(MetricDef("X", "count", "x", "x"))


def test_metric_outside_an_invocation_is_written_at_once(observe_capture, monkeypatch) -> None:
    monkeypatch.setenv("SERVICE_NAME", "script")
    metric("TasksPlanned", 4)
    (doc,) = observe_capture.metrics
    validate_emf(doc)
    assert doc["TasksPlanned"] == 4 and doc["service"] == "script"
