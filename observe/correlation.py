"""Correlation ids: take them from the event, else make one; hold them; pass them on.

The id lives in a :class:`contextvars.ContextVar`, so it is right per thread and per asyncio
task. Ids taken from outside are checked (a short run of safe characters), so a header cannot
smuggle personal data or log-injection text into every line.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

#: The attribute / header / metadata key used everywhere the id travels.
ATTRIBUTE = "correlation_id"
HEADER = "x-correlation-id"

_current: ContextVar[str | None] = ContextVar("observe_correlation_id", default=None)
_SAFE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/=+-]{0,127}")
# An id that looks like an NRIC/FIN or an email is refused: ids end up in every log line.
_PERSONAL = re.compile(r"(?<![A-Za-z0-9])[STFGM]\d{7}[A-Z](?![A-Za-z0-9])|@", re.IGNORECASE)


def new_id() -> str:
    """A fresh random id in UUID4 form (122 random bits), without importing :mod:`uuid`."""
    h = bytearray(os.urandom(16))
    h[6] = (h[6] & 0x0F) | 0x40  # version 4
    h[8] = (h[8] & 0x3F) | 0x80  # RFC 4122 variant
    x = h.hex()
    return f"{x[:8]}-{x[8:12]}-{x[12:16]}-{x[16:20]}-{x[20:]}"


def get() -> str | None:
    """The correlation id of the work in progress, if any."""
    return _current.get()


def set_id(cid: str) -> Any:
    """Bind ``cid`` for the current context; returns a token for :func:`reset`."""
    return _current.set(cid)


def reset(token: Any) -> None:
    """Undo a :func:`set_id`."""
    _current.reset(token)


@contextmanager
def scope(cid: str | None) -> Iterator[str]:
    """Bind ``cid`` (or a new id) for the duration of the block, restoring the outer one after."""
    cid = cid or new_id()
    token = _current.set(cid)
    try:
        yield cid
    finally:
        _current.reset(token)


def clean(value: Any) -> str | None:
    """``value`` as an id if it is a safe, non-personal string; else None."""
    if isinstance(value, str) and _SAFE.fullmatch(value) and not _PERSONAL.search(value):
        return value
    return None


def _header(headers: Any, name: str) -> Any:
    if not isinstance(headers, Mapping):
        return None
    value = headers.get(name)
    if value is not None:
        return value
    for key, value in headers.items():  # REST APIs keep the caller's casing
        if isinstance(key, str) and key.lower() == name:
            return value
    return None


def from_sqs_record(record: Mapping[str, Any]) -> str | None:
    """The id carried in an SQS record's ``correlation_id`` message attribute."""
    attrs = record.get("messageAttributes") or {}
    attr = attrs.get(ATTRIBUTE) if isinstance(attrs, Mapping) else None
    if isinstance(attr, Mapping):
        return clean(attr.get("stringValue") or attr.get("StringValue"))
    return None


def _from_sns_record(record: Mapping[str, Any]) -> str | None:
    sns = record.get("Sns") or {}
    attr = (sns.get("MessageAttributes") or {}).get(ATTRIBUTE)
    if isinstance(attr, Mapping):
        cid = clean(attr.get("Value"))
        if cid:
            return cid
    return clean(sns.get("MessageId"))


def from_event(event: Any) -> str | None:
    """The correlation id an event carries, by event shape; None if it carries none.

    - API Gateway REST / HTTP API: ``x-correlation-id`` header (any case), else the request id.
    - SQS batch: None (the batch gets its own id; each record's id is bound while it runs).
    - SNS: the ``correlation_id`` message attribute, else the message id.
    - EventBridge: ``detail.correlation_id``, else the event id.
    - S3 notification: the ``x-amz-request-id`` of the first record.
    - Direct invoke: a top-level ``correlation_id``.
    """
    if not isinstance(event, Mapping):
        return None
    cid = clean(event.get(ATTRIBUTE))
    if cid:
        return cid
    request_context = event.get("requestContext")
    if isinstance(request_context, Mapping):  # API Gateway (REST v1 or HTTP API v2)
        return clean(_header(event.get("headers"), HEADER)) or clean(request_context.get("requestId"))
    records = event.get("Records")
    if isinstance(records, list) and records and isinstance(records[0], Mapping):
        first = records[0]
        source = first.get("eventSource") or first.get("EventSource")
        if source == "aws:sns":
            return _from_sns_record(first)
        if source == "aws:s3":
            return clean((first.get("responseElements") or {}).get("x-amz-request-id"))
        return None  # SQS and others: per record
    if "detail-type" in event:  # EventBridge
        detail = event.get("detail")
        if isinstance(detail, Mapping):
            cid = clean(detail.get(ATTRIBUTE))
            if cid:
                return cid
        return clean(event.get("id"))
    return None


# --- propagation to outgoing work --------------------------------------------------------------


def _carrier() -> dict[str, str]:
    from observe import tracing

    carrier: dict[str, str] = {}
    if tracing.is_enabled():
        tracing.inject(carrier)
    return carrier


def sqs_message_attributes(extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """``MessageAttributes`` for ``sqs.send_message``: the correlation id and trace context."""
    attrs: dict[str, Any] = dict(extra or {})
    cid = get()
    if cid:
        attrs[ATTRIBUTE] = {"DataType": "String", "StringValue": cid}
    for key, value in _carrier().items():
        attrs[key] = {"DataType": "String", "StringValue": value}
    return attrs


def http_headers() -> dict[str, str]:
    """Headers for an outgoing HTTP request: ``x-correlation-id`` and W3C ``traceparent``."""
    headers = _carrier()
    cid = get()
    if cid:
        headers[HEADER] = cid
    return headers


def s3_metadata() -> dict[str, str]:
    """``Metadata`` for ``s3.put_object`` (stored as ``x-amz-meta-correlation_id``)."""
    cid = get()
    return {ATTRIBUTE: cid} if cid else {}


def eventbridge_detail(detail: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of an EventBridge ``detail`` with the correlation id and trace context added."""
    out = dict(detail)
    cid = get()
    if cid:
        out[ATTRIBUTE] = cid
    out.update(_carrier())
    return out
