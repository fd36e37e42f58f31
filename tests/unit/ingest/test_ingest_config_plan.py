"""Settings checked at cold start, and what the scheduler plans for each trigger."""

from __future__ import annotations

import pytest

from observe.config import ConfigError
from pipelines.ingest import config
from pipelines.ingest.scheduler import page_tasks, plan

WORKER_ENV = {
    "SOURCE_URL": "http://127.0.0.1:1/records",
    "TABLE_NAME": "t",
    "BACKUP_BUCKET": "b",
    "ENVIRONMENT": "dev",
}


def test_missing_variables_are_all_named() -> None:
    with pytest.raises(ConfigError) as err:
        config.load(config.WORKER_REQUIRED, {"ENVIRONMENT": "dev", "TABLE_NAME": "t"})
    assert "SOURCE_URL" in str(err.value) and "BACKUP_BUCKET" in str(err.value)
    assert "TABLE_NAME" not in str(err.value)
    with pytest.raises(ConfigError, match="QUEUE_URL"):
        config.load(config.SCHEDULER_REQUIRED, {"ENVIRONMENT": "dev"})
    with pytest.raises(ConfigError, match="ENVIRONMENT"):
        config.load(config.SCHEDULER_REQUIRED, {"QUEUE_URL": "q"})


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("UPSERT_CONCURRENCY", "zero", "UPSERT_CONCURRENCY='zero' must be an integer >= 1"),
        ("FETCH_CONCURRENCY", "0", "FETCH_CONCURRENCY='0' must be an integer >= 1"),
        ("HTTP_TIMEOUT", "-1", "HTTP_TIMEOUT='-1' must be a number of seconds > 0"),
        ("VERSION_KIND", "date", "VERSION_KIND='date' is not one of auto, number, timestamp"),
        ("SOURCE_URL", "ftp://x", "SOURCE_URL='ftp://x' must be an http(s) URL"),
        ("ENVIRONMENT", "prod", "ENVIRONMENT='prod' is not one of dev, stg, prd"),
        ("SUITE_PATH", "/nope.json", "SUITE_PATH='/nope.json': no such file"),
        ("VERSION_FIELD", "id", "KEY_FIELD and VERSION_FIELD are both 'id'"),
    ],
)
def test_malformed_settings_name_the_variable_and_the_fix(name: str, value: str, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        config.load(config.WORKER_REQUIRED, {**WORKER_ENV, name: value})
    assert message in str(err.value)


def test_defaults_and_overrides() -> None:
    cfg = config.load(
        config.WORKER_REQUIRED, {**WORKER_ENV, "KEY_FIELD": "customer_id", "FETCH_RETRIES": "0"}
    )
    assert (cfg.key_field, cfg.version_field, cfg.version_kind) == ("customer_id", "version", "auto")
    assert cfg.fetch_retries == 0 and cfg.upsert_concurrency == 16


def _cfg(**kw: str) -> config.IngestConfig:
    return config.load(config.SCHEDULER_REQUIRED, {"ENVIRONMENT": "dev", "QUEUE_URL": "q", **kw})


def test_page_tasks_cover_every_page_once_and_the_last_follows_on() -> None:
    window = {"start": "s", "end": "e"}
    tasks = page_tasks(
        source="src", partition=None, start_page=3, pages=12, per_task=5, window=window, trigger="direct"
    )
    covered = [p for t in tasks for p in range(t["start_page"], t["end_page"] + 1)]
    assert covered == list(range(3, 15))
    assert [t["follow"] for t in tasks] == [False, False, True]
    assert len({t["task_id"] for t in tasks}) == 3


def test_cron_tick_plans_the_page_budget_for_its_window() -> None:
    event = {
        "id": "cdc73f9d-aea9-11e3-9d5a-835b769c0d9c",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "time": "2026-11-26T03:00:00Z",
        "detail": {},
    }
    tasks = plan(event, _cfg(MAX_PAGES="10", PAGES_PER_TASK="4", WINDOW_MINUTES="15", SOURCE_NAME="crm"))
    assert [(t["start_page"], t["end_page"]) for t in tasks] == [(1, 4), (5, 8), (9, 10)]
    assert [t["follow"] for t in tasks] == [False, False, True], "the budget's last task reads on"
    assert tasks[0]["window"] == {"start": "2026-11-26T02:45:00Z", "end": "2026-11-26T03:00:00Z"}
    assert {t["trigger"] for t in tasks} == {"schedule"} and {t["source"] for t in tasks} == {"crm"}


def test_upstream_event_overrides_partitions_and_pages() -> None:
    event = {
        "detail-type": "PartnerExportReady",
        "source": "com.partner",
        "time": "2026-11-26T03:00:00Z",
        "detail": {"partitions": ["sg", "my"], "pages": 2, "window": {"start": "a", "end": "b"}},
    }
    tasks = plan(event, _cfg(PAGES_PER_TASK="5"))
    assert [(t["partition"], t["start_page"], t["end_page"]) for t in tasks] == [("sg", 1, 2), ("my", 1, 2)]
    assert not any(t["follow"] for t in tasks), "an explicit page count is exact"
    assert plan({"pages": 2, "follow": True}, _cfg())[-1]["follow"] is True
    assert all(t["window"] == {"start": "a", "end": "b"} and t["trigger"] == "event" for t in tasks)


def test_s3_notifications_become_object_tasks_with_decoded_keys() -> None:
    event = {
        "Records": [
            {
                "eventSource": "aws:s3",
                "s3": {
                    "bucket": {"name": "drops"},
                    "object": {"key": "in/day+1/file%3D2.json", "versionId": "v1"},
                },
            }
        ]
    }
    (task,) = plan(event, _cfg())
    assert (task["adapter"], task["bucket"], task["key"], task["version_id"]) == (
        "s3-object",
        "drops",
        "in/day 1/file=2.json",
        "v1",
    )
    eb = {
        "detail-type": "Object Created",
        "detail": {"bucket": {"name": "drops"}, "object": {"key": "k.json"}},
    }
    assert plan(eb, _cfg())[0]["key"] == "k.json"


@pytest.mark.parametrize(
    "event",
    [
        {"pages": 0},
        {"pages": "3"},
        {"partitions": "sg"},
        {"follow": "yes"},
        {"Records": [{"eventSource": "aws:sqs"}]},
    ],
)
def test_bad_scheduler_events_fail_naming_the_field(event: dict) -> None:
    with pytest.raises(ValueError, match="scheduler event"):
        plan(event, _cfg())
