"""The real ingest worker with two incidents it has no switch for, run under ``awslambdaric``.

- **Init failure.** The deployed worker checks its settings at its first invocation, so a bad
  ``SUITE_PATH`` there is a handler error (``ConfigError``) on every invocation. A team that
  builds its clients and loads its suite in the init phase (as AWS recommends, to reuse them
  across invocations) deploys it as :data:`eager_handler` does: the runtime is built at import,
  and the same bad ``SUITE_PATH`` fails the init.
- **A runtime that exits.** With ``EXIT_ON_PAGE=N``, the task whose range starts at page N calls
  ``sys.exit(EXIT_STATUS)`` after its fetch, mid-batch, as a library that exits on an error would.

Handlers: ``tests.integration.runtime.incident_worker.handler`` (the worker, exiting where told)
and ``tests.integration.runtime.incident_worker_eager.handler`` (the eager init).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from typing import Any

from pipelines.ingest import worker

_run_task = worker.run_task


async def run_task(task: Mapping[str, Any], message_id: str, rt: Any, ctx: Any) -> None:
    """The worker's task, which exits the runtime when its first page is ``EXIT_ON_PAGE``."""
    exit_on = os.environ.get("EXIT_ON_PAGE")
    if exit_on and str(task.get("start_page")) == exit_on:
        await worker.adapter_for(task).fetch(task, ctx)  # the fetch happens, then the exit
        sys.exit(int(os.environ.get("EXIT_STATUS", "1")))
    await _run_task(task, message_id, rt, ctx)


worker.run_task = run_task  # process_message looks it up in the module at each call
handler = worker.handler
