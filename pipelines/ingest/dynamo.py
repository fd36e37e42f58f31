"""The worker's DynamoDB client: ``aiodynamo`` over one aiohttp session, on the worker's own loop.

Why not boto3 here: at a 5 ms round trip boto3 spends 1.4-2.4 ms of client CPU per conditional
PutItem, so a thread pool of them stalls on the GIL near 4.5-6x sequential; aiodynamo with
aiohttp spends 0.4-1.1 ms on the event loop (figures in docs/ingest.md and docs/benchmarks.md).

- :class:`DynamoConnection` is the aiodynamo ``Client`` on one aiohttp session
  (:class:`~pipelines.ingest.aio.LoopSession`), bound to the worker's warm event loop
  (:class:`~pipelines.ingest.aio.EventLoop`): one session per execution environment.
- :meth:`DynamoConnection.send` makes exactly one HTTP request and raises aiodynamo's
  exceptions; retries are the caller's (:class:`RetryPolicy`), bounded by the invocation's
  remaining time.

Settings are the standard AWS ones: ``AWS_ENDPOINT_URL_DYNAMODB`` then ``AWS_ENDPOINT_URL``
(``AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true`` ignores both), ``AWS_REGION`` then
``AWS_DEFAULT_REGION``, ``AWS_MAX_ATTEMPTS``; credentials from ``AWS_ACCESS_KEY_ID`` /
``AWS_SECRET_ACCESS_KEY`` / ``AWS_SESSION_TOKEN`` (what Lambda sets from the function's role),
else the container credentials endpoint, else the shared credentials file.
"""

from __future__ import annotations

import asyncio
import os
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from observe.config import ConfigError, number
from pipelines.ingest.aio import LoopSession

if TYPE_CHECKING:
    import aiohttp
    from aiodynamo.client import Client
    from aiodynamo.credentials import Credentials

#: per-request timeout (seconds); the invocation's remaining time may cut it shorter
REQUEST_TIMEOUT = 10.0
#: botocore's default for DynamoDB (legacy retry mode): 10 attempts, the first included
DEFAULT_MAX_ATTEMPTS = 10


def endpoint_url(env: Mapping[str, str] | None = None) -> str | None:
    """The DynamoDB endpoint the standard variables name, or None for AWS's regional one."""
    env = os.environ if env is None else env
    if (env.get("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS") or "").lower() == "true":
        return None
    url = env.get("AWS_ENDPOINT_URL_DYNAMODB") or env.get("AWS_ENDPOINT_URL") or None
    if url is not None and not url.startswith(("http://", "https://")):
        name = "AWS_ENDPOINT_URL_DYNAMODB" if env.get("AWS_ENDPOINT_URL_DYNAMODB") else "AWS_ENDPOINT_URL"
        raise ConfigError(f"{name}={url!r} must be an http(s) URL")
    return url


def region(env: Mapping[str, str] | None = None) -> str:
    """``AWS_REGION`` (set by Lambda), else ``AWS_DEFAULT_REGION``; ConfigError if neither is set."""
    env = os.environ if env is None else env
    value = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION")
    if not value:
        raise ConfigError("DynamoDB client: set AWS_REGION or AWS_DEFAULT_REGION (Lambda sets AWS_REGION)")
    return value


def credentials() -> Credentials:
    """aiodynamo credentials: the environment's keys, else the container endpoint, else the file.

    Instance metadata is left out on purpose: outside EC2 it costs a timeout per attempt. Raises
    ConfigError when none of them is available.
    """
    from aiodynamo.credentials import (
        ChainCredentials,
        ContainerMetadataCredentials,
        EnvironmentCredentials,
        FileCredentials,
    )

    shared = os.environ.get("AWS_SHARED_CREDENTIALS_FILE")
    candidates = [
        EnvironmentCredentials(),
        ContainerMetadataCredentials(),
        FileCredentials(path=Path(shared) if shared else None),
    ]
    usable = [c for c in candidates if not c.is_disabled()]
    if not usable:
        raise ConfigError(
            "DynamoDB client: no credentials; set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY "
            "(Lambda sets them from the function's role), or a container credentials URI, or a profile"
        )
    return usable[0] if len(usable) == 1 else ChainCredentials(usable)


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with full jitter, bounded by attempts and by the time left.

    ``max_attempts`` counts the first attempt (``AWS_MAX_ATTEMPTS``, as botocore reads it). A
    retry is made only if its sleep plus ``reserve_ms`` still fits in the invocation's remaining
    time, so the invocation keeps time to report its failures instead of being killed mid-retry.
    """

    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    base: float = 0.05
    cap: float = 20.0
    reserve_ms: float = 1000.0

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> RetryPolicy:
        env = os.environ if env is None else env
        attempts = int(number(env, "AWS_MAX_ATTEMPTS", DEFAULT_MAX_ATTEMPTS, minimum=1, integer=True))
        return cls(max_attempts=attempts)

    def delay(self, retry: int, rng: Callable[[], float] = random.random) -> float:
        """Seconds before retry ``retry`` (1-based): uniform in [0, min(cap, base * 2**retry))."""
        return rng() * min(self.cap, self.base * 2**retry)

    def allows(self, retry: int, delay: float, remaining_ms: float | None) -> bool:
        """Whether retry number ``retry`` after ``delay`` seconds may be made."""
        if retry >= self.max_attempts:
            return False
        return remaining_ms is None or remaining_ms - delay * 1000.0 > self.reserve_ms


@dataclass(frozen=True)
class _SignedHost:
    """aiodynamo's aiohttp backend, sending the ``Host`` header aiodynamo signed.

    aiodynamo signs ``host:<endpoint host>`` without the port while aiohttp sends
    ``Host: host:port`` for a non-default port, so a DynamoDB-compatible endpoint on another
    port (a local emulator, a proxy) rejects every signature. Real AWS endpoints use the
    default port, where both agree.
    """

    inner: Any  # aiodynamo.http.aiohttp.AIOHTTP
    host: str

    async def __call__(self, request: Any) -> Any:
        from aiodynamo.http.types import Request

        headers = {**(request.headers or {}), "Host": self.host}
        return await self.inner(Request(request.method, request.url, headers, request.body))


class DynamoConnection:
    """An aiodynamo ``Client`` on one aiohttp session, bound to the loop it was opened on."""

    def __init__(
        self,
        *,
        endpoint: str | None,
        region: str,
        credentials: Credentials,
        connections: int = 64,
        timeout: float = REQUEST_TIMEOUT,
    ):
        self.endpoint = endpoint
        self.region = region
        self.credentials = credentials
        self.timeout = timeout
        self.session = LoopSession(connections=connections)
        self._client: Client | None = None
        self._for: aiohttp.ClientSession | None = None

    @classmethod
    def from_env(cls, *, connections: int = 64) -> DynamoConnection:
        """Endpoint, region and credentials from the standard AWS variables (see the module doc)."""
        return cls(
            endpoint=endpoint_url(), region=region(), credentials=credentials(), connections=connections
        )

    @property
    def sessions_opened(self) -> int:
        return self.session.opened

    def client(self) -> Client:
        """The client for the running loop's session (made again when the session is new)."""
        session = self.session.get()
        if self._client is not None and self._for is session:
            return self._client
        from aiodynamo.client import Client
        from aiodynamo.http.aiohttp import AIOHTTP
        from yarl import URL

        http: Any = AIOHTTP(session)
        url = URL(self.endpoint) if self.endpoint else None
        if url is not None and url.host and not url.is_default_port():
            http = _SignedHost(http, url.host)
        self._client = Client(
            http, self.credentials, self.region, endpoint=url, throttle_config=_one_attempt()
        )
        self._for = session
        return self._client

    async def send(
        self, action: str, payload: Mapping[str, Any], *, timeout: float | None = None
    ) -> dict[str, Any]:
        """One request (``PutItem``, ``GetItem``, ...); aiodynamo's exceptions on error answers."""
        client = self.client()
        async with asyncio.timeout(self.timeout if timeout is None else timeout):
            return await client.send_request(action=action, payload=payload)

    async def aclose(self) -> None:
        """Close the session (on its own loop)."""
        self._client = self._for = None
        await self.session.aclose()

    def close(self) -> None:
        """Close from outside any running loop (a runtime being replaced, a test's teardown)."""
        self._client = self._for = None
        self.session.close()


_ONE_ATTEMPT: list[Any] = []


def _one_attempt() -> Any:
    """aiodynamo's retry config for one HTTP attempt per ``send_request``; a retryable answer
    (throttle, 5xx, connection failure) comes back as its exception for :class:`RetryPolicy`."""
    if not _ONE_ATTEMPT:  # defined on first use, so importing this module loads no aiodynamo
        from aiodynamo.models import RetryConfig, RetryTimeout

        class OneAttempt(RetryConfig):
            def delays(self) -> Any:
                return (0.0,)

            async def attempts(self) -> Any:
                yield
                raise RetryTimeout()  # send_request then raises the attempt's exception

        _ONE_ATTEMPT.append(OneAttempt())
    return _ONE_ATTEMPT[0]


def is_retryable(exc: BaseException) -> bool:
    """Transient: throttles, DynamoDB 500/503, connection failures, timeouts (botocore's set)."""
    from observe.telemetry import classify_throttle

    if classify_throttle(exc) is not None:
        return True
    if isinstance(exc, TimeoutError | ConnectionError):
        return True
    name = type(exc).__name__
    module = type(exc).__module__ or ""
    if module.startswith("aiodynamo") and name in (
        "InternalDynamoError",
        "ServiceUnavailable",
        "TransactionConflict",
    ):
        return True
    if module.startswith("aiodynamo") and name == "UnknownError":
        return int(getattr(exc, "status", 0) or 0) >= 500
    # aiohttp's ClientError family: refused or reset connections, a server that went away
    return any(c.__name__ == "ClientError" and c.__module__.startswith("aiohttp") for c in type(exc).__mro__)
