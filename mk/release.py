"""Releases a team can pin: one version, one tag, distributions built once and checked.

    python mk/release.py check-tag v0.2.0   the tag is v<pyproject version>, CHANGELOG.md has the
                                            dated section, every module README pins ?ref=<tag>
    python mk/release.py build [--out dist] the sdist, and the wheel built from that sdist (uv build)
    python mk/release.py verify [dist]      twine check --strict; the wheel installed into clean venvs
                                            (alone, and with every extra at uv.lock's versions);
                                            every module it ships imported

`make dist` runs build and verify (and so does a test); the release workflow runs check-tag, build
and verify once, and publishes exactly those files. Only the standard library, uv and twine.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
import zipfile
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODULES = ROOT / "terraform" / "modules"
SEMVER = re.compile(r"(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:alpha|beta|rc)\.\d+))?")


class ReleaseError(RuntimeError):
    """The release is not consistent (the message says what to fix)."""


def project() -> dict[str, object]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def version() -> str:
    value = str(project()["version"])
    if not SEMVER.fullmatch(value.replace("a", "-alpha.").replace("b", "-beta.").replace("rc", "-rc.")):
        raise ReleaseError(
            f"pyproject.toml version {value!r} is not MAJOR.MINOR.PATCH (optionally aN, bN, rcN)"
        )
    return value


def tag_for(value: str) -> str:
    return f"v{value}"


def module_pins(modules: Path = MODULES) -> dict[Path, list[str]]:
    """Every ?ref= in the source examples of the module READMEs, docs/terraform-usage.md and the
    example projects' Terraform."""
    docs = [p for p in [modules.parents[1] / "docs" / "terraform-usage.md"] if p.is_file()]
    examples = sorted(modules.parents[1].glob("examples/*/terraform/*.tf"))
    docs += [p for p in examples if "git::" in p.read_text("utf-8")]  # the roots calling modules by source
    return {
        path: re.findall(r"\?ref=([^\"\s]+)\"", path.read_text(encoding="utf-8"))
        for path in [*sorted(modules.glob("*/README.md")), *docs]
    }


def check_tag(tag: str) -> list[str]:
    """What stops ``tag`` from being released (empty when it can be)."""
    problems = []
    current = version()
    if tag != tag_for(current):
        problems.append(f"the tag {tag} is not v<pyproject version> = {tag_for(current)}")
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    if not re.search(rf"^## \[{re.escape(current)}\] - \d{{4}}-\d{{2}}-\d{{2}}$", changelog, re.M):
        problems.append(f"CHANGELOG.md has no section '## [{current}] - YYYY-MM-DD' (move Unreleased there)")
    for readme, refs in module_pins().items():
        if not refs:
            problems.append(f"{readme.relative_to(ROOT)}: no source example pinned by ?ref=")
        problems += [
            f"{readme.relative_to(ROOT)}: pins ?ref={ref}, the release is {tag_for(current)}"
            for ref in refs
            if ref != tag_for(current)
        ]
    return problems


def uv() -> str:
    for candidate in (str(ROOT / ".venv" / "bin" / "uv"), shutil.which("uv")):
        if candidate and Path(candidate).is_file():
            return candidate
    raise ReleaseError("uv not found: run `make install` (or `pip install uv`) first")


def _run(args: Sequence[str], cwd: Path = ROOT) -> str:
    done = subprocess.run(list(args), cwd=cwd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise ReleaseError(f"{' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    return done.stdout


def build(out: Path) -> list[Path]:
    """The sdist, then the wheel from it: what is published is what the sdist rebuilds to."""
    shutil.rmtree(out, ignore_errors=True)
    _run([uv(), "build", "-q", "--sdist", "--wheel", "--out-dir", str(out), str(ROOT)])
    return sorted(out.iterdir())


def shipped_modules(wheel: Path) -> list[str]:
    """Dotted names of every Python module in the wheel."""
    with zipfile.ZipFile(wheel) as zf:
        names = [n for n in zf.namelist() if n.endswith(".py") and ".dist-info/" not in n]
    dotted = [n[:-3].replace("/", ".").removesuffix(".__init__") for n in names]
    return sorted(d for d in dotted if not d.rsplit(".", 1)[-1].startswith("__main__"))


IMPORT_ALL = """
import importlib, sys, traceback
failed = []
for name in sys.argv[1:]:
    try:
        importlib.import_module(name)
    except Exception:
        failed.append(name + ": " + traceback.format_exc().strip().splitlines()[-1])
print("\\n".join(failed))
sys.exit(1 if failed else 0)
"""


def verify(dist: Path) -> dict[str, int]:
    """twine check, then clean-venv installs of the wheel and imports; returns what was checked."""
    files = sorted(dist.glob("*.whl")) + sorted(dist.glob("*.tar.gz"))  # (uv build adds a .gitignore)
    wheels = [f for f in files if f.suffix == ".whl"]
    if len(wheels) != 1 or len(files) != 2:
        raise ReleaseError(f"{dist} must hold one wheel and one sdist, found {[f.name for f in files]}")
    (wheel,) = wheels
    expected = f"{str(project()['name']).replace('-', '_')}-{version()}"
    if not all(f.name.startswith(expected) for f in files):
        raise ReleaseError(f"the distributions are not {expected}: {[f.name for f in files]}")
    twine = shutil.which("twine") or str(Path(sys.executable).with_name("twine"))
    _run([twine, "check", "--strict", *map(str, files)])

    extras = sorted(e for e in project().get("optional-dependencies", {}) if e != "dev")  # type: ignore[attr-defined]
    modules = shipped_modules(wheel)
    with tempfile.TemporaryDirectory() as tmp:
        constraints = Path(tmp) / "constraints.txt"
        _run([uv(), "export", "--frozen", "--no-dev", "--no-emit-project", "--no-hashes", "-q",
              "--all-extras", "-o", str(constraints)])  # fmt: skip
        # Alone: the core must import with its two dependencies only.
        bare = _venv(Path(tmp) / "bare")
        _run([uv(), "pip", "install", "-q", "--python", bare, str(wheel), "-c", str(constraints)])
        _run([bare, "-I", "-c", IMPORT_ALL, "observe"], cwd=Path(tmp))
        # With every extra at the lock's versions, and pytest for observe.testing's fixtures: every
        # module the wheel ships imports.
        full = _venv(Path(tmp) / "full")
        spec = f"{wheel}[{','.join(extras)}]"
        _run([uv(), "pip", "install", "-q", "--python", full, spec, "pytest", "-c", str(constraints)])
        done = subprocess.run(
            [full, "-I", "-c", IMPORT_ALL, *modules], cwd=tmp, capture_output=True, text=True
        )
        if done.returncode != 0:
            raise ReleaseError(f"modules of {wheel.name} that do not import:\n{done.stdout}{done.stderr}")
    return {"files": len(files), "modules": len(modules), "extras": len(extras)}


def _venv(path: Path) -> str:
    _run([uv(), "venv", "-q", "--python", sys.executable, str(path)])
    return str(path / "bin" / "python")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="mk/release.py", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("version", help="print the version from pyproject.toml")
    tag = sub.add_parser("check-tag", help="the tag, CHANGELOG.md and the module pins agree")
    tag.add_argument("tag")
    bld = sub.add_parser("build", help="build the sdist and the wheel")
    bld.add_argument("--out", type=Path, default=ROOT / "dist")
    ver = sub.add_parser("verify", help="twine check, clean installs, imports")
    ver.add_argument("dist", nargs="?", type=Path, default=ROOT / "dist")
    args = parser.parse_args(argv)
    try:
        if args.command == "version":
            print(version())
        elif args.command == "check-tag":
            problems = check_tag(args.tag)
            for problem in problems:
                print(f"release {args.tag}: {problem}", file=sys.stderr)
            return 1 if problems else 0
        elif args.command == "build":
            for path in build(args.out):
                print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)
        else:
            checked = verify(args.dist)
            print(f"{args.dist}: twine check passed; {checked['modules']} modules import with "
                  f"{checked['extras']} extras in a clean venv; the core imports alone")  # fmt: skip
    except ReleaseError as exc:
        print(f"release: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
