"""OpenTelemetry spans for invocations and records, with W3C ``traceparent`` propagation.

Optional: needs the ``otel`` extra. Tracing turns on when the SDK is importable and either the
standard ``OTEL_*`` variables name an exporter (``OTEL_TRACES_EXPORTER``,
``OTEL_EXPORTER_OTLP_ENDPOINT`` or ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``) or the application
calls :func:`configure` with its own tracer provider. Otherwise every function here returns at
once and nothing from OpenTelemetry is imported: no cost on the hot path.

Each invocation gets a SERVER/CONSUMER span named after the function, with the FaaS semantic
conventions (``faas.trigger``, ``faas.invocation_id``, ``faas.coldstart``, ``cloud.resource_id``);
its parent comes from a ``traceparent`` in the API Gateway headers, a single SQS record's message
attributes or an EventBridge detail. Spans are flushed before the handler returns, because a
Lambda environment is frozen between invocations.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

_state: dict[str, Any] = {"enabled": None, "tracer": None, "provider": None}
TRACEPARENT = "traceparent"


def _env_wants_tracing() -> bool:
    if os.environ.get("OTEL_SDK_DISABLED", "").lower() == "true":
        return False
    exporter = os.environ.get("OTEL_TRACES_EXPORTER", "")
    if exporter and exporter.lower() != "none":
        return True
    return bool(
        os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    )


def is_enabled() -> bool:
    """Whether spans are recorded. Decided once; :func:`configure` / :func:`disable` change it."""
    enabled = _state["enabled"]
    if enabled is None:
        enabled = False
        if _env_wants_tracing():
            import importlib.util

            if importlib.util.find_spec("opentelemetry.sdk") is not None:
                _setup_from_env()
                enabled = True
        _state["enabled"] = enabled
        from observe import logging as _log

        _log.set_tracing(enabled)
    return bool(enabled)


def _setup_from_env() -> None:
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter

    exporter_name = (os.environ.get("OTEL_TRACES_EXPORTER") or "otlp").split(",")[0].strip().lower()
    exporter: Any
    if exporter_name == "console":
        exporter = ConsoleSpanExporter()
    else:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        exporter = OTLPSpanExporter()  # endpoint, headers, timeout from OTEL_EXPORTER_OTLP_*
    service = os.environ.get("OTEL_SERVICE_NAME") or os.environ.get("SERVICE_NAME") or "unknown_service"
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(BatchSpanProcessor(exporter))
    _use(provider)


def _use(provider: Any) -> None:
    _state["provider"] = provider
    _state["tracer"] = provider.get_tracer("observe")


def configure(tracer_provider: Any) -> None:
    """Trace with the application's own (SDK) tracer provider, e.g. one with an in-memory exporter."""
    _use(tracer_provider)
    _state["enabled"] = True
    from observe import logging as _log

    _log.set_tracing(True)


def disable() -> None:
    """Stop tracing (the next :func:`is_enabled` returns False without looking at the env again)."""
    _state.update(enabled=False, tracer=None, provider=None)
    from observe import logging as _log

    _log.set_tracing(False)


def _propagator() -> Any:
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    return TraceContextTextMapPropagator()


def inject(carrier: dict[str, str]) -> None:
    """Put the current span's ``traceparent`` (and ``tracestate``) into ``carrier``."""
    if is_enabled():
        _propagator().inject(carrier)


def extract(carrier: Mapping[str, Any] | None) -> Any:
    """An OpenTelemetry context from a carrier holding ``traceparent``; None if there is none."""
    if not carrier or not is_enabled():
        return None
    lowered = {str(k).lower(): v for k, v in carrier.items() if isinstance(v, str)}
    if TRACEPARENT not in lowered:
        return None
    return _propagator().extract(lowered)


def _sqs_carrier(record: Mapping[str, Any]) -> dict[str, str]:
    attrs = record.get("messageAttributes") or {}
    out = {}
    for key in (TRACEPARENT, "tracestate"):
        attr = attrs.get(key)
        if isinstance(attr, Mapping) and attr.get("stringValue"):
            out[key] = attr["stringValue"]
    return out


_PUBSUB_SOURCES = frozenset({"aws:kafka", "SelfManagedKafka", "aws:mq", "aws:rmq"})


def _trigger_and_parent(event: Any) -> tuple[str, Any, list[Any]]:
    """FaaS trigger name, parent context and span links for an event."""
    if not isinstance(event, Mapping):
        return "other", None, []
    if "requestContext" in event:
        return "http", extract(event.get("headers")), []
    records = event.get("Records")
    if isinstance(records, list) and records and isinstance(records[0], Mapping):
        source = records[0].get("eventSource") or records[0].get("EventSource")
        if source == "aws:sqs":
            contexts = [extract(_sqs_carrier(r)) for r in records]
            if len(records) == 1:
                return "pubsub", contexts[0], []
            return "pubsub", None, _links(contexts)
        if source in ("aws:s3", "aws:dynamodb"):
            return "datasource", None, []
        return "pubsub", None, []
    if event.get("eventSource") in _PUBSUB_SOURCES:  # Kafka and MQ: records are not under "Records"
        return "pubsub", None, []
    if "detail-type" in event:
        trigger = "timer" if event.get("detail-type") == "Scheduled Event" else "pubsub"
        detail = event.get("detail")
        return trigger, extract(detail if isinstance(detail, Mapping) else None), []
    return "other", extract(event), []


def _links(contexts: list[Any]) -> list[Any]:
    from opentelemetry import trace
    from opentelemetry.trace import Link

    links = []
    for ctx in contexts:
        if ctx is not None:
            span_context = trace.get_current_span(ctx).get_span_context()
            if span_context.is_valid:
                links.append(Link(span_context))
    return links


@contextmanager
def invocation_span(event: Any, context: Any, name: str, cold_start: bool) -> Iterator[Any]:
    """A span around one invocation (no-op when tracing is off); flushes when it ends."""
    if not is_enabled():
        yield None
        return
    from opentelemetry.trace import SpanKind

    trigger, parent, links = _trigger_and_parent(event)
    attributes: dict[str, Any] = {
        "faas.trigger": trigger,
        "faas.coldstart": cold_start,
        "faas.name": getattr(context, "function_name", None) or name,
        "cloud.provider": "aws",
        "cloud.platform": "aws_lambda",
    }
    request_id = getattr(context, "aws_request_id", None)
    if request_id:
        attributes["faas.invocation_id"] = request_id
    arn = getattr(context, "invoked_function_arn", None)
    if arn:
        attributes["cloud.resource_id"] = arn
    version = getattr(context, "function_version", None)
    if version:
        attributes["faas.version"] = version
    kind = (
        SpanKind.SERVER
        if trigger == "http"
        else SpanKind.CONSUMER
        if trigger == "pubsub"
        else SpanKind.INTERNAL
    )
    try:
        with _span(name, context=parent, kind=kind, attributes=attributes, links=links) as span:
            yield span
    finally:
        provider = _state["provider"]
        if provider is not None and hasattr(provider, "force_flush"):
            provider.force_flush()


@contextmanager
def record_span(
    record: Mapping[str, Any],
    name: str = "process record",
    *,
    carrier: Mapping[str, Any] | None = None,
    attributes: Mapping[str, Any] | None = None,
) -> Iterator[Any]:
    """A child span for one batch record, linked to the producer's trace (no-op when off).

    ``carrier`` holds the producer's ``traceparent`` (default: an SQS record's message
    attributes); ``attributes`` the messaging attributes (default: SQS's).
    """
    if not is_enabled():
        yield None
        return
    from opentelemetry.trace import SpanKind

    links = _links([extract(_sqs_carrier(record) if carrier is None else carrier)])
    attrs = (
        {"messaging.system": "aws_sqs", "messaging.message.id": str(record.get("messageId", ""))}
        if attributes is None
        else dict(attributes)
    )
    with _span(name, kind=SpanKind.CONSUMER, links=links, attributes=attrs) as span:
        yield span


@contextmanager
def _span(name: str, **options: Any) -> Iterator[Any]:
    """A current span whose error status carries the exception's type only: its message may hold
    data that must not leave the function (the exception event is recorded as OTel does)."""
    from opentelemetry.trace import Status, StatusCode

    with _state["tracer"].start_as_current_span(
        name, record_exception=False, set_status_on_exception=False, **options
    ) as span:
        try:
            yield span
        except BaseException as exc:
            span.record_exception(exc)
            span.set_status(Status(StatusCode.ERROR, type(exc).__name__))
            raise


def current_ids() -> dict[str, str]:
    """``trace_id`` / ``span_id`` of the current span as hex, for log lines; empty if none."""
    if not _state["enabled"]:
        return {}
    from opentelemetry import trace

    span_context = trace.get_current_span().get_span_context()
    if not span_context.is_valid:
        return {}
    return {"trace_id": f"{span_context.trace_id:032x}", "span_id": f"{span_context.span_id:016x}"}
