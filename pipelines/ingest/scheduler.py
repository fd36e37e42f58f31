"""The ingest scheduler: a cron tick or an upstream event -> fetch tasks on the SQS buffer.

Triggers and the tasks they plan:

- EventBridge schedule (``detail-type: Scheduled Event``): pages ``1..MAX_PAGES`` of the source
  in tasks of ``PAGES_PER_TASK`` pages, for the window ``[time - WINDOW_MINUTES, time)``; the last
  task keeps following ``next_page`` past its range, so a source larger than the budget is
  still read to the end.
- EventBridge upstream event: the same, with ``detail`` overriding ``source``, ``partitions``
  (or ``partition``), ``pages`` / ``start_page`` and ``window``; an S3 "Object Created" event
  becomes an ``s3-object`` task.
- S3 notification (``Records[].s3``): one ``s3-object`` task per object.
- Direct invoke (operators, tests): ``{"pages": N, "partitions": [...], "start_page": 1}``.

An explicit ``pages`` count plans exactly those pages; without it the last task of the
``MAX_PAGES`` budget follows ``next_page`` to the end (``follow`` overrides either way).

Each task is one message ``{"task": {...}}`` whose attributes carry the correlation id, the W3C
trace context and the task id. A send the queue refuses is retried once, then the invocation
fails so the trigger retries: tasks are idempotent, a duplicate costs a no-op, a gap loses data.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import unquote_plus

from observe import correlation, get_logger, metric, observed
from pipelines.ingest import config

log = get_logger(__name__)
_clients: dict[tuple[str | None, ...], Any] = {}


def _sqs() -> Any:
    fp = config.fingerprint()
    client = _clients.get(fp)
    if client is None:
        import boto3

        _clients.clear()
        client = _clients[fp] = boto3.session.Session().client("sqs")
    return client


def _parse_time(value: Any) -> datetime:
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)
        except ValueError:
            pass
    return datetime.now(UTC)


def _iso(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _positive(value: Any, name: str, default: int) -> int:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"scheduler event: {name} must be an integer >= 1, got {value!r}")
    return value


def page_tasks(
    *,
    source: str,
    partition: str | None,
    start_page: int,
    pages: int,
    per_task: int,
    window: dict[str, str],
    trigger: str,
    follow: bool = True,
) -> list[dict[str, Any]]:
    """Tasks covering ``pages`` pages from ``start_page``, ``per_task`` pages each.

    The last task has ``follow: true``: after its range it keeps reading while the source
    says there is a ``next_page``.
    """
    tasks = []
    last = start_page + pages - 1
    for first in range(start_page, last + 1, per_task):
        end = min(first + per_task - 1, last)
        tasks.append(
            {
                "task_id": f"{source}/{partition or '_'}/{first}-{end}/{window['end']}",
                "adapter": "paginated-json",
                "source": source,
                "partition": partition,
                "start_page": first,
                "end_page": end,
                "follow": follow and end == last,
                "window": window,
                "trigger": trigger,
            }
        )
    return tasks


def s3_task(bucket: str, key: str, version_id: str | None, source: str, trigger: str) -> dict[str, Any]:
    """A task reading one S3 object."""
    return {
        "task_id": f"s3://{bucket}/{key}#{version_id or 'latest'}",
        "adapter": "s3-object",
        "source": source,
        "bucket": bucket,
        "key": key,
        "version_id": version_id,
        "trigger": trigger,
    }


def _s3_notification_tasks(records: list[Any], cfg: config.IngestConfig) -> list[dict[str, Any]]:
    """One ``s3-object`` task per object of an S3 notification."""
    tasks = []
    for i, rec in enumerate(records):
        s3 = rec.get("s3") if isinstance(rec, Mapping) else None
        if not isinstance(s3, Mapping):
            raise ValueError(f"scheduler event: Records[{i}] is not an S3 notification record")
        obj = s3.get("object") or {}
        tasks.append(
            s3_task(
                str((s3.get("bucket") or {}).get("name")),
                unquote_plus(str(obj.get("key"))),
                obj.get("versionId"),
                cfg.source_name,
                "s3-notification",
            )
        )
    return tasks


def plan(event: Mapping[str, Any], cfg: config.IngestConfig) -> list[dict[str, Any]]:
    """The fetch tasks ``event`` asks for (see the module docstring)."""
    if not isinstance(event, Mapping):
        raise ValueError(f"scheduler event must be an object, got {type(event).__name__}")
    records = event.get("Records")
    if isinstance(records, list) and records:
        return _s3_notification_tasks(records, cfg)

    detail: Mapping[str, Any] = event
    trigger = "direct"
    when = datetime.now(UTC)
    if "detail-type" in event:
        when = _parse_time(event.get("time"))
        inner = event.get("detail")
        detail = inner if isinstance(inner, Mapping) else {}
        trigger = "schedule" if event.get("detail-type") == "Scheduled Event" else "event"
        if event.get("detail-type") == "Object Created" and isinstance(detail.get("bucket"), Mapping):
            obj = detail.get("object") or {}
            return [
                s3_task(
                    str(detail["bucket"].get("name")), str(obj.get("key")), obj.get("version-id"),
                    cfg.source_name, "s3-eventbridge",
                )
            ]  # fmt: skip

    source = str(detail.get("source_name") or detail.get("source") or cfg.source_name)
    window = detail.get("window")
    if not (isinstance(window, Mapping) and "start" in window and "end" in window):
        window = {"start": _iso(when - timedelta(minutes=cfg.window_minutes)), "end": _iso(when)}
    partitions = detail.get("partitions")
    if partitions is None:
        partitions = [detail.get("partition")]
    if not isinstance(partitions, list) or not all(p is None or isinstance(p, str) for p in partitions):
        raise ValueError("scheduler event: partitions must be a list of strings")
    start = _positive(detail.get("start_page"), "start_page", 1)
    pages = _positive(detail.get("pages"), "pages", cfg.max_pages)
    # The MAX_PAGES budget is a guess at the source's size, so its last task reads on to the
    # end; an explicit "pages" means exactly those pages (unless "follow" says otherwise).
    follow = detail.get("follow", "pages" not in detail)
    if not isinstance(follow, bool):
        raise ValueError(f"scheduler event: follow must be true or false, got {follow!r}")
    tasks: list[dict[str, Any]] = []
    for partition in partitions:
        tasks += page_tasks(
            source=source,
            partition=partition,
            start_page=start,
            pages=pages,
            per_task=cfg.pages_per_task,
            window=dict(window),
            trigger=trigger,
            follow=follow,
        )
    return tasks


def send_tasks(sqs: Any, queue_url: str, tasks: list[dict[str, Any]]) -> int:
    """Send ``{"task": ...}`` messages in batches of 10; raise if any is finally refused."""
    sent = 0
    for offset in range(0, len(tasks), 10):
        entries = [
            {
                "Id": str(i),
                "MessageBody": json.dumps({"task": task}),
                "MessageAttributes": correlation.sqs_message_attributes(
                    {"task_id": {"DataType": "String", "StringValue": task["task_id"]}}
                ),
            }
            for i, task in enumerate(tasks[offset : offset + 10])
        ]
        for attempt in (1, 2):
            resp = sqs.send_message_batch(QueueUrl=queue_url, Entries=entries)
            sent += len(resp.get("Successful", []))
            failed_ids = {f["Id"] for f in resp.get("Failed", [])}
            if not failed_ids:
                break
            entries = [e for e in entries if e["Id"] in failed_ids]
            if attempt == 2:
                reasons = sorted({f"{f.get('Code')}: {f.get('Message')}" for f in resp["Failed"]})
                raise RuntimeError(f"SQS refused {len(entries)} task message(s) twice: {'; '.join(reasons)}")
    return sent


@observed(pipeline="ingest")
def ingest_scheduler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Lambda entry point for the schedule, upstream EventBridge events and S3 notifications."""
    cfg = config.load(config.SCHEDULER_REQUIRED)
    tasks = plan(event, cfg)
    sent = send_tasks(_sqs(), cfg.queue_url, tasks)
    metric("TasksPlanned", sent)
    log.info("tasks planned", tasks=sent, trigger=tasks[0]["trigger"] if tasks else None)
    return {"tasks": sent, "correlation_id": correlation.get()}


#: The Lambda handler name (``pipelines.ingest.scheduler.handler``); the service name
#: defaults to ``ingest_scheduler`` unless ``SERVICE_NAME`` is set.
handler = ingest_scheduler
