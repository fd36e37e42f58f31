"""prepare(): early validation, type normalisation and newest-per-key deduplication."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emulator.source_api import DEMO_SUITE
from pipelines.ingest.transform import prepare
from pipelines.ingest.validation import make_validator

VALIDATOR = make_validator(DEMO_SUITE)


def rec(key: Any, version: Any, **extra: Any) -> dict[str, Any]:
    base = {"id": key, "version": version, "name": f"n-{key}", "amount": 10.0, "currency": "SGD"}
    base.update(extra)
    return base


def run(records: list[Any], kind: str = "auto", validator: Any = VALIDATOR):
    return prepare(records, key_field="id", version_field="version", version_kind=kind, validator=validator)


def test_keeps_the_newest_version_of_each_key_whatever_the_order() -> None:
    records = [rec("a", 2), rec("b", 1), rec("a", 5), rec("a", 3), rec("b", 1)]
    out = run(records)
    assert {r["id"]: r["version"] for r in out.valid} == {"a": 5, "b": 1}
    assert out.fetched == 5 and out.n_valid == 5 and out.duplicates == 3
    assert out.rejected == []


def test_quarantine_reasons_name_the_failed_expectations_and_keep_the_record_as_it_came() -> None:
    bad_amount = rec("c", 1, amount="12,50")
    no_key = rec(None, 1)
    bad_currency = rec("d", 1, currency="XXX", amount=-3)
    out = run([rec("a", 1), bad_amount, no_key, bad_currency, "not an object"])
    assert [r["id"] for r in out.valid] == ["a"]
    by_record = {repr(r.record): r.reasons for r in out.rejected}
    assert "expect_column_values_to_be_in_type_list:amount" in by_record[repr(bad_amount)]
    assert "id: missing, empty or not a string/integer key" in by_record[repr(no_key)]
    assert "expect_column_values_to_not_be_null:id" in by_record[repr(no_key)]
    assert set(by_record[repr(bad_currency)]) == {
        "expect_column_values_to_be_between:amount",
        "expect_column_values_to_be_in_set:currency",
    }
    assert by_record["'not an object'"] == ["not a JSON object"]
    assert out.failed_expectations["expect_column_values_to_be_in_set:currency"] == 1


def test_a_malformed_record_with_a_higher_version_never_wins() -> None:
    out = run([rec("a", 1), rec("a", 9, currency="XXX")])
    assert [(r["id"], r["version"]) for r in out.valid] == [("a", 1)]
    assert len(out.rejected) == 1


def test_unparseable_and_missing_versions_are_rejected() -> None:
    out = run(
        [rec("a", "v-latest"), rec("b", None), {"id": "c", "name": "x", "amount": 1, "currency": "SGD"}]
    )
    assert out.valid == []
    assert all(any(r.startswith("version:") for r in x.reasons) for x in out.rejected)


def test_timestamps_are_normalised_to_utc_and_compared_as_instants() -> None:
    records = [
        rec("a", "2026-01-02T10:00:00+08:00"),  # 02:00Z
        rec("a", "2026-01-02T03:00:00Z"),  # newest
        rec("a", "2026-01-02T02:30:00"),  # naive: taken as UTC
    ]
    out = run(records)
    assert out.version_kind == "timestamp"
    assert [r["version"] for r in out.valid] == ["2026-01-02T03:00:00.000000Z"]


def test_auto_kind_rejects_the_minority_kind_and_says_how_to_pin_it() -> None:
    out = run([rec("a", 1), rec("b", 2), rec("c", "2026-01-01T00:00:00Z")])
    assert out.version_kind == "number"
    assert [x.record["id"] for x in out.rejected] == ["c"]
    assert "VERSION_KIND" in out.rejected[0].reasons[0]
    pinned = run([rec("c", "2026-01-01T00:00:00Z")], kind="number")
    assert pinned.valid == [] and len(pinned.rejected) == 1


def test_keys_are_strings_and_big_integer_versions_stay_exact() -> None:
    big = 2**63 - 1
    out = run([rec(7, big - 1), rec("7", big), rec(" 8 ", "3")])
    got = {r["id"]: r["version"] for r in out.valid}
    assert got == {"7": big, "8": 3}
    assert isinstance(got["7"], int)


def test_booleans_are_neither_keys_nor_versions() -> None:
    out = run([rec(True, 1), rec("a", True)])
    assert out.valid == [] and len(out.rejected) == 2


def test_empty_and_all_invalid_batches() -> None:
    assert run([]).valid == []
    out = run([rec(None, None)])
    assert out.valid == [] and out.n_valid == 0 and len(out.rejected) == 1


def test_without_a_validator_only_the_structural_checks_run() -> None:
    out = run([rec("a", 1, currency="XXX"), rec(None, 1)], validator=None)
    assert [r["id"] for r in out.valid] == ["a"]
    assert len(out.rejected) == 1


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["k1", "k2", "k3", "k4"]),
            st.integers(min_value=0, max_value=20),
            st.booleans(),  # malformed?
        ),
        max_size=40,
    ),
    st.randoms(use_true_random=False),
)
def test_property_one_record_per_key_holding_the_max_valid_version(
    rows: list[tuple[str, int, bool]], rnd: random.Random
) -> None:
    records = [rec(k, v, currency="XXX" if bad else "USD") for k, v, bad in rows]
    rnd.shuffle(records)
    out = run(records)
    expected: dict[str, int] = {}
    for k, v, bad in rows:
        if not bad:
            expected[k] = max(v, expected.get(k, -1))
    assert {r["id"]: r["version"] for r in out.valid} == expected
    assert len(out.rejected) == sum(1 for *_, bad in rows if bad)
    assert out.duplicates == out.n_valid - len(out.valid)
    # nothing lost: every input is either a valid survivor, a dropped duplicate, or rejected
    assert len(out.valid) + out.duplicates + len(out.rejected) == len(records)


@pytest.mark.parametrize("n", [1, 1000])
def test_prepare_does_not_mutate_its_input(n: int) -> None:
    records = [rec(f"k{i % 7}", i) for i in range(n)]
    snapshot = [dict(r) for r in records]
    run(records)
    assert records == snapshot


def test_without_a_suite_any_teams_records_pass_if_they_have_their_key_and_version() -> None:
    """The default fits any team: only KEY_FIELD and VERSION_FIELD are required, nothing of the demo."""
    from pipelines.ingest import config

    cfg = config.load((), env={"KEY_FIELD": "order_id", "VERSION_FIELD": "updated_at"})
    assert cfg.suite_path == ""
    validator = make_validator(cfg.suite_path, key_field=cfg.key_field, version_field=cfg.version_field)
    orders = [
        {"order_id": "o-1", "updated_at": "2026-01-02T03:04:05Z", "sku": "A1", "qty": 2},
        {"order_id": "o-2", "updated_at": "2026-01-02T03:04:06Z", "note": None},
        {"order_id": "o-3", "updated_at": None, "sku": "B2"},
    ]
    out = prepare(
        orders, key_field="order_id", version_field="updated_at", version_kind="auto", validator=validator
    )
    assert [r["order_id"] for r in out.valid] == ["o-1", "o-2"]  # no name/amount/currency asked for
    (rejected,) = out.rejected
    assert rejected.record["order_id"] == "o-3"
    labels = {e.label for e in validator.suite.spec.expectations}  # type: ignore[attr-defined]
    assert labels == {
        "expect_column_values_to_not_be_null:order_id",
        "expect_column_values_to_not_be_null:updated_at",
    }


def test_the_demo_suite_is_the_demos_not_the_pipelines() -> None:
    assert DEMO_SUITE.parts[-3:] == ("demo", "suites", "records.json")
    assert not (
        Path(__file__).resolve().parents[3] / "pipelines" / "ingest" / "suites" / "records.json"
    ).exists()
