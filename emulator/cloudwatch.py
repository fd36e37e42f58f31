"""What CloudWatch does with what Lambda writes, done for a moto server (which does not).

- :func:`publish_metrics`: the metrics CloudWatch extracts from EMF documents, put with
  ``PutMetricData`` as one statistic set (count, sum, min, max) per metric, dimension set and
  minute; so ``GetMetricData`` answers Sum, SampleCount, Average, Minimum and Maximum as
  CloudWatch would (moto has no percentiles; its answer for pNN is empty).
- :func:`deploy_alarms`: the alarms of ``<pipeline>.alarms.json`` put with ``PutMetricAlarm``,
  placeholders filled as terraform's ``alarm_specs`` module does. moto never evaluates them: a
  test sets their state (``SetAlarmState``) where CloudWatch would have.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any


def emf_metric_data(lines: Iterable[str]) -> dict[str, list[dict[str, Any]]]:
    """Namespace -> ``MetricData`` entries (statistic sets per minute) for the EMF documents in ``lines``."""
    from datetime import UTC, datetime

    sets: dict[tuple[str, str, tuple[tuple[str, str], ...], int, str], list[float]] = {}
    for raw in lines:
        doc = json.loads(raw)
        aws = doc.get("_aws")
        if not isinstance(aws, dict):
            continue
        minute = int(aws["Timestamp"]) // 60_000 * 60_000
        for directive in aws.get("CloudWatchMetrics") or []:
            ns = directive["Namespace"]
            for dim_set in directive.get("Dimensions") or [[]]:
                dims = tuple(sorted((d, str(doc[d])) for d in dim_set))
                for m in directive.get("Metrics") or []:
                    value = doc.get(m["Name"])
                    values = value if isinstance(value, list) else [value]
                    key = (ns, m["Name"], dims, minute, m.get("Unit") or "None")
                    sets.setdefault(key, []).extend(float(v) for v in values if isinstance(v, int | float))
    out: dict[str, list[dict[str, Any]]] = {}
    for (ns, name, dims, minute, unit), values in sets.items():
        if not values:
            continue
        out.setdefault(ns, []).append(
            {
                "MetricName": name,
                "Dimensions": [{"Name": k, "Value": v} for k, v in dims],
                "Timestamp": datetime.fromtimestamp(minute / 1000, UTC),
                "StatisticValues": {
                    "SampleCount": float(len(values)),
                    "Sum": float(sum(values)),
                    "Minimum": float(min(values)),
                    "Maximum": float(max(values)),
                },
                "Unit": unit,
            }
        )
    return out


def publish_metrics(lines: Iterable[str], *, client: Any = None, chunk: int = 500) -> int:
    """Put the EMF documents' metrics; returns the number of statistic sets put."""
    import boto3

    cw = client or boto3.client("cloudwatch")
    n = 0
    for ns, data in emf_metric_data(lines).items():
        for i in range(0, len(data), chunk):
            cw.put_metric_data(Namespace=ns, MetricData=data[i : i + chunk])
            n += len(data[i : i + chunk])
    return n


def _dims(d: dict[str, str] | None) -> list[dict[str, str]]:
    return [{"Name": k, "Value": v} for k, v in sorted((d or {}).items())]


def deploy_alarms(
    alarms_dir: str | Path,
    *,
    environment: str,
    namespace: str = "DataPipelines",
    region: str = "ap-southeast-1",
    client: Any = None,
) -> list[str]:
    """``PutMetricAlarm`` for every alarm of every ``*.alarms.json`` in ``alarms_dir``; returns the names."""
    import boto3

    cw = client or boto3.client("cloudwatch")
    names = []
    for f in sorted(Path(alarms_dir).glob("*.alarms.json")):
        text = f.read_text(encoding="utf-8")
        for k, v in (("environment", environment), ("region", region), ("namespace", namespace)):
            text = text.replace("${" + k + "}", v)
        for a in json.loads(text):
            kwargs: dict[str, Any] = {
                "AlarmName": a["name"],
                "AlarmDescription": a.get("description", ""),
                "ComparisonOperator": a["comparison_operator"],
                "EvaluationPeriods": a["evaluation_periods"],
                "DatapointsToAlarm": a["datapoints_to_alarm"],
                "Threshold": float(a["threshold"]),
                "TreatMissingData": a.get("treat_missing_data", "missing"),
            }
            if a.get("metric_queries"):
                kwargs["Metrics"] = [
                    {
                        "Id": q["id"],
                        "ReturnData": bool(q.get("return_data")),
                        **({"Expression": q["expression"]} if q.get("expression") else {}),
                        **({"Label": q["label"]} if q.get("label") else {}),
                        **(
                            {
                                "MetricStat": {
                                    "Metric": {
                                        "Namespace": q["metric"]["namespace"],
                                        "MetricName": q["metric"]["metric_name"],
                                        "Dimensions": _dims(q["metric"].get("dimensions")),
                                    },
                                    "Period": q["metric"]["period"],
                                    "Stat": q["metric"]["stat"],
                                }
                            }
                            if q.get("metric")
                            else {}
                        ),
                    }
                    for q in a["metric_queries"]
                ]
            else:
                kwargs.update(
                    MetricName=a["metric_name"],
                    Namespace=a["namespace"],
                    Dimensions=_dims(a.get("dimensions")),
                    Period=a["period"],
                )
                if a.get("extended_statistic"):
                    kwargs["ExtendedStatistic"] = a["extended_statistic"]
                else:
                    kwargs["Statistic"] = a["statistic"]
            cw.put_metric_alarm(**kwargs)
            names.append(a["name"])
    return names
