"""The terraform code agrees with the Python it deploys: environment variables the pipelines
require, service names the dashboards and alarms watch, handler paths, the generated alarm JSON,
and the log fields the saved triage queries read."""

from __future__ import annotations

import importlib
import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.infra import rules
from tests.infra import tf as terraform

ROOT = Path(__file__).resolve().parents[2]
MODULES = ROOT / "terraform" / "modules"


def tf(module: str, name: str = "main.tf") -> dict[str, Any]:
    return rules.load_tf(MODULES / module / name)


def local_value(parsed: dict[str, Any], name: str) -> Any:
    for entry in parsed.get("locals", []):
        if name in entry:
            return entry[name]
    raise AssertionError(f"no local {name}")


def local_expr(parsed: dict[str, Any], name: str) -> str:
    return str(local_value(parsed, name))


def env_keys(expr: str) -> set[str]:
    return set(re.findall(r"\b([A-Z][A-Z0-9_]+)\s*=", expr))


def module_calls(parsed: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: body for _, name, body in rules.blocks(parsed, "module")}


@pytest.fixture(scope="module")
def standard_env() -> set[str]:
    keys = env_keys(local_expr(tf("observed_lambda"), "standard_env"))
    assert keys == {"ENVIRONMENT", "SERVICE_NAME", "PIPELINE", "METRICS_NAMESPACE", "LOG_LEVEL"}
    return keys


def test_ingest_functions_get_every_variable_the_pipeline_requires(standard_env: set[str]) -> None:
    from pipelines.ingest import config

    provided = env_keys(local_expr(tf("ingestion_pipeline"), "pipeline_env")) | standard_env
    missing = (set(config.WORKER_REQUIRED) | set(config.SCHEDULER_REQUIRED)) - provided
    assert not missing, f"pipelines/ingest/config.py requires {missing}, terraform does not set it"
    assert {
        "SOURCE_URL",
        "TABLE_NAME",
        "BACKUP_BUCKET",
        "QUEUE_URL",
        "KEY_FIELD",
        "VERSION_FIELD",
    } <= provided
    # and nothing terraform sets is unknown to the pipeline's settings
    assert provided - standard_env <= set(config.RUNTIME_KEYS) | {"SOURCE_NAME"}


def test_auth_functions_get_every_variable_the_chain_requires(standard_env: set[str]) -> None:
    from pipelines.auth import config

    provided = env_keys(local_expr(tf("auth_chain"), "auth_env")) | standard_env
    missing = set(config.REQUIRED) - provided
    assert not missing, f"pipelines/auth/config.py requires {missing}, terraform does not set it"
    assert {"REPLAY_TABLE", "REPLAY_GUARD"} <= provided


def _deployed_services() -> dict[str, set[str]]:
    ingest = {b["service_name"] for b in module_calls(tf("ingestion_pipeline")).values()}
    functions = local_value(tf("auth_chain"), "functions")
    auth_call = module_calls(tf("auth_chain"))["function"]
    assert auth_call["service_name"] == "auth-${each.key}"
    return {"ingest": ingest, "auth": {f"auth-{k}" for k in functions}}


def test_service_names_match_the_dashboards_and_alarms() -> None:
    """SERVICE_NAME is a metric dimension: a mismatch leaves every alarm watching nothing."""
    from dashboards.config import load

    pipelines = load(ROOT / "observe.toml").pipelines
    deployed = _deployed_services()
    for pipeline, services in deployed.items():
        assert services == set(pipelines[pipeline].services), pipeline


def test_declared_functions_and_queues_are_the_deployed_ones() -> None:
    """The AWS/Lambda and AWS/SQS widgets and alarms name each function and queue the pipelines
    declare as ``<name_prefix>-<name>``: one renamed in terraform only would leave them empty."""
    from dashboards.config import load

    pipelines = load(ROOT / "observe.toml").pipelines
    ingest = tf("ingestion_pipeline")
    deployed = {
        body["name"].removeprefix("${var.name_prefix}-")
        for kind, _, body in rules.blocks(ingest, "resource")
        if kind == "aws_sqs_queue"
    }
    assert set(pipelines["ingest"].queues) == deployed
    calls = module_calls(ingest)
    functions = {b["function_name"].removeprefix("${var.name_prefix}-") for b in calls.values()}
    assert {f.name for f in pipelines["ingest"].functions.values()} == functions
    auth = {f"auth-{k}" for k in local_value(tf("auth_chain"), "functions")}
    assert {f.name for f in pipelines["auth"].functions.values()} == auth
    assert (
        module_calls(tf("auth_chain"))["function"]["function_name"] == "${var.name_prefix}-auth-${each.key}"
    )
    # the timeouts on the Duration widgets are the deployed ones: the live root takes them from observe.json
    live = (ROOT / "terraform" / "live" / "main.tf").read_text()
    for service in ("ingest-scheduler", "ingest-worker"):
        assert f'timeout = local.observe.functions.ingest["{service}"].timeout' in " ".join(live.split())
    assert "timeout = max([for f in values(local.observe.functions.auth) : f.timeout]...)" in " ".join(
        live.split()
    )
    assert len({f.timeout for f in pipelines["auth"].functions.values()}) == 1  # the chain takes one timeout


def test_handlers_exist() -> None:
    handlers = [b["handler"] for b in module_calls(tf("ingestion_pipeline")).values()]
    handlers += [f["handler"] for f in local_value(tf("auth_chain"), "functions").values()]
    assert len(handlers) == 5
    for dotted in handlers:
        module_name, _, attr = dotted.rpartition(".")
        assert callable(getattr(importlib.import_module(module_name), attr)), dotted


# ---------------------------------------------------------------- the generated JSON through terraform

WRAPPER = """
variable "alarms_file" { type = string }
variable "dashboard_file" { type = string }
module "specs" {
  source         = "%s"
  alarms_file    = var.alarms_file
  dashboard_file = var.dashboard_file
  environment    = "prd"
  region         = "ap-southeast-1"
  namespace      = "DataPipelines"
  name_prefix    = "pipelines"
  resource_prefix = "pipelines-prd-"
}
output "alarms" { value = module.specs.alarms }
output "dashboard" { value = module.specs.dashboard_body }
"""


def _terraform(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return terraform.run(args, cwd, timeout=120)


@pytest.fixture(scope="module")
def specs_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("alarm_specs_root")
    (root / "main.tf").write_text(WRAPPER % (MODULES / "alarm_specs").as_posix(), encoding="utf-8")
    init = _terraform(["init", "-input=false", "-no-color"], root)
    assert init.returncode == 0, init.stderr
    return root


def _apply(root: Path, alarms: Path, dashboard: Path) -> subprocess.CompletedProcess[str]:
    return _terraform(
        ["apply", "-auto-approve", "-input=false", "-no-color", f"-var=alarms_file={alarms}",
         f"-var=dashboard_file={dashboard}"], root)  # fmt: skip


@pytest.mark.parametrize("pipeline", ["ingest", "auth"])
def test_what_dashboards_generates_is_accepted_by_terraform(
    pipeline: str, specs_root: Path, tmp_path: Path
) -> None:
    """`observe dashboards build` output passes alarm_specs' checks: nothing lost, nothing unsubstituted."""
    from dashboards.build import build
    from dashboards.config import load

    build(tmp_path, load(ROOT / "observe.toml"))
    alarms_file = tmp_path / f"{pipeline}.prd.alarms.json"
    generated = json.loads(alarms_file.read_text(encoding="utf-8"))
    done = _apply(specs_root, alarms_file, tmp_path / f"{pipeline}.prd.dashboard.json")
    assert done.returncode == 0, done.stderr
    out = json.loads(_terraform(["output", "-json"], specs_root).stdout)
    alarms = out["alarms"]["value"]
    assert len(alarms) == len(generated) > 0
    generated_by_name = {a["name"].replace("${environment}", "prd"): a for a in generated}
    for key, alarm in alarms.items():
        assert key.endswith("-prd") and alarm["alarm_name"] == f"pipelines-{key}"
        assert alarm["severity"] in {"critical", "warning", "info"}
        blob = json.dumps(alarm)
        assert "${" not in blob, f"unsubstituted placeholder in {key}"
        dims = [alarm["dimensions"]] + [
            q["metric"]["dimensions"] for q in alarm["metric_queries"] if q["metric"]
        ]
        if str(alarm["namespace"]).startswith("AWS/"):  # a deployed function or queue, by its name
            (value,) = alarm["dimensions"].values()
            assert value == f"pipelines-prd-{generated_by_name[key]['resource']}", key
            continue
        assert any(d for d in dims) and all(d.get("environment") == "prd" for d in dims if d), key
    body = json.loads(out["dashboard"]["value"])
    assert body["widgets"] and "${region}" not in out["dashboard"]["value"]


def test_a_broken_alarm_file_fails_the_plan_with_its_reason(specs_root: Path) -> None:
    broken = Path(__file__).parent / "fixtures" / "broken"
    dashboard = Path(__file__).parent / "fixtures" / "ingest.dashboard.json"
    expected = {
        "bad_severity": 'severity "urgent" is not one of critical, warning, info',
        "duplicate_name": "appears more than once",
        "two_return_data": "exactly one metric query must have return_data = true",
        "two_statistics": "exactly one of statistic and extended_statistic",
        "no_metric": "either metric_name",
        "unknown_placeholder": "unknown placeholder ${account_id}",
        "bad_operator": 'comparison_operator ">=" is not a CloudWatch operator',
    }
    for name, reason in expected.items():
        done = _apply(specs_root, broken / f"{name}.alarms.json", dashboard)
        assert done.returncode != 0, name
        flat = " ".join(done.stderr.split())
        assert reason in flat, f"{name}: {flat[:600]}"


# ---------------------------------------------------------------- triage queries read real log fields

QUERIES = MODULES / "observability" / "queries"
INSIGHTS_BUILTINS = {"@timestamp", "@logStream", "@log", "@message"}


def _query_fields(text: str) -> set[str]:
    body = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    fields: set[str] = set()
    for clause in re.findall(r"fields\s+([^|]+)", body):
        fields |= {f.strip() for f in clause.split(",")}
    fields |= set(re.findall(r"(?:ispresent\(|filter\s+|and\s+|or\s+)([\w.@]+)", body))
    fields |= (
        {f.strip() for f in re.findall(r"\bby\s+([^|]+)", body)[0].split(",")} if " by " in body else set()
    )
    functions = set(re.findall(r"([\w.]+)\(", body))
    return {f for f in fields if f and not f.startswith("bin(")} - INSIGHTS_BUILTINS - functions


def _flat_keys(doc: dict[str, Any], prefix: str = "") -> set[str]:
    keys = set()
    for k, v in doc.items():
        keys.add(prefix + k)
        if isinstance(v, dict):
            keys |= _flat_keys(v, prefix + k + ".")
        if isinstance(v, list):
            keys |= {f"{prefix}{k}.{i}" for i in range(len(v))}
    return keys


def test_triage_queries_use_fields_observe_writes(observe_capture: Any, lambda_context: Any) -> None:
    from observe import get_logger, observed
    from observe.batch import process_sqs_batch
    from observe.telemetry import Throttle, ThrottledError

    log = get_logger("pipelines.ingest.worker")

    def record(rec: dict[str, Any]) -> None:
        if rec["messageId"] == "m2":
            raise ThrottledError(Throttle("http-429", 2.0, "429"))
        log.warning("records quarantined", key="quarantine/x.json", count=1, reasons=["bad_state"])
        log.error(
            "unprocessable message quarantined", message_id="m1", key="quarantine/m.json", reason="bad_json"
        )

    @observed(pipeline="ingest", service="ingest-worker")
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        out = process_sqs_batch(event, record)
        raise RuntimeError(f"{len(out['batchItemFailures'])} failed")

    shape = {"body": "{}", "attributes": {}, "messageAttributes": {}, "eventSource": "aws:sqs"}
    event = {"Records": [{**shape, "messageId": m} for m in ("m1", "m2")]}
    with pytest.raises(RuntimeError):
        handler(event, lambda_context)
    written: set[str] = set()
    for line in observe_capture.logs:
        written |= _flat_keys(line)
    messages = {line.get("message") for line in observe_capture.logs}

    for path in sorted(QUERIES.glob("*.logsinsights")):
        text = path.read_text(encoding="utf-8")
        fields = _query_fields(text)
        assert fields, path.name
        assert fields <= written, f"{path.name} reads {sorted(fields - written)}, which observe never writes"
        for quoted in re.findall(r"message in \[([^\]]+)\]", text):
            for msg in re.findall(r'"([^"]+)"', quoted):
                assert msg in messages or msg in (ROOT / "pipelines" / "ingest" / "worker.py").read_text(), (
                    msg
                )


def test_the_query_field_check_can_fail() -> None:
    assert _query_fields('fields @timestamp, corelation_id | filter lvl = "error"') == {
        "corelation_id",
        "lvl",
    }
