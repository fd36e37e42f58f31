"""Turn a suite validation result into the project's signals: metrics and one log line.

``validate`` itself is pure (a dict in, a dict out); a handler that wants the failures on its
dashboard calls :func:`report_validation` once per batch. It never logs data values: GE's
``partial_unexpected_list`` may hold personal data, so only labels, counts and rates leave here.
"""

from __future__ import annotations

from typing import Any


def failed_expectations(result: dict[str, Any]) -> list[dict[str, Any]]:
    """The failed expectations of a validation result as small dicts (label, severity, counts)."""
    out = []
    for res in result.get("results", []):
        if res.get("success"):
            continue
        cfg = res.get("expectation_config", {})
        kwargs = cfg.get("kwargs", {})
        target = kwargs.get("column") or ",".join(kwargs.get("column_list") or [])
        label = f"{cfg.get('type')}:{target}" if target else str(cfg.get("type"))
        body = res.get("result") or {}
        entry: dict[str, Any] = {"expectation": label, "severity": cfg.get("severity", "critical")}
        for key in ("unexpected_count", "unexpected_percent", "element_count"):
            if body.get(key) is not None:
                entry[key] = body[key]
        if isinstance(body.get("observed_value"), int | float | bool):
            entry["observed_value"] = body["observed_value"]
        if (res.get("exception_info") or {}).get("raised_exception"):
            entry["error"] = True
        out.append(entry)
    return out


def report_validation(result: dict[str, Any], *, source: str | None = None) -> list[dict[str, Any]]:
    """Emit ``ExpectationFailures`` (dimension ``expectation`` = type) per failed expectation and one
    warning line listing them; return the list. Nothing is emitted when every expectation passed."""
    failed = failed_expectations(result)
    if not failed:
        return failed
    from observe import get_logger, metric

    for entry in failed:
        metric("ExpectationFailures", 1, expectation=entry["expectation"].split(":", 1)[0])
    get_logger("observe.checks").warning(
        "expectations failed",
        suite=result.get("suite_name"),
        source=source,
        failed=failed,
        evaluated=result.get("statistics", {}).get("evaluated_expectations"),
        rows=result.get("meta", {}).get("row_count"),
    )
    return failed
