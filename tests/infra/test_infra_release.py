"""Releases: one version (pyproject.toml) for the package and the modules, a changelog, and a
workflow that builds the distributions once, checks them and publishes them with trusted
publishing. The build and the checks run here too; publishing cannot (no PyPI upload from tests)."""

from __future__ import annotations

import importlib.util
import re
import shutil
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, ROOT / "mk" / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


release = _load("release")


@pytest.fixture(scope="module")
def workflow() -> dict[str, Any]:
    return yaml.safe_load((ROOT / ".github" / "workflows" / "release.yml").read_text(encoding="utf-8"))


def test_the_version_scheme() -> None:
    version = release.version()
    assert re.fullmatch(r"\d+\.\d+\.\d+((a|b|rc)\d+)?", version)
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    assert "## [Unreleased]" in changelog
    released = re.findall(r"^## \[(\d+\.\d+\.\d+)\] - (\d{4}-\d{2}-\d{2})$", changelog, re.M)
    numbers = [tuple(int(x) for x in v.split(".")) for v, _ in released]
    assert numbers == sorted(numbers, reverse=True), "newest release first"


def test_the_modules_are_pinned_by_the_release_tag() -> None:
    """Every source example (module READMEs, docs/terraform-usage.md, the example project's root)
    pins ?ref=v<version>."""
    pins = release.module_pins()
    assert len(pins) >= 10 and all(pins.values())
    assert ROOT / "examples" / "orders" / "terraform" / "main.tf" in pins
    tag = release.tag_for(release.version())
    assert {ref for refs in pins.values() for ref in refs} == {tag}


def test_the_tag_check_names_what_disagrees(tmp_path: Path) -> None:
    problems = release.check_tag("v99.0.0")
    assert any("is not v<pyproject version>" in p for p in problems)
    modules = tmp_path / "terraform" / "modules"
    shutil.copytree(
        ROOT / "terraform" / "modules" / "settings",
        modules / "settings",
        ignore=shutil.ignore_patterns(".terraform*"),
    )
    readme = modules / "settings" / "README.md"
    readme.write_text(readme.read_text(encoding="utf-8").replace("?ref=v", "?ref=main-v"), encoding="utf-8")
    assert release.module_pins(modules) == {readme: [f"main-{release.tag_for(release.version())}"]}


def test_the_workflow_builds_once_checks_and_publishes_with_oidc(workflow: dict[str, Any]) -> None:
    triggers = workflow.get("on", workflow.get(True))
    assert triggers == {"push": {"tags": ["v*.*.*"]}}
    build, publish = workflow["jobs"]["build"], workflow["jobs"]["publish"]
    runs = [s.get("run", "") for s in build["steps"]]
    assert sum("mk/release.py build" in r for r in runs) == 1, "built once"
    order = [
        next(i for i, r in enumerate(runs) if key in r) for key in ("check-tag", "release.py build", "verify")
    ]
    assert order == sorted(order), "checked before it is built, verified before it is kept"
    assert any("uv sync --locked --only-group release" in r for r in runs), "twine from the lock"
    uploaded = [s for s in build["steps"] if str(s.get("uses", "")).startswith("actions/upload-artifact@")]
    assert build["permissions"] == {"contents": "read"}

    assert publish["needs"] == "build"
    assert publish["permissions"] == {"id-token": "write"}, "trusted publishing, nothing else"
    assert publish["environment"]["name"] == "pypi"
    assert not any(str(s.get("run", "")) for s in publish["steps"]), "publish runs no build of its own"
    (download,) = [
        s for s in publish["steps"] if str(s.get("uses", "")).startswith("actions/download-artifact@")
    ]
    assert download["with"]["name"] == uploaded[0]["with"]["name"]
    (upload,) = [
        s for s in publish["steps"] if str(s.get("uses", "")).startswith("pypa/gh-action-pypi-publish@")
    ]
    assert re.fullmatch(r"pypa/gh-action-pypi-publish@[0-9a-f]{40}", upload["uses"])
    assert set(upload.get("with", {})) == {"packages-dir"}, "no password or token input: OIDC"
    assert "secrets." not in (ROOT / ".github" / "workflows" / "release.yml").read_text(encoding="utf-8")


def test_the_distributions_build_and_pass_the_checks(tmp_path: Path) -> None:
    """What the release job does, here: sdist and wheel, twine check, clean-venv installs and an
    import of every module the wheel ships."""
    dist = tmp_path / "dist"
    built = release.build(dist)
    names = sorted(p.name for p in built if p.suffix in (".whl", ".gz"))
    version = release.version()
    assert names == [f"observe_pipelines-{version}-py3-none-any.whl", f"observe_pipelines-{version}.tar.gz"]
    checked = release.verify(dist)
    assert checked["files"] == 2 and checked["modules"] >= 60 and checked["extras"] >= 5

    (dist / names[1]).unlink()
    with pytest.raises(release.ReleaseError, match="one wheel and one sdist"):
        release.verify(dist)
