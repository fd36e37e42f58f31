"""Readable rendering of what observe wrote: log lines and EMF documents, for the demos."""

from __future__ import annotations

import json
from typing import Any

STANDARD = {
    "timestamp",
    "level",
    "message",
    "logger",
    "service",
    "pipeline",
    "environment",
    "function_name",
    "function_version",
    "cold_start",
    "aws_request_id",
    "correlation_id",
}
COLOURS = {"debug": "\033[2m", "info": "\033[36m", "warning": "\033[33m", "error": "\033[31m"}
RESET = "\033[0m"


def heading(text: str) -> None:
    """A section title."""
    print(f"\n\033[1m== {text} ==\033[0m")


def _short(value: Any, width: int = 60) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= width else text[: width - 3] + "..."


def render(text: str, *, raw: bool = False) -> None:
    """Print each captured line: logs as `time level [cid] message key=value`, EMF as a metric table."""
    for line in text.splitlines():
        if not line.strip():
            continue
        doc = json.loads(line)
        if raw:
            print("  " + _short(line, 160))
        if "_aws" in doc:
            directive = doc["_aws"]["CloudWatchMetrics"][0]
            dims = ", ".join(f"{d}={doc[d]}" for d in directive["Dimensions"][0])
            values = "  ".join(
                f"{m['Name']}={_fmt(doc[m['Name']])}{_unit(m['Unit'])}" for m in directive["Metrics"]
            )
            print(f"  \033[35mEMF\033[0m [{dims}]\n      {values}")
            continue
        colour = COLOURS.get(doc.get("level", ""), "")
        extras = " ".join(
            f"{k}={_short(v, 40)}" for k, v in doc.items() if k not in STANDARD and k != "exception"
        )
        cid = (doc.get("correlation_id") or "-")[:13]
        print(
            f"  {doc['timestamp'][11:]} {colour}{doc['level']:<7}{RESET} [{cid}] {doc['message']}  {extras}"
        )
        if "exception" in doc:
            print(f"      exception: {doc['exception']['type']}: {doc['exception']['message']}")


def _fmt(value: Any) -> str:
    if isinstance(value, list):
        return f"[{len(value)} values]"
    return f"{value:.2f}" if isinstance(value, float) else str(value)


def _unit(unit: str) -> str:
    return {"Milliseconds": "ms", "Megabytes": "MB", "Percent": "%", "Count": ""}.get(unit, f" {unit}")


def platform_line(label: str, line: str, width: int = 80) -> None:
    """A platform line (``REPORT``, ``INIT_REPORT``) of function ``label``: its tab-separated
    fields packed into lines that fit ``width`` columns, under the label."""
    fields = [f for f in line.strip().split("\t") if f]
    lead = f"  {label:<17}"
    lines = [lead + fields[0]]
    for f in fields[1:]:
        if len(lines[-1]) + 2 + len(f) <= width and lines[-1] != lead + fields[0]:
            lines[-1] += "  " + f
        else:
            lines.append(" " * len(lead) + f)
    print("\n".join(lines))
