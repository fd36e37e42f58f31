"""The DynamoDB stand-in over real HTTP: it checks signatures and conditions as DynamoDB does,
and the worker's store (aiodynamo over aiohttp) writes through it and through moto."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from emulator.dynamodb import Credentials, DynamoStandin, dynamodb_standin
from emulator.moto_server import FAKE_ENV
from observe.telemetry import ThrottledError
from pipelines.ingest.dynamo import DynamoConnection, RetryPolicy
from pipelines.ingest.source import ThrottleGate
from pipelines.ingest.store import CONDITION, Store

pytestmark = pytest.mark.integration

CREDS = Credentials("AKIDSTANDIN", "standin-secret", "standin-token", "ap-southeast-1")


@pytest.fixture
def standin() -> Iterator[DynamoStandin]:
    with dynamodb_standin(credentials=CREDS, tables=("state",)) as s:
        yield s


def boto(url: str, secret: str = CREDS.secret_key, token: str | None = CREDS.session_token) -> Any:
    return boto3.client(
        "dynamodb",
        endpoint_url=url,
        region_name=CREDS.region,
        aws_access_key_id=CREDS.access_key,
        aws_secret_access_key=secret,
        aws_session_token=token,
    )


def conditional_put(client: Any, key: str, version: int) -> None:
    client.put_item(
        TableName="state",
        Item={"pk": {"S": key}, "version": {"N": str(version)}},
        ConditionExpression=CONDITION,
        ExpressionAttributeNames={"#v": "version"},
        ExpressionAttributeValues={":v": {"N": str(version)}},
    )


def error_code(call: Any) -> str:
    with pytest.raises(ClientError) as err:
        call()
    return str(err.value.response["Error"]["Code"])


def test_botocore_requests_pass_and_conditions_fail_like_dynamodb(standin: DynamoStandin) -> None:
    client = boto(standin.url)
    conditional_put(client, "a", 2)
    assert error_code(lambda: conditional_put(client, "a", 2)) == "ConditionalCheckFailedException"
    assert error_code(lambda: conditional_put(client, "a", 1)) == "ConditionalCheckFailedException"
    conditional_put(client, "a", 3)
    assert client.get_item(TableName="state", Key={"pk": {"S": "a"}})["Item"]["version"] == {"N": "3"}
    unused = {
        "TableName": "state",
        "Item": {"pk": {"S": "b"}},
        "ConditionExpression": "attribute_not_exists(pk)",
    }
    code = error_code(lambda: client.put_item(**unused, ExpressionAttributeValues={":x": {"N": "1"}}))
    assert code == "ValidationException"
    assert (
        error_code(lambda: client.put_item(**{**unused, "ConditionExpression": "#v < :v"}))
        == "ValidationException"
    )
    assert (
        error_code(lambda: client.get_item(TableName="nope", Key={"pk": {"S": "a"}}))
        == "ResourceNotFoundException"
    )


def test_every_signature_is_verified_with_the_configured_credentials(standin: DynamoStandin) -> None:
    assert error_code(
        lambda: boto(standin.url, secret="wrong").get_item(TableName="state", Key={"pk": {"S": "a"}})
    ) == ("InvalidSignatureException")
    assert error_code(
        lambda: boto(standin.url, token="other").get_item(TableName="state", Key={"pk": {"S": "a"}})
    ) == ("UnrecognizedClientException")
    other_region = boto3.client(
        "dynamodb",
        endpoint_url=standin.url,
        region_name="us-east-1",
        aws_access_key_id=CREDS.access_key,
        aws_secret_access_key=CREDS.secret_key,
        aws_session_token=CREDS.session_token,
    )
    assert error_code(lambda: other_region.get_item(TableName="state", Key={"pk": {"S": "a"}})) == (
        "InvalidSignatureException"
    )
    # a body changed after signing
    client = boto(standin.url)
    client.meta.events.register(
        "before-send.dynamodb.GetItem",
        lambda request, **kw: setattr(request, "body", request.body.replace(b"a", b"b")),
    )
    assert (
        error_code(lambda: client.get_item(TableName="state", Key={"pk": {"S": "a"}}))
        == "InvalidSignatureException"
    )
    assert standin.errors == {"InvalidSignatureException": 3, "UnrecognizedClientException": 1}
    assert standin.calls == {}, "nothing ran unsigned"


def connection(url: str, monkeypatch: pytest.MonkeyPatch) -> DynamoConnection:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", CREDS.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", CREDS.secret_key)
    monkeypatch.setenv("AWS_SESSION_TOKEN", str(CREDS.session_token))
    monkeypatch.setenv("AWS_REGION", CREDS.region)
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", url)
    return DynamoConnection.from_env()


def make_store(conn: DynamoConnection, table: str, *, attempts: int = 3) -> Store:
    return Store(
        dynamo=conn,
        s3=None,
        table=table,
        bucket="-",
        key_field="id",
        version_field="version",
        concurrency=16,
        retry=RetryPolicy(max_attempts=attempts, base=0.005),
    )


async def test_aiodynamo_as_shipped_fails_the_signature_on_a_port_the_connection_fixes(
    standin: DynamoStandin, monkeypatch: pytest.MonkeyPatch
) -> None:
    import aiohttp
    from aiodynamo.client import Client
    from aiodynamo.credentials import Key, StaticCredentials
    from aiodynamo.errors import UnknownError
    from aiodynamo.http.aiohttp import AIOHTTP
    from yarl import URL

    async with aiohttp.ClientSession() as session:
        plain = Client(
            AIOHTTP(session),
            StaticCredentials(Key(CREDS.access_key, CREDS.secret_key, CREDS.session_token)),
            CREDS.region,
            URL(standin.url),
        )
        with pytest.raises(UnknownError, match="InvalidSignatureException"):
            await plain.send_request(
                action="GetItem", payload={"TableName": "state", "Key": {"pk": {"S": "a"}}}
            )
    conn = connection(standin.url, monkeypatch)
    try:
        assert await conn.send("GetItem", {"TableName": "state", "Key": {"pk": {"S": "a"}}}) == {}
    finally:
        await conn.aclose()


async def test_the_store_writes_newest_versions_through_the_standin_with_stale_counted(
    standin: DynamoStandin, monkeypatch: pytest.MonkeyPatch
) -> None:
    conn = connection(standin.url, monkeypatch)
    store = make_store(conn, "state")
    try:
        first = await store.upsert(
            [{"id": f"k{i}", "version": 2, "amount": 1.5} for i in range(200)], ThrottleGate()
        )
        again = [{"id": f"k{i}", "version": 1 if i % 10 == 0 else 3} for i in range(200)]  # 10% stale
        second = await store.upsert(again, ThrottleGate())
    finally:
        await conn.aclose()
    assert (first.upserted, first.stale) == (200, 0)
    assert (second.upserted, second.stale) == (180, 20)
    items = standin.tables["state"].items
    assert {k: v["version"]["N"] for k, v in items.items()} == {
        f"k{i}": "2" if i % 10 == 0 else "3" for i in range(200)
    }
    assert items["k0"]["amount"] == {"N": "1.5"} and "InvalidSignatureException" not in standin.errors


async def test_an_item_dynamodb_refuses_comes_back_rejected_with_its_reason(
    standin: DynamoStandin, monkeypatch: pytest.MonkeyPatch
) -> None:
    conn = connection(standin.url, monkeypatch)
    try:
        result = await make_store(conn, "state").upsert(
            [{"id": "ok", "version": 1}, {"id": "huge", "version": 1, "amount": 10**40}], ThrottleGate()
        )
    finally:
        await conn.aclose()
    assert result.upserted == 1 and [r.record["id"] for r in result.rejected] == ["huge"]
    assert (
        "ValidationException: Attempting to store more than 38 significant digits"
        in result.rejected[0].reasons[0]
    )
    assert set(standin.tables["state"].items) == {"ok"}


async def test_throttles_are_retried_and_one_that_outlasts_the_attempts_stops_the_batch(
    standin: DynamoStandin, monkeypatch: pytest.MonkeyPatch
) -> None:
    conn = connection(standin.url, monkeypatch)
    store = make_store(conn, "state", attempts=3)
    try:
        standin.throttle_next(5, operations={"PutItem"})
        result = await store.upsert([{"id": f"a{i}", "version": 1} for i in range(40)], ThrottleGate())
        assert (result.upserted, result.retries) == (40, 5)
        standin.throttle_next(10_000, code="ThrottlingException", operations={"PutItem"})
        gate = ThrottleGate()
        before = standin.throttled
        with pytest.raises(ThrottledError) as err:
            await store.upsert([{"id": f"b{i}", "version": 1} for i in range(100)], gate)
        assert err.value.throttle.code == "ThrottlingException" and gate.throttle is not None
        assert standin.throttled - before <= 16 * 3, "every worker stops at the first throttle that outlasted"
    finally:
        standin.throttle_next(0)
        await conn.aclose()


async def test_a_request_past_the_remaining_time_is_cut_and_not_retried(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with dynamodb_standin(credentials=CREDS, tables=("state",), delay=0.5) as slow:
        conn = connection(slow.url, monkeypatch)
        store = make_store(conn, "state", attempts=10)
        started = time.monotonic()
        try:
            with pytest.raises(TimeoutError):
                await store.upsert([{"id": "a", "version": 1}], ThrottleGate(), remaining_ms=lambda: 200)
        finally:
            await conn.aclose()
        assert time.monotonic() - started < 0.45, "the 0.5 s answer was not awaited past the deadline"


async def test_the_store_writes_through_moto_over_http(
    ingest_moto: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for k, v in FAKE_ENV.items():
        monkeypatch.setenv(k, v)
    monkeypatch.setenv("AWS_ENDPOINT_URL", ingest_moto)
    monkeypatch.delenv("AWS_ENDPOINT_URL_DYNAMODB", raising=False)
    table = f"state-{uuid.uuid4().hex[:8]}"
    ddb = boto3.client("dynamodb")
    ddb.create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    conn = DynamoConnection.from_env()
    store = make_store(conn, table)
    try:
        await store.upsert([{"id": f"k{i}", "version": 2} for i in range(50)], ThrottleGate())
        result = await store.upsert(
            [{"id": f"k{i}", "version": 1 + 2 * (i % 2)} for i in range(50)], ThrottleGate()
        )
    finally:
        await conn.aclose()
    assert (result.upserted, result.stale) == (25, 25)
    items = ddb.scan(TableName=table, ConsistentRead=True)["Items"]
    assert sorted(int(i["version"]["N"]) for i in items) == [2] * 25 + [3] * 25
    await asyncio.sleep(0)
