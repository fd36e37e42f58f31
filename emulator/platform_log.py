"""The lines the Lambda platform writes into a function's log, in both log formats.

Text format (``LoggingConfig.LogFormat = Text``) — the shapes CloudWatch Logs shows, with the
"new style" ``Status`` / ``Error Type`` fields of the REPORT line::

    INIT_START Runtime Version: python:3.11.local\tRuntime Version ARN: arn:aws:lambda:...
    START RequestId: <id> Version: $LATEST
    2026-01-01T00:00:03.004Z <id> Task timed out after 3.00 seconds
    RequestId: <id> Error: Runtime exited with error: signal: killed\\nRuntime.ExitError
    END RequestId: <id>
    REPORT RequestId: <id>\tDuration: 3004.92 ms\tBilled Duration: 3117 ms\tMemory Size: 128 MB\t
        Max Memory Used: 33 MB\tInit Duration: 111.23 ms\tStatus: timeout\t
    INIT_REPORT Init Duration: 1236.04 ms\tPhase: init\tStatus: error\tError Type: Runtime.ImportModuleError

JSON format: one ``{"time", "type", "record"}`` object per event, with the record shapes of the
Telemetry API schema (``platform.initStart``, ``platform.start``, ``platform.runtimeDone``,
``platform.report``, ``platform.initReport``); the function's own lines pass through unchanged.

Only formatting lives here (pure functions, no I/O), so the shapes are tested on their own and a
parser (diagnostics) can be checked against exactly what the emulator writes.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass

TEXT = "Text"
JSON = "JSON"
LOG_FORMATS = (TEXT, JSON)


def iso_ms(epoch_s: float) -> str:
    """``epoch_s`` as ``2026-01-01T00:00:03.004Z`` (UTC, milliseconds), as Lambda stamps its lines."""
    ms = int(epoch_s * 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000)) + f".{ms % 1000:03d}Z"


def billed_ms(duration_ms: float, init_ms: float | None = None) -> int:
    """Billed Duration: the invoke (plus the init of a cold start) rounded up to the millisecond."""
    return math.ceil(duration_ms + (init_ms or 0.0))


@dataclass(frozen=True)
class Report:
    """What one REPORT line (or ``platform.report`` record) says about an invocation."""

    request_id: str
    duration_ms: float
    memory_mb: int
    max_memory_mb: int
    init_ms: float | None = None  # only on the first invocation of an environment
    status: str = "success"  # success | error | timeout
    error_type: str | None = None  # Runtime.ExitError, Runtime.OutOfMemory, the handler's error type
    #: whether the platform ended the invocation (timeout, crash, out of memory, failed init): only
    #: then does the Text REPORT line carry ``Status`` / ``Error Type``; a handler's own error
    #: (reported by the runtime over /error) leaves the line as on success.
    platform_ended: bool = False

    @property
    def billed_ms(self) -> int:
        return billed_ms(self.duration_ms, self.init_ms)


class PlatformLog:
    """Renders platform events as log messages in one log format (``Text`` or ``JSON``)."""

    def __init__(self, log_format: str = TEXT, *, function_name: str = "", version: str = "$LATEST"):
        if log_format not in LOG_FORMATS:
            raise ValueError(f"log format {log_format!r} is not one of {', '.join(LOG_FORMATS)}")
        self.format = log_format
        self.function_name = function_name
        self.version = version

    def _record(self, kind: str, record: dict[str, object], at: float | None) -> str:
        return json.dumps(
            {"time": iso_ms(time.time() if at is None else at), "type": kind, "record": record},
            separators=(",", ":"),
        )

    def init_start(self, runtime_version: str, runtime_arn: str, *, phase: str = "init") -> str | None:
        """``INIT_START`` at the start of an init; in Text only for the init phase (a suppressed
        init in the invoke phase has no line of its own, as on Lambda)."""
        if self.format == TEXT:
            if phase != "init":
                return None
            return f"INIT_START Runtime Version: {runtime_version}\tRuntime Version ARN: {runtime_arn}"
        return self._record(
            "platform.initStart",
            {
                "initializationType": "on-demand",
                "phase": phase,
                "runtimeVersion": runtime_version,
                "runtimeVersionArn": runtime_arn,
                "functionName": self.function_name,
                "functionVersion": self.version,
            },
            None,
        )

    def init_report(
        self, duration_ms: float, *, phase: str, status: str, error_type: str | None = None
    ) -> str | None:
        """``INIT_REPORT`` after an init that failed or timed out (Lambda writes none after a
        successful on-demand init); in JSON also after a suppressed init (``phase=invoke``)."""
        if self.format == TEXT:
            if status == "success":
                return None
            parts = [
                f"INIT_REPORT Init Duration: {duration_ms:.2f} ms",
                f"Phase: {phase}",
                f"Status: {status}",
            ]
            if error_type:
                parts.append(f"Error Type: {error_type}")
            return "\t".join(parts)
        if status == "success" and phase == "init":
            return None
        record: dict[str, object] = {
            "initializationType": "on-demand",
            "phase": phase,
            "status": status,
            "metrics": {"durationMs": round(duration_ms, 3)},
        }
        if error_type:
            record["errorType"] = error_type
        return self._record("platform.initReport", record, None)

    def start(self, request_id: str, trace_id: str | None = None) -> str:
        """``START RequestId: ... Version: $LATEST`` / ``platform.start``."""
        if self.format == TEXT:
            return f"START RequestId: {request_id} Version: {self.version}"
        record: dict[str, object] = {"requestId": request_id, "version": self.version}
        if trace_id:
            record["tracing"] = {"type": "X-Amzn-Trace-Id", "value": trace_id}
        return self._record("platform.start", record, None)

    def timed_out(self, request_id: str, timeout_s: float) -> str | None:
        """``<time> <id> Task timed out after N.NN seconds`` (Text; JSON says it in the records)."""
        if self.format == TEXT:
            return f"{iso_ms(time.time())} {request_id} Task timed out after {timeout_s:.2f} seconds"
        return None

    def runtime_exited(self, request_id: str, reason: str) -> str | None:
        """``RequestId: <id> Error: Runtime exited with error: <reason>`` + ``Runtime.ExitError``
        (one event of two lines, as CloudWatch shows it; Text only)."""
        if self.format == TEXT:
            return f"RequestId: {request_id} Error: {reason}\nRuntime.ExitError"
        return None

    def runtime_done(
        self, request_id: str, duration_ms: float, status: str, error_type: str | None, produced: int
    ) -> str | None:
        """``platform.runtimeDone`` (JSON only: the Text format has ``END``)."""
        if self.format == TEXT:
            return None
        record: dict[str, object] = {
            "requestId": request_id,
            "status": status,
            "metrics": {"durationMs": round(duration_ms, 3), "producedBytes": produced},
        }
        if error_type:
            record["errorType"] = error_type
        return self._record("platform.runtimeDone", record, None)

    def end(self, request_id: str) -> str | None:
        """``END RequestId: ...`` (Text only)."""
        return f"END RequestId: {request_id}" if self.format == TEXT else None

    def report(self, r: Report) -> str:
        """``REPORT RequestId: ...`` / ``platform.report``."""
        if self.format == TEXT:
            parts = [
                f"REPORT RequestId: {r.request_id}",
                f"Duration: {r.duration_ms:.2f} ms",
                f"Billed Duration: {r.billed_ms} ms",
                f"Memory Size: {r.memory_mb} MB",
                f"Max Memory Used: {r.max_memory_mb} MB",
            ]
            if r.init_ms is not None:
                parts.append(f"Init Duration: {r.init_ms:.2f} ms")
            # The REPORT line names the status only when the platform ended the invocation (a
            # timeout, a crash, an out-of-memory kill); a handler's own error has no status here.
            if r.platform_ended:
                parts.append(f"Status: {r.status}")
                if r.error_type:
                    parts.append(f"Error Type: {r.error_type}")
            return "\t".join(parts) + "\t"
        metrics: dict[str, object] = {
            "durationMs": round(r.duration_ms, 3),
            "billedDurationMs": r.billed_ms,
            "memorySizeMB": r.memory_mb,
            "maxMemoryUsedMB": r.max_memory_mb,
        }
        if r.init_ms is not None:
            metrics["initDurationMs"] = round(r.init_ms, 3)
        record: dict[str, object] = {"requestId": r.request_id, "metrics": metrics, "status": r.status}
        if r.error_type:
            record["errorType"] = r.error_type
        return self._record("platform.report", record, None)
