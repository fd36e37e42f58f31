"""Telemetry never breaks the handler: what observe does when it is misused or when it fails.

The policy, in one place:

- **strict** (``ENVIRONMENT=dev``, and always under ``observe.testing``): a misuse raises at the
  call, where the developer and the tests see it: an undeclared metric
  (:class:`~observe.catalogue.UnknownMetricError`), a wrong unit, an undeclared or empty dimension,
  a value that is not a finite number (:class:`~observe.catalogue.MetricError`), a bad
  configuration file (:class:`~observe.project.ConfigFileError`);
- **lenient** (``stg`` and ``prd``): nothing observe does raises into the handler. The misused value
  is **dropped** (not written), observe writes one warning line per kind and name per execution
  environment, and counts each drop in the standard metric ``TelemetryErrors`` (dimension
  ``kind``), which the dashboards draw and a pipeline may alarm on. A failure of observe itself
  (the summary line, the EMF flush, a tracing hook) is handled the same way.

``OBSERVE_STRICT=true`` or ``false`` overrides the environment (and ``observe.testing``).

Why drop rather than write: a value under a name, unit or dimension no one declared is a series no
dashboard or alarm reads, yet it is billed as a custom metric per dimension combination (an
unbounded dimension value, such as a record id, makes thousands of them), and a value in the
wrong unit would mix two scales in one series and corrupt its statistics. One dropped datapoint,
with the warning line naming it and the count on the dashboard, is the cheaper failure.
"""

from __future__ import annotations

import os

from observe.catalogue import TELEMETRY_ERRORS

#: The ``kind`` dimension values of ``TelemetryErrors``.
KINDS: tuple[str, ...] = (
    "undeclared_metric", "bad_unit", "bad_dimension", "bad_value", "config", "internal",
)  # fmt: skip
ENV_VAR = "OBSERVE_STRICT"
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})
MAX_WARNED = 1024  # distinct (kind, name) warnings kept per process; the count goes on regardless

_testing = [False]
_warned: set[tuple[str, str]] = set()


def strict() -> bool:
    """Whether misuse raises: ``OBSERVE_STRICT`` if set, else under ``observe.testing``, else in dev."""
    raw = os.environ.get(ENV_VAR)
    if raw:
        value = raw.strip().lower()
        if value in _TRUE:
            return True
        if value in _FALSE:
            return False
    if _testing[0]:
        return True
    return (os.environ.get("ENVIRONMENT") or "dev") == "dev"


def set_testing(on: bool) -> None:
    """Make misuse raise in this process whatever the environment (``observe.testing`` does)."""
    _testing[0] = on


def misuse(kind: str, name: str, error: Exception) -> None:
    """A call that used telemetry wrongly: raise ``error`` when strict; else drop, warn once, count."""
    if strict():
        raise error
    record(kind, name, str(error))


def failure(kind: str, where: str, error: BaseException, *, handler_failed: bool = False) -> None:
    """observe itself failed at ``where`` (or its configuration did).

    Raises ``error`` again when strict, unless the handler already raised (its exception is the one
    that must reach the caller); otherwise warns once and counts.
    """
    if strict() and not handler_failed:
        raise error
    record(kind, where, f"{type(error).__name__}: {error}")


def record(kind: str, key: str, message: str) -> None:
    """Count one ``TelemetryErrors{kind}`` and write the warning line the first time for ``key``."""
    try:
        _count(kind)
        if (kind, key) not in _warned and len(_warned) < MAX_WARNED:
            _warned.add((kind, key))
            from observe import logging as _log

            _log.emit(
                "warning",
                f"telemetry dropped ({kind}): {message}",
                "observe",
                {"telemetry_error": kind, "about": key, "policy": "dropped; OBSERVE_STRICT=true raises"},
            )
    except Exception:  # the last line of defence: reporting must not raise either
        pass


def _count(kind: str) -> None:
    from observe import metrics

    buffer = metrics._current.get()
    key = (TELEMETRY_ERRORS, (("kind", kind),))
    if buffer is not None:
        buffer.values.setdefault(key, []).append(1)
        return
    single = metrics.MetricsBuffer()
    single.values[key] = [1]
    metrics.flush(single, metrics.script_dimensions())


def reset() -> None:
    """Forget which warnings were written, so they are written again (tests)."""
    _warned.clear()
