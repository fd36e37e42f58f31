"""Values as a person reads them: the metric's unit from the catalogue, and sensible precision.

``fmt(11506.161076000011, "Milliseconds")`` is ``11.5 s``; ``fmt(40.5441, "Percent")`` is
``40.5 %``; counts are whole numbers with thousands separators. The terminal output and the HTML
report both go through here, so a value reads the same in both.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, datetime

from observe import catalogue

#: Metrics that are not catalogued but are drawn and alarmed on (metric math).
DERIVED_UNITS = {"ErrorRate": "Percent"}
#: How a CloudWatch unit is written after a value.
SYMBOLS = {
    "Percent": "%", "Milliseconds": "ms", "Seconds": "s", "Microseconds": "µs", "Bytes": "B",
    "Kilobytes": "KB", "Megabytes": "MB", "Gigabytes": "GB", "Count/Second": "/s",
}  # fmt: skip


def unit_of(metric: str) -> str:
    """The catalogue's unit of ``metric`` (``Percent`` for the error rate; ``None`` if unknown).

    AWS's own metrics are named as alarms name them (``AWS/Lambda/Duration``, the catalogue's
    ``AWS_METRICS``).
    """
    if metric in DERIVED_UNITS:
        return DERIVED_UNITS[metric]
    aws = catalogue.AWS_METRICS.get(metric)
    if aws is not None:
        return aws.unit
    try:
        return catalogue.get(metric).unit
    except KeyError:
        return "None"


def _number(v: float, digits: int = 3) -> str:
    """``v`` with ``digits`` significant digits, thousands separated, no trailing zeros."""
    if v == 0 or not math.isfinite(v):
        return f"{v:g}"
    if abs(v) >= 10 ** (digits - 1):
        return f"{round(v):,}"
    places = max(0, digits - 1 - math.floor(math.log10(abs(v))))
    text = f"{v:,.{places}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def fmt(value: float | None, unit: str = "None") -> str:
    """A value with its unit: counts whole, durations in ms or s, percentages and sizes with one decimal."""
    if value is None:
        return "-"
    if unit in ("Count", "None", ""):
        return f"{value:,.0f}" if float(value).is_integer() else _number(value)
    if unit == "Milliseconds":
        if abs(value) >= 10_000:
            return f"{_number(value / 1000)} s"
        return f"{_number(value)} ms"
    if unit == "Percent":
        return f"{_number(value)} %"
    return f"{_number(value)} {SYMBOLS.get(unit, unit)}"


def fmt_metric(value: float | None, metric: str) -> str:
    """:func:`fmt` with the unit of ``metric``."""
    return fmt(value, unit_of(metric))


def axis_label(unit: str) -> str:
    """The y-axis label for a unit (``count``, ``ms``, ``%`` ...)."""
    return "count" if unit in ("Count", "None", "") else SYMBOLS.get(unit, unit)


def axis_scale(unit: str, top: float) -> tuple[Callable[[float], str], str]:
    """One scale for a whole axis reaching ``top``: (tick text, the axis's unit label).

    Durations are in seconds on every tick once the axis reaches 10 s, else in ms on every tick, so
    an axis never mixes ``8,000 ms`` with ``10 s``; other units as :func:`fmt` writes them.
    """
    if unit == "Milliseconds":
        if top >= 10_000:
            return (lambda v: f"{_number(v / 1000)} s"), "s"
        return (lambda v: f"{_number(v)} ms"), "ms"
    return (lambda v: fmt(v, unit)), axis_label(unit)


def clock(t: datetime | None, *, seconds: bool = True, millis: bool = False) -> str:
    """``t`` in UTC as ``22:41:36`` (``.789`` with ``millis``; ``-`` for None)."""
    if t is None:
        return "-"
    u = t.astimezone(UTC)
    if millis:
        return u.strftime("%H:%M:%S.") + f"{u.microsecond // 1000:03d}"
    return u.strftime("%H:%M:%S" if seconds else "%H:%M")


def when(t: datetime | None) -> str:
    """``2026-11-26 04:05:06 UTC`` (``-`` for None)."""
    return "-" if t is None else t.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def duration(seconds: float) -> str:
    """``90`` -> ``1 min 30 s``; ``7200`` -> ``2 h``."""
    s = round(seconds)
    if s < 60:
        return f"{s} s"
    parts = []
    for size, name in ((86400, "d"), (3600, "h"), (60, "min")):
        if s >= size:
            parts.append(f"{s // size} {name}")
            s %= size
    if s and len(parts) < 2:
        parts.append(f"{s} s")
    return " ".join(parts[:2])
