"""bound / bind / unbind: fields on the lines of a block or of the invocation, per context."""

from __future__ import annotations

import asyncio
import contextvars
import threading
from typing import Any

import observe
from observe import bind, bound, get_logger, observed, unbind
from observe import logging as olog
from observe.context import bound_fields
from observe.testing import FakeLambdaContext

log = get_logger("tests.bound")


def by_message(logs: list[dict[str, Any]], message: str) -> list[dict[str, Any]]:
    return [x for x in logs if x["message"] == message]


def test_exported_from_observe() -> None:
    assert observe.bound is bound and observe.bind is bind and observe.unbind is unbind
    assert {"bound", "bind", "unbind"} <= set(observe.__all__)


def test_a_block_carries_its_fields_and_nesting_restores_them(observe_capture, lambda_context) -> None:
    @observed(pipeline="p", service="s")
    def handler(event: Any, context: Any) -> None:
        log.info("before")
        with bound(order_id="o-1", step="price"):
            log.info("outer")
            with bound(step="tax", rate=9):
                log.info("inner")
            log.info("outer again")
            log.info("call wins", step="explicit")
        log.info("after")

    handler({}, lambda_context)
    logs = observe_capture.logs
    assert "order_id" not in by_message(logs, "before")[0] and "order_id" not in by_message(logs, "after")[0]
    assert (by_message(logs, "outer")[0]["order_id"], by_message(logs, "outer")[0]["step"]) == (
        "o-1",
        "price",
    )
    inner = by_message(logs, "inner")[0]
    assert (inner["order_id"], inner["step"], inner["rate"]) == ("o-1", "tax", 9)
    again = by_message(logs, "outer again")[0]
    assert again["step"] == "price" and "rate" not in again
    assert by_message(logs, "call wins")[0]["step"] == "explicit"
    # the invocation's own fields are still there
    assert inner["service"] == "s" and inner["aws_request_id"] == lambda_context.aws_request_id


def test_bind_lasts_for_the_rest_of_the_invocation_and_not_longer(observe_capture) -> None:
    @observed(pipeline="p", service="s")
    def handler(event: Any, context: Any) -> None:
        log.info("first")
        if event.get("bind"):
            bind(customer_tier="gold", batch="b-7")
            log.info("bound")
            unbind("batch")
        log.info("last")

    handler({"bind": True}, FakeLambdaContext())
    handler({}, FakeLambdaContext())
    logs = observe_capture.logs
    assert by_message(logs, "bound")[0]["batch"] == "b-7"
    first, second = by_message(logs, "last")
    assert first["customer_tier"] == "gold" and "batch" not in first
    summaries = by_message(logs, "invocation complete")
    assert summaries[0]["customer_tier"] == "gold"  # the summary line carries what was bound
    assert "customer_tier" not in second and "customer_tier" not in summaries[1]
    assert olog.invocation_context.get() is None


def test_bound_values_are_redacted_once_when_bound(observe_capture, lambda_context) -> None:
    @observed(pipeline="p", service="s")
    def handler(event: Any, context: Any) -> None:
        with bound(password="hunter2", note="mail me at jane.doe@example.com", api_key="abc123def456"):
            assert bound_fields()["password"] == "[REDACTED]"  # held redacted, not per line
            log.info("inside")

    handler({}, lambda_context)
    text = observe_capture.text
    assert "hunter2" not in text and "jane.doe@example.com" not in text and "abc123def456" not in text
    line = by_message(observe_capture.logs, "inside")[0]
    assert line["password"] == "[REDACTED]" and line["api_key"] == "[REDACTED]"


def test_asyncio_tasks_keep_their_own_fields(observe_capture, lambda_context) -> None:
    @observed(pipeline="p", service="s")
    async def handler(event: Any, context: Any) -> None:
        async def record(i: int) -> None:
            with bound(record=i):
                await asyncio.sleep(0.01 * (3 - i))  # finish in the other order
                log.info("record done")
                bind(tier=f"t{i}")  # the task's own: the other tasks and the handler never see it
                log.info("record tier")

        with bound(batch="b1"):
            await asyncio.gather(*(record(i) for i in range(3)))
            log.info("batch done")

    asyncio.run(handler({}, lambda_context))
    logs = observe_capture.logs
    done = by_message(logs, "record done")
    assert sorted(x["record"] for x in done) == [0, 1, 2] and all(x["batch"] == "b1" for x in done)
    assert all(x["tier"] == f"t{x['record']}" for x in by_message(logs, "record tier"))
    batch = by_message(logs, "batch done")[0]
    assert "record" not in batch and "tier" not in batch and batch["batch"] == "b1"


def test_threads_see_what_was_bound_only_in_a_copy_of_the_context(observe_capture, lambda_context) -> None:
    @observed(pipeline="p", service="s")
    def handler(event: Any, context: Any) -> None:
        with bound(job="j-1"):

            def work(name: str) -> None:
                log.info(name)
                bind(thread_only=True)  # never leaks into the handler

            ctx = contextvars.copy_context()
            t = threading.Thread(target=ctx.run, args=(work, "copied"))
            t.start()
            t.join()
            plain = threading.Thread(target=work, args=("plain thread",))
            plain.start()
            plain.join()
            log.info("handler")

    handler({}, lambda_context)
    logs = observe_capture.logs
    assert by_message(logs, "copied")[0]["job"] == "j-1"
    assert "job" not in by_message(logs, "plain thread")[0]
    assert "thread_only" not in by_message(logs, "handler")[0]


def test_many_threads_binding_at_once_never_mix(observe_capture, lambda_context) -> None:
    @observed(pipeline="p", service="s")
    def handler(event: Any, context: Any) -> None:
        def work(i: int) -> None:
            for _ in range(50):
                with bound(worker=i):
                    log.info("tick", me=i)

        threads = [threading.Thread(target=contextvars.copy_context().run, args=(work, i)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    handler({}, lambda_context)
    ticks = by_message(observe_capture.logs, "tick")
    assert len(ticks) == 400 and all(x["worker"] == x["me"] for x in ticks)


def test_fields_bound_outside_an_invocation_are_on_its_lines(observe_capture, lambda_context) -> None:
    def run() -> None:
        bind(team="data")  # at import time of a handler module, say

        @observed(pipeline="p", service="s")
        def handler(event: Any, context: Any) -> None:
            log.info("in")

        handler({}, lambda_context)
        log.info("out")

    contextvars.copy_context().run(run)
    logs = observe_capture.logs
    assert by_message(logs, "in")[0]["team"] == "data" and by_message(logs, "out")[0]["team"] == "data"
    assert by_message(logs, "in")[0]["service"] == "s" and "service" not in by_message(logs, "out")[0]


def test_exiting_a_block_twice_or_unbinding_nothing_is_harmless(observe_capture, lambda_context) -> None:
    b = bound(a=1)
    with b:
        pass
    b.__exit__(None, None, None)
    unbind("never-bound")
    assert olog.invocation_context.get() is None
