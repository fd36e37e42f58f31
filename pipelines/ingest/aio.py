"""The worker's asyncio plumbing: the warm event loop, and aiohttp sessions bound to it.

- :class:`EventLoop` is the execution environment's event loop: the handler runs each
  invocation on it (instead of ``asyncio.run``, which makes and closes a loop per call), so
  aiohttp sessions and their kept-alive connections live across invocations. After each
  invocation the tasks it left (a killed batch, a cancelled fetch) are cancelled, as
  ``asyncio.run`` does.
- :class:`LoopSession` is one ``aiohttp.ClientSession``, opened lazily on the running loop; used
  on another loop (a test's, or after the loop was replaced) it closes the old session and opens
  a new one there, so a session is never used off the loop it is bound to.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Awaitable, Callable, Coroutine
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    import aiohttp

T = TypeVar("T")


class EventLoop:
    """The execution environment's event loop, reused by every invocation (see the module doc)."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None or self._loop.is_closed():
            self._loop = asyncio.new_event_loop()
        return self._loop

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` to completion in a copy of the caller's context (correlation id, ...)."""
        loop = self.loop
        task = loop.create_task(coro, context=contextvars.copy_context())
        try:
            return loop.run_until_complete(task)
        finally:
            self._cancel_leftovers(loop)

    @staticmethod
    def _cancel_leftovers(loop: asyncio.AbstractEventLoop) -> None:
        left = [t for t in asyncio.all_tasks(loop) if not t.done()]
        for t in left:
            t.cancel()
        if left:
            loop.run_until_complete(asyncio.gather(*left, return_exceptions=True))

    def close(self, before: Callable[[], Awaitable[None]] | None = None) -> None:
        """Run ``before()`` (closing sessions) on the loop, then close it."""
        loop, self._loop = self._loop, None
        if loop is None or loop.is_closed():
            return
        try:
            if before is not None and not loop.is_running():
                loop.run_until_complete(before())
            self._cancel_leftovers(loop)
            loop.run_until_complete(loop.shutdown_default_executor())
        finally:
            loop.close()


class LoopSession:
    """One aiohttp session for the running loop (see the module docstring)."""

    def __init__(self, *, connections: int, ssl: Any = None) -> None:
        self.connections = connections
        self.ssl = ssl  # an ssl.SSLContext (built once: loading a CA bundle is slow), or None
        self._session: aiohttp.ClientSession | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.opened = 0

    def get(self) -> aiohttp.ClientSession:
        """The session for the running loop, opening (or re-opening) it there."""
        loop = asyncio.get_running_loop()
        if self._session is not None and self._loop is loop and not self._session.closed:
            return self._session
        self.close()
        import aiohttp

        kwargs: dict[str, Any] = {"limit": self.connections, "limit_per_host": self.connections}
        if self.ssl is not None:
            kwargs["ssl"] = self.ssl
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(**kwargs), timeout=aiohttp.ClientTimeout(total=None)
        )
        self._loop = loop
        self.opened += 1
        return self._session

    @property
    def is_bound(self) -> bool:
        return self._session is not None and not self._session.closed

    async def aclose(self) -> None:
        """Close the session (on its own loop)."""
        session, self._session, self._loop = self._session, None, None
        if session is not None and not session.closed:
            await session.close()

    def close(self) -> None:
        """Drop the session: closed on its loop when that loop is idle, else its sockets are dropped."""
        session, loop = self._session, self._loop
        self._session = self._loop = None
        if session is None or session.closed:
            return
        try:
            running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is None and loop is not None and not loop.is_closed() and not loop.is_running():
            loop.run_until_complete(session.close())
        elif session.connector is not None:
            # No one can await the close on that loop now: drop its transports, so nothing leaks.
            session.connector._close()
