"""The default source adapter against the local paginated source API (real HTTP on 127.0.0.1)."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest

from emulator.source_api import Fault, SourceAPI
from observe import correlation
from observe.telemetry import ThrottledError
from pipelines.ingest.source import FetchContext, PaginatedJsonSource, SourceError, ThrottleGate

pytestmark = pytest.mark.integration

PAGES = [[{"id": f"k{p}-{i}", "version": 1} for i in range(3)] for p in range(1, 6)]


async def fetch(
    api: SourceAPI, task: dict[str, Any], *, concurrency: int = 4, timeout: float = 2.0, retries: int = 1
):
    async with aiohttp.ClientSession() as http:
        ctx = FetchContext(
            source_url=api.url,
            http=http,
            gate=ThrottleGate(),
            semaphore=asyncio.Semaphore(concurrency),
            timeout=timeout,
            retries=retries,
        )
        try:
            return await PaginatedJsonSource().fetch(task, ctx), ctx
        except Exception as exc:
            exc.ctx = ctx  # type: ignore[attr-defined]
            raise


async def test_a_page_range_is_fetched_concurrently_in_order_with_the_correlation_header(
    source: SourceAPI,
) -> None:
    source.set_pages(PAGES)
    with correlation.scope("cid-range-1"):
        pages, ctx = await fetch(source, {"start_page": 2, "end_page": 4})
    assert [p.ref for p in pages] == ["page-000002", "page-000003", "page-000004"]
    assert [r["id"] for r in pages[0].records] == ["k2-0", "k2-1", "k2-2"]
    assert sorted(r.page for r in source.requests) == [2, 3, 4]
    assert {r.correlation_id for r in source.requests} == {"cid-range-1"}
    assert len(ctx.latencies_ms) == 3


async def test_follow_reads_past_the_range_to_the_end_and_pages_past_the_end_are_empty(
    source: SourceAPI,
) -> None:
    source.set_pages(PAGES)
    pages, _ = await fetch(source, {"start_page": 1, "end_page": 2, "follow": True})
    assert [p.ref for p in pages] == [f"page-{n:06d}" for n in range(1, 6)]
    assert pages[-1].next_page is None
    beyond, _ = await fetch(source, {"start_page": 9, "end_page": 9})
    assert beyond[0].records == [] and beyond[0].next_page is None
    open_ended, _ = await fetch(source, {"start_page": 4})
    assert [p.ref for p in open_ended] == ["page-000004", "page-000005"]


async def test_partition_is_passed_to_the_source(source: SourceAPI) -> None:
    source.set_pages([[{"id": "sg-1", "version": 1}]], partition="sg")
    pages, _ = await fetch(source, {"start_page": 1, "end_page": 1, "partition": "sg"})
    assert pages[0].records == [{"id": "sg-1", "version": 1}]
    assert source.requests[0].partition == "sg"


async def test_5xx_and_malformed_bodies_are_retried_then_succeed(source: SourceAPI) -> None:
    source.set_pages(PAGES)
    source.script(Fault("5xx", page=1, status=502), Fault("malformed", page=2))
    pages, _ = await fetch(source, {"start_page": 1, "end_page": 2}, retries=1)
    assert [len(p.records) for p in pages] == [3, 3]
    # pages 1 and 2 are fetched concurrently: their requests may arrive in either order
    assert sorted((r.page, r.status, r.fault) for r in source.requests if r.fault) == [
        (1, 502, "5xx"),
        (2, 200, "malformed"),
    ]


async def test_persistent_failures_fail_the_task_with_a_clear_error(source: SourceAPI) -> None:
    source.set_pages(PAGES)
    source.script(Fault("5xx", page=3, times=5, status=503))
    with pytest.raises(SourceError, match="page-000003: source answered HTTP 503"):
        await fetch(source, {"start_page": 3, "end_page": 3}, retries=1)
    source.script(Fault("slow", page=4, times=5, delay=0.5))
    with pytest.raises(SourceError, match=r"page-000004: no answer within 0.2s"):
        await fetch(source, {"start_page": 4, "end_page": 4}, timeout=0.2, retries=1)


async def test_a_429_stops_all_requests_at_once_with_its_retry_after(source: SourceAPI) -> None:
    source.set_pages(PAGES)
    source.script(Fault("429", page=2, retry_after=7))
    with pytest.raises(ThrottledError) as err:
        await fetch(source, {"start_page": 1, "end_page": 5}, concurrency=1)
    throttle = err.value.throttle
    assert (throttle.source, throttle.code, throttle.retry_after) == ("http-429", "429", 7.0)
    statuses = [(r.page, r.status) for r in source.requests]
    assert statuses == [(1, 200), (2, 429)], "nothing may be requested after the 429"
    with pytest.raises(ThrottledError):  # the gate refuses any later request of the invocation
        err.value.ctx.gate.check()  # type: ignore[attr-defined]


async def test_a_refused_connection_is_retried_then_fails_the_task_naming_it() -> None:
    from types import SimpleNamespace

    from emulator.moto_server import free_port

    nobody = SimpleNamespace(url=f"http://127.0.0.1:{free_port()}/records")
    with pytest.raises(SourceError, match=r"page-000001: ClientConnectorError") as err:
        await fetch(nobody, {"start_page": 1, "end_page": 1}, retries=2)  # type: ignore[arg-type]
    assert err.value.ctx.requests == 3  # type: ignore[attr-defined]
