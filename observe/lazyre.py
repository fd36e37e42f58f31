"""Regular expressions compiled when first used, not when their module is imported.

``re.compile`` runs the pattern compiler in Python: the redaction nets alone (dozens of patterns,
a few of them large) took more time at a cold start than the rest of ``import observe``, and a
first invocation uses only some of them (most nets run only when their trigger text is present).

``_X = compile_lazily(r"...")`` at module level is a stand-in that compiles the pattern at its
first use and then puts the compiled pattern in its place in the module (every later ``_X`` in
that module is the ``re.Pattern`` itself: nothing per call). A reference taken before that (a
pattern passed around during its first use) keeps working through the stand-in.
"""

from __future__ import annotations

import re
import sys
from typing import Any, cast

#: What a compiled pattern has (its methods and attributes; not the class's own, such as __bases__).
_PATTERN_ATTRS = frozenset(dir(re.Pattern))


class _Pending:
    """A pattern not compiled yet; any attribute (``sub``, ``search`` ...) compiles it first."""

    __slots__ = ("_args", "_compiled", "_namespace")

    def __init__(self, pattern: str, flags: int, namespace: dict[str, Any]) -> None:
        self._args = (pattern, flags)
        self._namespace = namespace
        self._compiled: re.Pattern[str] | None = None

    def _pattern(self) -> re.Pattern[str]:
        rx = self._compiled
        if rx is None:
            rx = self._compiled = re.compile(*self._args)
            namespace = self._namespace
            for name, value in list(namespace.items()):  # later look-ups find the pattern itself
                if value is self:
                    namespace[name] = rx
        return rx

    def __getattr__(self, name: str) -> Any:
        if name not in _PATTERN_ATTRS:  # a probe (pytest's, inspect's ...) for what no pattern has
            raise AttributeError(name)
        return getattr(self._pattern(), name)

    def __repr__(self) -> str:
        return f"compile_lazily({self._args[0]!r}, {self._args[1]!r})"


def compile_lazily(pattern: str, flags: int = 0) -> re.Pattern[str]:
    """``re.compile(pattern, flags)``, compiled at first use; for module-level patterns (the
    stand-in replaces itself in the calling module's globals)."""
    namespace = sys._getframe(1).f_globals
    return cast("re.Pattern[str]", _Pending(pattern, flags, namespace))
