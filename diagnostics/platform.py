"""The Lambda platform's own lines, in both log formats, as documents diagnostics can join.

Lambda writes these into every function's log group, beside what the function writes:

- Text format (``LoggingConfig.LogFormat = Text``)::

    START RequestId: <id> Version: $LATEST
    END RequestId: <id>
    REPORT RequestId: <id>\\tDuration: 3004.92 ms\\tBilled Duration: 3117 ms\\tMemory Size: 128 MB\\t
        Max Memory Used: 33 MB\\tInit Duration: 111.23 ms\\tStatus: timeout\\t
    2026-01-01T00:00:03.004Z <id> Task timed out after 3.00 seconds
    RequestId: <id> Error: Runtime exited with error: signal: killed
    Runtime.ExitError
    INIT_REPORT Init Duration: 1236.04 ms\\tPhase: init\\tStatus: error\\t
        Error Type: Runtime.ImportModuleError
    [ERROR] Runtime.ImportModuleError: Unable to import module 'app': No module named 'app'

  (``Status`` / ``Error Type`` on REPORT only when the platform ended the invocation; older
  functions print ``RequestId: <id> Process exited before completing request`` instead.)
- JSON format: one ``{"time", "type", "record"}`` object per event, ``platform.start``,
  ``platform.runtimeDone``, ``platform.report``, ``platform.initStart``, ``platform.initReport``
  (the Telemetry API's record shapes), and the runtime's error record ``{"errorType",
  "errorMessage", "requestId", "stackTrace"}`` (a log line like any other, kept as one).

:func:`parse_text` and :func:`from_record` turn them into documents with one key,
:data:`PLATFORM_ROOT` (``{"@platform": {"type": "report", "request_id": ..., ...}}``) plus a
``timestamp`` when the line has one, so no question about observe's own lines ever matches them
by accident: a :class:`~diagnostics.queries.Clause` wants them only with ``platform=True``.
:data:`PLATFORM_TERMS` are the words every such line holds (filter patterns, file screening).
"""

from __future__ import annotations

import re
from typing import Any

#: The key of a platform document (its value holds the parsed fields).
PLATFORM_ROOT = "@platform"

#: Words at least one of which every platform line (and runtime error record) holds: one quoted
#: filter-pattern term each, and the byte strings a file is screened for.
PLATFORM_TERMS = ("RequestId:", "INIT_REPORT", "Task timed out", "platform.", "[ERROR]", "errorType")

#: Lines recognised and not kept (the continuation of a ``RequestId: ... Error:`` event, extensions ...).
_IGNORED_PREFIXES = ("EXTENSION", "TELEMETRY", "RESTORE_START", "RESTORE_REPORT", "LOGS\t", "XRAY TraceId")
_IGNORED_LINES = frozenset({"Runtime.ExitError", "Runtime.OutOfMemory", "Runtime.Unknown"})

_START = re.compile(r"^START RequestId: (\S+)(?: Version: (\S+))?")
_END = re.compile(r"^END RequestId: (\S+)")
_REPORT_ID = re.compile(r"^REPORT RequestId: (\S+)")
_NUMBER = r"([0-9]+(?:\.[0-9]+)?)"
_REPORT_FIELDS = {
    "duration_ms": re.compile(r"(?<!Billed )(?<!Init )Duration: " + _NUMBER + " ms"),
    "billed_ms": re.compile(r"Billed Duration: " + _NUMBER + " ms"),
    "memory_mb": re.compile(r"Memory Size: " + _NUMBER + " MB"),
    "max_memory_mb": re.compile(r"Max Memory Used: " + _NUMBER + " MB"),
    "init_ms": re.compile(r"Init Duration: " + _NUMBER + " ms"),
}
_STATUS = re.compile(r"(?:^|\s)Status: (\w+)")
_ERROR_TYPE = re.compile(r"Error Type: (\S+)")
_PHASE = re.compile(r"Phase: (\w+)")
_INIT_REPORT_DURATION = re.compile(r"Init Duration: " + _NUMBER + " ms")
_INIT_START_VERSION = re.compile(r"^INIT_START Runtime Version: (\S+)")
_TIMED_OUT = re.compile(
    r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z)\s+(\S+)\s+Task timed out after " + _NUMBER + " seconds"
)
_EXITED = re.compile(r"^RequestId: (\S+) (?:Error: (.*)|(Process exited before completing request))")
_RUNTIME_ERROR = re.compile(r"^\[ERROR\] ([A-Za-z_][\w.]*): ?(.*)")
#: ``Runtime exited with error: signal: killed`` -> ``signal: killed``; ``exit status 3``.
_EXIT_REASON = re.compile(r"Runtime exited(?: with error)?: (.*)")


class Ignored:
    def __repr__(self) -> str:
        return "IGNORED"


#: A line known to be the platform's that holds nothing to keep.
IGNORED = Ignored()


def is_platform(doc: dict[str, Any]) -> bool:
    """Whether ``doc`` came from a platform line (see the module docstring)."""
    return isinstance(doc.get(PLATFORM_ROOT), dict)


def is_runtime_error(doc: dict[str, Any]) -> bool:
    """The runtime's own error record (JSON format): ``errorType`` with ``errorMessage`` or ``stackTrace``."""
    return isinstance(doc.get("errorType"), str) and ("errorMessage" in doc or "stackTrace" in doc)


def _doc(kind: str, timestamp: str | None = None, **fields: Any) -> dict[str, Any]:
    body = {"type": kind, **{k: v for k, v in fields.items() if v is not None}}
    doc: dict[str, Any] = {PLATFORM_ROOT: body}
    if timestamp:
        doc["timestamp"] = timestamp
    return doc


def _num(rx: re.Pattern[str], text: str) -> float | None:
    m = rx.search(text)
    return float(m.group(1)) if m else None


def _int(value: float | None) -> int | None:
    return None if value is None else int(value)


def exit_reason(error: str) -> str:
    """What a ``Runtime exited with error: ...`` message says: ``signal: killed``, ``exit status 3``."""
    m = _EXIT_REASON.search(error)
    return (m.group(1) if m else error).strip()


def parse_text(text: str) -> dict[str, Any] | Ignored | None:
    """One Text-format platform line as a platform document; IGNORED (the platform's, nothing to
    keep) or None (not a platform line). ``text`` is stripped; a multi-line event is read from its
    first line (``RequestId: ... Error: ...\\nRuntime.ExitError`` keeps the second as its type)."""
    first, _, rest = text.partition("\n")
    first = first.rstrip("\r")
    if first.startswith("START RequestId:"):
        m = _START.match(first)
        return _doc("start", request_id=m.group(1), version=m.group(2)) if m else IGNORED
    if first.startswith("END RequestId:"):
        m = _END.match(first)
        return _doc("end", request_id=m.group(1)) if m else IGNORED
    if first.startswith("REPORT RequestId:"):
        m = _REPORT_ID.match(first)
        if not m:
            return IGNORED
        status = _STATUS.search(first)
        etype = _ERROR_TYPE.search(first)
        values = {k: _num(rx, first) for k, rx in _REPORT_FIELDS.items()}
        return _doc(
            "report",
            request_id=m.group(1),
            duration_ms=values["duration_ms"],
            billed_ms=values["billed_ms"],
            memory_mb=_int(values["memory_mb"]),
            max_memory_mb=_int(values["max_memory_mb"]),
            init_ms=values["init_ms"],
            status=status.group(1) if status else None,
            error_type=etype.group(1) if etype else None,
            format="Text",
        )
    if first.startswith("INIT_REPORT"):
        status = _STATUS.search(first)
        etype = _ERROR_TYPE.search(first)
        phase = _PHASE.search(first)
        return _doc(
            "init_report",
            duration_ms=_num(_INIT_REPORT_DURATION, first),
            phase=phase.group(1) if phase else None,
            status=status.group(1) if status else None,
            error_type=etype.group(1) if etype else None,
        )
    if first.startswith("INIT_START"):
        m = _INIT_START_VERSION.match(first)
        return _doc("init_start", runtime_version=m.group(1) if m else None)
    if first.startswith("RequestId: "):
        m = _EXITED.match(first)
        if not m:
            return None
        if m.group(3):
            return _doc("exited", request_id=m.group(1), reason=m.group(3))
        error = m.group(2).strip()
        second = rest.strip().splitlines()[0].strip() if rest.strip() else None
        if "Task timed out" in error:  # the error document's wording of a timeout
            return _doc("timed_out", request_id=m.group(1))
        return _doc("exited", request_id=m.group(1), reason=exit_reason(error), error_type=second)
    if first.startswith("[ERROR]"):
        m = _RUNTIME_ERROR.match(first)
        if not m:
            return None  # ``[ERROR]\t<time>\t<request id>\t<message>``: a logging call, not the runtime's
        return _doc("runtime_error", error_type=m.group(1), message=m.group(2).strip())
    if "Task timed out after" in first:
        m = _TIMED_OUT.match(first)
        if m:
            return _doc("timed_out", m.group(1), request_id=m.group(2), timeout_s=float(m.group(3)))
        return None
    if first in _IGNORED_LINES or first.startswith(_IGNORED_PREFIXES):
        return IGNORED
    return None


def _metric(metrics: Any, name: str) -> float | None:
    value = metrics.get(name) if isinstance(metrics, dict) else None
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def from_record(doc: dict[str, Any]) -> dict[str, Any] | None:
    """A JSON-format platform event (``{"time", "type": "platform.*", "record"}``) as a platform
    document; None when ``doc`` is not one."""
    kind = doc.get("type")
    record = doc.get("record")
    if not isinstance(kind, str) or not kind.startswith("platform.") or not isinstance(record, dict):
        return None
    at = _text(doc.get("time"))
    metrics = record.get("metrics")
    rid = _text(record.get("requestId"))
    name = kind.removeprefix("platform.")
    if name == "report":
        return _doc(
            "report",
            at,
            request_id=rid,
            duration_ms=_metric(metrics, "durationMs"),
            billed_ms=_metric(metrics, "billedDurationMs"),
            memory_mb=_int(_metric(metrics, "memorySizeMB")),
            max_memory_mb=_int(_metric(metrics, "maxMemoryUsedMB")),
            init_ms=_metric(metrics, "initDurationMs"),
            status=_text(record.get("status")),
            error_type=_text(record.get("errorType")),
            format="JSON",
        )
    if name == "start":
        return _doc("start", at, request_id=rid, version=_text(record.get("version")))
    if name == "runtimeDone":
        return _doc(
            "runtime_done",
            at,
            request_id=rid,
            status=_text(record.get("status")),
            error_type=_text(record.get("errorType")),
            duration_ms=_metric(metrics, "durationMs"),
        )
    if name == "initReport":
        return _doc(
            "init_report",
            at,
            duration_ms=_metric(metrics, "durationMs"),
            phase=_text(record.get("phase")),
            status=_text(record.get("status")),
            error_type=_text(record.get("errorType")),
        )
    if name == "initStart":
        return _doc(
            "init_start",
            at,
            function_name=_text(record.get("functionName")),
            phase=_text(record.get("phase")),
            runtime_version=_text(record.get("runtimeVersion")),
        )
    return _doc(name, at, request_id=rid)  # extension, telemetrySubscription, logsDropped ...


def body(doc: dict[str, Any]) -> dict[str, Any]:
    """The parsed fields of a platform document (``{}`` for any other document)."""
    got = doc.get(PLATFORM_ROOT)
    return got if isinstance(got, dict) else {}
