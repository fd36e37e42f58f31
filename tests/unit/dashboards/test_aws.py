"""The AWS metrics a team's functions and queues get on their dashboard and alarms: AWS/Lambda and
AWS/SQS widgets per declared function and queue, the recommended alarms, their per-environment
overrides, and the errors a bad declaration gets."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from dashboards import factory
from dashboards.build import manifest
from dashboards.config import specs
from dashboards.monitoring import build_alarms, build_dashboard, validate
from observe import catalogue, project
from observe.project import ConfigFileError

SOURCE = "orders/observe.toml"
AGE = "AWS/SQS/ApproximateAgeOfOldestMessage"
SEV = "critical"
#: A team's pipeline, nothing of this project's: a consumer reading a queue, an API function whose
#: deployed name differs from its SERVICE_NAME, a DLQ of asynchronous invocations.
TEAM: dict[str, Any] = {
    "pipelines": {
        "orders": {
            "services": ["orders-api", "orders-consumer"],
            "functions": {
                "orders-api": {"timeout": 10, "name": "orders-http"},
                "orders-consumer": {"timeout": 50},
            },
            "queues": {
                "orders-jobs": {"consumer": "orders-consumer", "dlq": "orders-jobs-dead"},
                "orders-api-failed": {"dead_letter_of": "orders-api"},
            },
        }
    }
}


def team(**changes: Any) -> dict[str, Any]:
    data = copy.deepcopy(TEAM)
    data["pipelines"]["orders"].update(changes)
    return data


def build(data: dict[str, Any], env: str = "prd") -> tuple[dict[str, Any], list[dict[str, Any]]]:
    spec = specs(project.build(data, SOURCE), env)["orders"]
    return build_dashboard(spec), build_alarms(spec)


def widget(body: dict[str, Any], title: str) -> dict[str, Any]:
    (found,) = [w for w in body["widgets"] if w["properties"].get("title") == title]
    return found


def by_name(alarms: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {a["name"].replace("-${environment}", ""): a for a in alarms}


OPS = {"GreaterThanThreshold": ">", "GreaterThanOrEqualToThreshold": ">="}


def problems(data: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfigFileError) as err:
        project.build(data, SOURCE)
    return err.value.problems


# --- widgets -------------------------------------------------------------------------------------------


def test_each_function_gets_lambda_errors_throttles_duration_against_its_timeout() -> None:
    body, _ = build(TEAM)
    api = widget(body, "orders-api: Lambda errors, throttles")["properties"]
    assert [row[:4] for row in api["metrics"]] == [
        ["AWS/Lambda", "Errors", "FunctionName", "${resource_prefix}orders-http"],
        ["AWS/Lambda", "Throttles", "FunctionName", "${resource_prefix}orders-http"],
    ]  # the deployed name, not the SERVICE_NAME
    assert [row[4]["stat"] for row in api["metrics"]] == ["Sum", "Sum"]
    duration = widget(body, "orders-consumer: Lambda duration (ms)")["properties"]
    assert [(row[3], row[4]["stat"]) for row in duration["metrics"]] == [
        ("${resource_prefix}orders-consumer", "p99"),
        ("${resource_prefix}orders-consumer", "Maximum"),
    ]
    lines = {a["label"]: a["value"] for a in duration["annotations"]["horizontal"]}
    assert lines == {"timeout 50 s": 50_000, "warning: p99 >= 45000 ms": 45_000}
    errors = widget(body, "orders-api: Lambda errors, throttles")["properties"]["annotations"]["horizontal"]
    assert [(a["label"], a["value"]) for a in errors] == [("warning: errors or throttles > 0 count", 0)]
    concurrency = widget(body, "Lambda concurrent executions")["properties"]
    assert [(row[1], row[3], row[4]["stat"]) for row in concurrency["metrics"]] == [
        ("ConcurrentExecutions", "${resource_prefix}orders-http", "Maximum"),
        ("ConcurrentExecutions", "${resource_prefix}orders-consumer", "Maximum"),
    ]


def test_each_queue_gets_depth_and_age_of_the_oldest_message() -> None:
    body, _ = build(TEAM)
    for queue in ("orders-jobs", "orders-jobs-dead", "orders-api-failed"):
        props = widget(body, f"{queue}: depth, oldest (s)")["properties"]
        assert [(r[0], r[1], r[2], r[3], r[4].get("yAxis", "left")) for r in props["metrics"]] == [
            (
                "AWS/SQS",
                "ApproximateNumberOfMessagesVisible",
                "QueueName",
                f"${{resource_prefix}}{queue}",
                "left",
            ),
            (
                "AWS/SQS",
                "ApproximateAgeOfOldestMessage",
                "QueueName",
                f"${{resource_prefix}}{queue}",
                "right",
            ),
        ]
        assert props["yAxis"]["left"]["label"] == "count" and props["yAxis"]["right"]["label"] == "s"
    jobs = widget(body, "orders-jobs: depth, oldest (s)")["properties"]["annotations"]["horizontal"]
    assert jobs == [
        {
            "label": "warning: oldest >= 300 s",
            "value": 300,
            "color": "#ff7f0e",
            "yAxis": "right",
        }
    ]  # 6 x the consumer's 50 s timeout: its visibility timeout
    first_row = widget(body, "dead-letter queues: messages waiting")["properties"]
    assert [row[3] for row in first_row["metrics"]] == [
        "${resource_prefix}orders-api-failed",
        "${resource_prefix}orders-jobs-dead",
    ]  # the declared DLQs by name, not a search by words
    assert [a["value"] for a in first_row["annotations"]["horizontal"]] == [0]


def test_nothing_declared_means_no_aws_widgets_or_alarms() -> None:
    body, alarms = build({"pipelines": {"orders": {"services": ["orders-api"]}}})
    text = json.dumps(body)
    assert '"AWS/Lambda"' not in text and "resource_prefix" not in text
    assert (
        "SEARCH("
        in widget(body, "dead-letter queues: messages waiting")["properties"]["metrics"][0][0]["expression"]
    )
    assert not [a for a in alarms if a["metric"].startswith("AWS/")]


# --- the recommended alarms ------------------------------------------------------------------------------


def test_recommended_alarms_have_their_thresholds_statistics_and_periods() -> None:
    _, alarms = build(TEAM)
    named = {n: a for n, a in by_name(alarms).items() if a["metric"].startswith("AWS/")}
    rules = {
        n: (
            a["threshold"],
            OPS[a["comparison_operator"]],
            a.get("statistic") or a.get("extended_statistic"),
            a["period"],
            f"{a['datapoints_to_alarm']}/{a['evaluation_periods']}",
            a["severity"],
        )
        for n, a in named.items()
    }
    assert rules == {
        "orders-api-LambdaErrors": (0, ">", "Sum", 300, "1/1", "warning"),
        "orders-consumer-LambdaErrors": (0, ">", "Sum", 300, "1/1", "warning"),
        "orders-api-LambdaThrottles": (0, ">", "Sum", 300, "2/3", "warning"),
        "orders-consumer-LambdaThrottles": (0, ">", "Sum", 300, "2/3", "warning"),
        "orders-api-LambdaDuration": (9000, ">=", "p99", 300, "1/1", "warning"),  # 90 % of 10 s
        "orders-consumer-LambdaDuration": (45000, ">=", "p99", 300, "1/1", "warning"),
        "orders-jobs-OldestMessageAge": (300, ">=", "Maximum", 60, "15/15", "warning"),
        "orders-jobs-dead-MessagesVisible": (0, ">", "Maximum", 60, "1/1", "critical"),
        "orders-api-failed-MessagesVisible": (0, ">", "Maximum", 60, "1/1", "critical"),
    }
    dims = {n: a["dimensions"] for n, a in named.items()}
    assert dims["orders-api-LambdaDuration"] == {"FunctionName": "${resource_prefix}orders-http"}
    assert dims["orders-jobs-OldestMessageAge"] == {"QueueName": "${resource_prefix}orders-jobs"}
    assert {a["namespace"] for a in named.values()} == {"AWS/Lambda", "AWS/SQS"}
    # triage reads the logs of the service behind each: a DLQ's is whose failures land in it
    assert named["orders-jobs-dead-MessagesVisible"]["service"] == "orders-consumer"
    assert named["orders-api-failed-MessagesVisible"]["service"] == "orders-api"
    assert "AWS/Lambda/ConcurrentExecutions" not in {a["metric"] for a in alarms}  # needs a threshold
    assert "90% of its 50 s timeout" in named["orders-consumer-LambdaDuration"]["description"]


def test_a_declared_visibility_timeout_sets_the_age_alarm() -> None:
    data = team()
    data["pipelines"]["orders"]["queues"]["orders-jobs"]["visibility_timeout"] = 900
    _, alarms = build(data)
    assert by_name(alarms)["orders-jobs-OldestMessageAge"]["threshold"] == 900


def test_alarms_are_tuned_and_switched_off_per_environment() -> None:
    data = team(
        alarms=[
            {"metric": AGE, "threshold": 1800, "environments": {"dev": {"enabled": False}}},
            {"metric": "AWS/Lambda/Duration", "threshold": 75, "environments": {"prd": {"severity": SEV}}},
            {"metric": "AWS/Lambda/Errors", "enabled": False, "environments": {"prd": {"enabled": True}}},
            {"metric": "AWS/Lambda/ConcurrentExecutions", "threshold": 80},
            {"metric": "Timeouts"},
        ]
    )  # fmt: skip
    _, prd = build(data, "prd")
    _, dev = build(data, "dev")
    prd_named, dev_named = by_name(prd), by_name(dev)
    assert prd_named["orders-jobs-OldestMessageAge"]["threshold"] == 1800
    assert "orders-jobs-OldestMessageAge" not in dev_named
    assert prd_named["orders-consumer-LambdaDuration"]["threshold"] == 37_500  # 75 % of 50 s
    assert (
        prd_named["orders-consumer-LambdaDuration"]["severity"],
        dev_named["orders-consumer-LambdaDuration"]["severity"],
    ) == ("critical", "warning")
    assert "orders-api-LambdaErrors" in prd_named and "orders-api-LambdaErrors" not in dev_named
    concurrency = prd_named["orders-api-LambdaConcurrentExecutions"]
    assert (concurrency["threshold"], concurrency["statistic"], concurrency["evaluation_periods"]) == (
        80,
        "Maximum",
        10,
    )
    timeouts = prd_named["orders-consumer-Timeouts"]  # the EMF metric of the deadline watchdog
    assert (timeouts["namespace"], timeouts["threshold"], timeouts["comparison_operator"]) == (
        "${namespace}",
        1,
        "GreaterThanOrEqualToThreshold",
    )
    body, _ = build(data, "dev")
    assert "oldest >=" not in json.dumps(body)  # no line for an alarm that is off


def test_every_aws_widget_passes_the_validator_and_its_alarms_are_drawn() -> None:
    body, alarms = build(TEAM)
    assert validate(body) == []
    values = {
        (row[3].removeprefix("${resource_prefix}"), a["value"])
        for w in body["widgets"]
        if w["type"] == "metric"
        for a in w["properties"].get("annotations", {}).get("horizontal", [])
        for row in w["properties"]["metrics"]
        if isinstance(row[0], str) and row[0].startswith("AWS/")
    }
    for a in alarms:
        if a["metric"].startswith("AWS/"):
            assert (a["resource"], a["threshold"]) in values, a["name"]


def test_the_validator_knows_the_units_of_aws_metrics() -> None:
    duration = factory.aws_metric("AWS/Lambda", "Duration", "f", stat="p99", label="p99")
    errors = factory.aws_metric("AWS/Lambda", "Errors", "f", stat="Sum", label="errors")
    widget = {
        "type": "metric",
        "x": 0,
        "y": 2,
        "width": 8,
        "height": 6,
        "properties": {
            "title": "w",
            "metrics": [duration, errors],
            "yAxis": {"left": {"label": "ms", "min": 0}},
        },
    }
    status = {"type": "alarm", "x": 0, "y": 0, "width": 24, "height": 2, "properties": {"title": "a"}}
    assert any("mixes units ['Count', 'Milliseconds']" in p for p in validate({"widgets": [status, widget]}))
    unknown = ["AWS/Lambda", "IteratorAge", "FunctionName", "f", {"stat": "Maximum"}]
    widget["properties"]["metrics"] = [unknown]
    assert any("is not known" in p for p in validate({"widgets": [status, widget]}))
    with pytest.raises(ValueError, match="not an AWS metric"):
        factory.aws_metric("AWS/Lambda", "IteratorAge", "f", stat="Maximum", label="x")


def test_the_manifest_carries_each_function_s_timeout_for_terraform() -> None:
    functions = manifest(project.build(TEAM, SOURCE))["functions"]
    assert functions == {
        "orders": {
            "orders-api": {"name": "orders-http", "timeout": 10},
            "orders-consumer": {"name": "orders-consumer", "timeout": 50},
        }
    }


def test_the_aws_metrics_are_one_table() -> None:
    assert set(catalogue.AWS_UNITS) == {(m.namespace, m.name) for m in catalogue.AWS_METRICS.values()}
    assert catalogue.AWS_METRICS["AWS/SQS/ApproximateNumberOfMessagesVisible"].target == "dlq"


# --- what a bad declaration gets -------------------------------------------------------------------------


def test_a_bad_queue_declaration_names_file_table_and_key() -> None:
    data = team()
    data["pipelines"]["orders"]["queues"]["orders-jobs"]["consumer"] = "orders-worker"
    data["pipelines"]["orders"]["queues"]["orders-jobs"]["retention"] = 60
    found = problems(data)
    assert (
        "orders/observe.toml: [pipelines.orders.queues.orders-jobs] consumer 'orders-worker' is not one of "
        "this pipeline's services (orders-api, orders-consumer)"
    ) in found
    assert any(
        p.startswith("orders/observe.toml: [pipelines.orders.queues.orders-jobs] unknown key 'retention'")
        for p in found
    )


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            {"queues": {"orders-jobs": {"dlq": "orders-jobs"}}},
            "[pipelines.orders.queues.orders-jobs] dlq 'orders-jobs' must name another queue",
        ),
        (
            {
                "queues": {
                    "a": {"dlq": "b", "consumer": "orders-consumer"},
                    "b": {"dead_letter_of": "orders-api"},
                }
            },
            "[pipelines.orders.queues.b] is the dlq of 'a' already; do not declare it again",
        ),
        (
            {"queues": {"orders-jobs": {"dead_letter_of": "orders-api", "consumer": "orders-consumer"}}},
            "[pipelines.orders.queues.orders-jobs] dead_letter_of marks a dead-letter queue: it takes no",
        ),
        (
            {"queues": {"orders jobs": {"consumer": "orders-consumer"}}},
            "[pipelines.orders.queues.orders jobs] a queue name (without the deployment's prefix) is 1-80",
        ),
        (
            {"functions": {}, "queues": {"orders-jobs": {"consumer": "orders-consumer"}}},
            "[pipelines.orders.queues.orders-jobs] the age alarm's threshold defaults to the queue's",
        ),
        (
            {"functions": {"orders-api": {"timeout": 0}}},
            "[pipelines.orders.functions.orders-api] timeout must be the function's timeout in whole seconds",
        ),
        (
            {"functions": {"orders-cron": {"timeout": 10}}},
            "[pipelines.orders.functions.orders-cron] 'orders-cron' is not one of this pipeline's services",
        ),
        (
            {"functions": {}, "alarms": [{"metric": "AWS/Lambda/Throttles"}]},
            "[pipelines.orders.alarms[0] (AWS/Lambda/Throttles)] it watches [pipelines.orders.functions]",
        ),
        (
            {"alarms": [{"metric": "AWS/Lambda/Duration", "threshold": 120}]},
            "threshold is a percentage of each function's timeout (0-100], got 120",
        ),
        (
            {"alarms": [{"metric": "AWS/Lambda/ConcurrentExecutions"}]},
            "threshold is missing (AWS/Lambda/ConcurrentExecutions suggests none)",
        ),
        (
            {"alarms": [{"metric": "AWS/Lambda/Throtles"}]},
            "metric 'AWS/Lambda/Throtles' is not declared; did you mean 'AWS/Lambda/Throttles'?",
        ),
    ],
)
def test_bad_declarations_are_refused_with_the_fix(change: dict[str, Any], expected: str) -> None:
    found = problems(team(**change))
    assert any(expected in p for p in found), found
    assert all(p.startswith(f"{SOURCE}: ") for p in found)
