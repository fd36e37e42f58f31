"""uv.lock: what every install (make install, CI, the Lambda artifacts) takes its versions from."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


def _name(requirement: str) -> str:
    return re.split(r"[\s<>=!~;\[(]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


@pytest.fixture(scope="module")
def lock() -> dict[str, Any]:
    return tomllib.loads((ROOT / "uv.lock").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def project() -> dict[str, Any]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def test_every_declared_dependency_is_pinned_with_hashes(
    lock: dict[str, Any], project: dict[str, Any]
) -> None:
    packages = {p["name"]: p for p in lock["package"]}
    declared = {_name(r) for r in project["dependencies"]}
    for extra in project["optional-dependencies"].values():
        declared |= {_name(r) for r in extra}
    missing = sorted(d for d in declared if d not in packages)
    assert not missing, f"in pyproject.toml but not in uv.lock: {missing} (run make lock)"
    for name in declared:
        package = packages[name]
        assert re.fullmatch(r"\d+(\.\d+)*.*", package["version"]), name
        files = package.get("wheels", []) + ([package["sdist"]] if "sdist" in package else [])
        assert files and all(f.get("hash", "").startswith("sha256:") for f in files), name


def test_the_lock_knows_every_extra(lock: dict[str, Any], project: dict[str, Any]) -> None:
    (own,) = [p for p in lock["package"] if p["name"] == project["name"]]
    assert set(own.get("optional-dependencies", {})) == set(project["optional-dependencies"])


def _makefile_var(name: str) -> str:
    match = re.search(rf"^{name}\s*:?=\s*(\S+)", (ROOT / "Makefile").read_text(encoding="utf-8"), re.M)
    assert match, f"Makefile has no {name}"
    return match.group(1)


def test_installs_fail_when_pyproject_and_lock_disagree() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert re.search(r"\$\(UV\) sync .*--locked", makefile), "make install must refuse a stale lock"
    assert re.search(r"^lint: .*\block-check\b", makefile, re.M), (
        "make lint (and so make test) checks the lock"
    )
    ci = yaml.safe_load((ROOT / ".github" / "workflows" / "ci.yml").read_text(encoding="utf-8"))
    runs = [s.get("run") for s in ci["jobs"]["test"]["steps"]]
    assert runs.index("make lock-check") < runs.index("make test")


def test_every_workflow_uses_the_uv_the_makefile_pins() -> None:
    pinned = _makefile_var("UV_VERSION")
    seen = 0
    for path in sorted((ROOT / ".github" / "workflows").glob("*.yml")):
        for version in re.findall(r"UV_VERSION:\s*\"?([0-9.]+)", path.read_text(encoding="utf-8")):
            assert version == pinned, f"{path.name} installs uv {version}, the Makefile pins {pinned}"
            seen += 1
    assert seen, "the workflows that install from the lock name the uv version"


def test_the_infra_tools_are_locked_with_hashes_too() -> None:
    """checkov and zizmor live in their own venv (checkov pins an older python-hcl2): compiled from
    requirements-checkov.in with every package pinned and hashed, installed with --require-hashes."""
    text = (ROOT / "tests" / "infra" / "requirements-checkov.txt").read_text(encoding="utf-8")
    blocks = [b for b in re.split(r"\n(?=[a-z0-9])", text, flags=re.I) if b.strip() and not b.startswith("#")]
    assert len(blocks) > 50
    assert all(re.match(r"[A-Za-z0-9_.-]+==\S+", b) and "--hash=sha256:" in b for b in blocks)
    infra = (ROOT / "mk" / "infra.mk").read_text(encoding="utf-8")
    assert infra.count("--require-hashes") == 2, "both install paths (uv and pip) require hashes"
    assert re.search(
        r"^lock-check: .*\binfra-lock-check\b", (ROOT / "Makefile").read_text(encoding="utf-8"), re.M
    )
