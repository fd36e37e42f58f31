"""Correlation ids: take them from the event, else make one; hold them; pass them on.

The id lives in a :class:`contextvars.ContextVar`, so it is right per thread and per asyncio
task. Where an event carries one, :func:`from_event` finds it by the event's shape, for every
source Lambda delivers (the table is docs/events.md): first an id a producer propagated (an
``x-correlation-id`` header, a ``correlation_id`` attribute), else the event's natural id (a
request, message or job id), else a trace id it carries; otherwise None and the caller makes a
new one. An unknown or malformed event never raises: it simply has no id.

Ids are checked before they are used. Ids a caller controls (headers, attributes, user-chosen
names) must be 1 to 128 safe characters and must not look like an NRIC/FIN or an email, so a
header cannot smuggle personal data or log-injection text into every line; ids AWS generates
(request, message, event ids, sequence numbers) are checked for safe characters only, up to
256 of them.

The writing side: :func:`sqs_message_attributes`, :func:`sns_message_attributes`,
:func:`http_headers`, :func:`s3_metadata`, :func:`eventbridge_detail`, :func:`kinesis_data`,
:func:`dynamodb_attributes`, :func:`kafka_headers` and :func:`message_properties` put the
current id and W3C trace context where the matching reader looks for them.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, NamedTuple

#: The attribute / header / metadata key used everywhere the id travels.
ATTRIBUTE = "correlation_id"
HEADER = "x-correlation-id"
#: The item attributes a DynamoDB producer writes (a leading underscore keeps them apart from data).
DYNAMODB_ATTRIBUTE = "_correlation_id"
DYNAMODB_TRACEPARENT = "_traceparent"
DYNAMODB_TRACESTATE = "_tracestate"
TRACE_HEADER = "x-amzn-trace-id"

_current: ContextVar[str | None] = ContextVar("observe_correlation_id", default=None)

_OUTSIDE_MAX = 128
_NATURAL_MAX = 256  # CodeDeploy hook execution ids and Step Functions ARNs run past 128
_SAFE_TAIL = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/=+-]*")
# An NRIC/FIN candidate; whether it stands alone is checked in Python, only when one is found
# (a lookaround-free, case-listed pattern is several times faster than the combined regex).
_NRIC = re.compile(r"[STFGMstfgm][0-9]{7}[A-Za-z]")


class Found(NamedTuple):
    """What :func:`describe` finds in an event."""

    correlation_id: str | None  #: None: the event carries none (the invocation gets a new one)
    source: str  #: the event source, e.g. ``"alb"``, ``"sqs"``, ``"kafka-msk"``, ``"unknown"``
    origin: str  #: where the id came from, e.g. ``"headers.x-amzn-trace-id"``; ``"none"`` if nowhere


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


# --- checks ------------------------------------------------------------------------------------


def _safe(value: Any, limit: int) -> bool:
    """1..limit characters from ``[A-Za-z0-9._:/=+-]``, starting with a letter or digit."""
    if type(value) is not str or not 0 < len(value) <= limit:
        return False
    if value.isascii() and value.replace("-", "").isalnum():  # UUIDs, hex, digits: no regex
        return value[0] != "-"
    return _SAFE_TAIL.fullmatch(value) is not None


def _personal(value: str) -> bool:
    """Whether ``value`` holds an email-like ``@`` or a stand-alone NRIC/FIN."""
    if "@" in value:
        return True
    match = _NRIC.search(value)
    while match is not None:
        start, end = match.span()
        if (start == 0 or not value[start - 1].isalnum()) and (end == len(value) or not value[end].isalnum()):
            return True
        match = _NRIC.search(value, start + 1)
    return False


def clean(value: Any) -> str | None:
    """``value`` as an id if it is a safe, non-personal string of at most 128 characters; else None.

    For ids a caller controls: headers, attributes, names.
    """
    if type(value) is not str or not 0 < len(value) <= _OUTSIDE_MAX:
        return None
    fast = value.isascii() and value.replace("-", "").isalnum() and value[0] != "-"  # UUIDs, hex: no regex
    if not fast and _SAFE_TAIL.fullmatch(value) is None:
        return None
    if "@" in value or (_NRIC.search(value) is not None and _personal(value)):
        return None
    return value


def _natural(value: Any) -> str | None:
    """``value`` as an id AWS generated (safe characters, at most 256); else None."""
    return value if _safe(value, _NATURAL_MAX) else None


def _trace_root(value: Any) -> str | None:
    """The ``Root`` of an X-Ray trace header (``Root=1-5c53...;Parent=...``), checked."""
    if type(value) is list:  # multiValueHeaders
        value = value[0] if value else None
    if type(value) is not str:
        return None
    start = value.find("Root=")
    if start < 0:
        return None
    end = value.find(";", start)
    return clean(value[start + 5 : end if end >= 0 else None])


def _first(value: Any) -> Any:
    """A header value: the first of a multi-value list."""
    if type(value) is list:
        return value[0] if value else None
    return value


def _headers(headers: Any) -> tuple[Any, Any]:
    """(``x-correlation-id``, ``x-amzn-trace-id``) from a header mapping, in any case.

    Two lookups find them where the source lowercases names (HTTP API, function URLs, ALB,
    AppSync); otherwise one pass over names of the right length (REST APIs keep the caller's
    casing, and hand-built events anything).
    """
    if not (type(headers) is dict or isinstance(headers, Mapping)) or not headers:
        return None, None
    cid = headers.get(HEADER)
    trace = headers.get(TRACE_HEADER)
    if cid is None or trace is None:
        for key, value in headers.items():
            if type(key) is str and len(key) in (16, 15):  # len("x-correlation-id"), len("x-amzn-trace-id")
                lower = key.lower()
                if lower == HEADER and cid is None:
                    cid = value
                elif lower == TRACE_HEADER and trace is None:
                    trace = value
    return _first(cid), _first(trace)


def _attr(attrs: Any, name: str, *fields: str) -> Any:
    """``attrs[name][field]`` for the first field present, for SQS/SNS-style attribute maps."""
    if not (type(attrs) is dict or isinstance(attrs, Mapping)):
        return None
    attr = attrs.get(name)
    if not (type(attr) is dict or isinstance(attr, Mapping)):
        return None
    for field in fields:
        value = attr.get(field)
        if value is not None:
            return value
    return None


def _json_string_after(text: str, key: str, start: int = 0, stop: int | None = None) -> str | None:
    """The string value of ``"key": "..."`` in JSON text, found by scanning, not parsing.

    For ids only: a value with an escape or no closing quote within 300 characters is None.
    """
    at = text.find(f'"{key}"', start, stop)
    if at < 0:
        return None
    i = at + len(key) + 2
    n = len(text)
    while i < n and text[i] in " \t\r\n":
        i += 1
    if i >= n or text[i] != ":":
        return None
    i += 1
    while i < n and text[i] in " \t\r\n":
        i += 1
    if i >= n or text[i] != '"':
        return None
    end = text.find('"', i + 1, i + 301)
    if end < 0:
        return None
    value = text[i + 1 : end]
    return None if "\\" in value else value


# --- records (one per batch item) -------------------------------------------------------------


def from_sqs_record(record: Mapping[str, Any]) -> str | None:
    """The id carried in an SQS record's ``correlation_id`` message attribute (None if none)."""
    return clean(_attr(record.get("messageAttributes"), ATTRIBUTE, "stringValue", "StringValue"))


def _sqs_body_envelope(body: Any) -> tuple[str | None, str] | None:
    """The id of an SNS notification or EventBridge event delivered as an SQS body, if it is one.

    Only a body whose first characters look like either envelope is read; only one that names a
    ``correlation_id`` is parsed.
    """
    if type(body) is not str or not body.startswith("{"):
        return None
    head = body[:400]
    if '"Notification"' in head and '"TopicArn"' in body:
        if f'"{ATTRIBUTE}"' in body:
            import json

            try:
                doc = json.loads(body)
            except ValueError:
                return None
            cid = clean(
                _attr(doc.get("MessageAttributes"), ATTRIBUTE, "Value") if type(doc) is dict else None
            )
            if cid:
                return cid, "body.MessageAttributes.correlation_id (SNS)"
        mid = _natural(_json_string_after(head, "MessageId"))
        return (mid, "body.MessageId (SNS)") if mid else None
    if '"detail-type"' in head:
        if f'"{ATTRIBUTE}"' in body:
            cid = clean(_json_string_after(body, ATTRIBUTE, body.find('"detail"')))
            if cid:
                return cid, "body.detail.correlation_id (EventBridge)"
        eid = _natural(_json_string_after(head, "id"))
        return (eid, "body.id (EventBridge)") if eid else None
    return None


def _sqs_record(record: Mapping[str, Any]) -> tuple[str | None, str]:
    cid = from_sqs_record(record)
    if cid:
        return cid, "messageAttributes.correlation_id"
    found = _sqs_body_envelope(record.get("body"))
    if found:
        return found
    return _natural(record.get("messageId")), "messageId"


def _sns_record(record: Mapping[str, Any]) -> tuple[str | None, str]:
    sns = record.get("Sns")
    if not (type(sns) is dict or isinstance(sns, Mapping)):
        return None, "none"
    cid = clean(_attr(sns.get("MessageAttributes"), ATTRIBUTE, "Value"))
    if cid:
        return cid, "Sns.MessageAttributes.correlation_id"
    return _natural(sns.get("MessageId")), "Sns.MessageId"


_KINESIS_PREFIX = 1368  # base64 characters: the first 1026 bytes of the data


def kinesis_envelope(record: Mapping[str, Any], key: str = ATTRIBUTE) -> str | None:
    """``key``'s string value near the start of a Kinesis record's JSON data (base64), unchecked.

    :func:`kinesis_data` writes the envelope fields first, so only the first kilobyte is decoded.
    """
    kinesis = record.get("kinesis")
    data = kinesis.get("data") if (type(kinesis) is dict or isinstance(kinesis, Mapping)) else None
    if type(data) is not str or not data.startswith("ey"):  # base64 of '{"' or '{ ': not a JSON object
        return None
    import binascii

    try:
        head = binascii.a2b_base64(data[:_KINESIS_PREFIX]).decode("utf-8", "ignore")
    except (binascii.Error, ValueError):
        return None
    return _json_string_after(head, key)


def _kinesis_record(record: Mapping[str, Any]) -> tuple[str | None, str]:
    cid = clean(kinesis_envelope(record))
    if cid:
        return cid, "kinesis.data.correlation_id"
    return _natural(record.get("eventID")), "eventID"


def dynamodb_image_value(record: Mapping[str, Any], name: str) -> Any:
    """The string attribute ``name`` of a DynamoDB Streams record's new image, unchecked."""
    ddb = record.get("dynamodb")
    image = ddb.get("NewImage") if (type(ddb) is dict or isinstance(ddb, Mapping)) else None
    return _attr(image, name, "S")


def _dynamodb_record(record: Mapping[str, Any]) -> tuple[str | None, str]:
    cid = clean(dynamodb_image_value(record, DYNAMODB_ATTRIBUTE))
    if cid:
        return cid, f"dynamodb.NewImage.{DYNAMODB_ATTRIBUTE}"
    return _natural(record.get("eventID")), "eventID"


def kafka_header(record: Mapping[str, Any], name: str) -> str | None:
    """A Kafka record header as text (Lambda delivers ``[{"name": [byte, ...]}, ...]``)."""
    headers = record.get("headers")
    if not isinstance(headers, list):
        return None
    for header in headers:
        if type(header) is dict or isinstance(header, Mapping):
            value = header.get(name)
            if value is not None:
                try:
                    return bytes(value).decode("utf-8") if isinstance(value, list) else str(value)
                except (TypeError, ValueError):
                    return None
    return None


def kafka_record_id(record: Mapping[str, Any]) -> str | None:
    """``topic-partition:offset``: where a Kafka record sits, unique within its cluster."""
    topic, partition, offset = record.get("topic"), record.get("partition"), record.get("offset")
    if topic is None or partition is None or offset is None:
        return None
    return f"{topic}-{partition}:{offset}"


def _kafka_record(record: Mapping[str, Any]) -> tuple[str | None, str]:
    cid = clean(kafka_header(record, ATTRIBUTE))
    if cid:
        return cid, "headers.correlation_id"
    return _natural(kafka_record_id(record)), "topic-partition:offset"


def mq_property(message: Mapping[str, Any], name: str) -> str | None:
    """A message property (ActiveMQ ``properties``) or header (RabbitMQ ``basicProperties.headers``)."""
    props = message.get("properties")
    if type(props) is dict or isinstance(props, Mapping):
        value = props.get(name)
        return value if type(value) is str else None
    basic = message.get("basicProperties")
    headers = basic.get("headers") if (type(basic) is dict or isinstance(basic, Mapping)) else None
    if not (type(headers) is dict or isinstance(headers, Mapping)):
        return None
    value = headers.get(name)
    if type(value) is dict or isinstance(value, Mapping):  # {"bytes": [...]}
        value = value.get("bytes")
    if isinstance(value, list):
        try:
            return bytes(value).decode("utf-8")
        except (TypeError, ValueError):
            return None
    return value if type(value) is str else None


def _mq_message(message: Mapping[str, Any]) -> tuple[str | None, str]:
    cid = clean(mq_property(message, ATTRIBUTE))
    if cid:
        return cid, "properties.correlation_id"
    basic = message.get("basicProperties")
    if type(basic) is dict or isinstance(basic, Mapping):  # RabbitMQ
        cid = clean(basic.get("correlationId"))
        if cid:
            return cid, "basicProperties.correlationId"
        return clean(basic.get("messageId")), "basicProperties.messageId"
    cid = clean(message.get("correlationId"))  # the JMS correlation id
    if cid:
        return cid, "correlationId"
    return clean(message.get("messageID")), "messageID"


_RECORD_READERS: dict[str, Callable[[Mapping[str, Any]], tuple[str | None, str]]] = {
    "sqs": _sqs_record,
    "sns": _sns_record,
    "kinesis": _kinesis_record,
    "dynamodb": _dynamodb_record,
    "kafka": _kafka_record,
    "mq": _mq_message,
}


def for_record(record: Any, kind: str) -> tuple[str | None, str]:
    """(id, origin) of one batch record of ``kind`` (``sqs``, ``sns``, ``kinesis``, ``dynamodb``,
    ``kafka``, ``mq``): its propagated id, else its natural id; (None, ...) if it has neither."""
    if not (type(record) is dict or isinstance(record, Mapping)):
        return None, "none"
    try:
        return _RECORD_READERS[kind](record)
    except Exception:  # a malformed record has no id; it never raises
        return None, "none"


# --- whole events -----------------------------------------------------------------------------

_Result = tuple[str | None, str, str]
_NONE = "none"


def _single(records: list[Any], kind: str, source: str, where: str = "Records[0]") -> _Result:
    """A batch's own id: the record's when there is one record; several get one id each."""
    if len(records) == 1:
        cid, origin = for_record(records[0], kind)
        return cid, source, f"{where}.{origin}"
    return None, source, "per record"


def _from_records(records: list[Any]) -> _Result:
    first = records[0] if records else None
    if not (type(first) is dict or isinstance(first, Mapping)):
        return None, "unknown", _NONE
    source = first.get("eventSource") or first.get("EventSource")
    if source == "aws:sqs":
        return _single(records, "sqs", "sqs")
    if source == "aws:sns":
        cid, origin = _sns_record(first)
        return cid, "sns", f"Records[0].{origin}"
    if source == "aws:s3":
        response = first.get("responseElements")
        rid = (
            _natural(response.get("x-amz-request-id"))
            if (type(response) is dict or isinstance(response, Mapping))
            else None
        )
        return rid, "s3", "Records[0].responseElements.x-amz-request-id"
    if source == "aws:kinesis":
        return _single(records, "kinesis", "kinesis")
    if source == "aws:dynamodb":
        return _single(records, "dynamodb", "dynamodb-streams")
    if source == "aws:ses":
        ses = first.get("ses")
        mail = ses.get("mail") if (type(ses) is dict or isinstance(ses, Mapping)) else None
        mid = _natural(mail.get("messageId")) if (type(mail) is dict or isinstance(mail, Mapping)) else None
        return mid, "ses", "Records[0].ses.mail.messageId"
    if source == "aws:codecommit":
        return _natural(first.get("eventId")), "codecommit", "Records[0].eventId"
    cf = first.get("cf")
    if type(cf) is dict or isinstance(cf, Mapping):  # CloudFront (Lambda@Edge)
        request = cf.get("request")
        headers = request.get("headers") if (type(request) is dict or isinstance(request, Mapping)) else None
        entry = (
            _first(headers.get(HEADER)) if (type(headers) is dict or isinstance(headers, Mapping)) else None
        )
        cid = clean(entry.get("value")) if (type(entry) is dict or isinstance(entry, Mapping)) else None
        if cid:
            return cid, "cloudfront", "Records[0].cf.request.headers.x-correlation-id"
        config = cf.get("config")
        rid = (
            _natural(config.get("requestId"))
            if (type(config) is dict or isinstance(config, Mapping))
            else None
        )
        return rid, "cloudfront", "Records[0].cf.config.requestId"
    return None, "unknown", _NONE


def _http_source(event: Mapping[str, Any], rc: Mapping[str, Any]) -> str:
    """Which HTTP-shaped source an event with a ``requestContext`` comes from."""
    if event.get("version") == "2.0":
        domain = rc.get("domainName")
        if type(domain) is str and ".lambda-url." in domain:
            return "lambda-url"
        if "serviceNetworkArn" in rc:
            return "vpc-lattice"
        return "apigateway-http"
    if "connectionId" in rc:
        return "apigateway-websocket"
    if "authorizationToken" in event and "queryString" in rc:
        return "appsync-authorizer"
    if event.get("type") == "REQUEST" or "authorizationToken" in event:
        return "apigateway-authorizer"
    return "apigateway-rest"


def _from_http(event: Mapping[str, Any], rc: Mapping[str, Any], named: bool = True) -> _Result:
    if "elb" in rc:  # ALB: no request id; headers or, with multi-value headers on, multiValueHeaders
        headers = event.get("headers")
        where = "headers"
        if headers is None:
            headers, where = event.get("multiValueHeaders"), "multiValueHeaders"
        cid, trace = _headers(headers)
        cid = clean(cid)
        if cid:
            return cid, "alb", f"{where}.{HEADER}"
        return _trace_root(trace), "alb", f"{where}.{TRACE_HEADER}"
    if "requestPayload" in event and "functionArn" in rc:  # a Lambda destination record
        inner = _resolve(event.get("requestPayload"), nested=True)
        if inner[0]:
            return inner[0], "lambda-destination", f"requestPayload.{inner[2]}"
        return _natural(rc.get("requestId")), "lambda-destination", "requestContext.requestId"
    source = _http_source(event, rc) if named else "http"  # from_event needs the id only
    headers = event.get("headers")
    if headers is None:
        headers = event.get("multiValueHeaders") or event.get("requestHeaders")  # AppSync authorizer
    cid, trace = _headers(headers)
    cid = clean(cid)
    if cid:
        return cid, source, f"headers.{HEADER}"
    rid = _natural(rc.get("requestId"))
    if rid:
        return rid, source, "requestContext.requestId"
    return _trace_root(trace), source, f"headers.{TRACE_HEADER}"


def _detail_string(detail: str) -> str | None:
    """``correlation_id`` from a detail given as JSON text (EventBridge Scheduler's input)."""
    if f'"{ATTRIBUTE}"' not in detail or len(detail) > 65536:
        return None
    import json

    try:
        doc = json.loads(detail)
    except ValueError:
        return None
    return clean(doc.get(ATTRIBUTE)) if type(doc) is dict else None


def _from_eventbridge(event: Mapping[str, Any]) -> _Result:
    origin = event.get("source")
    source = "eventbridge-scheduler" if origin == "aws.scheduler" else "eventbridge"
    detail = event.get("detail")
    cid = (
        clean(detail.get(ATTRIBUTE))
        if (type(detail) is dict or isinstance(detail, Mapping))
        else _detail_string(detail)
        if type(detail) is str
        else None
    )
    if cid:
        return cid, source, "detail.correlation_id"
    return _natural(event.get("id")), source, "id"


def _at(event: Any, *path: str) -> Any:
    for key in path:
        if not (type(event) is dict or isinstance(event, Mapping)):
            return None
        event = event.get(key)
    return event


def _from_event_source_field(event: Mapping[str, Any]) -> _Result | None:
    """Events whose top level names their source: Kafka, MQ."""
    source = event.get("eventSource")
    if source in ("aws:kafka", "SelfManagedKafka"):
        name = "kafka-msk" if source == "aws:kafka" else "kafka-self-managed"
        batches = event.get("records")
        if not (type(batches) is dict or isinstance(batches, Mapping)):
            return None, name, _NONE
        records = [r for part in batches.values() if isinstance(part, list) for r in part[:2]][:2]
        return _single(records, "kafka", name, "records[0]") if records else (None, name, _NONE)
    if source == "aws:mq":
        messages = event.get("messages")
        return (
            _single(messages, "mq", "activemq", "messages[0]")
            if isinstance(messages, list)
            else (None, "activemq", _NONE)
        )
    if source == "aws:rmq":
        by_queue = event.get("rmqMessagesByQueue")
        messages = (
            [m for q in by_queue.values() if isinstance(q, list) for m in q[:2]][:2]
            if (type(by_queue) is dict or isinstance(by_queue, Mapping))
            else []
        )
        return (
            _single(messages, "mq", "rabbitmq", "rmqMessagesByQueue[0]")
            if messages
            else (None, "rabbitmq", _NONE)
        )
    if source == "aws:docdb":
        data = _at(event, "events")
        first = data[0] if isinstance(data, list) and data else None
        return _natural(_at(first, "event", "_id", "_data")), "documentdb", "events[0].event._id._data"
    return None


def _from_s3_object_lambda(event: Mapping[str, Any]) -> _Result:
    cid, _trace = _headers(_at(event, "userRequest", "headers"))
    cid = clean(cid)
    if cid:
        return cid, "s3-object-lambda", f"userRequest.headers.{HEADER}"
    return _natural(event.get("xAmzRequestId")), "s3-object-lambda", "xAmzRequestId"


def _from_appsync(event: Mapping[str, Any]) -> _Result | None:
    if not isinstance(event.get("info"), Mapping):
        return None
    cid, trace = _headers(_at(event, "request", "headers"))
    cid = clean(cid)
    if cid:
        return cid, "appsync-resolver", f"request.headers.{HEADER}"
    return _trace_root(trace), "appsync-resolver", f"request.headers.{TRACE_HEADER}"


def _from_cloudformation(event: Mapping[str, Any]) -> _Result | None:
    if "RequestId" not in event or "StackId" not in event:
        return None
    return _natural(event.get("RequestId")), "cloudformation", "RequestId"


def _from_codepipeline(event: Mapping[str, Any]) -> _Result:
    return _natural(_at(event, "CodePipeline.job", "id")), "codepipeline", "CodePipeline.job.id"


def _from_codedeploy(event: Mapping[str, Any]) -> _Result:
    hid = _natural(event.get("LifecycleEventHookExecutionId"))
    if hid:
        return hid, "codedeploy", "LifecycleEventHookExecutionId"
    return _natural(event.get("DeploymentId")), "codedeploy", "DeploymentId"


def _from_connect(event: Mapping[str, Any]) -> _Result | None:
    data = _at(event, "Details", "ContactData")
    if not (type(data) is dict or isinstance(data, Mapping)):
        return None
    cid = clean(_at(data, "Attributes", ATTRIBUTE))
    if cid:
        return cid, "connect", "Details.ContactData.Attributes.correlation_id"
    contact = _natural(data.get("ContactId"))
    if contact:
        return contact, "connect", "Details.ContactData.ContactId"
    return _natural(data.get("InitialContactId")), "connect", "Details.ContactData.InitialContactId"


def _from_invocation_id(event: Mapping[str, Any]) -> _Result:
    source = "s3-batch" if "tasks" in event or "job" in event else "firehose"
    return _natural(event.get("invocationId")), source, "invocationId"


def _from_secrets_rotation(event: Mapping[str, Any]) -> _Result | None:
    if "SecretId" not in event or "Step" not in event:
        return None
    return clean(event.get("ClientRequestToken")), "secretsmanager-rotation", "ClientRequestToken"


def _from_cognito(event: Mapping[str, Any]) -> _Result | None:
    if "userPoolId" not in event:
        return None
    cid = clean(_at(event, "request", "clientMetadata", ATTRIBUTE))
    return cid, "cognito", "request.clientMetadata.correlation_id" if cid else _NONE


def _from_cloudwatch_logs(event: Mapping[str, Any]) -> _Result:
    """The first log event's id, read from the first kilobyte of the gzipped data only."""
    data = _at(event, "awslogs", "data")
    if type(data) is not str:
        return None, "cloudwatch-logs", _NONE
    import binascii
    import zlib

    try:
        raw = binascii.a2b_base64(data[:1368])  # 1 KiB of gzip: the header fields and the first event
        text = zlib.decompressobj(wbits=31).decompress(raw, 4096).decode("utf-8", "ignore")
    except (binascii.Error, ValueError, zlib.error):
        return None, "cloudwatch-logs", _NONE
    at = text.find('"logEvents"')
    lid = _natural(_json_string_after(text, "id", at)) if at >= 0 else None
    return lid, "cloudwatch-logs", "awslogs.data.logEvents[0].id"


def _from_alarm(event: Mapping[str, Any]) -> _Result:
    """One id per alarm state change: the alarm's name (from its ARN) and the state's time."""
    arn = event.get("alarmArn")
    when = _at(event, "alarmData", "state", "timestamp")
    name = arn.rsplit(":alarm:", 1)[-1] if type(arn) is str else None
    cid = clean(f"{name}:{when}") if name and type(when) is str else None
    return cid, "cloudwatch-alarm", "alarmArn + alarmData.state.timestamp"


def _from_config(event: Mapping[str, Any]) -> _Result:
    # No per-evaluation id: the resultToken is what PutEvaluations accepts, a credential, never logged.
    return None, "config", _NONE


def _from_lex(event: Mapping[str, Any]) -> _Result:
    v2 = isinstance(event.get("sessionState"), Mapping)
    source = "lex-v2" if v2 else "lex-v1"
    for where in ("requestAttributes", "sessionAttributes"):
        path = ("sessionState", where) if v2 and where == "sessionAttributes" else (where,)
        cid = clean(_at(event, *path, ATTRIBUTE))
        if cid:
            return cid, source, ".".join((*path, ATTRIBUTE))
    if not v2:
        return None, source, _NONE  # V1's userId may be a phone number or a name: never used
    rid = _natural(_at(event, "sessionState", "originatingRequestId"))
    if rid:
        return rid, source, "sessionState.originatingRequestId"
    return clean(event.get("sessionId")), source, "sessionId"


def _from_iot(event: Mapping[str, Any]) -> _Result | None:
    if "eventId" in event:  # registry events
        return _natural(event.get("eventId")), "iot", "eventId"
    if "sessionIdentifier" in event:  # lifecycle (connect / disconnect) events
        return _natural(event.get("sessionIdentifier")), "iot", "sessionIdentifier"
    return None


def _from_iot_authorizer(event: Mapping[str, Any]) -> _Result | None:
    cid = _natural(_at(event, "connectionMetadata", "id"))
    return (cid, "iot", "connectionMetadata.id") if "protocolData" in event or cid else None


_EXECUTION_KEYS = (
    "execution_id",
    "executionId",
    "ExecutionId",
    "execution_arn",
    "executionArn",
    "ExecutionArn",
)


def _from_step_functions(event: Mapping[str, Any]) -> _Result | None:
    """The execution ARN: from the context object (``"Payload.$": "$$"``) or a named field."""
    execution = event.get("Execution")
    if type(execution) is dict or isinstance(execution, Mapping):
        arn = clean_arn(execution.get("Id"))
        if arn:
            return arn, "stepfunctions", "Execution.Id"
    for key in _EXECUTION_KEYS:
        arn = clean_arn(event.get(key))
        if arn:
            return arn, "stepfunctions", key
    return None


def clean_arn(value: Any) -> str | None:
    """A Step Functions execution ARN (its name is the caller's: checked as such, up to 256)."""
    if type(value) is not str or ":states:" not in value or not value.startswith("arn:"):
        return None
    return value if _safe(value, _NATURAL_MAX) and not _personal(value) else None


# Top-level keys that mark a source, checked in this order (each check is one dict lookup).
_MARKERS: tuple[tuple[str, Callable[[Mapping[str, Any]], _Result | None]], ...] = (
    ("eventSource", _from_event_source_field),
    ("info", _from_appsync),
    ("Execution", _from_step_functions),
    ("xAmzRequestId", _from_s3_object_lambda),
    ("awslogs", _from_cloudwatch_logs),
    ("triggerSource", _from_cognito),
    ("invocationId", _from_invocation_id),
    ("RequestType", _from_cloudformation),
    ("CodePipeline.job", _from_codepipeline),
    ("LifecycleEventHookExecutionId", _from_codedeploy),
    ("Details", _from_connect),
    ("ClientRequestToken", _from_secrets_rotation),
    ("alarmData", _from_alarm),
    ("configRuleName", _from_config),
    ("invocationSource", _from_lex),
    ("eventType", _from_iot),
    ("connectionMetadata", _from_iot_authorizer),
)


def _resolve(event: Any, nested: bool = False, named: bool = True) -> _Result:
    if not (type(event) is dict or isinstance(event, Mapping)):
        if isinstance(event, list) and event and (type(event[0]) is dict or isinstance(event[0], Mapping)):
            first = event[0]
            if "eventSource" in first or "EventSource" in first:  # EventBridge Pipes: a list of records
                return _from_records(event)
            if "info" in first:  # AppSync batch resolver: a list of resolver events
                return _from_appsync(first) or (None, "appsync-resolver", _NONE)
        return None, "unknown", _NONE
    cid = event.get(ATTRIBUTE)
    if cid is not None:
        cid = clean(cid)
        if cid:
            return cid, "direct", ATTRIBUTE
    records = event.get("Records")
    if type(records) is list:
        return _from_records(records)
    rc = event.get("requestContext")
    if type(rc) is dict or isinstance(rc, Mapping):
        return _from_http(event, rc, named)
    if "detail-type" in event:
        return _from_eventbridge(event)
    for key, reader in _MARKERS:
        if key in event:
            found = reader(event)
            if found is not None:
                return found
    if not nested:
        found = _from_step_functions(event)
        if found is not None:
            return found
    return None, "unknown", _NONE


def describe(event: Any) -> Found:
    """The event's source, its correlation id (None if it carries none) and where it came from."""
    try:
        cid, source, origin = _resolve(event)
    except Exception:  # a malformed event has no id; reading it never raises
        return Found(None, "unknown", "malformed")
    return Found(cid, source, origin if cid or origin == "per record" else _NONE)


def from_event(event: Any) -> str | None:
    """The correlation id an event carries, by event shape; None if it carries none.

    Every Lambda event source is recognised (see docs/events.md): the id a producer propagated,
    else the event's natural id, else a trace id it carries. A batch of several SQS, Kinesis,
    DynamoDB, Kafka or MQ records has none of its own (each record's id is bound while it runs);
    a batch of one has that record's.
    """
    try:
        return _resolve(event, named=False)[0]
    except Exception:  # a malformed event has no id; reading it never raises
        return None


#: Set by the Lambda runtime client before every invocation to the invocation's X-Ray trace header
#: (``Root=1-...;Parent=...;Sampled=0``) and removed when the invocation has none.
RUNTIME_TRACE_VAR = "_X_AMZN_TRACE_ID"


def from_runtime_trace() -> str | None:
    """The ``Root`` of this invocation's X-Ray trace id (``_X_AMZN_TRACE_ID``): the fallback of
    ``observed`` for an event that carries no id, before a new one.

    Read only under the Lambda runtime (``AWS_LAMBDA_RUNTIME_API`` set), at the start of each
    invocation: the runtime client rewrites the variable for every invocation (or deletes it), so
    it always belongs to the invocation being served. Anywhere else (tests, scripts, a local loop
    calling handlers) nothing rewrites it, and a value left in the environment would give every call
    the same id, so it is not read. A batch handler's records take their own ids, never this one.
    """
    env = os.environ
    if "AWS_LAMBDA_RUNTIME_API" not in env:
        return None
    return _trace_root(env.get(RUNTIME_TRACE_VAR))


# --- propagation to outgoing work --------------------------------------------------------------


def _carrier() -> dict[str, str]:
    from observe import tracing

    carrier: dict[str, str] = {}
    if tracing.is_enabled():
        tracing.inject(carrier)
    return carrier


def _context() -> dict[str, str]:
    """The current id and trace context as plain strings: ``correlation_id``, ``traceparent``, ..."""
    out: dict[str, str] = {}
    cid = get()
    if cid:
        out[ATTRIBUTE] = cid
    out.update(_carrier())
    return out


def sqs_message_attributes(extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """``MessageAttributes`` for ``sqs.send_message``: the correlation id and trace context."""
    attrs: dict[str, Any] = dict(extra or {})
    for key, value in _context().items():
        attrs[key] = {"DataType": "String", "StringValue": value}
    return attrs


def sns_message_attributes(extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """``MessageAttributes`` for ``sns.publish``: read back from the SNS event, or from the SQS
    message of a subscription (with raw delivery as SQS attributes, else from the body)."""
    return sqs_message_attributes(extra)


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
    out.update(_context())
    return out


def kinesis_data(payload: Mapping[str, Any]) -> bytes:
    """``Data`` for ``kinesis.put_record``: ``payload`` as JSON with the id and trace context first.

    Kinesis records have no attributes, so the envelope fields travel in the data: the reader
    looks at the first kilobyte only, which is why they come first.
    """
    import orjson

    doc: dict[str, Any] = _context()
    doc.update((k, v) for k, v in payload.items() if k not in doc)
    return orjson.dumps(doc)


def dynamodb_attributes(*, typed: bool = False) -> dict[str, Any]:
    """Item attributes to add to a ``put_item``: ``_correlation_id`` and ``_traceparent``.

    Plain strings for a boto3 ``Table`` resource; ``typed=True`` gives ``{"S": ...}`` values for
    the low-level client. A stream consumer reads them from the record's new image.
    """
    names = {
        ATTRIBUTE: DYNAMODB_ATTRIBUTE,
        "traceparent": DYNAMODB_TRACEPARENT,
        "tracestate": DYNAMODB_TRACESTATE,
    }
    return {names[k]: ({"S": v} if typed else v) for k, v in _context().items() if k in names}


def kafka_headers() -> list[tuple[str, bytes]]:
    """Record headers for a Kafka producer (kafka-python, confluent-kafka, aiokafka):
    ``correlation_id`` and ``traceparent`` as UTF-8 bytes."""
    return [(k, v.encode("utf-8")) for k, v in _context().items()]


def message_properties() -> dict[str, str]:
    """Message properties (ActiveMQ/JMS) or headers (RabbitMQ/AMQP): ``correlation_id``, ``traceparent``."""
    return _context()
