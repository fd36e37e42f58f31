"""The alarms triaged are the team's own: built from its observe.toml, per environment."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dashboards.build import alarm_specs
from dashboards.config import load
from diagnostics.alarms import find_alarm, from_config
from diagnostics.cli import main
from diagnostics.core import Diagnostics
from observe import project
from observe.metrics import MetricsBuffer, documents
from tests.unit.diagnostics.diag_builders import at

TEAM = """
namespace = "Orders"

[metrics.OrdersRejected]
unit = "Count"
description = "Paid orders that cannot be shipped."

[pipelines.orders]
title = "Order shipping"
services = ["orders-shipper"]

[pipelines.orders.emits]
orders-shipper = ["OrdersRejected"]

[[pipelines.orders.alarms]]
metric = "OrdersRejected"
threshold = 3
environments.prd = { threshold = 10, severity = "critical" }
"""


@pytest.fixture
def team(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A team's project directory holding only its observe.toml, as the working directory."""
    monkeypatch.delenv(project.ENV_VAR, raising=False)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "observe.toml").write_text(TEAM)
    project.reset()  # a process triages one project: none loaded before
    yield tmp_path
    project.reset()


def _rejected(path: Path, env: str, value: float) -> Path:
    buf = MetricsBuffer()
    buf.add("OrdersRejected", value)
    docs = documents(
        buf,
        {"service": "orders-shipper", "pipeline": "orders", "environment": env},
        {"aws_request_id": f"r-{env}", "correlation_id": f"order-{env}", "function_name": "orders-shipper"},
        timestamp_ms=int(at(10).timestamp() * 1000),
    )
    path.write_text("\n".join(json.dumps(d) for d in docs) + "\n")
    return path


def test_the_specs_are_those_the_configuration_deploys_in_each_environment(team: Path) -> None:
    configured = from_config()  # found from the working directory, as the CLI finds it
    assert configured is not None and configured.path == team / "observe.toml"
    assert configured.namespace == "Orders" and configured.environments == ("dev", "stg", "prd")
    dev = find_alarm(configured.specs, "orders-shipper-OrdersRejected-dev")
    prd = find_alarm(configured.specs, "orders-shipper-OrdersRejected-prd")
    assert (dev.threshold, dev.severity, dev.environment) == (3, "warning", "dev")
    assert (prd.threshold, prd.severity, prd.environment) == (10, "critical", "prd")
    built = alarm_specs(load(team / "observe.toml"), "prd")["orders"]  # what Terraform is given
    assert [(a["name"], a["threshold"]) for a in built] == [(prd.name, prd.threshold)]


def test_triage_uses_the_teams_thresholds_and_says_where_they_came_from(
    team: Path, capsys: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    assert (
        main(
            [
                "alarm",
                "orders-shipper-OrdersRejected-dev",
                "--logs",
                str(_rejected(team / "d.jsonl", "dev", 5)),
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "OrdersRejected >= 3 per 5 min" in out
    assert "alarms: configuration observe.toml, built for dev/stg/prd" in out
    logs = _rejected(team / "p.jsonl", "prd", 5)
    assert main(["alarm", "orders-shipper-OrdersRejected-prd", "--logs", str(logs), "--json"]) == 1  # 5 < 10
    assert json.loads(capsys.readouterr().out)["rule"].startswith("Sum of OrdersRejected >= 10")
    diag = Diagnostics.load(logs=logs, config=team / "observe.toml")
    assert [e.alarm.name for e in diag.alarm_states()] == ["orders-shipper-OrdersRejected-prd"]


def test_a_configuration_that_cannot_be_used_is_an_error_naming_it(
    team: Path, capsys: Any, tmp_path: Path
) -> None:
    logs = str(_rejected(team / "d.jsonl", "dev", 5))
    bad = tmp_path / "bad.toml"
    bad.write_text('[[pipelines.orders.alarms]]\nmetric = "Nope"\n')
    assert main(["alarm", "--logs", logs, "--config", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "observe-diag: error: --config: bad.toml" in err and "Traceback" not in err
    assert main(["alarm", "--logs", logs, "--config", str(tmp_path / "none.toml")]) == 2
    assert "none.toml" in capsys.readouterr().err
    assert main(["alarm", "--logs", logs, "--config", str(bad), "--alarms-dir", str(tmp_path)]) == 2
    assert "give --config or --alarms-dir, not both" in capsys.readouterr().err


def test_without_a_configuration_the_alarms_are_said_not_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(project.ENV_VAR, raising=False)
    monkeypatch.chdir(tmp_path)
    project.reset()
    logs = tmp_path / "d.jsonl"
    logs.write_text('{"message": "hello", "level": "info"}\n')
    diag = Diagnostics.load(logs=logs)
    assert diag.alarms == []
    assert (
        "alarm specs not read: no observe.toml found; pass --config FILE or --alarms-dir DIR"
        in diag.describe()
    )


AWS_TEAM = """
[pipelines.orders]
services = ["orders-shipper"]

[pipelines.orders.functions]
orders-shipper = { timeout = 120 }

[pipelines.orders.queues.orders-jobs]
consumer = "orders-shipper"
"""


def test_the_aws_alarms_look_up_the_deployed_function_and_queue_names(team: Path) -> None:
    """``${resource_prefix}`` is filled: as given, else as Terraform names them, else empty."""
    (team / "observe.toml").write_text(AWS_TEAM)
    configured = from_config(team / "observe.toml")
    assert configured is not None
    specs = configured.specs

    def function(name: str, prefix: str | None = None) -> dict[str, str]:
        return dict(find_alarm(specs, name, prefix).dimensions)

    # the name as declared: resources named as declared
    assert function("orders-shipper-LambdaErrors-dev") == {"FunctionName": "orders-shipper"}
    # the deployment's alarm prefix <project>-: Terraform's <project>-<env>- before the function
    assert function("acme-orders-shipper-LambdaErrors-prd") == {"FunctionName": "acme-prd-orders-shipper"}
    assert function("acme-orders-shipper-LambdaErrors-prd", "team7-") == {
        "FunctionName": "team7-orders-shipper"
    }
    queue = find_alarm(specs, "acme-orders-jobs-OldestMessageAge-stg")
    assert dict(queue.dimensions) == {"QueueName": "acme-stg-orders-jobs"}
    assert all("${" not in v for s in (queue,) for _, v in s.dimensions)


def test_the_aws_alarms_read_in_their_metrics_units() -> None:
    """Units come from the catalogue's AWS metrics: Duration in ms (shown in s), queue age in s."""
    from diagnostics.units import fmt_metric, unit_of

    assert unit_of("AWS/Lambda/Duration") == "Milliseconds"
    assert unit_of("AWS/SQS/ApproximateAgeOfOldestMessage") == "Seconds"
    assert unit_of("AWS/Lambda/Errors") == "Count"
    assert fmt_metric(108_000, "AWS/Lambda/Duration") == "108 s"
    assert fmt_metric(900, "AWS/SQS/ApproximateAgeOfOldestMessage") == "900 s"
