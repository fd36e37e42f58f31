"""Build the Lambda artifact from uv.lock: one package tree, shipped as the zip and as the image.

    python mk/lambda_artifact.py [--out build/lambda] [--arch x86_64|arm64]   (make lambda-zip)

1. The dependencies of the extras the functions need (EXTRAS) are exported from uv.lock with their
   hashes (``uv export --frozen``: the lock is never re-resolved here) and installed with
   ``--require-hashes`` as wheels for the Lambda runtime's Python and platform (RUNTIME, PLATFORM).
   boto3 comes from the lock too, not from the runtime, so every function runs the tested version.
2. The project's own wheel is built and installed without dependencies.
3. Test suites that pandas and numpy carry are removed (about 50 MB of the 250 MB Lambda allows).
4. Every module is compiled to ``__pycache__/*.cpython-<runtime>.pyc`` by the runtime's own Python,
   ``--invalidation-mode unchecked-hash``: Lambda's file system is read-only and a zip does not keep
   modification times exactly, so timestamp-checked bytecode would be recompiled in memory on every
   cold start; these are used as they are. Paths in tracebacks read /var/task/... as in Lambda.
5. The tree is zipped deterministically (sorted entries, fixed timestamps), and beside the zip go
   the exact dependency list: <name>.requirements.txt (pinned, with hashes, and the project's wheel
   with its sha256) and <name>.cdx.json (CycloneDX 1.5: every component shipped, the zip's hash).

The Dockerfile copies the same tree (build/lambda/package) into the Lambda base image, so zip and
image carry identical bytes. Only the standard library and uv are needed.
"""

from __future__ import annotations

import argparse
import email.parser
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import uuid
import zipfile
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# The Lambda runtime: the Dockerfile's base image, observed_lambda's runtime default and the deploy
# workflow's build Python must say the same (tests/infra/test_infra_lambda_artifact.py).
RUNTIME = "python3.13"
PYTHON_VERSION = RUNTIME.removeprefix("python")
# python3.12+ runtimes run on Amazon Linux 2023 (glibc 2.34).
PLATFORM = {"x86_64": "x86_64-manylinux_2_34", "arm64": "aarch64-manylinux_2_34"}
EXTRAS = ("ingest", "auth", "checks")
TASK_ROOT = "/var/task"
# Test suites shipped inside wheels: never imported by the functions.
PRUNE = (
    "pandas/tests",
    "numpy/_core/tests",
    "numpy/lib/tests",
    "numpy/*/tests",
    "numpy/tests",
    "bin",
    ".lock",
)
ZIP_TIME = (1980, 1, 1, 0, 0, 0)
LAMBDA_UNZIPPED_LIMIT = 250 * 2**20


class BuildError(RuntimeError):
    """The artifact cannot be built as specified (the message says why and what to do)."""


def uv() -> str:
    for candidate in (os.environ.get("UV"), str(ROOT / ".venv" / "bin" / "uv"), shutil.which("uv")):
        if candidate and Path(candidate).is_file():
            return candidate
    raise BuildError("uv not found: run `make install` (or `pip install uv`) first")


def runtime_python() -> str:
    """An interpreter of the runtime's Python version, to compile the bytecode with.

    LAMBDA_PYTHON names one; else this interpreter if it is the right version, python3.X on PATH,
    one uv knows or installs (`uv python install`), or a pyenv build.
    """
    explicit = os.environ.get("LAMBDA_PYTHON")
    candidates = [explicit] if explicit else []
    if f"{sys.version_info.major}.{sys.version_info.minor}" == PYTHON_VERSION:
        candidates.append(sys.executable)
    candidates.append(shutil.which(f"python{PYTHON_VERSION}"))
    candidates += sorted(
        str(p) for p in Path("~/.pyenv/versions").expanduser().glob(f"{PYTHON_VERSION}*/bin/python3")
    )
    for candidate in candidates:
        if candidate and _version(candidate) == PYTHON_VERSION:
            return candidate
    for args in (["python", "find", PYTHON_VERSION], ["python", "install", PYTHON_VERSION]):
        done = subprocess.run([uv(), *args], capture_output=True, text=True, check=False)
        if args[1] == "install" and done.returncode == 0:
            done = subprocess.run([uv(), "python", "find", PYTHON_VERSION], capture_output=True, text=True)
        found = done.stdout.strip().splitlines()
        if done.returncode == 0 and found and _version(found[-1]) == PYTHON_VERSION:
            return found[-1]
    raise BuildError(
        f"no Python {PYTHON_VERSION} (the {RUNTIME} runtime's) to compile the bytecode with: install it "
        f"(`uv python install {PYTHON_VERSION}`) or set LAMBDA_PYTHON to its interpreter"
    )


def _version(python: str) -> str | None:
    done = subprocess.run(
        [python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    return done.stdout.strip() if done.returncode == 0 else None


def run(args: Sequence[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(list(args), capture_output=True, text=True, check=False, cwd=ROOT, **kwargs)  # type: ignore[call-overload]
    if done.returncode != 0:
        raise BuildError(f"{' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    return done


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def export_requirements(dest: Path) -> list[tuple[str, str, bool]]:
    """The locked dependencies of EXTRAS, pinned with hashes, written to ``dest``; (name, version,
    whether an environment marker limits it to some platforms or Python versions)."""
    args = [uv(), "export", "--frozen", "--no-dev", "--no-emit-project", "--format", "requirements-txt", "-q"]
    args += [f"--extra={e}" for e in EXTRAS] + ["-o", str(dest)]
    run(args)
    pins = re.finditer(r"^([A-Za-z0-9_.-]+)==([^\s;]+)( ;)?", dest.read_text(encoding="utf-8"), re.M)
    return [(m.group(1).lower(), m.group(2), bool(m.group(3))) for m in pins]


def installed(package: Path) -> dict[str, str]:
    """name -> version of every distribution in an installed tree (its *.dist-info)."""
    found = {}
    for meta in package.glob("*.dist-info/METADATA"):
        headers = email.parser.Parser().parsestr(meta.read_text(encoding="utf-8"), headersonly=True)
        found[re.sub(r"[-_.]+", "-", headers["Name"]).lower()] = headers["Version"]
    return found


def check_installed(deps: dict[str, str], locked: Sequence[tuple[str, str, bool]]) -> None:
    """Refuse a tree that holds anything the lock does not pin, or lacks what it pins for every
    platform (a name under a marker may be absent: tzdata is for Windows, one numpy per Python)."""
    allowed: dict[str, set[str]] = {}
    for name, version, _ in locked:
        allowed.setdefault(re.sub(r"[-_.]+", "-", name), set()).add(version)
    required = {re.sub(r"[-_.]+", "-", n) for n, _, marked in locked if not marked}
    wrong = sorted(f"{k}=={v}" for k, v in deps.items() if v not in allowed.get(k, ()))
    missing = sorted(required - set(deps))
    if wrong or missing:
        raise BuildError(f"the package tree is not what uv.lock pins: unexpected {wrong}, missing {missing}")


def build(out: Path, arch: str = "x86_64", name: str = "lambda") -> dict[str, Path]:
    """Build the package tree, the zip and the dependency lists under ``out``; return their paths."""
    python = runtime_python()
    package, dist = out / "package", out / "dist"
    for stale in (package, dist):
        shutil.rmtree(stale, ignore_errors=True)
    dist.mkdir(parents=True)
    requirements = out / "requirements.txt"
    locked = export_requirements(requirements)

    run([uv(), "pip", "install", "-q", "--target", str(package), "--python-platform", PLATFORM[arch],
         "--python-version", PYTHON_VERSION, "--only-binary", ":all:", "--require-hashes", "--no-deps",
         "--no-compile", "-r", str(requirements)])  # fmt: skip
    run([uv(), "build", "-q", "--wheel", "--out-dir", str(dist), str(ROOT)])
    (wheel,) = dist.glob("*.whl")
    run([uv(), "pip", "install", "-q", "--target", str(package), "--python-platform", PLATFORM[arch],
         "--python-version", PYTHON_VERSION, "--no-deps", "--no-compile", str(wheel)])  # fmt: skip

    have = installed(package)
    own = re.sub(r"[-_.]+", "-", wheel.name.split("-")[0]).lower()
    check_installed({k: v for k, v in have.items() if k != own}, locked)

    for pattern in PRUNE:
        for path in package.glob(pattern):
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink()
    run([python, "-m", "compileall", "-q", "-j", "0", "--invalidation-mode", "unchecked-hash",
         "-s", str(package), "-p", TASK_ROOT, str(package)])  # fmt: skip

    zip_path = out / f"{name}.zip"
    unzipped = write_zip(package, zip_path)
    if unzipped > LAMBDA_UNZIPPED_LIMIT:
        raise BuildError(f"{zip_path} unpacks to {unzipped / 2**20:.0f} MiB, over Lambda's 250 MiB")

    pinned = out / f"{name}.requirements.txt"
    header = (
        f"# The dependencies inside {zip_path.name} and the image built from the same tree: uv.lock's\n"
        f"# pins, installed with --require-hashes for {RUNTIME} on {PLATFORM[arch]}. A line whose marker\n"
        f"# does not hold there was not installed; {name}.cdx.json lists exactly what was.\n"
    )
    own_line = (
        f"{own}=={have[own]} --hash=sha256:{sha256(wheel)}  # this project's wheel, built from the commit\n"
    )
    pinned.write_text(header + own_line + _body(requirements), encoding="utf-8")
    sbom = out / f"{name}.cdx.json"
    sbom.write_text(
        json.dumps(cyclonedx(have, own, zip_path, arch, unzipped), indent=1) + "\n", encoding="utf-8"
    )
    return {"package": package, "zip": zip_path, "requirements": pinned, "sbom": sbom, "wheel": wheel}


def _body(requirements: Path) -> str:
    return "".join(
        line for line in requirements.read_text(encoding="utf-8").splitlines(True) if not line.startswith("#")
    )


def write_zip(package: Path, dest: Path) -> int:
    """A deterministic zip of the tree (sorted, fixed times, modes kept); returns the unzipped size."""
    total = 0
    files = sorted(
        (p for p in package.rglob("*") if p.is_file()), key=lambda p: p.relative_to(package).as_posix()
    )
    with zipfile.ZipFile(dest, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
        for path in files:
            info = zipfile.ZipInfo(path.relative_to(package).as_posix(), date_time=ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = (0o755 if os.access(path, os.X_OK) else 0o644) << 16
            data = path.read_bytes()
            total += len(data)
            zf.writestr(info, data)
    return total


def cyclonedx(have: dict[str, str], own: str, zip_path: Path, arch: str, unzipped: int) -> dict[str, object]:
    """A CycloneDX 1.5 SBOM of the artifact: the zip and every distribution inside it."""
    components = [
        {
            "type": "library",
            "bom-ref": f"pkg:pypi/{n}@{v}",
            "name": n,
            "version": v,
            "purl": f"pkg:pypi/{n}@{v}",
        }
        for n, v in sorted(have.items())
    ]
    return {
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "serialNumber": f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, sha256(zip_path))}",
        "version": 1,
        "metadata": {
            "timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "component": {
                "type": "application",
                "bom-ref": "lambda-artifact",
                "name": zip_path.name,
                "version": have[own],
                "hashes": [{"alg": "SHA-256", "content": sha256(zip_path)}],
                "properties": [
                    {"name": "lambda:runtime", "value": RUNTIME},
                    {"name": "lambda:architecture", "value": arch},
                    {"name": "lambda:unzipped-bytes", "value": str(unzipped)},
                    {"name": "git:sha", "value": os.environ.get("GIT_SHA", "")},
                ],
            },
        },
        "components": components,
        "dependencies": [{"ref": "lambda-artifact", "dependsOn": [c["bom-ref"] for c in components]}],
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="mk/lambda_artifact.py", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "lambda")
    parser.add_argument("--arch", choices=sorted(PLATFORM), default="x86_64")
    args = parser.parse_args(argv)
    try:
        paths = build(args.out.resolve(), args.arch)
    except BuildError as exc:
        print(f"lambda artifact: {exc}", file=sys.stderr)
        return 1
    size = paths["zip"].stat().st_size
    print(f"{paths['zip']}: {size / 2**20:.1f} MiB ({RUNTIME}, {args.arch}); {paths['requirements'].name}, "
          f"{paths['sbom'].name} beside it")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
