"""Builders for the diagnostics unit tests: log lines in the documented schema, EMF documents made
by observe's own EMF writer (so the shape cannot drift from what production writes)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from diagnostics.analysis import split_docs
from diagnostics.model import DLQMessage, QuarantineDoc, iso
from observe import get_logger, metric, observed
from observe.batch import process_sqs_batch
from observe.metrics import MetricsBuffer, documents

#: A period-aligned start (a multiple of 300 s), so tests place values in known periods.
T0 = datetime(2026, 11, 26, 4, 0, 0, tzinfo=UTC)
REPO = Path(__file__).resolve().parents[3]
ALARMS_DIR = REPO / "terraform" / "generated"


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def stamp(seconds: float) -> str:
    return at(seconds).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def line(
    seconds: float,
    message: str,
    *,
    level: str = "info",
    service: str = "ingest-worker",
    rid: str | None = "req-1",
    cid: str | None = None,
    logger: str = "pipelines.ingest.worker",
    **fields: Any,
) -> dict[str, Any]:
    """One log line as observe writes it (docs/logging.md)."""
    doc: dict[str, Any] = {"timestamp": stamp(seconds), "level": level, "message": message, "logger": logger}
    if rid is not None:
        doc.update(
            service=service,
            pipeline="ingest",
            environment="dev",
            function_name=service,
            function_version="$LATEST",
            cold_start=False,
            aws_request_id=rid,
        )
    doc["correlation_id"] = cid
    doc.update(fields)
    return doc


def summary(
    seconds: float,
    *,
    rid: str,
    cid: str,
    service: str = "ingest-worker",
    failed: bool = False,
    duration_ms: float = 500.0,
    **fields: Any,
) -> dict[str, Any]:
    """The summary line ``observed`` writes at the end of an invocation."""
    extra: dict[str, Any] = {"duration_ms": duration_ms, "max_memory_mb": 120.0, **fields}
    if failed:
        extra.setdefault("exception", {"type": "RuntimeError", "message": "boom", "stack": "..."})
    return line(
        seconds,
        "invocation failed" if failed else "invocation complete",
        level="error" if failed else "info",
        service=service,
        rid=rid,
        cid=cid,
        logger="observe",
        **extra,
    )


def emf(
    seconds: float,
    *,
    rid: str = "req-1",
    cid: str = "batch-1",
    service: str = "ingest-worker",
    env: str = "dev",
    values: list[tuple[str, float, dict[str, str]]] | None = None,
    **metrics: float | list[float],
) -> list[dict[str, Any]]:
    """The EMF documents observe would write for one invocation (``metrics`` without extra
    dimensions; ``values`` as (name, value, extra dimensions))."""
    buf = MetricsBuffer()
    for name, v in metrics.items():
        for x in v if isinstance(v, list) else [v]:
            buf.add(name, x)
    for name, v, dims in values or []:
        buf.add(name, v, **dims)
    return documents(
        buf,
        {"service": service, "pipeline": "ingest", "environment": env},
        {"correlation_id": cid, "aws_request_id": rid, "function_name": service},
        timestamp_ms=int(at(seconds).timestamp() * 1000),
    )


# --- a real incident, written by observe itself ----------------------------------------------------

log = get_logger("pipelines.ingest.worker")


def _record(body: dict[str, Any], cid: str, mid: str) -> dict[str, Any]:
    return {
        "messageId": mid,
        "body": json.dumps(body),
        "messageAttributes": {"correlation_id": {"stringValue": cid, "dataType": "String"}},
        "eventSource": "aws:sqs",
    }


def _handle(record: Any) -> None:
    body = json.loads(record["body"])
    if body.get("fail"):
        raise ConnectionError(f"page-{body['page']:06d}: source answered HTTP 500")
    key = f"quarantine/source/_/page-{body['page']:06d}.json"
    metric("RecordsQuarantined", body["bad"])
    log.warning("records quarantined", key=key, count=body["bad"], reasons=["expect_x:amount"])


@observed(pipeline="ingest", service="ingest-worker")
def worker(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return process_sqs_batch(event, _handle)


def observed_incident(observe_capture: Any, lambda_context: Any) -> tuple[list[dict], list[dict], str]:
    """(log lines, EMF documents, request id) of one real worker invocation: two records quarantine
    60 records each, one fails (HTTP 500)."""
    event = {
        "Records": [
            _record({"page": 1, "bad": 60}, "run-7", "m-1"),
            _record({"page": 2, "bad": 60}, "run-7", "m-2"),
            _record({"page": 3, "fail": True}, "run-7", "m-3"),
        ]
    }
    # The largest Lambda size: MemoryUtilization must not depend on what else this test process
    # has loaded (pandas, great_expectations...), or its alarm would fire beside the one under test.
    lambda_context.memory_limit_in_mb = 10240
    response = worker(event, lambda_context)
    assert response == {"batchItemFailures": [{"itemIdentifier": "m-3"}]}
    lines, emf = split_docs(json.loads(x) for x in observe_capture.text.splitlines())
    return lines, emf, lambda_context.aws_request_id


def quarantine_docs(now: datetime) -> list[QuarantineDoc]:
    def doc(key: str, cid: str, when: datetime, reasons: list[str], n: int = 1) -> QuarantineDoc:
        records = [{"record": {"id": f"r{i}", "nric": "S1234567D"}, "reasons": reasons} for i in range(n)]
        return QuarantineDoc(key, {"quarantined_at": iso(when), "correlation_id": cid, "records": records})

    return [
        doc("quarantine/source/_/page-000001.json", "run-7", now, ["expect_x:amount"], 2),  # logged by key
        doc("quarantine/source/_/page-000002.json", "run-7", now, ["id: missing"]),  # logged by key
        doc(
            "quarantine/source/_/page-000003.malformed.json", "run-7", now, ["page-000003: body is not JSON"]
        ),
        doc(
            "quarantine/source/_/page-000009.json", "run-7", now - timedelta(days=1), ["old"]
        ),  # same id, long ago
        doc("quarantine/other/_/page-000001.json", "run-8", now, ["another run"]),
    ]


def dlq_messages() -> list[DLQMessage]:
    return [
        DLQMessage(
            "m-3", json.dumps({"task": {"source": "source", "start_page": 3}}), {"correlation_id": "run-7"}
        ),
        DLQMessage("m-99", json.dumps({"task": {"source": "other"}}), {"correlation_id": "run-8"}),
    ]


def write_evidence(root: Path, lines: list[dict], emf: list[dict]) -> dict[str, Path]:
    """The incident as files: a JSONL of lines + EMF, a quarantine mirror, a DLQ dump."""
    logs = root / "logs.jsonl"
    logs.write_text("".join(json.dumps(d) + "\n" for d in [*lines, *emf]))
    for d in quarantine_docs(datetime.now(UTC)):
        path = root / "s3" / d.key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(d.doc))
    dlq = root / "dlq.jsonl"
    dlq.write_text(
        "".join(
            json.dumps(
                {
                    "MessageId": m.message_id,
                    "Body": m.body,
                    "MessageAttributes": {
                        k: {"StringValue": v, "DataType": "String"} for k, v in m.attributes.items()
                    },
                }
            )
            + "\n"
            for m in dlq_messages()
        )
    )
    return {"logs": logs, "quarantine": root / "s3", "dlq": dlq}
