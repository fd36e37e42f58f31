"""Source adapters: where a fetch task's records come from, behind one interface.

An adapter turns a task (a dict from the queue) into pages of records. Two ship:

- ``paginated-json`` (the default): ``GET {SOURCE_URL}?page=N[&partition=P]`` answering
  ``{"records": [...], "next_page": N+1 | null}``. A task with ``end_page`` fetches its page
  range concurrently (and, with ``follow: true``, keeps following ``next_page`` after it); a task
  without one follows ``next_page`` from ``start_page`` to the end. Pages past the end must
  answer an empty ``records`` list.
- ``s3-object``: one object in S3 (an upstream drop announced by an S3 notification) holding
  ``{"records": [...]}``, a JSON array, or JSON lines.

Others plug in with :func:`register_adapter`. All HTTP goes through one ``aiohttp.ClientSession``
(kept warm across invocations on the worker's event loop; aiohttp costs a fifth of httpx's client
CPU per request, see docs/ingest.md) with a bounded number of requests in flight and a timeout per
request. A 429
trips the invocation's :class:`ThrottleGate`: from then on no request (HTTP or DynamoDB) is
issued in this invocation, and the task raises ``ThrottledError``.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from observe import correlation, get_logger
from observe.telemetry import HTTP_429, Throttle, ThrottledError, classify_throttle, parse_retry_after

if TYPE_CHECKING:
    import aiohttp

log = get_logger(__name__)
MAX_FOLLOWED_PAGES = 10_000  # a source whose next_page never ends must not loop forever


class SourceError(Exception):
    """The source failed in a way retrying later may fix (5xx, timeout, connection)."""


class MalformedPageError(SourceError):
    """A page that is not the JSON the contract promises; ``body`` keeps what arrived."""

    def __init__(self, message: str, *, page_ref: str, body: bytes):
        super().__init__(message)
        self.page_ref = page_ref
        self.body = body


class BadTaskError(ValueError):
    """A task message that cannot be run as written (missing or wrong fields)."""


class ThrottleGate:
    """Per invocation: once tripped by a throttle, every further request is refused."""

    def __init__(self) -> None:
        self.throttle: Throttle | None = None

    def trip(self, throttle: Throttle) -> None:
        if self.throttle is None:
            self.throttle = throttle

    def check(self) -> None:
        """Raise ``ThrottledError`` if this invocation was throttled."""
        if self.throttle is not None:
            raise ThrottledError(self.throttle, "not issuing requests: throttled earlier in this invocation")


@dataclass
class Page:
    """Records read in one go, with the raw bytes for the audit copy."""

    ref: str  # names the page in S3 keys: "page-000003", or the object key
    records: list[Any]
    raw: bytes
    next_page: int | None = None


@dataclass
class FetchContext:
    """What adapters share within one invocation."""

    source_url: str
    http: aiohttp.ClientSession | None
    gate: ThrottleGate
    semaphore: asyncio.Semaphore
    timeout: float
    retries: int
    s3: Any = None  # a boto3 S3 client, for the s3-object adapter
    #: the invocation's remaining time in ms (the Lambda context's get_remaining_time_in_millis)
    remaining_ms: Callable[[], int] | None = None
    latencies_ms: list[float] = field(default_factory=list)
    requests: int = 0


class SourceAdapter(Protocol):
    """Reads the records a task names."""

    name: str

    async def fetch(self, task: Mapping[str, Any], ctx: FetchContext) -> list[Page]:
        """The task's pages, in order; raises SourceError / ThrottledError / BadTaskError."""
        ...


def _page_number(task: Mapping[str, Any], name: str, default: int | None) -> int | None:
    value = task.get(name, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise BadTaskError(f"task.{name} must be an integer >= 1, got {value!r}")
    return value


def parse_page(body: bytes, page_ref: str) -> tuple[list[Any], int | None]:
    """``(records, next_page)`` from a page body; MalformedPageError naming what is wrong."""
    try:
        doc = json.loads(body)
    except ValueError as exc:
        raise MalformedPageError(
            f"{page_ref}: body is not JSON ({exc})", page_ref=page_ref, body=body
        ) from None
    if not isinstance(doc, dict) or not isinstance(doc.get("records"), list):
        raise MalformedPageError(
            f"{page_ref}: expected an object with a 'records' list", page_ref=page_ref, body=body
        )
    next_page = doc.get("next_page")
    if next_page is not None and (isinstance(next_page, bool) or not isinstance(next_page, int)):
        raise MalformedPageError(
            f"{page_ref}: 'next_page' must be an integer or null", page_ref=page_ref, body=body
        )
    return doc["records"], next_page


class PaginatedJsonSource:
    """The default adapter: the paginated JSON API at ``SOURCE_URL``."""

    name = "paginated-json"

    async def fetch(self, task: Mapping[str, Any], ctx: FetchContext) -> list[Page]:
        start = _page_number(task, "start_page", 1)
        end = _page_number(task, "end_page", None)
        partition = task.get("partition")
        if partition is not None and not isinstance(partition, str):
            raise BadTaskError(f"task.partition must be a string, got {partition!r}")
        assert start is not None
        if end is not None:
            if end < start:
                raise BadTaskError(f"task.end_page ({end}) is before task.start_page ({start})")
            # A TaskGroup cancels the siblings as soon as one page fails (a 429 above all).
            try:
                async with asyncio.TaskGroup() as tg:
                    jobs = [tg.create_task(self.get_page(ctx, n, partition)) for n in range(start, end + 1)]
            except BaseExceptionGroup as group:
                raise first_error(group) from None
            pages = [j.result() for j in jobs]
            if not task.get("follow") or pages[-1].next_page is None:
                return pages
            number: int | None = pages[-1].next_page
        else:
            pages, number = [], start
        while number is not None:
            if len(pages) >= MAX_FOLLOWED_PAGES:
                raise SourceError(
                    f"more than {MAX_FOLLOWED_PAGES} pages followed from page {start}; stopping"
                )
            page = await self.get_page(ctx, number, partition)
            pages.append(page)
            if page.next_page is not None and page.next_page <= number:
                raise SourceError(f"page {number} points back to page {page.next_page}; refusing to loop")
            number = page.next_page
        return pages

    async def get_page(self, ctx: FetchContext, number: int, partition: str | None) -> Page:
        """One page, retrying 5xx, timeouts and malformed bodies ``ctx.retries`` times."""
        import aiohttp

        assert ctx.http is not None
        ref = f"page-{number:06d}"
        params: dict[str, Any] = {"page": number}
        if partition is not None:
            params["partition"] = partition
        timeout = aiohttp.ClientTimeout(total=ctx.timeout)
        last: SourceError | None = None
        for attempt in range(ctx.retries + 1):
            if attempt:
                await asyncio.sleep(min(0.05 * 2**attempt, 1.0))
            ctx.gate.check()
            async with ctx.semaphore:
                ctx.gate.check()  # a sibling may have been throttled while this one waited
                started = time.perf_counter()
                ctx.requests += 1
                try:
                    async with ctx.http.get(
                        ctx.source_url, params=params, headers=correlation.http_headers(), timeout=timeout
                    ) as resp:
                        status, retry_after = resp.status, resp.headers.get("Retry-After")
                        body = await resp.read()
                        # one line per request, as httpx wrote it: the trace shows each page's answer
                        v = resp.version
                        answer = f"HTTP/{v.major}.{v.minor} {status} {resp.reason}" if v else f"{status}"
                        log.info(f'HTTP Request: GET {resp.url} "{answer}"')
                except TimeoutError as exc:
                    last = SourceError(f"{ref}: no answer within {ctx.timeout:g}s ({type(exc).__name__})")
                    continue
                except aiohttp.ClientError as exc:
                    last = SourceError(f"{ref}: {type(exc).__name__}: {exc}")
                    continue
                finally:
                    ctx.latencies_ms.append((time.perf_counter() - started) * 1000.0)
            if status == 429:
                throttle = Throttle(HTTP_429, "429", parse_retry_after(retry_after))
                ctx.gate.trip(throttle)
                raise ThrottledError(
                    throttle, f"{ref}: source answered 429 (retry after {throttle.retry_after})"
                )
            if status >= 500:
                last = SourceError(f"{ref}: source answered HTTP {status}")
                continue
            if status != 200:
                raise SourceError(f"{ref}: source answered HTTP {status}; not retried")
            try:
                records, next_page = parse_page(body, ref)
            except MalformedPageError as exc:
                last = exc
                continue
            return Page(ref, records, body, next_page)
        assert last is not None
        raise last


class S3ObjectSource:
    """Records from one S3 object (``task.bucket``, ``task.key``, optional ``task.version_id``)."""

    name = "s3-object"

    async def fetch(self, task: Mapping[str, Any], ctx: FetchContext) -> list[Page]:
        bucket, key = task.get("bucket"), task.get("key")
        if not isinstance(bucket, str) or not isinstance(key, str) or not bucket or not key:
            raise BadTaskError("an s3-object task needs string 'bucket' and 'key'")
        if ctx.s3 is None:
            raise BadTaskError("the s3-object adapter needs an S3 client")
        ctx.gate.check()
        kwargs: dict[str, Any] = {"Bucket": bucket, "Key": key}
        if task.get("version_id"):
            kwargs["VersionId"] = task["version_id"]
        started = time.perf_counter()
        try:
            obj = await asyncio.to_thread(ctx.s3.get_object, **kwargs)
            body: bytes = await asyncio.to_thread(obj["Body"].read)
        except Exception as exc:
            throttle = classify_throttle(exc)
            if throttle is not None:
                ctx.gate.trip(throttle)
                raise ThrottledError(throttle) from exc
            raise
        finally:
            ctx.latencies_ms.append((time.perf_counter() - started) * 1000.0)
        return [Page(key.rsplit("/", 1)[-1], parse_object(body, key), body)]


def parse_object(body: bytes, key: str) -> list[Any]:
    """Records from an object body: ``{"records": [...]}``, a JSON array, or JSON lines."""
    text = body.decode("utf-8", errors="replace").strip()
    if not text:
        return []
    try:
        doc = json.loads(text)
    except ValueError:
        doc = None
    if isinstance(doc, dict) and isinstance(doc.get("records"), list):
        return list(doc["records"])
    if isinstance(doc, list):
        return doc
    records: list[Any] = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except ValueError:
            raise MalformedPageError(
                f"s3://{key}: line {n} is not JSON (expected {{'records': [...]}}, an array or JSON lines)",
                page_ref=key,
                body=body,
            ) from None
    return records


def first_error(group: BaseExceptionGroup) -> BaseException:
    """The exception to report from a group: a throttle if there is one (it stops the batch)."""
    leaves: list[BaseException] = []
    stack: list[BaseException] = [group]
    while stack:
        exc = stack.pop(0)
        if isinstance(exc, BaseExceptionGroup):
            stack.extend(exc.exceptions)
        else:
            leaves.append(exc)
    for exc in leaves:
        if isinstance(exc, ThrottledError):
            return exc
    return leaves[0]


_ADAPTERS: dict[str, Callable[[], SourceAdapter]] = {
    PaginatedJsonSource.name: PaginatedJsonSource,
    S3ObjectSource.name: S3ObjectSource,
}


def register_adapter(name: str, factory: Callable[[], SourceAdapter]) -> None:
    """Make ``task.adapter == name`` use ``factory()``."""
    _ADAPTERS[name] = factory


def adapter_for(task: Mapping[str, Any]) -> SourceAdapter:
    """The adapter a task names (``task.adapter``, default ``paginated-json``)."""
    name = task.get("adapter") or PaginatedJsonSource.name
    factory = _ADAPTERS.get(name)
    if factory is None:
        raise BadTaskError(f"task.adapter {name!r} is unknown; known: {', '.join(sorted(_ADAPTERS))}")
    return factory()
