"""What the diagnostics send to CloudWatch and make of its answers, with botocore's Stubber.

The Stubber checks every request against the service model (names, types, required fields), so
these pin the calls' shapes; what moto does with them is tested over HTTP in
tests/integration/diagnostics/test_diag_cloudwatch_moto.py. Neither is real CloudWatch: the
answers here are written from the API reference.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber

from diagnostics.alarms import find_alarm, load_alarms
from diagnostics.cloudwatch import CloudWatchAlarms, CloudWatchMetrics, alarm_queries, run_insights
from diagnostics.model import SourceError, Window
from diagnostics.sources import ReadStats
from tests.unit.diagnostics.diag_builders import ALARMS_DIR, at


def _client(service: str) -> Any:
    return boto3.client(
        service, region_name="ap-southeast-1", aws_access_key_id="x", aws_secret_access_key="x"
    )


@pytest.fixture(scope="module")
def alarms() -> list:
    return load_alarms(ALARMS_DIR)


def test_alarm_queries_are_the_alarms_own_metric_statistic_and_math(alarms: list) -> None:
    spec = find_alarm(alarms, "ingest-worker-RecordsQuarantined-prd")
    (q,) = alarm_queries(spec, "DataPipelines", "a0")
    assert q == {
        "Id": "a0_m",
        "MetricStat": {
            "Metric": {
                "Namespace": "DataPipelines",
                "MetricName": "RecordsQuarantined",
                "Dimensions": [
                    {"Name": "environment", "Value": "prd"},
                    {"Name": "pipeline", "Value": "ingest"},
                    {"Name": "service", "Value": "ingest-worker"},
                ],
            },
            "Period": 300,
            "Stat": "Sum",
        },
        "ReturnData": True,
    }
    assert (
        alarm_queries(find_alarm(alarms, "ingest-worker-Duration-prd"), "NS", "a1")[0]["MetricStat"]["Stat"]
        == "p99"
    )
    rate = alarm_queries(find_alarm(alarms, "ingest-worker-ErrorRate-prd"), "NS", "a2")
    assert [(x["Id"], x.get("MetricStat", {}).get("Stat")) for x in rate] == [
        ("a2_errors", "Sum"),
        ("a2_invocations", "SampleCount"),
        ("a2_rate", None),
    ]
    assert rate[2]["Expression"] == "IF(a2_invocations > 0, 100 * a2_errors / a2_invocations, 0)"


def _result(qid: str, points: list[tuple[datetime, float]]) -> dict[str, Any]:
    return {
        "Id": qid,
        "Label": qid,
        "Timestamps": [t for t, _ in points],
        "Values": [v for _, v in points],
        "StatusCode": "Complete",
    }


def test_datapoints_come_from_get_metric_data_with_the_math_re_checked(alarms: list) -> None:
    spec = find_alarm(alarms, "ingest-worker-ErrorRate-dev")  # 100 * errors / invocations >= 5
    cw = _client("cloudwatch")
    metrics = CloudWatchMetrics("DataPipelines", client=cw)
    window = Window(at(0), at(900))
    with Stubber(cw) as stub:
        # two pages; the expression's own series is missing (an emulator that ignores metric math)
        stub.add_response(
            "get_metric_data",
            {"MetricDataResults": [_result("a0_errors", [(at(0), 1.0), (at(300), 0.0)])], "NextToken": "p2"},
            {
                "MetricDataQueries": ANY,
                "StartTime": at(0),
                "EndTime": at(900),
                "ScanBy": "TimestampAscending",
            },
        )
        stub.add_response(
            "get_metric_data",
            {"MetricDataResults": [_result("a0_invocations", [(at(0), 10.0), (at(300), 10.0)])]},
            {
                "MetricDataQueries": ANY,
                "StartTime": at(0),
                "EndTime": at(900),
                "ScanBy": "TimestampAscending",
                "NextToken": "p2",
            },
        )
        (ev,) = metrics.evaluate([spec], window)
    assert [(d.start, d.value, d.breaching) for d in ev.datapoints] == [
        (at(0), 10.0, True),
        (at(300), 0.0, False),
        (at(600), None, False),
    ]
    assert ev.source.startswith("CloudWatch GetMetricData") and metrics.requests == 2
    assert "computed here from its queries" in ev.notes[0]

    with Stubber(cw) as stub:  # CloudWatch's own result differs from the client's: its figure, and a note
        stub.add_response(
            "get_metric_data",
            {
                "MetricDataResults": [
                    _result("a0_errors", [(at(0), 1.0)]),
                    _result("a0_invocations", [(at(0), 10.0)]),
                    _result("a0_rate", [(at(0), 12.5)]),
                ]
            },
        )
        (ev,) = metrics.evaluate([spec], window)
    assert ev.datapoints[0].value == 12.5 and "CloudWatch computed 12.5 for the metric math" in ev.notes[0]


def _alarm(name: str, state: str, since: datetime) -> dict[str, Any]:
    return {
        "AlarmName": name,
        "StateValue": state,
        "StateUpdatedTimestamp": since,
        "StateReason": "Threshold Crossed",
    }


def _change(t: datetime, old: str, new: str) -> dict[str, Any]:
    data = {
        "version": "1.0",
        "oldState": {"stateValue": old},
        "newState": {"stateValue": new, "stateReason": "r"},
    }
    return {
        "AlarmName": "x",
        "Timestamp": t,
        "HistoryItemType": "StateUpdate",
        "HistorySummary": f"Alarm updated from {old} to {new}",
        "HistoryData": json.dumps(data),
    }


def test_state_now_and_the_history_say_when_it_fired_and_recovered(alarms: list) -> None:
    spec = find_alarm(alarms, "ingest-worker-RecordsQuarantined-dev")
    name = spec.name
    cw = _client("cloudwatch")
    states = CloudWatchAlarms(client=cw)
    window = Window(at(0), at(3600))
    ev = CloudWatchMetrics("NS", client=cw)
    with Stubber(cw) as stub:
        stub.add_response("get_metric_data", {"MetricDataResults": [_result("a0_m", [(at(0), 150.0)])]})
        stub.add_response(
            "describe_alarms",
            {"MetricAlarms": [_alarm(name, "OK", at(1200))]},
            {"AlarmNames": [name], "MaxRecords": 100},
        )
        stub.add_response(
            "describe_alarm_history",
            {"AlarmHistoryItems": [_change(at(300), "OK", "ALARM")], "NextToken": "n"},
            {
                "AlarmName": name,
                "HistoryItemType": "StateUpdate",
                "ScanBy": "TimestampAscending",
                "MaxRecords": 100,
                "StartDate": at(0),
                "EndDate": at(3600),
            },
        )
        stub.add_response("describe_alarm_history", {"AlarmHistoryItems": [_change(at(1200), "ALARM", "OK")]})
        (e,) = ev.evaluate([spec], window)
        states.attach([e], window, history_for=[name])
    assert e.state == "OK" and e.fired
    assert (e.entered_alarm, e.recovered_at) == (at(300), at(1200))
    assert e.summary().startswith(
        "OK; in ALARM from 2026-11-26T04:05:00.000Z; recovered 2026-11-26T04:20:00.000Z"
    )


def test_without_history_the_current_state_says_since_when_and_disagreement_is_noted(alarms: list) -> None:
    spec = find_alarm(alarms, "ingest-worker-RecordsQuarantined-dev")
    cw = _client("cloudwatch")
    states = CloudWatchAlarms(client=cw)
    window = Window(at(0), at(600))
    with Stubber(cw) as stub:
        stub.add_response("get_metric_data", {"MetricDataResults": [_result("a0_m", [(at(300), 150.0)])]})
        stub.add_response(
            "describe_alarms", {"MetricAlarms": [_alarm(spec.name, "INSUFFICIENT_DATA", at(10))]}
        )
        stub.add_client_error("describe_alarm_history", "InternalFailure", http_status_code=500)
        (e,) = CloudWatchMetrics("NS", client=cw).evaluate([spec], window)
        states.attach([e], window, history_for=[spec.name])
    assert e.state == "INSUFFICIENT_DATA" and e.history is None
    assert any("did not give the alarm history (InternalFailure)" in n for n in e.notes)
    assert any("CloudWatch says INSUFFICIENT_DATA" in n and "breach the rule" in n for n in e.notes)

    with Stubber(cw) as stub:  # an alarm not deployed: said so, and replayed from the datapoints
        stub.add_response("describe_alarms", {"MetricAlarms": []})
        states.attach([e], window)
    assert any("not found in CloudWatch" in n for n in e.notes)


def test_insights_is_polled_with_backoff_and_says_when_it_gives_up() -> None:
    logs = _client("logs")
    waits: list[float] = []
    stats = ReadStats()
    query = "fields @timestamp, @message | limit 2"
    with Stubber(logs) as stub:
        stub.add_response(
            "start_query",
            {"queryId": "q1"},
            {
                "logGroupNames": ["/g"],
                "startTime": int(at(0).timestamp()),
                "endTime": int(at(60).timestamp()) + 1,
                "queryString": query,
                "limit": 2,
            },
        )
        for status in ("Scheduled", "Running"):
            stub.add_response("get_query_results", {"status": status, "results": []}, {"queryId": "q1"})
        row = [
            {"field": "@timestamp", "value": "2026-11-26 04:00:01.000"},
            {"field": "@message", "value": "{}"},
        ]
        stub.add_response("get_query_results", {"status": "Complete", "results": [row, row]})
        rows = run_insights(logs, ["/g"], at(0), at(60), query, limit=2, stats=stats, sleep=waits.append)
    assert waits == [0.25, 0.5] and len(rows) == 2 and stats.requests == 4
    assert rows[0] == {"@timestamp": "2026-11-26 04:00:01.000", "@message": "{}"}
    assert "the limit of one query: the answer may be incomplete" in stats.notes[0]

    with Stubber(logs) as stub:
        stub.add_response("start_query", {"queryId": "q2"})
        stub.add_response("get_query_results", {"status": "Running", "results": []})
        stub.add_response("stop_query", {"success": True}, {"queryId": "q2"})
        with pytest.raises(SourceError, match=r"did not finish within 0\.1s \(status Running\)"):
            run_insights(logs, ["/g"], at(0), at(60), query, timeout=0.1, sleep=waits.append)
    with Stubber(logs) as stub:
        stub.add_response("start_query", {"queryId": "q3"})
        stub.add_response("get_query_results", {"status": "Failed", "results": []})
        with pytest.raises(SourceError, match="the query ended Failed"):
            run_insights(logs, ["/g"], at(0), at(60), query, sleep=waits.append)


def test_failures_are_counted_by_insights_and_merged_when_ids_differ(tmp_path: Any) -> None:
    from diagnostics.core import Diagnostics
    from diagnostics.sources import CloudWatchLogSource

    logs = _client("logs")
    src = CloudWatchLogSource(["/aws/lambda/ingest-worker"], client=logs)
    diag = Diagnostics([src], window=Window(at(0), at(3600)))

    def row(n: int, detail: str, cid: str) -> list[dict[str, str]]:
        values = {
            "svc": "ingest-worker",
            "logger": "observe.batch",
            "message": "record failed; it goes back to the queue",
            "etype": "ConnectionError",
            "detail": detail,
            "n": str(n),
            "first_seen": "2026-11-26 04:00:01.000",
            "last_seen": "2026-11-26 04:10:00.000",
            "cid": cid,
            "mid": "m-1",
            "rid": "r-1",
        }
        return [{"field": k, "value": v} for k, v in values.items()]

    with Stubber(logs) as stub:
        stub.add_response("start_query", {"queryId": "q"})
        stub.add_response(
            "get_query_results",
            {
                "status": "Complete",
                "results": [
                    row(3, "page-000003: HTTP 500", "run-1"),
                    row(2, "page-000004: HTTP 500", "run-2"),
                ],
            },
        )
        groups = diag.failures()
    assert [(g.count, g.error_type, g.kind, g.correlation_ids) for g in groups] == [
        (5, "ConnectionError", "record", ["run-1", "run-2"])
    ]
    assert groups[0].first_seen == at(1) and groups[0].last_seen == at(600)

    # rows without the count column: the service ignored `stats`; the lines are read and counted here
    line = {"timestamp": "2026-11-26T04:00:05.000Z", "level": "error", "message": "boom", "service": "s"}
    with Stubber(logs) as stub:
        stub.add_response("start_query", {"queryId": "q"})
        stub.add_response(
            "get_query_results", {"status": "Complete", "results": [[{"field": "@ptr", "value": "x"}]]}
        )
        stub.add_response(
            "filter_log_events", {"events": [{"timestamp": 1, "message": json.dumps(line), "eventId": "e1"}]}
        )
        groups = diag.failures()
    assert [(g.count, g.what) for g in groups] == [(1, "boom")]
    assert any("ignored `stats`" in n for n in src.stats.notes)


def test_history_items_without_json_fall_back_to_the_summary() -> None:
    from diagnostics.cloudwatch import _history_item

    got = _history_item(
        {"Timestamp": datetime(2026, 1, 1, tzinfo=UTC), "HistorySummary": "Alarm updated from ALARM to OK"}
    )
    assert got is not None and (got.old, got.new) == ("ALARM", "OK")
    assert (
        _history_item({"Timestamp": datetime(2026, 1, 1, tzinfo=UTC) + timedelta(0), "HistorySummary": "?"})
        is None
    )


def test_throttles_are_one_insights_row_per_invocation_and_source() -> None:
    from diagnostics.core import Diagnostics
    from diagnostics.queries import throttles_stats_query
    from diagnostics.sources import CloudWatchLogSource

    q = throttles_stats_query()
    assert q.startswith("filter not ispresent(_aws.Timestamp) and ispresent(throttle_source)")
    assert "by service, throttle_source, throttle_code, aws_request_id" in q and "count(*) as n" in q
    logs = _client("logs")
    diag = Diagnostics([CloudWatchLogSource(["/aws/lambda/w"], client=logs)], window=Window(at(0), at(3600)))
    values = {
        "service": "ingest-worker", "throttle_source": "http-429", "throttle_code": "429",
        "aws_request_id": "r-1", "t": "2026-11-26 04:00:07.000", "retry": "1.5", "cid": "run-1",
        "mid": "m-1", "returned": "3",
        "msg": "throttled: stopping this batch", "n": "2",
    }  # fmt: skip
    with Stubber(logs) as stub:
        stub.add_response("start_query", {"queryId": "q"}, {"logGroupNames": ["/aws/lambda/w"],
                          "startTime": ANY, "endTime": ANY, "queryString": q, "limit": 10_000})  # fmt: skip
        stub.add_response(
            "get_query_results",
            {"status": "Complete", "results": [[{"field": k, "value": v} for k, v in values.items()]]},
        )
        (e,) = diag.throttles()
    assert (e.time, e.source, e.code, e.retry_after_s, e.messages_returned) == (
        at(7),
        "http-429",
        "429",
        1.5,
        3,
    )
    assert (e.correlation_id, e.message_id, e.request_id) == ("run-1", "m-1", "r-1")
