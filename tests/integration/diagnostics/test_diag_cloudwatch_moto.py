"""The CloudWatch calls against the moto server over HTTP: shapes, pagination, and the re-checks.

moto matches a quoted filter-pattern term as a substring, ignores Logs Insights ``filter`` and
``stats``, has no percentiles and never evaluates an alarm. Each test below makes sure that what
moto does not do cannot make the answer look right: the client re-checks every line, counts
what ``stats`` did not, and compares the metric datapoints with a replay of the same EMF documents.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import boto3
import pytest

from diagnostics.alarms import Replay, find_alarm, load_alarms
from diagnostics.cloudwatch import CloudWatchAlarms, CloudWatchMetrics
from diagnostics.core import Diagnostics
from diagnostics.model import Window
from diagnostics.queries import Selection
from diagnostics.sources import CloudWatchLogSource
from emulator.cloudwatch import publish_metrics
from tests.integration.diagnostics.conftest import REPO, Incident

pytestmark = pytest.mark.integration


def _group(prefix: str = "/aws/lambda/diag-") -> str:
    name = prefix + uuid.uuid4().hex[:8]
    boto3.client("logs").create_log_group(logGroupName=name)
    return name


def _put(group: str, stream: str, messages: list[tuple[int, str]]) -> None:
    logs = boto3.client("logs")
    logs.create_log_stream(logGroupName=group, logStreamName=stream)
    for i in range(0, len(messages), 5000):
        logs.put_log_events(
            logGroupName=group,
            logStreamName=stream,
            logEvents=[{"timestamp": t, "message": m} for t, m in messages[i : i + 5000]],
        )


def _line(t_ms: int, cid: str, level: str = "info", **extra: object) -> str:
    ts = datetime.fromtimestamp(t_ms / 1000, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return json.dumps({"timestamp": ts, "level": level, "message": "m", "correlation_id": cid, **extra})


def test_filter_log_events_is_paginated_and_a_longer_id_is_dropped_client_side(diag_aws: Incident) -> None:
    group = _group()
    t0 = int((datetime.now(UTC) - timedelta(minutes=30)).timestamp() * 1000)
    mine = [(t0 + i, _line(t0 + i, "run-42")) for i in range(10_050)]  # more than one page (10,000)
    longer = [(t0 + i, _line(t0 + i, "run-420")) for i in range(30)]  # the quoted term matches it too
    other = [(t0 + i, _line(t0 + i, "run-9")) for i in range(200)]
    _put(group, "a", sorted(mine + longer + other))
    src = CloudWatchLogSource([group], engine="filter")
    window = Window(datetime.fromtimestamp(t0 / 1000 - 1, UTC), datetime.now(UTC))
    got = list(src.read(Selection.ids(window, "correlation_id", ["run-42"])))
    assert len(got) == 10_050 and {d["correlation_id"] for d in got} == {"run-42"}
    st = src.stats
    assert st.requests >= 2, "paginated"
    assert st.lines_fetched == 10_080 and st.lines_matched == 10_050  # moto sent run-420 as well


def test_insights_on_moto_ignores_the_filter_and_the_re_check_catches_it(diag_aws: Incident) -> None:
    group = _group()
    t0 = int((datetime.now(UTC) - timedelta(minutes=20)).timestamp() * 1000)
    rows = [
        (t0 + i * 10, _line(t0 + i * 10, f"c-{i % 5}", level="error" if i % 5 == 0 else "info"))
        for i in range(100)
    ]
    _put(group, "a", rows)
    window = Window(datetime.fromtimestamp(t0 / 1000 - 1, UTC), datetime.now(UTC))
    src = CloudWatchLogSource([group], engine="insights", insights_limit=60)
    got = list(src.read(Selection.ids(window, "correlation_id", ["c-3"])))
    # moto returned the first 60 rows of every id (its `filter` is ignored); the client kept c-3's only
    assert {d["correlation_id"] for d in got} == {"c-3"} and len(got) == 12
    assert src.stats.lines_fetched == 60
    assert any("the limit of one query" in n for n in src.stats.notes)

    diag = Diagnostics([CloudWatchLogSource([group], engine="filter")], window=window)
    groups = diag.failures()  # stats ignored -> counted here from the error lines
    assert [(g.count, g.correlation_ids) for g in groups] == [(20, ["c-0"])]
    assert any("ignored `stats`" in n for n in diag.logs[0].stats.notes)


def test_metric_datapoints_from_moto_agree_with_a_replay_of_the_same_emf(diag_aws: Incident) -> None:
    """For every alarm whose statistic moto has, GetMetricData's datapoints equal the replay's."""
    r = diag_aws.result
    specs = load_alarms(REPO / "terraform" / "generated")
    emf = [json.loads(x) for x in r.lines if x.startswith('{"_aws"')]
    end = datetime.now(UTC)
    window = Window(end - timedelta(hours=1), end)
    replay = Replay(specs, window)
    for doc in emf:
        replay.add(doc)
    resolved = [
        s for s in replay.resolved() if s.pipeline == "ingest" and not (s.statistic or "").startswith("p")
    ]
    metrics = CloudWatchMetrics("DataPipelines")
    from_cloudwatch = {e.alarm.name: e for e in metrics.evaluate(resolved, window)}
    compared = 0
    for spec in resolved:
        mine = {d.start: d.value for d in replay.evaluation(spec).datapoints if d.value is not None}
        theirs = {d.start: d.value for d in from_cloudwatch[spec.name].datapoints if d.value is not None}
        assert theirs == pytest.approx(mine), spec.name
        compared += bool(mine)
    assert compared >= 6 and metrics.requests >= 1
    fired = from_cloudwatch[r.quarantine_alarm]
    assert fired.breaching and fired.breaching[0].value >= 100


def test_alarm_states_come_from_describe_alarms_and_a_missing_history_is_said(diag_aws: Incident) -> None:
    r = diag_aws.result
    states = CloudWatchAlarms()
    found = states.status([r.quarantine_alarm, f"ingest-worker-Throttles-{r.environment}", "no-such-alarm"])
    assert found[r.quarantine_alarm].state == "ALARM" and "no-such-alarm" not in found
    assert found[r.quarantine_alarm].since is not None
    specs = load_alarms(REPO / "terraform" / "generated")
    deployed = {s.name for s in states.deployed(specs)}
    assert r.quarantine_alarm in deployed and f"auth-login-ErrorRate-{r.environment}" in deployed
    end = datetime.now(UTC)
    assert states.history(r.quarantine_alarm, Window(end - timedelta(hours=1), end)) is None  # moto: 500
    assert "did not give the alarm history" in states.notes[0]


def test_an_alarm_moto_never_evaluated_is_flagged_not_trusted(diag_aws: Incident) -> None:
    """Deployed a second time under a prefix and left in its initial state: the datapoints breach, the
    state does not say so; the evaluation notes the disagreement instead of reporting OK quietly."""
    r = diag_aws.result
    cw = boto3.client("cloudwatch")
    prefix = f"t{uuid.uuid4().hex[:6]}"
    assert r.quarantine_alarm in diag_aws.alarms
    name = f"{prefix}-{r.quarantine_alarm}"
    described = cw.describe_alarms(AlarmNames=[r.quarantine_alarm])["MetricAlarms"][0]
    cw.put_metric_alarm(
        **{k: described[k] for k in ("MetricName", "Namespace", "Statistic", "Dimensions", "Period",
                                     "EvaluationPeriods", "Threshold", "ComparisonOperator")},
        AlarmName=name,
    )  # fmt: skip
    diag = Diagnostics.load(
        log_groups=diag_aws.log_groups,
        window=Window.build(since="1h"),
        alarms_dir=REPO / "terraform" / "generated",
    )
    t = diag.from_alarm(name)
    assert t.breaching and t.evaluation.state != "ALARM"
    assert any(f"CloudWatch says {t.evaluation.state}" in n and "breach the rule" in n for n in t.notes)
    assert t.invocations and t.correlation_ids, "the breach is still followed to its invocations"
    assert publish_metrics([]) == 0


def test_an_aws_lambda_alarm_reads_the_deployed_functions_metric(diag_aws: Incident) -> None:
    """``${resource_prefix}`` resolved as Terraform names functions: the deployed one's Errors are read."""
    env = diag_aws.result.environment
    end = datetime.now(UTC).replace(second=0, microsecond=0)
    cw = boto3.client("cloudwatch")
    for function, errors in ((f"acme-{env}-ingest-worker", 4.0), ("ingest-worker", 50.0)):
        cw.put_metric_data(
            Namespace="AWS/Lambda",
            MetricData=[
                {
                    "MetricName": "Errors",
                    "Dimensions": [{"Name": "FunctionName", "Value": function}],
                    "Timestamp": end - timedelta(minutes=10),
                    "Value": errors,
                    "Unit": "Count",
                }
            ],
        )
    spec = find_alarm(load_alarms(REPO / "terraform" / "generated"), f"acme-ingest-worker-LambdaErrors-{env}")
    ev = CloudWatchMetrics("DataPipelines").evaluate([spec], Window(end - timedelta(hours=1), end))[0]
    assert [d.value for d in ev.breaching] == [4.0]
    assert ev.alarm.threshold_text == "> 0"
