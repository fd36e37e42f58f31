"""Fields bound to the lines of a block, or of the rest of the invocation.

    from observe import bind, bound

    with bound(order_id=order["id"]):      # every line inside the block carries order_id
        log.info("priced")
    bind(customer_tier="gold")             # every later line of this invocation carries it

Both live in a :mod:`contextvars` variable (the one that holds the invocation's fixed fields), so
they follow the code that runs, not the thread that happens to run it:

- an asyncio task sees what was bound where it was created, and what it binds stays its own
  (``asyncio.gather`` of records, each under ``bound(record=...)``, never mixes them up);
- a thread sees what the code that started it had bound only when it runs in a copy of that
  context: ``asyncio.to_thread`` and ``contextvars.copy_context().run`` do that,
  ``threading.Thread`` and ``loop.run_in_executor`` do not (as for the correlation id);
- what :func:`bind` adds inside an ``observed`` invocation is gone when the invocation ends; what
  it adds outside one (at import time) is on every later line of that context, invocations included.

Values are redacted when they are bound, by the same processor as every line's fields
(:func:`observe.redact.redact_processor`), so a bound secret is masked once, not on every line. A
bound field takes the place of a field of the invocation of the same name; a field given to a log
call takes the place of a bound one.
"""

from __future__ import annotations

from typing import Any

from observe.logging import invocation_context
from observe.redact import redact_processor


def _redacted(fields: dict[str, Any]) -> dict[str, Any]:
    try:
        return redact_processor(None, "info", dict(fields))
    except Exception:  # the redaction never raises; if it ever did, bind nothing rather than leak
        return {}


def _set(fields: dict[str, Any]) -> Any:
    current = invocation_context.get()
    merged = dict(current) if current else {}
    merged.update(fields)
    token = invocation_context.set(merged)
    _tell_watchdog(merged)
    return token


def _tell_watchdog(ctx: dict[str, Any] | None) -> None:
    """Let a deadline warning show the fields bound in the handler's thread."""
    from observe import watchdog

    watchdog.note_context(ctx)


class bound:
    """``with bound(**fields):`` adds ``fields`` to every line logged inside the block (in this
    context and the tasks it starts); on exit the fields before the block are back."""

    __slots__ = ("fields", "tokens")

    def __init__(self, **fields: Any) -> None:
        self.fields = _redacted(fields)
        self.tokens: list[Any] = []

    def __enter__(self) -> bound:
        self.tokens.append(_set(self.fields))
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            invocation_context.reset(self.tokens.pop())
        except (ValueError, IndexError):  # exited in another context, or twice: leave it as it is
            return
        _tell_watchdog(invocation_context.get())


def bind(**fields: Any) -> None:
    """Add ``fields`` to every later line of the invocation (of the current context and the tasks it
    starts); they are dropped when the ``observed`` invocation ends."""
    _set(_redacted(fields))


def unbind(*keys: str) -> None:
    """Remove fields bound earlier (by :func:`bind` or an enclosing :func:`bound`) from later lines."""
    current = invocation_context.get()
    if not current or not any(k in current for k in keys):
        return
    invocation_context.set({k: v for k, v in current.items() if k not in keys})
    _tell_watchdog(invocation_context.get())


def bound_fields() -> dict[str, Any]:
    """The fields later lines carry from the invocation and from what is bound (a copy)."""
    return dict(invocation_context.get() or {})
