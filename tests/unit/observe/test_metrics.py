"""EMF documents: catalogue enforcement, dimension sets, and the EMF limits."""

from __future__ import annotations

import json

import pytest

from observe import catalogue
from observe.catalogue import MetricDef, UnknownMetricError
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
    with pytest.raises(UnknownMetricError, match=r"not in observe\.catalogue"):
        buf.add("RecordsFetchd", 1)


def test_undeclared_dimension_and_wrong_unit_are_refused() -> None:
    buf = MetricsBuffer()
    with pytest.raises(ValueError, match="dimension"):
        buf.add("RecordsFetched", 1, source="x")
    with pytest.raises(ValueError, match=r"catalogued in Milliseconds"):
        buf.add("Duration", 1, unit="Seconds")


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
    with pytest.raises(ValueError, match="not an EMF unit"):
        catalogue.register(MetricDef("X", "Records", "x", "x"))


def test_metric_outside_an_invocation_is_written_at_once(observe_capture, monkeypatch) -> None:
    monkeypatch.setenv("SERVICE_NAME", "script")
    metric("TasksPlanned", 4)
    (doc,) = observe_capture.metrics
    validate_emf(doc)
    assert doc["TasksPlanned"] == 4 and doc["service"] == "script"
