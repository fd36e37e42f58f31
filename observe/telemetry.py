"""Per-invocation telemetry: cold start, peak memory, and throttle classification.

Throttles are recognised without importing the libraries that raise them: botocore's
``ClientError`` carries ``response["Error"]["Code"]``; aiodynamo raises one class per DynamoDB
error code (matched by class name and module); httpx and requests errors carry a ``response``
with ``status_code`` and ``headers``; a bare response object is accepted too.
"""

from __future__ import annotations

import os
import resource
import sys
import time
from typing import Any, NamedTuple

#: Error codes AWS services use for throttling (the set botocore's standard retry mode treats so).
AWS_THROTTLE_CODES: frozenset[str] = frozenset(
    {
        "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
        "TooManyRequestsException", "ProvisionedThroughputExceededException",
        "TransactionInProgressException", "RequestLimitExceeded", "BandwidthLimitExceeded",
        "LimitExceededException", "RequestThrottled", "SlowDown", "PriorRequestNotComplete",
        "EC2ThrottledException",
    }
)  # fmt: skip

#: aiodynamo's exception class names for the throttling codes above (matched without importing it)
AIODYNAMO_THROTTLES: dict[str, str] = {
    "ProvisionedThroughputExceeded": "ProvisionedThroughputExceededException",
    "Throttled": "ThrottlingException",
    "RequestLimitExceeded": "RequestLimitExceeded",
    "TransactionInProgress": "TransactionInProgressException",
    "LimitExceeded": "LimitExceededException",
}

HTTP_429 = "http-429"
AWS_THROTTLING = "aws-throttling"

_cold = [True]
_RSS_DIVISOR = 1024 * 1024 if sys.platform == "darwin" else 1024  # bytes on macOS, KiB on Linux


def take_cold_start() -> bool:
    """True on the first call in this process (the execution environment's first invocation)."""
    if _cold[0]:
        _cold[0] = False
        return True
    return False


def reset_cold_start() -> None:
    """Make the next invocation count as a cold start again (tests)."""
    _cold[0] = True


def max_rss_mb() -> float:
    """Peak resident set size of this process so far, in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / _RSS_DIVISOR


def memory_limit_mb(context: Any) -> int | None:
    """The function's memory limit, from the Lambda context or the runtime's environment."""
    limit = getattr(context, "memory_limit_in_mb", None) or os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
    try:
        return int(limit) if limit else None
    except (TypeError, ValueError):
        return None


MEMORY_WARNING_VAR = "OBSERVE_MEMORY_WARNING_PERCENT"
#: Warn when an invocation ends above this share of the memory limit: the alarm's threshold too.
DEFAULT_MEMORY_WARNING_PERCENT = 90.0
_memory: list[Any] = [None, 0.0]  # [threshold in percent (None: not read yet), peak MB at the last end]


def configure_memory_warning(percent: float | None = None) -> None:
    """Set the threshold (``0`` turns the warning off); None reads the environment again."""
    _memory[0] = None if percent is None else float(percent)
    _memory[1] = 0.0


def _memory_threshold() -> float:
    value = _memory[0]
    if value is None:
        from observe.config import ConfigError, number

        try:
            value = float(number(os.environ, MEMORY_WARNING_VAR, DEFAULT_MEMORY_WARNING_PERCENT, minimum=0.0))
        except ConfigError as exc:
            _memory[0] = DEFAULT_MEMORY_WARNING_PERCENT  # reported once
            from observe import guard

            guard.misuse("config", MEMORY_WARNING_VAR, exc)
            return DEFAULT_MEMORY_WARNING_PERCENT
        _memory[0] = value
    return value


def current_rss_mb() -> float | None:
    """Resident memory of this process now, in MB (Linux ``/proc/self/statm``); None elsewhere."""
    try:
        with open("/proc/self/statm", "rb") as f:
            pages = int(f.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / (1024 * 1024)
    except (OSError, ValueError, IndexError):
        return None


def memory_warning(peak_mb: float, limit_mb: int) -> dict[str, Any] | None:
    """The fields of a ``memory utilization high`` warning if the invocation ends above the threshold.

    The peak (``ru_maxrss``) never goes down in a process, so it alone would warn on every later
    invocation of an environment that once came close: the warning is written when the peak crossed
    the threshold during this invocation, or when the memory still resident now is above it (read
    only once the peak is over it). Cheap otherwise: one comparison.
    """
    threshold = _memory[0] if _memory[0] is not None else _memory_threshold()
    if not threshold:
        return None
    limit = threshold * limit_mb / 100.0
    previous = _memory[1]
    _memory[1] = peak_mb
    if peak_mb < limit:
        return None
    now = current_rss_mb()
    if previous >= limit and (now is None or now < limit):
        return None  # over it before, not any more: said when it happened
    return {
        "memory_utilization": round(100.0 * peak_mb / limit_mb, 1),
        "max_memory_mb": round(peak_mb, 1),
        "rss_mb": None if now is None else round(now, 1),
        "memory_limit_mb": limit_mb,
        "threshold_percent": threshold,
    }


class Throttle(NamedTuple):
    """A throttling signal: where it came from, the code, and how long the other side asked us to wait."""

    source: str
    code: str
    retry_after: float | None = None


class ThrottledError(Exception):
    """Raised by pipeline code to stop work at once because a dependency throttled."""

    def __init__(self, throttle: Throttle, message: str | None = None) -> None:
        self.throttle = throttle
        super().__init__(
            message or f"throttled ({throttle.source} {throttle.code}, retry after {throttle.retry_after})"
        )


def parse_retry_after(value: Any, now: float | None = None) -> float | None:
    """``Retry-After`` as seconds to wait: delta-seconds or an HTTP date; None if absent or bad."""
    if value is None:
        return None
    text = str(value).strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        import email.utils  # only for the rare HTTP-date form

        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if when is None:
            return None
        seconds = when.timestamp() - (now if now is not None else time.time())
    if seconds != seconds or seconds in (float("inf"), float("-inf")):  # NaN / inf
        return None
    return max(0.0, seconds)


def _header(headers: Any, name: str) -> Any:
    if headers is None:
        return None
    try:
        value = headers.get(name)
        if value is None:
            value = headers.get(name.lower())
        return value
    except AttributeError:
        return None


def _from_response(response: Any) -> Throttle | None:
    if getattr(response, "status_code", None) == 429:
        retry = parse_retry_after(_header(getattr(response, "headers", None), "Retry-After"))
        return Throttle(HTTP_429, "429", retry)
    return None


def classify_throttle(obj: Any) -> Throttle | None:
    """A :class:`Throttle` if ``obj`` (an exception or an HTTP response) says we were throttled."""
    seen = 0
    while obj is not None and seen < 4:  # follow `raise ... from` a few levels
        seen += 1
        if isinstance(obj, ThrottledError):
            return obj.throttle
        cls = type(obj)
        if cls.__module__.startswith("aiodynamo"):
            if cls.__name__ in AIODYNAMO_THROTTLES:
                return Throttle(AWS_THROTTLING, AIODYNAMO_THROTTLES[cls.__name__], None)
            if getattr(obj, "status", None) == 429:  # aiodynamo's UnknownError for an unmapped answer
                return Throttle(AWS_THROTTLING, "429", None)
        response = getattr(obj, "response", None)
        if isinstance(response, dict):  # botocore ClientError
            error = response.get("Error") or {}
            code = str(error.get("Code", ""))
            meta = response.get("ResponseMetadata") or {}
            status = meta.get("HTTPStatusCode")
            if code in AWS_THROTTLE_CODES or status == 429:
                headers = meta.get("HTTPHeaders") or {}
                return Throttle(
                    AWS_THROTTLING, code or "429", parse_retry_after(_header(headers, "retry-after"))
                )
        elif response is not None:
            found = _from_response(response)
            if found:
                return found
        found = _from_response(obj)
        if found:
            return found
        obj = getattr(obj, "__cause__", None)
    return None


def record_throttle(throttle: Throttle) -> None:
    """Count a throttle (``Throttles`` by source) in the current invocation's metrics."""
    from observe.metrics import metric

    metric("Throttles", 1, source=throttle.source)
