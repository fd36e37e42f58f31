"""Real parts for the diagnostics integration tests: one ingest incident on a moto server.

The moto server and the incident (emulator/scenario.py: the real scheduler and worker against
moto over HTTP and the local source API) are made once per session; the AWS variables point at
the server only inside the tests that ask for ``diag_aws`` (as the ingest suite does), so other
suites' servers are left alone. The captured lines are also put into CloudWatch Logs groups on
moto, so the CLI can read them over HTTP through boto3; their EMF metrics are put as CloudWatch
would extract them (emulator/cloudwatch.py), the shipped alarms are created, and the one the
incident makes fire is set to ALARM (moto never evaluates alarms; CloudWatch would have).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from emulator.cloudwatch import deploy_alarms, publish_metrics
from emulator.moto_server import FAKE_ENV, moto_server
from emulator.scenario import ScenarioResult, publish_to_cloudwatch, run_scenario, write_outputs

_OVERRIDES = ("AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL_SQS", "AWS_MAX_ATTEMPTS")


REPO = Path(__file__).resolve().parents[3]


@dataclass
class Incident:
    result: ScenarioResult
    out: Path  # ingest.jsonl, s3/quarantine/..., dlq.jsonl
    log_groups: list[str]
    endpoint: str
    alarms: list[str]  # created on moto

    def env(self) -> dict[str, str]:
        """The environment a CLI subprocess needs to reach moto."""
        env = {k: v for k, v in os.environ.items() if k not in _OVERRIDES}
        env.update(FAKE_ENV)
        env["AWS_ENDPOINT_URL"] = self.endpoint
        return env


def _point_at(mp: pytest.MonkeyPatch, url: str) -> None:
    for k, v in FAKE_ENV.items():
        mp.setenv(k, v)
    mp.setenv("AWS_ENDPOINT_URL", url)
    for k in _OVERRIDES:
        mp.delenv(k, raising=False)


@pytest.fixture(scope="session")
def diag_moto() -> Iterator[str]:
    with moto_server(set_env=False) as url:  # tests opt in to it, see the fixture below
        yield url


def _clear_of_a_period_boundary(margin_s: float = 45.0, period_s: int = 300) -> None:
    """Wait, if need be, so the run (about 10 s) cannot straddle a 5-minute alarm period: then every
    breaching value falls in one period and the alarm's triage covers every quarantined record."""
    left = period_s - time.time() % period_s
    if left < margin_s:
        time.sleep(left + 0.5)


@pytest.fixture(scope="session")
def diag_incident(diag_moto: str, tmp_path_factory: pytest.TempPathFactory) -> Incident:
    with pytest.MonkeyPatch.context() as mp:
        _point_at(mp, diag_moto)
        _clear_of_a_period_boundary()
        result = run_scenario()
        out = tmp_path_factory.mktemp("incident")
        write_outputs(result, out)
        groups = sorted(publish_to_cloudwatch(result.lines))
        publish_metrics(result.lines)
        alarms = deploy_alarms(REPO / "terraform" / "generated", environment=result.environment)
        import boto3

        boto3.client("cloudwatch").set_alarm_state(
            AlarmName=result.quarantine_alarm,
            StateValue="ALARM",
            StateReason="Threshold Crossed (set by the test)",
        )
    return Incident(result, out, groups, diag_moto, alarms)


@pytest.fixture
def diag_aws(diag_incident: Incident, monkeypatch: pytest.MonkeyPatch) -> Incident:
    """The incident, with this process's boto3 pointed at its moto server."""
    _point_at(monkeypatch, diag_incident.endpoint)
    return diag_incident
