"""The GitHub workflows: pinned actions, minimal permissions, OIDC, promotion by reference, saved plans."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.infra import rules

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / ".github" / "workflows"


def load(path: Path) -> dict[str, Any]:
    with path.open(encoding="utf-8") as fh:
        return yaml.safe_load(fh)


@pytest.fixture(scope="module")
def workflows() -> dict[str, dict[str, Any]]:
    found = {p.name: load(p) for p in sorted(WORKFLOWS.glob("*.yml"))}
    assert set(found) == {"ci.yml", "deploy.yml", "release.yml", "terraform.yml"}
    return found


def test_every_workflow_follows_the_house_rules(workflows: dict[str, dict[str, Any]]) -> None:
    for name, wf in workflows.items():
        assert rules.workflow_problems(name, wf) == [], name


def test_the_rules_catch_a_broken_workflow() -> None:
    broken = load(Path(__file__).parent / "fixtures" / "workflows" / "broken.yml")
    found = rules.workflow_problems("broken.yml", broken)
    assert any("top-level permissions" in v for v in found)
    assert any("has no permissions block" in v for v in found)
    assert any("actions/checkout@v4 not pinned" in v for v in found)
    assert any("persisted credentials" in v for v in found)


def test_long_lived_keys_are_refused() -> None:
    step = {
        "uses": "aws-actions/configure-aws-credentials@" + "a" * 40,
        "with": {"aws-access-key-id": "${{ secrets.ID }}"},
    }
    job = {
        "permissions": {"contents": "read"},
        "env": {"AWS_SECRET_ACCESS_KEY": "${{ secrets.K }}"},
        "steps": [step],
    }
    wf = {"permissions": {}, "jobs": {"x": job}}
    found = rules.workflow_problems("keys.yml", wf)
    assert any("long-lived AWS keys" in v for v in found)
    assert any("AWS_SECRET_ACCESS_KEY" in v for v in found)


def test_no_aws_secrets_anywhere() -> None:
    for path in WORKFLOWS.glob("*.yml"):
        text = path.read_text(encoding="utf-8")
        assert "secrets." not in text, f"{path.name}: configuration comes from vars, credentials from OIDC"


def test_deploy_promotes_the_same_artifacts_in_order(workflows: dict[str, dict[str, Any]]) -> None:
    assert rules.promotion_problems(workflows["deploy.yml"]) == []


def test_promotion_rule_catches_a_rebuild_or_a_skipped_step(workflows: dict[str, dict[str, Any]]) -> None:
    deploy = yaml.safe_load(yaml.safe_dump(workflows["deploy.yml"]))
    deploy["jobs"]["plan-prd"]["with"]["image_uri"] = "${{ needs.rebuild.outputs.image_uri }}"
    deploy["jobs"]["apply-prd"]["needs"] = ["artifacts", "plan-stg"]
    deploy["jobs"]["apply-stg"]["concurrency"] = {"group": "terraform"}
    found = rules.promotion_problems(deploy)
    assert any("plan-prd" in v and "artifact references" in v for v in found)
    assert any("apply-prd does not wait for plan-prd" in v for v in found)
    assert any("apply-stg concurrency group" in v for v in found)


def test_build_runs_after_tests_and_tags_with_the_git_sha(workflows: dict[str, dict[str, Any]]) -> None:
    jobs = workflows["deploy.yml"]["jobs"]
    assert jobs["artifacts"]["needs"] == "test"
    assert jobs["test"]["steps"][-1]["run"] == "make test"
    steps = {s.get("name", ""): s for s in jobs["artifacts"]["steps"]}
    build = steps["Build and push the image (tag = git SHA)"]["run"]
    assert '${ECR_REPOSITORY}:${GIT_SHA}"' in build and "--provenance=false" in build
    upload = steps["Upload the zip and its dependency list (lambda/<sha>/)"]["run"]
    assert '--key "lambda/${GIT_SHA}/lambda.zip"' in upload
    resolve = steps["Resolve the references every environment will get"]["run"]
    assert "VersionId" in resolve and "imageDigest" in resolve and "@${digest}" in resolve


def test_the_deploy_jobs_use_oidc_roles_per_mode(workflows: dict[str, dict[str, Any]]) -> None:
    job = workflows["terraform.yml"]["jobs"]["terraform"]
    assert job["permissions"] == {"contents": "read", "id-token": "write"}
    assert "format('{0}-plan', inputs.environment)" in job["environment"]
    creds = [
        s for s in job["steps"] if str(s.get("uses", "")).startswith("aws-actions/configure-aws-credentials@")
    ]
    assert len(creds) == 1
    assert creds[0]["with"]["role-to-assume"] == (
        "${{ inputs.mode == 'plan' && vars.AWS_PLAN_ROLE_ARN || vars.AWS_DEPLOY_ROLE_ARN }}"
    )


def test_apply_applies_exactly_the_saved_plan(workflows: dict[str, dict[str, Any]]) -> None:
    steps = workflows["terraform.yml"]["jobs"]["terraform"]["steps"]
    by_name = {s.get("name", s.get("uses", "")): s for s in steps}
    plan = by_name["terraform plan"]["run"]
    assert "-out=tfplan" in plan
    upload = by_name["Save the plan"]
    download = by_name["Download the saved plan"]
    assert upload["with"]["name"] == download["with"]["name"] == "${{ env.PLAN_ARTIFACT }}"
    assert "terraform/live/.terraform.lock.hcl" in upload["with"]["path"], (
        "apply uses the plan's provider builds"
    )
    apply = by_name["terraform apply (exactly the saved plan)"]["run"]
    assert re.fullmatch(r"terraform apply -input=false -lock-timeout=\S+ tfplan", apply.strip())
    assert "${{" not in plan + apply, "no expressions inside scripts (template injection)"


def test_scripts_take_untrusted_values_from_env_only(workflows: dict[str, dict[str, Any]]) -> None:
    for name, wf in workflows.items():
        for job_id, job in wf["jobs"].items():
            for step in job.get("steps") or []:
                assert "${{" not in str(step.get("run", "")), f"{name}/{job_id}: {step.get('name')}"


def test_ci_runs_make_test_fmt_and_infra_check(workflows: dict[str, dict[str, Any]]) -> None:
    ci = workflows["ci.yml"]
    runs = [s.get("run", "") for job in ci["jobs"].values() for s in job["steps"]]
    assert "make test" in runs
    assert any(r.startswith("terraform fmt -check -recursive") for r in runs)
    assert "make infra-check" in runs
    triggers = ci.get("on", ci.get(True))
    assert "pull_request" in triggers and "push" in triggers
