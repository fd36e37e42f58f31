"""diagnostics: from an alarm to the failing record and its cause, for a person on call.

Runs outside the handlers. Reads what observe and the pipelines wrote (log lines, EMF documents,
quarantine objects, DLQ messages) and the alarm specs terraform ships, from local files or AWS.
Entry points: the ``observe-diag`` CLI (:mod:`diagnostics.cli`), :class:`Diagnostics` for
notebooks, :func:`diagnostics.report.build_report` for the HTML report.

Imports nothing heavy at import time; pandas, matplotlib and boto3 load where they are used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from diagnostics.core import Diagnostics
    from diagnostics.model import Window

__all__ = ["Diagnostics", "Window"]


def __getattr__(name: str) -> Any:
    if name == "Diagnostics":
        from diagnostics.core import Diagnostics

        return Diagnostics
    if name == "Window":
        from diagnostics.model import Window

        return Window
    raise AttributeError(f"module 'diagnostics' has no attribute {name!r}")
