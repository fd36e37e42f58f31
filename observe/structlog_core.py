"""structlog's bound logger, imported without the rest of structlog until someone asks for it.

observe's loggers are structlog loggers: a :class:`structlog.BoundLoggerBase` subclass whose
``bind``/``new``/``unbind`` and processor chain (``_process_event``) are structlog's own. That
class lives in ``structlog._base``, which needs only ``structlog.typing`` and
``structlog.exceptions``; but importing any submodule first runs ``structlog/__init__.py``, which
imports everything: ``structlog.stdlib`` (asyncio, ssl, socket, concurrent.futures),
``structlog.dev`` (and rich when installed), ``structlog.processors``, ``structlog._output``
(pickle), ``structlog.threadlocal`` (uuid). That is about two thirds of a cold start spent on code a
Lambda invocation through observe never runs.

So :func:`bound_logger_base` registers the ``structlog`` package with its ``__init__`` not yet run
(:class:`_Deferred`), then imports the few submodules it needs the normal way. The package's
``__init__`` runs, in the same module object, the first time anything looks up a name the package
does not have yet (``structlog.get_logger``, ``from structlog import dev``, ``structlog.configure``):
an application that uses structlog itself gets the whole package, exactly as if it had been imported
first, and the classes are the same objects (``structlog._base.BoundLoggerBase`` is not imported
twice). When structlog is already imported, or anything here fails (a structlog release laid out
differently), the plain ``import structlog`` is used: slower to start, never different.
tests/unit/observe/test_structlog_core.py checks that the deferral holds for the installed release.
"""

from __future__ import annotations

import sys
import threading
import types
from typing import Any

_lock = threading.RLock()
_loading: list[int | None] = [None]  # the thread running the package's __init__, while it runs


class _Deferred(types.ModuleType):
    """The ``structlog`` package before its ``__init__`` ran: the import system sees a package
    (``__path__``, ``__spec__``) and loads its submodules; any other name not yet present runs the
    ``__init__`` first (in this module object), then is looked up as usual."""

    def __getattr__(self, name: str) -> Any:
        if _loading[0] == threading.get_ident():  # the __init__ itself asks: a name not defined yet
            raise AttributeError(name)
        _run_init(self)
        return getattr(self, name)


def _run_init(module: types.ModuleType) -> None:
    """Run the package's ``__init__`` in ``module`` (once; another thread waits for it)."""
    with _lock:
        if type(module) is not _Deferred:
            return
        spec = module.__spec__
        lock = _module_lock(spec.name) if spec is not None else None
        _loading[0] = threading.get_ident()
        try:
            if lock is not None:
                lock.__enter__()
            try:
                spec._initializing = True  # type: ignore[union-attr]  # `import structlog` elsewhere waits
                spec.loader.exec_module(module)  # type: ignore[union-attr]
            except BaseException:  # as a failed import: gone from sys.modules, the next import retries
                if sys.modules.get("structlog") is module:
                    del sys.modules["structlog"]
                raise
            finally:
                spec._initializing = False  # type: ignore[union-attr]
                if lock is not None:
                    lock.__exit__(None, None, None)
        finally:
            _loading[0] = None
            module.__class__ = types.ModuleType  # type: ignore[assignment]  # a plain module from now on


def _module_lock(name: str) -> Any:
    """The import system's per-module lock (what ``import structlog`` in another thread waits on
    while the package initialises), or None where the interpreter does not have one by that name."""
    try:
        from importlib._bootstrap import _ModuleLockManager  # type: ignore[attr-defined]

        return _ModuleLockManager(name)
    except Exception:  # pragma: no cover - another interpreter
        return None


def _defer_package() -> bool:
    """Register ``structlog`` as a :class:`_Deferred` package; False if it is imported already (or
    cannot be found this way)."""
    if "structlog" in sys.modules:
        return False
    import importlib.util

    spec = importlib.util.find_spec("structlog")
    if spec is None or spec.loader is None or spec.submodule_search_locations is None:
        return False
    module = importlib.util.module_from_spec(spec)
    module.__class__ = _Deferred
    sys.modules["structlog"] = module
    return True


def bound_logger_base() -> type:
    """structlog's ``BoundLoggerBase``, importing only what defines it when structlog is not loaded yet."""
    with _lock:
        if "structlog" not in sys.modules:
            _defer_package()
        if type(sys.modules.get("structlog")) is _Deferred:
            try:
                from structlog._base import BoundLoggerBase

                return BoundLoggerBase
            except Exception:  # a layout this does not know: undo, and import the whole package
                _undo()
        from structlog import BoundLoggerBase

        return BoundLoggerBase


def _undo() -> None:
    module = sys.modules.get("structlog")
    if type(module) is _Deferred:
        del sys.modules["structlog"]
        for name in [n for n in sys.modules if n.startswith("structlog.")]:
            del sys.modules[name]


def deferred() -> bool:
    """Whether structlog's package ``__init__`` has not run yet (observe's loggers work either way)."""
    return type(sys.modules.get("structlog")) is _Deferred
