"""The ingest pipeline's settings, read from environment variables and checked at cold start.

Behaviour lives in code, configuration here: what the record key and version fields are called,
where the source, table, bucket and queue are, how much concurrency to use. AWS endpoints come
from boto3's standard ``AWS_ENDPOINT_URL`` (and ``AWS_ENDPOINT_URL_<SERVICE>``), never from here.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from observe.config import ENVIRONMENTS, ConfigError, number, require

VERSION_KINDS = ("auto", "number", "timestamp")

#: Drift actions when ``DRIFT_ACTIONS`` does not name a check: observe and alarm, never block data.
#: A baseline only learns from accepted batches, so a blocking default would stop a source for good
#: after a harmless change (a new column); escalate per check once its baseline is trusted.
DEFAULT_DRIFT_ACTIONS: dict[str, str] = {
    "row_count": "warn",
    "null_rate": "warn",
    "unexpected_rate": "warn",
    "schema": "warn",
}
_TABLE_NAME = re.compile(r"^[A-Za-z0-9_.-]{3,255}$")

#: What each stage needs; a missing one fails the first (cold-start) invocation by name.
WORKER_REQUIRED = ("SOURCE_URL", "TABLE_NAME", "BACKUP_BUCKET", "ENVIRONMENT")
SCHEDULER_REQUIRED = ("QUEUE_URL", "ENVIRONMENT")


@dataclass(frozen=True)
class IngestConfig:
    """Every setting of the pipeline; build it with :func:`load`."""

    environment: str
    source_url: str = ""
    table_name: str = ""
    backup_bucket: str = ""
    queue_url: str = ""
    source_name: str = "source"
    key_field: str = "id"
    version_field: str = "version"
    version_kind: str = "auto"
    #: an ExpectationSuite JSON file; empty: only KEY_FIELD and VERSION_FIELD must be present
    suite_path: str = ""
    fetch_concurrency: int = 8
    task_concurrency: int = 4
    upsert_concurrency: int = 16
    http_timeout: float = 10.0
    fetch_retries: int = 2
    pages_per_task: int = 5
    max_pages: int = 50
    window_minutes: int = 60
    #: DynamoDB table of the drift baselines; empty: no drift detection (the worker as before)
    baseline_table: str = ""
    #: (check, action) pairs for every drift check; see :func:`parse_drift_actions`
    drift_actions: tuple[tuple[str, str], ...] = tuple(DEFAULT_DRIFT_ACTIONS.items())
    drift_window: int = 30
    drift_min_history: int = 5

    @property
    def drift_enabled(self) -> bool:
        """True when the worker runs the drift detector on every batch (``BASELINE_TABLE`` is set)."""
        return bool(self.baseline_table)


def parse_drift_actions(raw: str | None) -> tuple[tuple[str, str], ...]:
    """``DRIFT_ACTIONS`` (``check=action,...``) as (check, action) pairs covering every check.

    Checks not named keep :data:`DEFAULT_DRIFT_ACTIONS`. Raises :class:`ConfigError` naming the bad
    entry (its position and text) and the allowed checks or actions.
    """
    from observe.checks.drift import ACTIONS, CHECKS  # the detector owns the names

    actions = dict(DEFAULT_DRIFT_ACTIONS)
    seen: set[str] = set()
    for n, entry in enumerate((raw or "").split(","), start=1):
        text = entry.strip()
        if not text:
            continue  # "a=warn," or an empty variable: nothing to set
        where = f"DRIFT_ACTIONS entry {n} {text!r}"
        check, sep, action = (part.strip() for part in text.partition("="))
        if not sep or not check or not action:
            raise ConfigError(f"{where}: expected check=action, e.g. schema=quarantine_batch")
        if check not in CHECKS:
            raise ConfigError(f"{where}: unknown check {check!r}; checks: {', '.join(CHECKS)}")
        if action not in ACTIONS:
            raise ConfigError(f"{where}: unknown action {action!r}; actions: {', '.join(ACTIONS)}")
        if check in seen:
            raise ConfigError(f"{where}: check {check!r} is set more than once")
        seen.add(check)
        actions[check] = action
    return tuple((c, actions[c]) for c in CHECKS)


def _int(env: Mapping[str, str], name: str, default: int, minimum: int = 1) -> int:
    return int(number(env, name, default, minimum=minimum, integer=True))


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    return float(number(env, name, default, minimum=0, exclusive=True, unit="seconds"))


def load(required: tuple[str, ...], env: Mapping[str, str] | None = None) -> IngestConfig:
    """Read and check the settings; ``required`` names the variables this stage cannot do without.

    Raises :class:`observe.config.ConfigError` naming every missing variable, or the malformed
    one and what it should be.
    """
    env = os.environ if env is None else env
    require(*required, env=env, context="ingest pipeline")
    environment = env.get("ENVIRONMENT", "dev")
    if environment not in ENVIRONMENTS:
        raise ConfigError(f"ENVIRONMENT={environment!r} is not one of {', '.join(ENVIRONMENTS)}")
    source_url = env.get("SOURCE_URL", "")
    if source_url and not source_url.startswith(("http://", "https://")):
        raise ConfigError(f"SOURCE_URL={source_url!r} must be an http(s) URL")
    version_kind = env.get("VERSION_KIND", "auto") or "auto"
    if version_kind not in VERSION_KINDS:
        raise ConfigError(f"VERSION_KIND={version_kind!r} is not one of {', '.join(VERSION_KINDS)}")
    key_field = env.get("KEY_FIELD") or "id"
    version_field = env.get("VERSION_FIELD") or "version"
    if key_field == version_field:
        raise ConfigError(f"KEY_FIELD and VERSION_FIELD are both {key_field!r}; they must differ")
    suite_path = env.get("SUITE_PATH") or ""
    if suite_path and not Path(suite_path).is_file():
        raise ConfigError(f"SUITE_PATH={suite_path!r}: no such file (an ExpectationSuite JSON document)")
    baseline_table = env.get("BASELINE_TABLE") or ""
    if baseline_table and not _TABLE_NAME.match(baseline_table):
        raise ConfigError(
            f"BASELINE_TABLE={baseline_table!r} is not a DynamoDB table name "
            "(3-255 letters, digits, '_', '-', '.'); unset it to run without drift detection"
        )
    drift_actions = parse_drift_actions(env.get("DRIFT_ACTIONS"))
    drift_window = _int(env, "DRIFT_WINDOW", 30)
    drift_min_history = _int(env, "DRIFT_MIN_HISTORY", 5)
    if drift_min_history > drift_window:
        raise ConfigError(
            f"DRIFT_MIN_HISTORY={drift_min_history} must not exceed DRIFT_WINDOW={drift_window} "
            "(the statistical checks would never run)"
        )
    return IngestConfig(
        environment=environment,
        source_url=source_url,
        table_name=env.get("TABLE_NAME", ""),
        backup_bucket=env.get("BACKUP_BUCKET", ""),
        queue_url=env.get("QUEUE_URL", ""),
        source_name=env.get("SOURCE_NAME") or "source",
        key_field=key_field,
        version_field=version_field,
        version_kind=version_kind,
        suite_path=suite_path,
        fetch_concurrency=_int(env, "FETCH_CONCURRENCY", 8),
        task_concurrency=_int(env, "TASK_CONCURRENCY", 4),
        upsert_concurrency=_int(env, "UPSERT_CONCURRENCY", 16),
        http_timeout=_float(env, "HTTP_TIMEOUT", 10.0),
        fetch_retries=_int(env, "FETCH_RETRIES", 2, minimum=0),
        pages_per_task=_int(env, "PAGES_PER_TASK", 5),
        max_pages=_int(env, "MAX_PAGES", 50),
        window_minutes=_int(env, "WINDOW_MINUTES", 60),
        baseline_table=baseline_table,
        drift_actions=drift_actions,
        drift_window=drift_window,
        drift_min_history=drift_min_history,
    )


#: Variables whose change means clients and settings must be rebuilt (tests switch endpoints).
RUNTIME_KEYS = (
    *WORKER_REQUIRED,
    "QUEUE_URL",
    "SOURCE_NAME",
    "KEY_FIELD",
    "VERSION_FIELD",
    "VERSION_KIND",
    "SUITE_PATH",
    "FETCH_CONCURRENCY",
    "TASK_CONCURRENCY",
    "UPSERT_CONCURRENCY",
    "HTTP_TIMEOUT",
    "FETCH_RETRIES",
    "PAGES_PER_TASK",
    "MAX_PAGES",
    "WINDOW_MINUTES",
    "BASELINE_TABLE",
    "DRIFT_ACTIONS",
    "DRIFT_WINDOW",
    "DRIFT_MIN_HISTORY",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_DYNAMODB",
    "AWS_ENDPOINT_URL_S3",
    "AWS_ENDPOINT_URL_SQS",
    "AWS_MAX_ATTEMPTS",
    "AWS_RETRY_MODE",
    "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_ACCESS_KEY_ID",  # new credentials (with the secret and token) mean a new DynamoDB client
    "AWS_SESSION_TOKEN",
)


def fingerprint() -> tuple[str | None, ...]:
    """The current values of :data:`RUNTIME_KEYS` (cheap; compared on every invocation)."""
    return tuple(os.environ.get(k) for k in RUNTIME_KEYS)
