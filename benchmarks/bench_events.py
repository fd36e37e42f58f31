"""Event sources and batches: the cost of finding the correlation id, and of a batch's boundaries.

1. ``correlation.from_event`` on the sample events of tests/fixtures/events (it runs on every
   invocation), against the lookup Powertools' Logger does per invocation
   (``jmespath_utils.query`` with the ``correlation_paths`` constant, which the user must pick
   for the source; it has none for most sources).
2. Per-record overhead of the batch helpers on a no-op record handler (correlation scope,
   in-flight list, failure boundary), against Powertools' batch utility
   (``process_partial_response`` with ``BatchProcessor`` / ``SqsFifoPartialProcessor``), sync.

All variants run in one process, interleaved in rounds; medians of many timed samples.
"""

from __future__ import annotations

import copy
import gc
import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks._common import median_us, write

EVENTS = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "events"
ROUNDS = 5
LOOKUP_SAMPLES = int(os.environ.get("BENCH_EVENT_SAMPLES", "400"))  # per round; each 50 calls
BATCH_SAMPLES = int(os.environ.get("BENCH_BATCH_SAMPLES", "60"))  # per round; each one 100-record batch

# (fixture, the Powertools correlation_paths constant for it, if it has one)
LOOKUPS = [
    ("apigateway_http_correlation_header", "API_GATEWAY_HTTP"),
    ("apigateway_rest", "API_GATEWAY_REST"),
    ("alb", "APPLICATION_LOAD_BALANCER"),
    ("lambda_function_url", "LAMBDA_FUNCTION_URL"),
    ("appsync_resolver", "APPSYNC_RESOLVER"),
    ("eventbridge", "EVENT_BRIDGE"),
    ("s3_object_lambda", "S3_OBJECT_LAMBDA"),
    ("sqs_batch", None),
    ("sqs_single", None),
    ("sns", None),
    ("s3_notification", None),
    ("kinesis", None),
    ("dynamodb_streams_single", None),
    ("kafka_msk", None),
    ("stepfunctions_context_object", None),
    ("cloudwatch_logs_subscription", None),
    ("config_rule", None),
    ("direct_invoke_plain", None),
]


def load(name: str) -> Any:
    return json.loads((EVENTS / f"{name}.json").read_text())


def per_call_ns(fn: Callable[[], Any], calls: int = 50) -> int:
    clock = time.perf_counter_ns
    t0 = clock()
    for _ in range(calls):
        fn()
    return (clock() - t0) // calls


def lookups() -> str:
    from aws_lambda_powertools.logging import correlation_paths
    from aws_lambda_powertools.utilities.jmespath_utils import query

    from observe import correlation

    rows = ["| event | source found | observe `from_event` us | Powertools path | Powertools lookup us |",
            "|---|---|---:|---|---:|"]  # fmt: skip
    variants: dict[tuple[str, str], Callable[[], Any]] = {}
    for name, path in LOOKUPS:
        event = load(name)
        variants[(name, "observe")] = lambda e=event: correlation.from_event(e)
        if path:
            expr = getattr(correlation_paths, path)
            variants[(name, "powertools")] = lambda e=event, x=expr: query(data=e, envelope=x)
    samples: dict[tuple[str, str], list[int]] = {k: [] for k in variants}
    for fn in variants.values():
        per_call_ns(fn, 200)  # warm-up
    gc.collect()
    for _ in range(ROUNDS):
        for key, fn in variants.items():
            samples[key].extend(per_call_ns(fn) for _ in range(LOOKUP_SAMPLES // ROUNDS))
    for name, path in LOOKUPS:
        found = correlation.describe(load(name))
        ours = median_us(samples[(name, "observe")])
        theirs = f"{median_us(samples[(name, 'powertools')]):.2f}" if path else "-"
        rows.append(f"| `{name}` | {found.source} | {ours:.2f} | {path or 'none'} | {theirs} |")
    worst = max((median_us(s), n) for (n, v), s in samples.items() if v == "observe")
    return "\n".join(rows), worst


def _sqs(n: int, fifo: bool) -> dict[str, Any]:
    records = []
    for i in range(n):
        attrs: dict[str, str] = {"ApproximateReceiveCount": "1", "SentTimestamp": "1741565400000"}
        if fifo:
            attrs.update({"MessageGroupId": f"g{i % 5}", "SequenceNumber": str(10**19 + i)})
        records.append({
            "messageId": f"059f36b4-87a3-44ab-83d2-{i:012d}", "receiptHandle": f"AQEB{i}", "body": "{}",
            "attributes": attrs,
            "messageAttributes": {"correlation_id": {"stringValue": f"task-{i}", "dataType": "String"}},
            "md5OfBody": "99914b932bd37a50b983c5e7c90ae93b", "eventSource": "aws:sqs",
            "eventSourceARN": "arn:aws:sqs:ap-southeast-1:123456789012:q" + (".fifo" if fifo else ""),
            "awsRegion": "ap-southeast-1",
        })  # fmt: skip
    return {"Records": records}


def _kinesis(n: int) -> dict[str, Any]:
    template = load("kinesis")["Records"][0]
    records = []
    for i in range(n):
        r = copy.deepcopy(template)
        seq = f"49590338271490256608559692538361571095921575989136{i:06d}"
        r["kinesis"]["sequenceNumber"] = seq
        r["eventID"] = f"shardId-000000000006:{seq}"
        records.append(r)
    return {"Records": records}


def batches() -> str:
    from aws_lambda_powertools.utilities.batch import (
        BatchProcessor,
        EventType,
        SqsFifoPartialProcessor,
        process_partial_response,
    )

    from observe import batch
    from observe.testing import FakeLambdaContext

    n = 100
    ctx = FakeLambdaContext()
    cases = {
        "SQS standard": (_sqs(n, False), "sqs", lambda: BatchProcessor(EventType.SQS)),
        "SQS FIFO (5 groups)": (
            _sqs(n, True),
            "sqs",
            lambda: SqsFifoPartialProcessor(skip_group_on_error=True),
        ),
        "Kinesis": (_kinesis(n), "kinesis", lambda: BatchProcessor(EventType.KinesisDataStreams)),
    }

    def noop(record: Any) -> None:
        return None

    variants: dict[tuple[str, str], Callable[[], Any]] = {}
    for name, (event, kind, make) in cases.items():
        variants[(name, "observe")] = lambda e=event, k=kind: batch.process_batch(e, noop, k)
        variants[(name, "powertools")] = lambda e=event, m=make: process_partial_response(
            event=e, record_handler=noop, processor=m(), context=ctx
        )
    samples: dict[tuple[str, str], list[int]] = {k: [] for k in variants}
    for fn in variants.values():
        per_call_ns(fn, 20)
    gc.collect()
    for _ in range(ROUNDS):
        for key, fn in variants.items():
            samples[key].extend(per_call_ns(fn, 1) for _ in range(BATCH_SAMPLES // ROUNDS))
    rows = ["| batch of 100 | observe us/record | Powertools us/record | observe / Powertools |",
            "|---|---:|---:|---:|"]  # fmt: skip
    for name in cases:
        ours = median_us(samples[(name, "observe")]) / n
        theirs = median_us(samples[(name, "powertools")]) / n
        rows.append(f"| {name} | {ours:.2f} | {theirs:.2f} | {ours / theirs:.1f}x |")
    return "\n".join(rows)


def main() -> None:
    os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "bench")
    load_avg = Path("/proc/loadavg").read_text().split()[:3] if Path("/proc/loadavg").exists() else ["?"]
    lookup_rows, worst = lookups()
    batch_rows = batches()
    body = (
        f"Load average at start: {' '.join(load_avg)}.\n\n"
        "Finding the correlation id (`correlation.from_event`, on every invocation), per call; "
        "Powertools only where `correlation_paths` has a path for the source (the user names it):\n\n"
        + lookup_rows
        + f"\n\nThe dearest event here costs {worst[0]:.2f} us (`{worst[1]}`). A CloudWatch Logs "
        "subscription's id needs base64 and gunzip of the first kilobyte of its data; a batch of several "
        "records has no id of its own, so nothing is read there.\n\n"
        "Batch boundaries, per record, no-op record handler, sync (observe: correlation scope from the "
        "record's attribute, in-flight list, failure boundary; Powertools: its record data classes "
        "and partial response):\n\n" + batch_rows + "\n\n"
        "observe does more per record than Powertools: it reads and checks the record's propagated "
        "correlation id (safe characters, no NRIC/FIN or email), binds it for the record's log lines and "
        "lists the record in flight; Kinesis records also have the start of their data decoded for the "
        "envelope. Both are a few microseconds per record, against record handlers that take "
        "milliseconds.\n"
    )
    write("events", "Event sources and batch boundaries (issue 10)", body)


if __name__ == "__main__":
    main()
