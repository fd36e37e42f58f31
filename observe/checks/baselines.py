"""Where the drift detector keeps its rolling baselines: DynamoDB in Lambda, memory in unit tests.

A baseline is the list of the last N batch profiles (row count, null rate per column, unexpected
rate per expectation, column dtypes) for one ``pipeline#source`` key. Many workers may finish
batches of the same source at once, so the DynamoDB store appends with optimistic concurrency
(a ``version`` attribute in a condition expression, re-read and retry on conflict): no update is
lost and the history stays ordered.

Item layout (table name configurable; partition key ``pk``, a string):

    pk        "ingest#orders"
    history   JSON string: a list of profiles, oldest first (JSON keeps floats exact, no Decimal)
    version   number, +1 per write
    updated_at ISO-8601 UTC
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import threading
from typing import Any, Protocol

Profile = dict[str, Any]
#: DynamoDB items are capped at 400 KB; the history attribute stays well under it.
MAX_HISTORY_BYTES = 350_000


class BaselineStore(Protocol):
    """Storage for baselines: read a key's history, append one profile keeping the last ``keep``."""

    def history(self, key: str) -> list[Profile]:
        """The profiles stored under ``key``, oldest first (empty if none)."""
        ...

    def append(self, key: str, profile: Profile, *, keep: int) -> list[Profile]:
        """Append ``profile`` atomically, trim to the last ``keep``; return the stored history."""
        ...


class InMemoryBaselineStore:
    """A process-local store for unit tests and local runs (thread-safe)."""

    def __init__(self) -> None:
        self._data: dict[str, list[Profile]] = {}
        self._lock = threading.Lock()

    def history(self, key: str) -> list[Profile]:
        with self._lock:
            return [dict(p) for p in self._data.get(key, [])]

    def append(self, key: str, profile: Profile, *, keep: int) -> list[Profile]:
        with self._lock:
            items = [*self._data.get(key, []), dict(profile)][-keep:]
            self._data[key] = items
            return [dict(p) for p in items]


class BaselineConflictError(RuntimeError):
    """Concurrent writers kept winning the race for one key; the append was not stored."""


class DynamoBaselineStore:
    """Baselines in a DynamoDB table (``pk`` string partition key).

    ``table_name`` defaults to ``$BASELINE_TABLE``. The client is created on first use with the
    standard boto3 chain, so ``AWS_ENDPOINT_URL`` / region / credentials come from the environment.
    Errors from DynamoDB (throttling included) propagate: the worker's failure boundary decides.
    """

    def __init__(self, table_name: str | None = None, *, client: Any = None, max_attempts: int = 8) -> None:
        name = table_name or os.environ.get("BASELINE_TABLE")
        if not name:
            raise ValueError("DynamoBaselineStore needs a table name: pass table_name= or set BASELINE_TABLE")
        self.table_name = name
        self._client = client
        self.max_attempts = max_attempts

    @property
    def client(self) -> Any:
        if self._client is None:
            import boto3  # lazy: only a worker that uses drift baselines pays for boto3

            self._client = boto3.client("dynamodb")
        return self._client

    def _get(self, key: str) -> tuple[list[Profile], int | None]:
        resp = self.client.get_item(
            TableName=self.table_name,
            Key={"pk": {"S": key}},
            ConsistentRead=True,
            ProjectionExpression="history, version",
        )
        item = resp.get("Item")
        if not item:
            return [], None
        return json.loads(item["history"]["S"]), int(item["version"]["N"])

    def history(self, key: str) -> list[Profile]:
        return self._get(key)[0]

    def append(self, key: str, profile: Profile, *, keep: int) -> list[Profile]:
        for _ in range(self.max_attempts):
            items, version = self._get(key)
            items = [*items, profile][-keep:]
            history = json.dumps(items, separators=(",", ":"), allow_nan=False)
            while len(history.encode()) > MAX_HISTORY_BYTES and len(items) > 1:
                items = items[1:]  # very wide tables: keep fewer batches rather than fail the write
                history = json.dumps(items, separators=(",", ":"), allow_nan=False)
            new_version = 1 if version is None else version + 1
            item = {
                "pk": {"S": key},
                "history": {"S": history},
                "version": {"N": str(new_version)},
                "updated_at": {"S": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")},
            }
            if version is None:
                cond: dict[str, Any] = {"ConditionExpression": "attribute_not_exists(pk)"}
            else:
                cond = {
                    "ConditionExpression": "version = :v",
                    "ExpressionAttributeValues": {":v": {"N": str(version)}},
                }
            try:
                self.client.put_item(TableName=self.table_name, Item=item, **cond)
                return items
            except self.client.exceptions.ConditionalCheckFailedException:
                continue  # another worker appended first: re-read and try again
        raise BaselineConflictError(
            f"baseline {key!r} in table {self.table_name}: "
            f"{self.max_attempts} concurrent-write conflicts in a row"
        )

    def create_table(self) -> None:
        """Create the table (on-demand) if missing: for local runs and tests; Terraform owns it in AWS."""
        try:
            self.client.create_table(
                TableName=self.table_name,
                AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                BillingMode="PAY_PER_REQUEST",
            )
        except self.client.exceptions.ResourceInUseException:
            return
        self.client.get_waiter("table_exists").wait(TableName=self.table_name)
