"""Units of the async store: condition semantics, stale counting, throttle mapping, bounded retries,
endpoint / region / credential resolution, the warm event loop and the session bound to it."""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from aiodynamo import errors as ae

from emulator.dynamodb import check_placeholders, parse_condition
from observe.config import ConfigError
from observe.telemetry import ThrottledError, classify_throttle
from pipelines.ingest import dynamo
from pipelines.ingest.aio import EventLoop
from pipelines.ingest.dynamo import DynamoConnection, RetryPolicy, endpoint_url, region
from pipelines.ingest.source import ThrottleGate
from pipelines.ingest.store import Store


class FakeDynamo:
    """The stand-in's condition evaluator over a dict; ``fail(n)`` decides an exception per send."""

    def __init__(self, fail: Callable[[int], BaseException | None] | None = None) -> None:
        self.items: dict[str, dict[str, Any]] = {}
        self.sent = 0
        self.fail = fail

    async def send(self, action: str, payload: dict[str, Any], *, timeout: float | None = None) -> dict:
        self.sent += 1
        exc = self.fail(self.sent) if self.fail else None
        if exc is not None:
            raise exc
        assert action == "PutItem"
        cond = parse_condition(payload["ConditionExpression"])
        names, values = payload["ExpressionAttributeNames"], payload["ExpressionAttributeValues"]
        check_placeholders(cond, names, values)
        key = payload["Item"]["pk"]["S"]
        if not cond.evaluate(self.items.get(key), names, values):
            raise ae.ConditionalCheckFailed({"message": "The conditional request failed"})
        self.items[key] = payload["Item"]
        return {}


def store(fake: Any, *, concurrency: int = 4, attempts: int = 3, version_field: str = "version") -> Store:
    return Store(
        dynamo=fake,
        s3=None,
        table="t",
        bucket="b",
        key_field="id",
        version_field=version_field,
        concurrency=concurrency,
        retry=RetryPolicy(max_attempts=attempts, base=0.001),
    )


@pytest.mark.parametrize(
    ("stored", "new", "written"),
    [(None, 2, True), (1, 2, True), (2, 2, False), (3, 2, False)],
    ids=["absent", "older", "equal", "newer"],
)
async def test_a_write_happens_only_if_absent_or_strictly_older(
    stored: int | None, new: int, written: bool
) -> None:
    fake = FakeDynamo()
    s = store(fake)
    if stored is not None:
        assert await s.put_if_newer({"id": "a", "version": stored}) is True
    assert await s.put_if_newer({"id": "a", "version": new, "note": "new"}) is written
    assert fake.items["a"]["version"] == {"N": str(new if written else stored)}
    assert ("note" in fake.items["a"]) is written


async def test_timestamp_versions_compare_as_strings_under_the_same_condition() -> None:
    fake = FakeDynamo()
    s = store(fake, version_field="updated_at")
    assert await s.put_if_newer({"id": "a", "updated_at": "2026-01-02T00:00:00Z"})
    assert not await s.put_if_newer({"id": "a", "updated_at": "2026-01-01T23:59:59Z"})
    assert await s.put_if_newer({"id": "a", "updated_at": "2026-01-02T00:00:01Z"})


async def test_stale_writes_are_counted_not_errors_and_malformed_items_are_rejected() -> None:
    def fail(n: int) -> BaseException | None:
        return ae.ValidationException({"message": "Item size has exceeded"}) if n == 3 else None

    fake = FakeDynamo(fail)
    s = store(fake, concurrency=1)
    first = await s.upsert([{"id": f"k{i}", "version": 5} for i in range(10)], ThrottleGate())
    assert (first.upserted, [r.record["id"] for r in first.rejected]) == (9, ["k2"])
    assert first.rejected[0].reasons == [
        "DynamoDB refused the item: ValidationException: Item size has exceeded"
    ]
    fake.fail = None
    records = [{"id": f"k{i}", "version": 5 if i % 2 else 6} for i in range(10)]
    result = await s.upsert(records, ThrottleGate())
    # odd keys: the same version again (stale); even keys: newer, and k2 (refused before) absent
    assert (result.upserted, result.stale, result.rejected) == (5, 5, [])
    assert len(result.latencies_ms) == 10


@pytest.mark.parametrize(
    ("exc", "code"),
    [
        (ae.ProvisionedThroughputExceeded({}), "ProvisionedThroughputExceededException"),
        (ae.Throttled({}), "ThrottlingException"),
        (ae.RequestLimitExceeded({}), "RequestLimitExceeded"),
        (ae.TransactionInProgress({}), "TransactionInProgressException"),
        (ae.UnknownError(429, b"slow down"), "429"),
    ],
)
def test_aiodynamo_throttles_are_classified_like_botocore_codes(exc: Exception, code: str) -> None:
    throttle = classify_throttle(exc)
    assert throttle is not None and (throttle.source, throttle.code) == ("aws-throttling", code)
    assert dynamo.is_retryable(exc)


def test_other_aiodynamo_errors_are_not_throttles() -> None:
    for exc in (
        ae.ConditionalCheckFailed({}),
        ae.BrokenThrottleConfig(),
        ae.ValidationException({}),
        ae.UnknownError(400, b""),
    ):
        assert classify_throttle(exc) is None
    assert dynamo.is_retryable(ae.InternalDynamoError()) and dynamo.is_retryable(ae.ServiceUnavailable())
    assert dynamo.is_retryable(ae.UnknownError(502, b"")) and dynamo.is_retryable(TimeoutError())
    assert not dynamo.is_retryable(ae.AccessDenied({})) and not dynamo.is_retryable(
        ae.ValidationException({})
    )


async def test_a_throttle_outlasting_the_attempts_trips_the_gate_and_stops_every_write() -> None:
    fake = FakeDynamo(lambda n: ae.ProvisionedThroughputExceeded({"message": "slow"}))
    gate = ThrottleGate()
    with pytest.raises(ThrottledError) as err:
        await store(fake, concurrency=4, attempts=3).upsert(
            [{"id": f"k{i}", "version": 1} for i in range(50)], gate
        )
    assert err.value.throttle.code == "ProvisionedThroughputExceededException"
    assert gate.throttle is not None and gate.throttle.source == "aws-throttling"
    assert fake.sent <= 4 * 3, "no worker goes on past the first throttle that outlasted its retries"


async def test_a_throttle_within_the_attempts_is_absorbed_and_counted_as_retries() -> None:
    fake = FakeDynamo(lambda n: ae.Throttled({}) if n <= 2 else None)
    result = await store(fake, concurrency=1, attempts=3).upsert([{"id": "a", "version": 1}], ThrottleGate())
    assert (result.upserted, result.retries, fake.sent) == (1, 2, 3)


async def test_retries_stop_when_the_invocation_has_no_time_to_spare() -> None:
    fake = FakeDynamo(lambda n: ae.Throttled({}))
    s = store(fake, concurrency=1, attempts=10)
    with pytest.raises(ThrottledError):
        await s.upsert([{"id": "a", "version": 1}], ThrottleGate(), remaining_ms=lambda: 900)
    assert fake.sent == 1, "900 ms left is inside the 1 s reserve: no retry"

    left = [5000]

    def remaining() -> int:  # each look at the remaining time: half a second less
        left[0] -= 500
        return left[0]

    fake.sent = 0
    with pytest.raises(ThrottledError):
        await s.upsert([{"id": "a", "version": 1}], ThrottleGate(), remaining_ms=remaining)
    assert 1 < fake.sent < 10, "retried while time was left, then gave up before the deadline"


def test_backoff_has_full_jitter_under_a_growing_cap() -> None:
    policy = RetryPolicy(max_attempts=5, base=0.05, cap=0.3)
    assert [policy.delay(n, rng=lambda: 1.0) for n in (1, 2, 3, 4)] == [0.1, 0.2, 0.3, 0.3]
    assert policy.delay(3, rng=lambda: 0.0) == 0.0
    assert policy.allows(4, 0.1, None) and not policy.allows(5, 0.1, None)
    assert not policy.allows(1, 0.5, 1400.0) and policy.allows(1, 0.3, 1400.0)
    assert RetryPolicy.from_env({"AWS_MAX_ATTEMPTS": "2"}).max_attempts == 2
    assert RetryPolicy.from_env({}).max_attempts == dynamo.DEFAULT_MAX_ATTEMPTS
    with pytest.raises(ConfigError, match="AWS_MAX_ATTEMPTS='0'"):
        RetryPolicy.from_env({"AWS_MAX_ATTEMPTS": "0"})


def test_the_endpoint_and_region_come_from_the_standard_variables() -> None:
    assert endpoint_url({}) is None
    assert endpoint_url({"AWS_ENDPOINT_URL": "http://a:1"}) == "http://a:1"
    both = {"AWS_ENDPOINT_URL": "http://a:1", "AWS_ENDPOINT_URL_DYNAMODB": "http://d:2"}
    assert endpoint_url(both) == "http://d:2"
    assert endpoint_url({**both, "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true"}) is None
    with pytest.raises(ConfigError, match="AWS_ENDPOINT_URL_DYNAMODB='d:2' must be an http"):
        endpoint_url({"AWS_ENDPOINT_URL_DYNAMODB": "d:2"})
    assert region({"AWS_REGION": "eu-west-1", "AWS_DEFAULT_REGION": "us-east-1"}) == "eu-west-1"
    assert region({"AWS_DEFAULT_REGION": "us-east-1"}) == "us-east-1"
    with pytest.raises(ConfigError, match="AWS_REGION or AWS_DEFAULT_REGION"):
        region({})


async def test_credentials_come_from_the_lambda_environment_else_fail_naming_the_variables(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for k in ("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_PROFILE"):
        monkeypatch.delenv(k, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "token")
    key = await dynamo.credentials().get_key(None)  # type: ignore[arg-type]
    assert key is not None and (key.id, key.secret, key.token) == ("AKIDEXAMPLE", "secret", "token")
    for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(k)
    with pytest.raises(ConfigError, match="AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"):
        dynamo.credentials()
    (tmp_path / "creds").write_text("[default]\naws_access_key_id = FILEKEY\naws_secret_access_key = s\n")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "creds"))
    key = await dynamo.credentials().get_key(None)  # type: ignore[arg-type]
    assert key is not None and key.id == "FILEKEY"


def test_the_warm_loop_is_reused_sees_the_callers_context_and_cancels_leftovers() -> None:
    var: contextvars.ContextVar[str] = contextvars.ContextVar("v", default="-")
    host = EventLoop()
    loops, leftovers = [], []

    async def invocation() -> str:
        loops.append(asyncio.get_running_loop())
        leftovers.append(asyncio.get_running_loop().create_task(asyncio.sleep(60)))
        return var.get()

    var.set("first")
    assert host.run(invocation()) == "first"
    var.set("second")
    assert host.run(invocation()) == "second"
    assert loops[0] is loops[1] and not loops[0].is_closed()
    assert all(t.cancelled() for t in leftovers), "what an invocation leaves behind is cancelled"
    host.close()
    assert loops[0].is_closed()


def test_the_session_is_bound_to_a_live_loop_and_reopened_on_another() -> None:
    conn = DynamoConnection(endpoint="http://127.0.0.1:9", region="ap-southeast-1", credentials=None)  # type: ignore[arg-type]
    host = EventLoop()

    async def client_and_session() -> tuple[Any, Any]:
        return conn.client(), conn.session.get()

    client, session = host.run(client_and_session())
    assert host.run(client_and_session()) == (client, session), "one session per execution environment"
    other_client, other_session = asyncio.run(client_and_session())  # another loop: a new session
    assert other_session is not session and other_client is not client and conn.sessions_opened == 2
    assert session.closed, "the old one was closed on its idle loop, not leaked"
    assert other_session.closed is False
    conn.close()  # its loop is gone: the transports are dropped, the session counts as closed
    assert other_session.closed
    host.close()
