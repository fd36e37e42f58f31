"""Drift settings (BASELINE_TABLE, DRIFT_ACTIONS, DRIFT_WINDOW, DRIFT_MIN_HISTORY) and the per-batch
check the worker runs, with an in-memory baseline store."""

from __future__ import annotations

from typing import Any

import pytest

from emulator.source_api import DEMO_SUITE
from observe.checks import BatchQuarantined, InMemoryBaselineStore, TaskFailed
from observe.config import ConfigError
from pipelines.ingest import config
from pipelines.ingest.drift import BatchDrift, baseline_source
from pipelines.ingest.transform import prepare
from pipelines.ingest.validation import make_validator

WORKER_ENV = {
    "SOURCE_URL": "http://127.0.0.1:1/records",
    "TABLE_NAME": "t",
    "BACKUP_BUCKET": "b",
    "ENVIRONMENT": "dev",
}
VALIDATOR = make_validator(DEMO_SUITE)


def load(**env: str) -> config.IngestConfig:
    return config.load(config.WORKER_REQUIRED, {**WORKER_ENV, **env})


# --- settings ----------------------------------------------------------------------------------


def test_without_baseline_table_drift_is_off_and_every_check_defaults_to_warn() -> None:
    cfg = load()
    assert not cfg.drift_enabled and cfg.baseline_table == ""
    assert dict(cfg.drift_actions) == {
        "row_count": "warn",
        "null_rate": "warn",
        "unexpected_rate": "warn",
        "schema": "warn",
    }
    assert (cfg.drift_window, cfg.drift_min_history) == (30, 5)


def test_the_documented_example_parses_and_unnamed_checks_keep_their_default() -> None:
    cfg = load(
        BASELINE_TABLE="pipelines-dev-ingest-baselines",
        DRIFT_ACTIONS="row_count=warn,schema=fail_task,null_rate=warn,unexpected_rate=quarantine_batch",
        DRIFT_WINDOW="10",
        DRIFT_MIN_HISTORY="10",
    )
    assert cfg.drift_enabled
    assert dict(cfg.drift_actions) == {
        "row_count": "warn",
        "null_rate": "warn",
        "unexpected_rate": "quarantine_batch",
        "schema": "fail_task",
    }
    assert (cfg.drift_window, cfg.drift_min_history) == (10, 10)
    assert dict(config.parse_drift_actions(" schema = quarantine_batch , ")) == {
        **config.DEFAULT_DRIFT_ACTIONS,
        "schema": "quarantine_batch",
    }
    assert dict(config.parse_drift_actions("")) == config.DEFAULT_DRIFT_ACTIONS


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("schema", "DRIFT_ACTIONS entry 1 'schema': expected check=action, e.g. schema=quarantine_batch"),
        ("row_count=warn,schema=", "DRIFT_ACTIONS entry 2 'schema=': expected check=action"),
        ("=warn", "DRIFT_ACTIONS entry 1 '=warn': expected check=action"),
        (
            "row_count=warn,shema=warn",
            "DRIFT_ACTIONS entry 2 'shema=warn': unknown check 'shema'; "
            "checks: row_count, null_rate, unexpected_rate, schema",
        ),
        (
            "schema=drop",
            "DRIFT_ACTIONS entry 1 'schema=drop': unknown action 'drop'; "
            "actions: warn, quarantine_batch, fail_task",
        ),
        ("schema=Warn", "unknown action 'Warn'"),
        (
            "schema=warn,row_count=warn,schema=fail_task",
            "DRIFT_ACTIONS entry 3 'schema=fail_task': check 'schema' is set more than once",
        ),
        ("schema:warn", "DRIFT_ACTIONS entry 1 'schema:warn': expected check=action"),
    ],
)
def test_a_bad_drift_action_names_the_entry_and_the_choices(value: str, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        load(BASELINE_TABLE="baselines", DRIFT_ACTIONS=value)
    assert message in str(err.value)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {"BASELINE_TABLE": "no spaces allowed"},
            "BASELINE_TABLE='no spaces allowed' is not a DynamoDB table",
        ),
        ({"BASELINE_TABLE": "ab"}, "BASELINE_TABLE='ab' is not a DynamoDB table name"),
        ({"DRIFT_WINDOW": "0"}, "DRIFT_WINDOW='0' must be an integer >= 1"),
        ({"DRIFT_MIN_HISTORY": "many"}, "DRIFT_MIN_HISTORY='many' must be an integer >= 1"),
        ({"DRIFT_WINDOW": "4"}, "DRIFT_MIN_HISTORY=5 must not exceed DRIFT_WINDOW=4"),
    ],
)
def test_other_bad_drift_settings_name_the_variable(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as err:
        load(**env)
    assert message in str(err.value)


def test_a_bad_drift_action_fails_even_when_drift_is_off() -> None:
    """A typo must not wait for the day someone sets BASELINE_TABLE."""
    with pytest.raises(ConfigError, match="unknown check 'rows'"):
        load(DRIFT_ACTIONS="rows=warn")


def test_changing_a_drift_setting_rebuilds_the_warm_runtime() -> None:
    assert {"BASELINE_TABLE", "DRIFT_ACTIONS", "DRIFT_WINDOW", "DRIFT_MIN_HISTORY"} <= set(
        config.RUNTIME_KEYS
    )


# --- the per-batch check -----------------------------------------------------------------------


def rec(i: int, **extra: Any) -> dict[str, Any]:
    return {"id": f"k{i}", "version": 1, "name": f"n{i}", "amount": float(i), "currency": "SGD", **extra}


def prepared(records: list[Any]) -> Any:
    return prepare(
        records,
        key_field="id",
        version_field="version",
        version_kind="auto",
        validator=VALIDATOR,
        keep_frames=True,
    )


def drift(**actions: str) -> BatchDrift:
    return BatchDrift(InMemoryBaselineStore(), actions, window=10, min_history=3, suite=VALIDATOR.suite)  # type: ignore[attr-defined]


def test_baseline_keys_mirror_the_s3_prefixes() -> None:
    assert baseline_source("crm", "eu") == "crm/eu"
    assert baseline_source("crm", None) == "crm/_"
    assert baseline_source("crm", "") == "crm/_"
    assert baseline_source("crm", "eu", push=True) == "crm/push"
    assert baseline_source(None) == "source/_"


def test_frames_are_kept_only_when_asked_for() -> None:
    plain = prepare(
        [rec(1)], key_field="id", version_field="version", version_kind="auto", validator=VALIDATOR
    )
    assert plain.frame is None and plain.accepted is None
    kept = prepared([rec(1), rec(2, amount="12,50"), "not a record"])
    assert len(kept.frame) == 2 and list(kept.accepted.index) == [0]
    assert str(kept.frame["amount"].dtype) == "object" and str(kept.accepted["amount"].dtype) == "float64"


def test_a_batch_without_any_object_is_not_profiled() -> None:
    d = drift(schema="fail_task")
    d.check(prepared([rec(i) for i in range(10)]), "s/_")
    assert d.check(prepared([]), "s/_") is None
    assert d.check(prepared(["x", 1]), "s/_") is None
    assert len(d.store.history("ingest#s/_")) == 1


def test_a_few_rejected_values_are_not_a_schema_change_but_a_new_column_is() -> None:
    d = drift(schema="fail_task")
    d.check(prepared([rec(i) for i in range(10)]), "s/_")
    report = d.check(prepared([*(rec(i) for i in range(9)), rec(9, amount="12,50")]), "s/_")
    assert report is not None and report.ok
    with pytest.raises(TaskFailed) as err:
        d.check(prepared([rec(i, tier="gold") for i in range(10)]), "s/_")
    assert [(a.check, a.kind, a.column) for a in err.value.anomalies] == [("schema", "new_column", "tier")]


def test_unexpected_rates_come_from_the_suite_run_on_the_whole_batch() -> None:
    d = drift(unexpected_rate="quarantine_batch")
    for _ in range(3):
        d.check(prepared([rec(i) for i in range(20)]), "s/_")
    bad = [rec(i, currency="XXX") if i < 8 else rec(i) for i in range(20)]
    with pytest.raises(BatchQuarantined) as err:
        d.check(prepared(bad), "s/_")
    [anomaly] = err.value.anomalies
    assert (anomaly.check, anomaly.column, anomaly.observed) == (
        "unexpected_rate",
        "expect_column_values_to_be_in_set:currency",
        0.4,
    )
    assert len(d.store.history("ingest#s/_")) == 3, "a quarantined batch does not join the baseline"


def test_row_count_is_what_arrived_and_only_a_volume_change_trips_it() -> None:
    d = drift(row_count="fail_task")
    for _ in range(3):
        d.check(prepared([rec(i) for i in range(20)]), "s/_")
    half_invalid = [rec(i, amount=-1.0) if i % 2 else rec(i) for i in range(20)]
    report = d.check(prepared(half_invalid), "s/_")
    assert report is not None and {a.check for a in report.anomalies} == {"unexpected_rate"}
    assert d.store.history("ingest#s/_")[-1]["rows"] == 20
    with pytest.raises(TaskFailed) as err:
        d.check(prepared([rec(i) for i in range(3)]), "s/_")
    assert [(a.check, a.observed, a.baseline) for a in err.value.anomalies] == [("row_count", 3, 20)]
