"""observe: correlation ids, structured logs, EMF metrics and traces for Lambda data pipelines.

    from observe import observed, get_logger, metric

    log = get_logger(__name__)

    @observed(pipeline="ingest")
    def handler(event, context):
        log.info("fetched page", page=3, records=250)
        metric("PagesFetched", 3)  # declared in the project's observe.toml

``import observe`` loads the standard library only; the first logger loads structlog's bound
logger (not its whole package: observe.structlog_core) and the first line orjson; boto3, pandas,
numpy, great_expectations and the OpenTelemetry SDK are imported where they are used.
"""

from __future__ import annotations

from observe import correlation
from observe.context import bind, bound, unbind
from observe.decorator import observed
from observe.logging import get_logger
from observe.metrics import metric

__all__ = ["bind", "bound", "correlation", "get_logger", "metric", "observed", "unbind"]
__version__ = "0.1.0"
