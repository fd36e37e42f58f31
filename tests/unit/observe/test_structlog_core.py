"""observe's loggers are structlog's bound loggers without structlog's whole package import
(observe.structlog_core): what a first invocation leaves unloaded, and that structlog stays whole
for an application that uses it. Each case runs in a fresh interpreter (the deferral is about what
a process has imported)."""

from __future__ import annotations

import json
import subprocess
import sys

#: What structlog's package import pulls in and an invocation through observe never needs.
DEFERRED = ["asyncio", "ssl", "socket", "concurrent.futures", "structlog.stdlib", "structlog.dev",
            "structlog.processors", "structlog._config", "structlog._native", "pickle"]  # fmt: skip

INVOKE = """
import json, sys
from observe import get_logger, metric, observed, structlog_core

log = get_logger("handler")

@observed(pipeline="p", service="s")
def handler(event, context):
    log.info("hi", n=1)
    log.bind(k="v").warning("bound")
    metric("RecordsFetched", 1)
    return {"ok": True}

event = {"version": "2.0", "headers": {"x-correlation-id": "c-1"}, "requestContext": {"requestId": "r"}}
handler(event, None)
"""


def run(script: str) -> tuple[dict, list[dict]]:
    """Run ``script`` in a fresh interpreter: its last stderr line (JSON) and its stdout lines."""
    proc = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "ENVIRONMENT": "dev"},
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
    return json.loads(proc.stderr.strip().splitlines()[-1]), lines


def test_an_invocation_loads_none_of_what_it_does_not_need() -> None:
    result, lines = run(
        INVOKE
        + f"""
import structlog._base
sys.stderr.write(json.dumps({{
    "loaded": [m for m in {DEFERRED!r} if m in sys.modules],
    "deferred": structlog_core.deferred(),
    "structlog_logger": isinstance(log, structlog._base.BoundLoggerBase),
}}))
"""
    )
    assert result["loaded"] == [], "structlog's package import came back: see observe/structlog_core.py"
    assert result["deferred"] is True
    assert result["structlog_logger"] is True  # still structlog's bound logger and processor chain
    hi = next(line for line in lines if line.get("message") == "hi")
    assert (hi["n"], hi["correlation_id"], hi["logger"]) == (1, "c-1", "handler")
    assert next(line for line in lines if line.get("message") == "bound")["k"] == "v"


def test_structlog_is_whole_for_an_application_that_imports_it_later() -> None:
    result, lines = run(
        INVOKE
        + """
import structlog
from structlog import dev
import structlog.exceptions
out = []
structlog.configure(processors=[structlog.processors.JSONRenderer()],
                    logger_factory=structlog.PrintLoggerFactory(sys.stdout))
structlog.get_logger().info("app line", x=2)
log.info("observe line after")
sys.stderr.write(json.dumps({
    "deferred": structlog_core.deferred(),
    "same_base": structlog.BoundLoggerBase is type(log).__mro__[1],
    "drop_event": structlog.exceptions.DropEvent.__name__,
    "dev": dev.ConsoleRenderer.__name__,
    "version": structlog.__version__,
    "asyncio": "asyncio" in sys.modules,
}))
"""
    )
    assert result["deferred"] is False  # the package's __init__ ran on the first name it lacked
    assert result["same_base"] is True  # one BoundLoggerBase, not a second copy of structlog._base
    assert (result["drop_event"], result["dev"]) == ("DropEvent", "ConsoleRenderer")
    assert result["version"]
    assert result["asyncio"] is True  # the whole package, as the application asked for it
    assert {"event": "app line", "x": 2} in lines
    assert any(line.get("message") == "observe line after" for line in lines)


def test_structlog_imported_first_is_used_as_it_is() -> None:
    result, lines = run(
        "import structlog\n"
        + INVOKE
        + """
sys.stderr.write(json.dumps({"deferred": structlog_core.deferred(),
                             "base": isinstance(log, structlog.BoundLoggerBase)}))
"""
    )
    assert result == {"deferred": False, "base": True}
    assert any(line.get("message") == "hi" for line in lines)


def test_a_structlog_laid_out_differently_falls_back_to_the_whole_package() -> None:
    """A release whose ``structlog._base`` cannot be imported on its own: the plain import, same lines."""
    result, lines = run(
        """
import sys
class Refuse:  # the first import of structlog._base fails, as if it needed what __init__ sets up
    refused = False
    def find_spec(self, name, path=None, target=None):
        if name == "structlog._base" and not Refuse.refused:
            Refuse.refused = True
            raise ImportError("structlog._base needs the package first in this release")
        return None
sys.meta_path.insert(0, Refuse())
"""
        + INVOKE
        + """
whole = hasattr(sys.modules["structlog"], "configure")
sys.stderr.write(json.dumps({"deferred": structlog_core.deferred(), "configure": whole}))
"""
    )
    assert result == {"deferred": False, "configure": True}
    assert any(line.get("message") == "hi" and line["n"] == 1 for line in lines)


def test_threads_that_reach_for_structlog_at_once_all_get_the_whole_package() -> None:
    result, _ = run(
        INVOKE
        + """
import threading
import structlog
barrier = threading.Barrier(8)
got = []
def use():
    barrier.wait()
    got.append(structlog.get_logger is not None and structlog.dev.ConsoleRenderer is not None)
threads = [threading.Thread(target=use) for _ in range(8)]
for t in threads:
    t.start()
for t in threads:
    t.join()
sys.stderr.write(json.dumps({"got": got, "deferred": structlog_core.deferred()}))
"""
    )
    assert result == {"got": [True] * 8, "deferred": False}
