"""The modules from outside: a team's root in a directory of its own calls them by a pinned git
source (a local repository tagged like a release), with the JSON the dashboards build wrote, and
plans against the mock AWS provider. The root is the example of docs/terraform-usage.md, as printed."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.infra import tf as terraform
from tests.support.release import from_local, pinned_tag, tagged_repository

ROOT = Path(__file__).resolve().parents[2]
USAGE = ROOT / "docs" / "terraform-usage.md"


def _example() -> str:
    text = USAGE.read_text(encoding="utf-8")
    block = re.search(r"<!-- example:begin -->\s*```hcl\n(.*?)```\s*<!-- example:end -->", text, re.S)
    assert block, "docs/terraform-usage.md has the example root between its markers"
    return block.group(1)


@pytest.fixture(scope="module")
def release(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A repository holding this working tree's terraform/, tagged with the release's tag."""
    tag = pinned_tag(_example())
    return tagged_repository(tmp_path_factory.mktemp("upstream"), tag), tag


CONSUMER_TEST = """
mock_provider "aws" {
  source          = "%(mocks)s"
  override_during = plan
}

variables {
  artifact = {
    package_type      = "Zip"
    s3_bucket         = "orders-artifacts-123456789012"
    s3_key            = "lambda/0123456789abcdef0123456789abcdef01234567/lambda.zip"
    s3_object_version = "3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY"
  }
}

run "plan" {
  command = plan

  assert {
    condition     = keys(local.pipelines) == %(pipelines)s
    error_message = "every pipeline the build wrote becomes a dashboard and its alarms"
  }
  assert {
    condition = (module.orders_handler.log_retention_days == 30
    && module.orders_handler.log_group_name == "/aws/lambda/orders-stg-handler")
    error_message = "the team's function got its log group with stg's retention"
  }
  assert {
    condition = (length(module.observability.alarm_names) == %(alarms)d
    && alltrue([for n in module.observability.alarm_names : startswith(n, "orders-") && endswith(n, "-stg")]))
    error_message = "every generated alarm, named for the team and the environment"
  }
  assert {
    condition = module.observability.dashboard_names == { for p in %(pipelines)s : p => "orders-stg-${p}" }
    error_message = "a dashboard per pipeline"
  }
}
"""


def test_a_team_root_calls_the_modules_by_pinned_source(release: tuple[Path, str], tmp_path: Path) -> None:
    from dashboards.build import build

    repo, tag = release
    consumer = tmp_path / "team-infra"
    (consumer / "tests").mkdir(parents=True)
    build(consumer / "generated")
    stg = sorted((consumer / "generated").glob("*.stg.alarms.json"))  # the plan is of stg
    generated = sorted(p.name.removesuffix(".stg.alarms.json") for p in stg)
    assert generated, "the dashboards build wrote alarm files"
    alarms = sum(len(json.loads(p.read_text(encoding="utf-8"))) for p in stg)

    main = from_local(_example(), repo)
    assert f"git::file://{repo}//terraform/modules/observed_lambda?ref={tag}" in main
    (consumer / "main.tf").write_text(main, encoding="utf-8")
    pipelines = "[" + ", ".join(f'"{p}"' for p in generated) + "]"
    (consumer / "tests" / "plan.tftest.hcl").write_text(
        CONSUMER_TEST
        % {
            "mocks": (ROOT / "terraform" / "mocks").as_posix(),
            "pipelines": pipelines,
            "alarms": alarms,
        },
        encoding="utf-8",
    )

    done = terraform.init(consumer)
    assert done.returncode == 0, done.stdout + done.stderr
    fetched = consumer / ".terraform" / "modules"
    assert (fetched / "orders_handler" / "terraform" / "modules" / "observed_lambda" / "main.tf").is_file()
    assert not any(fetched.rglob("tests/infra")), "only terraform/ was released"
    valid, diagnostics = terraform.validate_diagnostics(consumer)
    assert valid and not diagnostics, diagnostics
    done = terraform.run(["test", "-no-color"], consumer)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]


def test_a_source_without_the_tag_does_not_init(release: tuple[Path, str], tmp_path: Path) -> None:
    """?ref= is what pins it: a tag that was never released fails the init, naming the ref."""
    repo, _ = release
    consumer = tmp_path / "team-infra"
    consumer.mkdir()
    (consumer / "main.tf").write_text(
        f'module "settings" {{\n  source    = "git::file://{repo}//terraform/modules/settings?ref=v99.0.0"\n'
        '  workspace = "dev"\n}\n',
        encoding="utf-8",
    )
    done = terraform.init(consumer)
    assert done.returncode != 0 and "v99.0.0" in done.stderr
