"""Ship a function's log events to CloudWatch Logs (the moto server), as Lambda does.

Lambda writes each execution environment's events to its own stream of the group
``/aws/lambda/<function>`` (``2026/01/01/[$LATEST]<32 hex>``); the group is created on first use
when the function's role may (the Terraform modules create it, with its retention, beforehand).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from typing import Any, Protocol

MAX_BATCH_EVENTS = 10_000
MAX_BATCH_BYTES = 1_048_576
EVENT_OVERHEAD = 26  # bytes CloudWatch counts per event on top of its message


class Event(Protocol):
    """A log event: when (epoch ms), what, and which stream of the group it belongs to."""

    @property
    def timestamp(self) -> int: ...

    @property
    def message(self) -> str: ...

    @property
    def stream(self) -> str: ...


class CloudWatchLogs:
    """Puts events into log groups and streams, creating them when absent."""

    def __init__(self, client: Any = None) -> None:
        self._client = client
        self._groups: set[str] = set()
        self._streams: set[tuple[str, str]] = set()

    @property
    def client(self) -> Any:
        if self._client is None:
            import boto3

            self._client = boto3.client("logs")
        return self._client

    def _ensure(self, group: str, stream: str) -> None:
        logs = self.client
        if group not in self._groups:
            with contextlib.suppress(logs.exceptions.ResourceAlreadyExistsException):
                logs.create_log_group(logGroupName=group)
            self._groups.add(group)
        if (group, stream) not in self._streams:
            with contextlib.suppress(logs.exceptions.ResourceAlreadyExistsException):
                logs.create_log_stream(logGroupName=group, logStreamName=stream)
            self._streams.add((group, stream))

    def ship(self, group: str, events: Iterable[Event]) -> int:
        """Put ``events`` (each into its own ``stream``) in ``group``; returns how many were put.

        Each stream's events go in time order (CloudWatch refuses a batch that is not), in batches
        within the PutLogEvents limits (10,000 events, 1 MB).
        """
        by_stream: dict[str, list[Event]] = {}
        for e in events:
            by_stream.setdefault(e.stream, []).append(e)
        put = 0
        for stream, evs in by_stream.items():
            self._ensure(group, stream)
            evs.sort(key=lambda e: e.timestamp)
            batch: list[dict[str, Any]] = []
            size = 0
            for e in evs:
                n = len(e.message.encode()) + EVENT_OVERHEAD
                if batch and (len(batch) >= MAX_BATCH_EVENTS or size + n > MAX_BATCH_BYTES):
                    self.client.put_log_events(logGroupName=group, logStreamName=stream, logEvents=batch)
                    batch, size = [], 0
                batch.append({"timestamp": e.timestamp, "message": e.message})
                size += n
            if batch:
                self.client.put_log_events(logGroupName=group, logStreamName=stream, logEvents=batch)
            put += len(evs)
        return put
