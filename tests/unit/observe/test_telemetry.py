"""Throttle classification for botocore, httpx and requests, and Retry-After parsing."""

from __future__ import annotations

import email.utils

import httpx
import pytest
import requests
from botocore.exceptions import ClientError

from observe import telemetry
from observe.telemetry import AWS_THROTTLING, HTTP_429, Throttle, ThrottledError, classify_throttle


def client_error(code: str, status: int = 400, headers: dict | None = None) -> ClientError:
    return ClientError(
        {
            "Error": {"Code": code, "Message": "x"},
            "ResponseMetadata": {"HTTPStatusCode": status, "HTTPHeaders": headers or {}},
        },
        "PutItem",
    )


@pytest.mark.parametrize("code", sorted(telemetry.AWS_THROTTLE_CODES))
def test_every_aws_throttle_code(code: str) -> None:
    found = classify_throttle(client_error(code))
    assert found == Throttle(AWS_THROTTLING, code, None)


def test_other_aws_errors_are_not_throttles() -> None:
    assert classify_throttle(client_error("ConditionalCheckFailedException")) is None
    assert classify_throttle(client_error("ValidationException")) is None


def test_httpx_429_with_retry_after_seconds() -> None:
    request = httpx.Request("GET", "http://127.0.0.1/x")
    response = httpx.Response(429, headers={"Retry-After": "7"}, request=request)
    with pytest.raises(httpx.HTTPStatusError) as info:
        response.raise_for_status()
    assert classify_throttle(info.value) == Throttle(HTTP_429, "429", 7.0)
    assert classify_throttle(response) == Throttle(HTTP_429, "429", 7.0)
    assert classify_throttle(httpx.Response(503, request=request)) is None


def test_requests_429_and_chained_cause() -> None:
    response = requests.Response()
    response.status_code = 429
    response.headers["Retry-After"] = "2"
    error = requests.HTTPError(response=response)
    assert classify_throttle(error) == Throttle(HTTP_429, "429", 2.0)
    try:
        try:
            raise error
        except requests.HTTPError as inner:
            raise RuntimeError("page 3 failed") from inner
    except RuntimeError as outer:
        assert classify_throttle(outer) == Throttle(HTTP_429, "429", 2.0)


def test_throttled_error_carries_its_throttle() -> None:
    t = Throttle(HTTP_429, "429", 1.5)
    assert classify_throttle(ThrottledError(t)) is t
    assert classify_throttle(ValueError("x")) is None
    assert classify_throttle(None) is None


def test_parse_retry_after() -> None:
    now = 1_800_000_000.0
    date = email.utils.formatdate(now + 30, usegmt=True)
    assert telemetry.parse_retry_after(date, now=now) == pytest.approx(30.0)
    assert telemetry.parse_retry_after(email.utils.formatdate(now - 30, usegmt=True), now=now) == 0.0
    assert telemetry.parse_retry_after("120") == 120.0
    assert telemetry.parse_retry_after("-5") == 0.0
    for bad in (None, "", "soon", "nan", "inf"):
        assert telemetry.parse_retry_after(bad) is None


def test_cold_start_is_taken_once() -> None:
    telemetry.reset_cold_start()
    assert telemetry.take_cold_start() is True
    assert telemetry.take_cold_start() is False


def test_memory_limit_from_context_or_env(monkeypatch: pytest.MonkeyPatch) -> None:
    class Ctx:
        memory_limit_in_mb = "1024"

    assert telemetry.memory_limit_mb(Ctx()) == 1024
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
    assert telemetry.memory_limit_mb(None) == 256
    monkeypatch.delenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
    assert telemetry.memory_limit_mb(None) is None
    assert telemetry.max_rss_mb() > 10
