"""Terraform for the infrastructure checks: init, validate and test every module and root.

`python -m tests.infra.tf check` (what `make infra-terraform` runs) does, for every directory under
terraform/modules plus the roots terraform/live and terraform/bootstrap:

- `terraform init -backend=false` with one CLI configuration for all of them: a plugin cache shared
  by every directory (the provider is fetched or linked once, not once per module) and, where this
  machine has a filesystem mirror of hashicorp/aws (the offline case), installation from that
  mirror only. Elsewhere (GitHub Actions) init is the normal registry download, into the cache.
- `terraform validate -json`: errors fail, and so does any deprecation warning (the modules must be
  clean on every provider version they admit).
- `terraform test` for the suites in <dir>/tests. The suite tests/workspaces.tftest.hcl runs once
  per workspace (TF_WORKSPACE=dev, stg, prd), so a root's per-environment settings are planned as
  deployed.

Directories run two at a time (the machine's cores; TF_JOBS overrides): most of the time goes into
the AWS provider loading its schema, once per validate and once per test suite.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TERRAFORM = ROOT / "terraform"
WORK = ROOT / "build" / "terraform"
ENVIRONMENTS = ("dev", "stg", "prd")
AWS = "registry.terraform.io/hashicorp/aws"
# Where Terraform (and the machines this project runs on) keep unpacked provider mirrors.
MIRROR_CANDIDATES = (
    "/opt/tf-plugins",
    "~/.terraform.d/plugins",
    "~/.local/share/terraform/plugins",
    "/usr/local/share/terraform/plugins",
    "/usr/share/terraform/plugins",
)


def _os_arch() -> str:
    machine = platform.machine().lower()
    arch = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(machine, machine)
    return f"{platform.system().lower()}_{arch}"


def plugin_mirror() -> Path | None:
    """The filesystem mirror holding hashicorp/aws for this platform, or None (then init downloads).

    TF_PLUGIN_MIRROR names one explicitly; set it empty to ignore any mirror.
    """
    explicit = os.environ.get("TF_PLUGIN_MIRROR")
    candidates = [explicit] if explicit is not None else list(MIRROR_CANDIDATES)
    for candidate in candidates:
        if not candidate:
            continue
        base = Path(candidate).expanduser()
        if any((v / _os_arch()).is_dir() for v in (base / AWS).glob("*")):
            return base
    return None


def mirror_versions() -> list[str]:
    """Versions of hashicorp/aws in the mirror (empty without one)."""
    mirror = plugin_mirror()
    if mirror is None:
        return []
    return sorted(v.name for v in (mirror / AWS).iterdir() if (v / _os_arch()).is_dir())


def cli_config(work: Path = WORK) -> Path:
    """Write the CLI configuration every terraform call here uses, and return its path."""
    cache = work / "plugin-cache"
    cache.mkdir(parents=True, exist_ok=True)
    lines = [f'plugin_cache_dir = "{cache.as_posix()}"']
    mirror = plugin_mirror()
    if mirror is not None:
        lines += [
            "provider_installation {",
            "  filesystem_mirror {",
            f'    path    = "{mirror.as_posix()}"',
            f'    include = ["{AWS}"]',
            "  }",
            "  direct {",
            f'    exclude = ["{AWS}"]',
            "  }",
            "}",
        ]
    rc = work / "terraform.rc"
    text = "\n".join(lines) + "\n"
    if not rc.is_file() or rc.read_text(encoding="utf-8") != text:
        rc.write_text(text, encoding="utf-8")
    return rc


def executable() -> str:
    exe = shutil.which(os.environ.get("TERRAFORM", "terraform"))
    if not exe:
        raise SystemExit("terraform (>= 1.10) is not on PATH; install it (CI: hashicorp/setup-terraform)")
    return exe


def environment(extra: Mapping[str, str] | None = None, work: Path = WORK) -> dict[str, str]:
    """The process environment for terraform: no checkpoint calls, no prompts, our CLI config."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TF_") or k == "TF_PLUGIN_MIRROR"}
    env.update(
        CHECKPOINT_DISABLE="1",
        TF_IN_AUTOMATION="1",
        TF_INPUT="0",
        TF_CLI_CONFIG_FILE=str(cli_config(work)),
    )
    env.update(extra or {})
    return env


def run(
    args: Sequence[str],
    cwd: Path,
    extra_env: Mapping[str, str] | None = None,
    timeout: float = 600,
    work: Path = WORK,
) -> subprocess.CompletedProcess[str]:
    """One terraform command in ``cwd``, output captured."""
    return subprocess.run(
        [executable(), *args],
        cwd=cwd,
        env=environment(extra_env, work),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def uses_workspaces(directory: Path) -> bool:
    return any("terraform.workspace" in p.read_text(encoding="utf-8") for p in directory.glob("*.tf"))


def init(
    directory: Path, work: Path = WORK, extra_env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """init -backend=false; a committed lock file (the roots) is verified, never rewritten."""
    args = ["init", "-backend=false", "-input=false", "-no-color"]
    if (directory / ".terraform.lock.hcl").is_file() and _tracked(directory / ".terraform.lock.hcl"):
        args.append("-lockfile=readonly")
    return run(args, directory, extra_env, work=work)


def _tracked(path: Path) -> bool:
    done = subprocess.run(
        ["git", "ls-files", "--error-unmatch", path.name],
        cwd=path.parent,
        capture_output=True,
        check=False,
    )
    return done.returncode == 0


def validate_diagnostics(
    directory: Path, work: Path = WORK, extra_env: Mapping[str, str] | None = None
) -> tuple[bool, list[dict[str, object]]]:
    """(valid, diagnostics) of `terraform validate -json` (a root with workspaces validates as dev)."""
    extra = {"TF_WORKSPACE": "dev"} if uses_workspaces(directory) else {}
    done = run(["validate", "-json", "-no-color"], directory, {**extra, **(extra_env or {})}, work=work)
    try:
        report = json.loads(done.stdout)
    except json.JSONDecodeError:
        return False, [{"severity": "error", "summary": done.stderr.strip() or done.stdout.strip()}]
    return bool(report.get("valid")), list(report.get("diagnostics", []))


def describe(diagnostic: Mapping[str, object]) -> str:
    """One line per diagnostic: file:line: severity: summary: detail."""
    rng = diagnostic.get("range")
    where = ""
    if isinstance(rng, dict):
        start = rng.get("start") or {}
        where = f"{rng.get('filename')}:{start.get('line') if isinstance(start, dict) else '?'}: "
    detail = " ".join(str(diagnostic.get("detail", "")).split())
    return f"{where}{diagnostic.get('severity')}: {diagnostic.get('summary')}: {detail}".rstrip(": ")


def is_deprecation(diagnostic: Mapping[str, object]) -> bool:
    text = f"{diagnostic.get('summary', '')} {diagnostic.get('detail', '')}".lower()
    return "deprecat" in text


@dataclass
class Result:
    directory: Path
    steps: list[tuple[str, float]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def seconds(self) -> float:
        return sum(s for _, s in self.steps)


WORKSPACES_SUITE = "workspaces.tftest.hcl"


def suites(directory: Path) -> list[tuple[str | None, list[str]]]:
    """(workspace, filter files) per terraform test invocation: tests/workspaces.tftest.hcl once
    in each workspace (dev, stg, prd), the other suites together, without a workspace."""
    files = sorted(p.relative_to(directory).as_posix() for p in (directory / "tests").glob("*.tftest.hcl"))
    per_workspace = [f for f in files if Path(f).name == WORKSPACES_SUITE]
    rest = [f for f in files if f not in per_workspace]
    runs: list[tuple[str | None, list[str]]] = [(ws, per_workspace) for ws in ENVIRONMENTS if per_workspace]
    if rest:
        runs.append((None, rest))
    return runs


def check(directory: Path, work: Path = WORK) -> Result:
    """init, validate and test one directory."""
    result = Result(directory)

    def timed(name: str, fn):  # type: ignore[no-untyped-def]
        start = time.monotonic()
        value = fn()
        result.steps.append((name, time.monotonic() - start))
        return value

    done = timed("init", lambda: init(directory, work))
    if done.returncode != 0:
        result.problems.append(f"init failed:\n{done.stdout}{done.stderr}")
        return result
    valid, diagnostics = timed("validate", lambda: validate_diagnostics(directory, work))
    if not valid:
        result.problems += ["validate: " + describe(d) for d in diagnostics]
        return result
    result.problems += ["validate: " + describe(d) for d in diagnostics if is_deprecation(d)]
    for workspace, files in suites(directory):
        args = ["test", "-no-color"] + [f"-filter={f}" for f in files]
        extra = {"TF_WORKSPACE": workspace} if workspace else {}
        label = f"test[{workspace}]" if workspace else "test"
        done = timed(label, lambda args=args, extra=extra: run(args, directory, extra, work=work))
        if done.returncode != 0:
            result.problems.append(f"{label} failed:\n{done.stdout}{done.stderr}")
    return result


def directories() -> list[Path]:
    """Every module and root, the slow ones (most resources, several suites) first."""
    found = [p for p in sorted((TERRAFORM / "modules").iterdir()) if any(p.glob("*.tf"))]
    found += [TERRAFORM / "live", TERRAFORM / "bootstrap"]
    return sorted(found, key=lambda p: -len(list(p.rglob("*.tf*"))))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.infra.tf", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    chk = sub.add_parser("check", help="init, validate and test every module and root (or the given ones)")
    chk.add_argument("dirs", nargs="*", type=Path)
    jobs = int(os.environ.get("TF_JOBS", min(2, os.cpu_count() or 1)))
    chk.add_argument("--jobs", type=int, default=jobs)
    args = parser.parse_args(argv)

    targets = [d.resolve() for d in args.dirs] or directories()
    mirror = plugin_mirror()
    source = f"the mirror {mirror} ({', '.join(mirror_versions())})" if mirror else "the registry"
    print(f"terraform: {len(targets)} directories, {args.jobs} at a time; provider from {source}")
    start = time.monotonic()
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        results = list(pool.map(check, targets))
    for r in results:
        steps = ", ".join(f"{name} {secs:.1f}s" for name, secs in r.steps)
        print(f"  {'ok  ' if r.ok else 'FAIL'} {r.directory.relative_to(ROOT)}: {steps}")
    failed = [r for r in results if not r.ok]
    for r in failed:
        print(f"\n---- {r.directory.relative_to(ROOT)}")
        print("\n".join(r.problems))
    print(f"terraform: {len(results) - len(failed)}/{len(results)} passed in {time.monotonic() - start:.0f}s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
