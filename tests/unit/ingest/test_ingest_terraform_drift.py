"""terraform/modules/ingestion_pipeline agrees with the worker's drift settings: the baselines table,
the worker's (and only the worker's) environment and rights, and the same DRIFT_ACTIONS grammar."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from observe.config import ConfigError
from pipelines.ingest import config
from tests.infra import rules

MODULE = Path(__file__).resolve().parents[3] / "terraform" / "modules" / "ingestion_pipeline"
STATEMENT = re.compile(r'\{sid = "(\w+)", actions = \[([^\]]*)\], resources = \[([^\]]*)\]')


def main_tf() -> dict[str, Any]:
    return rules.load_tf(MODULE / "main.tf")


def local(parsed: dict[str, Any], name: str) -> str:
    return next(str(e[name]) for e in parsed["locals"] if name in e)


def statements(parsed: dict[str, Any], module_body: dict[str, Any]) -> dict[str, tuple[set[str], str]]:
    """sid -> (actions, resources) of a module call's policy_statements (inline or a local)."""
    expr = str(module_body["policy_statements"])
    named = re.fullmatch(r"\$\{local\.(\w+)\}", expr)
    if named:
        expr = local(parsed, named.group(1))
    out = {}
    for sid, actions, resources in STATEMENT.findall(expr):
        out[sid] = ({a.strip().strip('"') for a in actions.split(",")}, resources.strip())
    return out


def test_the_baselines_table_is_on_demand_with_a_string_pk_pitr_and_sse() -> None:
    tables = {
        name: body for kind, name, body in rules.blocks(main_tf(), "resource") if kind == "aws_dynamodb_table"
    }
    table = tables["baselines"]
    assert table["billing_mode"] == "PAY_PER_REQUEST" and table["hash_key"] == "pk"
    assert table["attribute"] == [{"name": "pk", "type": "S"}]
    assert table["point_in_time_recovery"] == [{"enabled": True}]
    assert table["server_side_encryption"][0]["enabled"] is True


def test_only_the_worker_gets_the_baselines_table_and_the_drift_actions() -> None:
    parsed = main_tf()
    calls = {name: body for _, name, body in rules.blocks(parsed, "module")}
    assert calls["worker"]["environment_variables"] == "${local.worker_env}"
    assert calls["scheduler"]["environment_variables"] == "${local.pipeline_env}"
    worker_env = local(parsed, "worker_env")
    assert "BASELINE_TABLE = aws_dynamodb_table.baselines.name" in worker_env
    assert "DRIFT_ACTIONS = var.drift_actions" in worker_env
    assert "BASELINE_TABLE" not in local(parsed, "pipeline_env")
    names = set(re.findall(r"\b([A-Z][A-Z0-9_]+)\s*=", worker_env))
    assert names <= set(config.RUNTIME_KEYS), "every variable terraform sets is one the worker reads"


def test_the_worker_may_read_and_write_baseline_items_and_nothing_else_there() -> None:
    parsed = main_tf()
    calls = {name: body for _, name, body in rules.blocks(parsed, "module")}
    worker = statements(parsed, calls["worker"])
    assert "UpsertRecords" in worker, "the statements were found at all"
    on_baselines = {sid: s for sid, s in worker.items() if "baselines" in s[1]}
    assert on_baselines == {
        "DriftBaselines": (
            {"dynamodb:GetItem", "dynamodb:PutItem"},
            "aws_dynamodb_table.baselines.arn",
        )
    }
    scheduler = statements(parsed, calls["scheduler"])
    assert "SendTasks" in scheduler and not any("baselines" in s[1] for s in scheduler.values())


def test_outputs_name_the_baselines_table() -> None:
    outputs = {name: body for _, name, body in rules.blocks(rules.load_tf(MODULE / "outputs.tf"), "output")}
    assert outputs["baseline_table_name"]["value"] == "${aws_dynamodb_table.baselines.name}"
    assert outputs["baseline_table_arn"]["value"] == "${aws_dynamodb_table.baselines.arn}"
    assert all(outputs[n]["description"] for n in ("baseline_table_name", "baseline_table_arn"))


VALUES = [
    "row_count=warn,null_rate=warn,unexpected_rate=warn,schema=warn",  # the module's default
    "row_count=warn,schema=fail_task,null_rate=warn,unexpected_rate=quarantine_batch",
    " schema = quarantine_batch , ",
    "schema=drop",
    "shema=warn",
    "schema",
    "schema:warn",
    "row_count=warn,schema=",
]


def test_terraform_accepts_exactly_the_drift_actions_the_worker_accepts(tmp_path: Path) -> None:
    """The variable's validation, run by terraform itself, against the Python parser on the same values."""
    exe = shutil.which("terraform")
    assert exe, "terraform must be on PATH (as for tests/infra)"
    source = (MODULE / "variables.tf").read_text(encoding="utf-8")
    block = re.search(r'^variable "drift_actions" \{.*?^\}\n', source, re.S | re.M)
    assert block, "variable drift_actions in variables.tf"
    (tmp_path / "main.tf").write_text(block.group(0), encoding="utf-8")
    runs = []
    for i, value in enumerate(VALUES):
        try:
            config.parse_drift_actions(value)
            expect = ""
        except ConfigError:
            expect = "expect_failures = [var.drift_actions]"
        runs.append(
            f'run "v{i}" {{\n  command = plan\n  variables {{ drift_actions = "{value}" }}\n  {expect}\n}}\n'
        )
    (tmp_path / "drift.tftest.hcl").write_text("\n".join(runs), encoding="utf-8")
    env = {**os.environ, "CHECKPOINT_DISABLE": "1", "TF_IN_AUTOMATION": "1"}
    for args in (["init", "-backend=false", "-input=false", "-no-color"], ["test", "-no-color"]):
        done = subprocess.run(
            [exe, *args], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stdout + done.stderr
    assert f"{len(VALUES)} passed, 0 failed" in done.stdout


@pytest.mark.parametrize("value", VALUES[:3])
def test_the_accepted_examples_really_parse(value: str) -> None:
    assert dict(config.parse_drift_actions(value)).keys() == config.DEFAULT_DRIFT_ACTIONS.keys()
