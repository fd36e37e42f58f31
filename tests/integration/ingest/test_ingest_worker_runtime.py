"""The worker as Lambda runs it (awslambdaric, one execution environment): its event loop and
aiohttp sessions outlive an invocation, so the second one reuses the first one's connections."""

from __future__ import annotations

import json
import os
from typing import Any

import pytest

from emulator.dynamodb import dynamodb_standin
from emulator.lambda_function import FunctionConfig, LambdaFunction
from emulator.source_api import SourceAPI
from pipelines.ingest.local import Resources

pytestmark = pytest.mark.integration


def push(message_id: str, records: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "Records": [
            {
                "messageId": message_id,
                "receiptHandle": "r",
                "body": json.dumps({"records": records}),
                "attributes": {},
                "messageAttributes": {},
                "eventSource": "aws:sqs",
            }
        ]
    }


def rec(key: str, version: int) -> dict[str, Any]:
    return {"id": key, "version": version, "name": f"n-{key}", "amount": 2.5, "currency": "SGD"}


def test_the_warm_environment_reuses_its_dynamodb_connections_across_invocations(
    ingest_aws: Resources, source: SourceAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    with dynamodb_standin(tables=(ingest_aws.table,)) as ddb:
        monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", ddb.url)  # AWS_ENDPOINT_URL* reach the function
        env = {
            "SOURCE_URL": os.environ["SOURCE_URL"],
            "TABLE_NAME": ingest_aws.table,
            "BACKUP_BUCKET": ingest_aws.bucket,
            "ENVIRONMENT": "dev",
            "UPSERT_CONCURRENCY": "4",
        }
        config = FunctionConfig(
            "ingest-worker", "pipelines.ingest.worker.handler", timeout=60, memory_mb=1024, env=env
        )
        with LambdaFunction(config) as fn:
            first = fn.invoke(push("m1", [rec(f"k{i}", 2) for i in range(20)]))
            assert first.ok and first.payload == {"batchItemFailures": []}, first.lines[-5:]
            opened = ddb.connections
            assert 1 <= opened <= 4
            second = fn.invoke(push("m2", [rec(f"k{i}", 1 if i < 5 else 3) for i in range(20)]))
            assert second.ok and second.payload == {"batchItemFailures": []}, second.lines[-5:]
            assert not second.cold and second.pid == first.pid
            assert ddb.connections == opened, "the second invocation wrote on the first one's connections"
        versions = {k: v["version"]["N"] for k, v in ddb.tables[ingest_aws.table].items.items()}
        assert versions == {f"k{i}": "2" if i < 5 else "3" for i in range(20)}
        assert ddb.calls["PutItem"] == 40 and "InvalidSignatureException" not in ddb.errors
        stale = [json.loads(line) for line in second.lines if '"batch ingested"' in line]
        assert stale and stale[0]["stale"] == 5 and stale[0]["upserted"] == 15
