"""House rules over every .tf file, each shown to fail on a deliberately broken fixture."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.infra import rules

ROOT = Path(__file__).resolve().parents[2]
TERRAFORM = ROOT / "terraform"
BROKEN = Path(__file__).parent / "fixtures" / "broken_tf"

Rule = Callable[[dict[Path, dict[str, Any]]], list[str]]


@pytest.fixture(scope="module")
def terraform_files() -> dict[Path, dict[str, Any]]:
    files = rules.load_dir(TERRAFORM)
    assert len(files) > 30, "expected the modules, the live root and the bootstrap root"
    return files


@pytest.fixture(scope="module")
def broken_files() -> dict[Path, dict[str, Any]]:
    return rules.load_dir(BROKEN)


# (rule, a fragment every violation on the broken fixture must contain, how many it must find)
CASES: list[tuple[Rule, str, int]] = [
    (rules.untyped_or_undescribed, "untyped", 2),
    (rules.wildcard_actions, "wildcard action", 2),
]


@pytest.mark.parametrize("rule", [c[0] for c in CASES], ids=lambda r: r.__name__)
def test_rule_holds_for_the_real_code(rule: Rule, terraform_files: dict[Path, dict[str, Any]]) -> None:
    assert rule(terraform_files) == []


@pytest.mark.parametrize(("rule", "fragment", "at_least"), CASES, ids=lambda c: getattr(c, "__name__", None))
def test_rule_catches_the_broken_fixture(
    rule: Rule, fragment: str, at_least: int, broken_files: dict[Path, dict[str, Any]]
) -> None:
    found = rule(broken_files)
    assert len([v for v in found if fragment in v]) >= at_least, found


def test_wildcard_deny_is_allowed_but_hand_written_json_is_not(
    broken_files: dict[Path, dict[str, Any]],
) -> None:
    found = rules.wildcard_actions(broken_files)
    assert not any("'*'" in v for v in found), "a Deny with * is stronger, not a violation"
    assert any("hand-written JSON" in v for v in found)
    assert any("dynamodb:Get*" in v for v in found), "module policy_statements are checked too"


def test_outputs_need_descriptions(broken_files: dict[Path, dict[str, Any]]) -> None:
    assert any(
        "output undescribed has no description" in v for v in rules.untyped_or_undescribed(broken_files)
    )


def test_every_resource_that_matters_is_asserted_on_by_a_plan() -> None:
    assert rules.unplanned_resources(TERRAFORM / "modules") == []


def test_the_plan_coverage_rule_notices_an_untested_resource(tmp_path: Path) -> None:
    import shutil

    module = tmp_path / "modules" / "static_site"
    shutil.copytree(
        TERRAFORM / "modules" / "static_site", module, ignore=shutil.ignore_patterns(".terraform*")
    )
    with (module / "main.tf").open("a", encoding="utf-8") as fh:
        fh.write('\nresource "aws_sqs_queue" "forgotten" {\n  name = "x"\n}\n')
    assert rules.unplanned_resources(tmp_path / "modules") == [
        f"{module}/main.tf: aws_sqs_queue.forgotten is not asserted on by any suite in {module}/tests"
    ]


def test_live_root_has_exactly_three_workspaces_and_locking() -> None:
    assert rules.workspace_problems(rules.load_dir(TERRAFORM / "live")) == []


def test_workspace_rule_catches_an_extra_workspace_and_missing_lockfile(
    broken_files: dict[Path, dict[str, Any]],
) -> None:
    found = rules.workspace_problems(broken_files)
    assert any("qa" in v for v in found)
    assert any("use_lockfile" in v for v in found)


def test_settings_module_refuses_the_same_workspaces_the_map_has() -> None:
    """The validation list in modules/settings and the root's map must name the same environments."""
    variables = rules.load_tf(TERRAFORM / "modules" / "settings" / "variables.tf")
    (workspace,) = [b for _, n, b in rules.blocks(variables, "variable") if n == "workspace"]
    condition = workspace["validation"][0]["condition"]
    for env in rules.ENVIRONMENTS:
        assert f'\\"{env}\\"' in condition or f'"{env}"' in condition
    live = rules.load_dir(TERRAFORM / "live")
    ws = [e["workspaces"] for parsed in live.values() for e in parsed.get("locals", []) if "workspaces" in e]
    assert sorted(ws[0]) == sorted(rules.ENVIRONMENTS)


def test_module_layout() -> None:
    assert rules.module_layout(TERRAFORM / "modules") == []


def test_module_layout_rule_catches_a_bad_module() -> None:
    found = rules.module_layout(Path(__file__).parent / "fixtures" / "broken_modules")
    assert any("missing variables.tf" in v for v in found)
    assert any("missing README.md" in v for v in found)
    assert any("not >= 1.5" in v for v in found)
    assert any("admits 7.0" in v for v in found), "an unbounded constraint admits versions nothing checked"


@pytest.mark.parametrize(
    ("constraint", "version", "admitted"),
    [
        ("~> 5.70", "5.100.0", True),
        ("~> 5.70", "6.62.0", False),
        (">= 5.100, < 7.0", "5.100.0", True),
        (">= 5.100, < 7.0", "6.62.0", True),
        (">= 5.100, < 7.0", "5.99.1", False),
        (">= 5.100, < 7.0", "7.0.0", False),
        ("~> 5.70.1", "5.71.0", False),
        ("= 6.62.0", "6.62.0", True),
    ],
)
def test_constraint_admits(constraint: str, version: str, admitted: bool) -> None:
    assert rules.constraint_admits(constraint, version) is admitted


def test_lambda_functions_only_through_observed_lambda(terraform_files: dict[Path, dict[str, Any]]) -> None:
    """Every function gets the managed log group (with retention) and the observe environment."""
    places = {
        p.parent.name
        for p, parsed in terraform_files.items()
        for kind, _, _ in rules.blocks(parsed, "resource")
        if kind == "aws_lambda_function"
    }
    assert places == {"observed_lambda"}


def test_module_layout_refuses_a_constraint_that_shuts_out_provider_6(tmp_path: Path) -> None:
    """The constraint the modules had before (~> 5.70): a team on provider 6 could not init them."""
    import shutil

    module = tmp_path / "modules" / "observed_lambda"
    shutil.copytree(
        TERRAFORM / "modules" / "observed_lambda", module, ignore=shutil.ignore_patterns(".terraform*")
    )
    versions = module / "versions.tf"
    text = versions.read_text(encoding="utf-8")
    versions.write_text(text.replace('">= 5.100, < 7.0"', '"~> 5.70"'), encoding="utf-8")
    found = rules.module_layout(tmp_path / "modules")
    assert found == [f"{module}/versions.tf: aws provider version '~> 5.70' does not admit 6.62.0"]


def test_modules_assume_nothing_of_this_repository() -> None:
    assert rules.layout_assumptions(TERRAFORM / "modules") == []


def test_the_layout_rule_notices_paths_of_this_repository(tmp_path: Path) -> None:
    import shutil

    modules = tmp_path / "modules"
    shutil.copytree(TERRAFORM / "modules", modules, ignore=shutil.ignore_patterns(".terraform*", "tests"))
    main = modules / "observability" / "main.tf"
    text = main.read_text(encoding="utf-8")
    text = text.replace('source   = "../alarm_specs"', 'source   = "../../modules/alarm_specs"')
    text = text.replace(
        'file("${path.module}/queries/errors.logsinsights")', 'file("${path.root}/../queries/errors.q")'
    )
    main.write_text(text, encoding="utf-8")
    found = rules.layout_assumptions(modules)
    assert any("module source ../../modules/alarm_specs is not a sibling module" in v for v in found)
    assert any("path.root / path.cwd" in v for v in found)
    assert any('file("${path.root}/../queries/errors.q") reads outside the module' in v for v in found)
