"""The ingest worker as deployed, with a switch the no-loss test flips to have its process killed mid-write.

At the start of each invocation the handler reads (and removes) the file ``KILL_SWITCH`` names; if
it holds N, the runtime process kills itself with SIGKILL at the (N+1)-th conditional write of that
invocation: no response, no cleanup, the writes in flight abandoned, as when the function runs out
of memory or its host goes away. Lambda then reports ``Runtime.ExitError`` (signal: killed), and the
batch comes back after the visibility timeout.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

from pipelines.ingest import worker
from pipelines.ingest.store import Store

_real_put = Store.put_if_newer
_writes_left: list[int | None] = [None]


async def _put_if_newer(self: Store, record: dict[str, Any]) -> bool:
    left = _writes_left[0]
    if left is not None:
        if left <= 0:
            os.kill(os.getpid(), signal.SIGKILL)
        _writes_left[0] = left - 1
    return await _real_put(self, record)


Store.put_if_newer = _put_if_newer  # type: ignore[method-assign]


def handler(event: dict[str, Any], context: Any) -> Any:
    switch = Path(os.environ["KILL_SWITCH"])
    try:
        _writes_left[0] = int(switch.read_text())
        switch.unlink()
    except FileNotFoundError:
        _writes_left[0] = None
    return worker.handler(event, context)
