"""The real ingest worker with its runtime built in the init phase (see :mod:`.incident_worker`):
a bad setting (``SUITE_PATH``) fails the init, with the worker's own ``ConfigError``."""

from __future__ import annotations

from pipelines.ingest import worker

worker.runtime()  # settings, suite, clients and sessions: at import, once per environment
handler = worker.handler
