"""Units of the source adapters and the store that need no server."""

from __future__ import annotations

from decimal import Decimal

import pytest

from observe import correlation
from observe.telemetry import Throttle, ThrottledError
from pipelines.ingest.source import (
    BadTaskError,
    MalformedPageError,
    ThrottleGate,
    adapter_for,
    first_error,
    parse_object,
    parse_page,
)
from pipelines.ingest.store import Store, UnstorableRecord, attribute_value


def test_parse_page_accepts_the_contract_and_names_what_is_wrong() -> None:
    assert parse_page(b'{"records": [{"id": 1}], "next_page": 2}', "page-1") == ([{"id": 1}], 2)
    assert parse_page(b'{"records": [], "next_page": null}', "page-9") == ([], None)
    for body, why in [
        (b'{"records": [{"id": 1', "body is not JSON"),
        (b'{"items": []}', "'records' list"),
        (b'{"records": [], "next_page": "2"}', "'next_page' must be an integer"),
        (b"[1, 2]", "'records' list"),
    ]:
        with pytest.raises(MalformedPageError) as err:
            parse_page(body, "page-000004")
        assert why in str(err.value) and "page-000004" in str(err.value)
        assert err.value.body == body


def test_parse_object_reads_records_arrays_and_json_lines() -> None:
    assert parse_object(b'{"records": [{"a": 1}]}', "k") == [{"a": 1}]
    assert parse_object(b'[{"a": 1}, {"a": 2}]', "k") == [{"a": 1}, {"a": 2}]
    assert parse_object(b'{"a": 1}\n\n{"a": 2}\n', "k") == [{"a": 1}, {"a": 2}]
    assert parse_object(b"", "k") == []
    with pytest.raises(MalformedPageError, match="line 2 is not JSON"):
        parse_object(b'{"a": 1}\n{"a": \n', "drops/x.jsonl")


def test_gate_refuses_every_request_once_tripped() -> None:
    gate = ThrottleGate()
    gate.check()
    gate.trip(Throttle("http-429", "429", 2.0))
    gate.trip(Throttle("aws-throttling", "ThrottlingException", None))  # the first one stays
    with pytest.raises(ThrottledError) as err:
        gate.check()
    assert err.value.throttle.source == "http-429" and err.value.throttle.retry_after == 2.0


def test_first_error_prefers_the_throttle_in_a_group() -> None:
    throttled = ThrottledError(Throttle("http-429", "429", 1.0))
    group = ExceptionGroup("x", [ValueError("a"), ExceptionGroup("y", [throttled])])
    assert first_error(group) is throttled
    plain = ValueError("a")
    assert first_error(ExceptionGroup("x", [plain, KeyError("b")])) is plain


def test_unknown_adapters_and_bad_page_numbers_are_bad_tasks() -> None:
    with pytest.raises(BadTaskError, match="'ftp' is unknown"):
        adapter_for({"adapter": "ftp"})
    assert adapter_for({}).name == "paginated-json"
    assert adapter_for({"adapter": "s3-object"}).name == "s3-object"


def test_attribute_value_keeps_number_text_and_refuses_what_dynamodb_cannot_hold() -> None:
    assert attribute_value({"a": 1.5, "b": [0.1, {"c": 2}], "d": "x", "e": True, "f": None}) == {
        "M": {
            "a": {"N": "1.5"},
            "b": {"L": [{"N": "0.1"}, {"M": {"c": {"N": "2"}}}]},
            "d": {"S": "x"},
            "e": {"BOOL": True},
            "f": {"NULL": True},
        }
    }
    assert attribute_value(Decimal("12.50")) == {"N": "12.50"}
    assert attribute_value(b"\x00\xff") == {"B": "AP8="}
    with pytest.raises(UnstorableRecord, match=r"b\[1\]: nan is not a finite number"):
        attribute_value({"b": [1.0, float("nan")]})
    with pytest.raises(UnstorableRecord, match=r"when: datetime cannot be stored"):
        import datetime

        attribute_value({"when": datetime.datetime(2026, 1, 1)})


def test_item_keeps_every_field_plus_pk_and_the_correlation_id() -> None:
    store = Store(
        dynamo=None, s3=None, table="t", bucket="b", key_field="id", version_field="version", concurrency=1
    )
    with correlation.scope("cid-123"):
        item = store.item({"id": "a", "version": 3, "amount": 1.25, "tags": ["x"], "note": None})
    assert item == {
        "id": {"S": "a"},
        "pk": {"S": "a"},
        "version": {"N": "3"},
        "amount": {"N": "1.25"},
        "tags": {"L": [{"S": "x"}]},
        "note": {"NULL": True},
        "_correlation_id": {"S": "cid-123"},
    }
