"""The fault proxy in front of moto: transparent forwarding, DynamoDB-shaped throttles, delay."""

from __future__ import annotations

import os
import time
import uuid

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from emulator.fault_proxy import fault_proxy
from observe.telemetry import classify_throttle
from pipelines.ingest.local import Resources

pytestmark = pytest.mark.integration


def client(url: str, attempts: int = 1):
    return boto3.client(
        "dynamodb",
        endpoint_url=url,
        config=Config(retries={"total_max_attempts": attempts, "mode": "standard"}),
    )


def put(ddb, table: str, key: str) -> None:
    ddb.put_item(TableName=table, Item={"pk": {"S": key}})


def test_forwards_to_moto_and_throttles_like_dynamodb(ingest_aws: Resources) -> None:
    with fault_proxy(os.environ["AWS_ENDPOINT_URL"]) as proxy:
        ddb = client(proxy.url)
        put(ddb, ingest_aws.table, "a")
        assert "Item" in ddb.get_item(TableName=ingest_aws.table, Key={"pk": {"S": "a"}})

        proxy.throttle_next(1, operations={"PutItem"})
        with pytest.raises(ClientError) as err:
            put(ddb, ingest_aws.table, "b")
        assert err.value.response["Error"]["Code"] == "ProvisionedThroughputExceededException"
        assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
        throttle = classify_throttle(err.value)
        assert throttle is not None and throttle.source == "aws-throttling"

        proxy.throttle_next(1, code="ThrottlingException")
        with pytest.raises(ClientError, match="ThrottlingException"):
            ddb.get_item(TableName=ingest_aws.table, Key={"pk": {"S": "a"}})

        # botocore retries a throttle; one injected throttle is absorbed with 2 attempts
        proxy.throttle_next(1, operations={"PutItem"})
        put(client(proxy.url, attempts=2), ingest_aws.table, "c")
        assert proxy.throttled == {"PutItem": 2, "GetItem": 1}
    names = {
        i["pk"]["S"] for i in client(os.environ["AWS_ENDPOINT_URL"]).scan(TableName=ingest_aws.table)["Items"]
    }
    assert names == {"a", "c"}


def test_delay_is_added_to_every_call(ingest_aws: Resources) -> None:
    with fault_proxy(os.environ["AWS_ENDPOINT_URL"], delay=0.05) as proxy:
        ddb = client(proxy.url)
        started = time.perf_counter()
        for _ in range(3):
            put(ddb, ingest_aws.table, uuid.uuid4().hex)
        assert time.perf_counter() - started >= 3 * 0.05
        assert proxy.calls["PutItem"] == 3
