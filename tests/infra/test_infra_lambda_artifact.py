"""The Lambda artifact (mk/lambda_artifact.py), built for real: installed from uv.lock with hashes,
bytecode compiled by the runtime's Python, the exact dependency list beside it, and one runtime
named the same in the build, the Dockerfile, the Terraform default and the deploy workflow."""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

from tests.infra import rules

ROOT = Path(__file__).resolve().parents[2]


def _load_builder() -> ModuleType:
    spec = importlib.util.spec_from_file_location("lambda_artifact", ROOT / "mk" / "lambda_artifact.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["lambda_artifact"] = module
    spec.loader.exec_module(module)
    return module


builder = _load_builder()


def _deploy() -> dict[str, Any]:
    return yaml.safe_load((ROOT / ".github" / "workflows" / "deploy.yml").read_text(encoding="utf-8"))


def test_one_runtime_everywhere() -> None:
    """The zip's bytecode and wheels, the image's base, the functions' runtime and the Python that
    builds them in CI must be the same Python, or the functions load nothing they were built with."""
    runtime = builder.RUNTIME
    version = builder.PYTHON_VERSION
    assert re.fullmatch(r"python3\.\d+", runtime)
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert re.findall(r"^FROM (\S+)", dockerfile, re.M) == [f"public.ecr.aws/lambda/python:{version}"]
    variables = rules.load_tf(ROOT / "terraform" / "modules" / "observed_lambda" / "variables.tf")
    (runtime_var,) = [b for _, n, b in rules.blocks(variables, "variable") if n == "runtime"]
    assert runtime_var["default"] == runtime
    assert re.search(rf"\b{version.split('.')[1]}\b", runtime_var["validation"][0]["condition"]), "admitted"
    steps = _deploy()["jobs"]["artifacts"]["steps"]
    pythons = [
        s["with"]["python-version"]
        for s in steps
        if str(s.get("uses", "")).startswith("actions/setup-python@")
    ]
    assert pythons == [version], "the artifacts job builds with the runtime's Python"
    builds = [s for s in steps if "mk/lambda_artifact.py" in str(s.get("run", ""))]
    assert len(builds) == 1


def test_the_image_carries_the_zip_tree_and_its_list() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert "COPY build/lambda/package/ ${LAMBDA_TASK_ROOT}/" in dockerfile
    assert "build/lambda/lambda.requirements.txt build/lambda/lambda.cdx.json" in dockerfile
    assert "pip install" not in dockerfile, "nothing is resolved at image build time"
    ignore = (ROOT / ".dockerignore").read_text(encoding="utf-8").split()
    assert ignore[ignore.index("*") :] == [
        "*",
        "!build/lambda/package/",
        "!build/lambda/lambda.requirements.txt",
        "!build/lambda/lambda.cdx.json",
    ]
    steps = {s.get("name", ""): s for s in _deploy()["jobs"]["artifacts"]["steps"]}
    names = list(steps)
    assert names.index("Build the artifact from uv.lock (package tree, zip, dependency list)") < names.index(
        "Build and push the image (tag = git SHA)"
    )


def test_the_deploy_workflow_records_the_dependency_list() -> None:
    steps = {s.get("name", ""): s for s in _deploy()["jobs"]["artifacts"]["steps"]}
    upload = steps["Upload the zip and its dependency list (lambda/<sha>/)"]["run"]
    assert "lambda.requirements.txt lambda.cdx.json" in upload and '--key "lambda/${GIT_SHA}/${f}"' in upload
    assert "sbom-sha256=${sbom}" in upload
    kept = steps["Keep the dependency list with the run"]["with"]["path"]
    assert "build/lambda/lambda.cdx.json" in kept and "build/lambda/lambda.requirements.txt" in kept
    resolve = steps["Resolve the references every environment will get"]["run"]
    assert "lambda.cdx.json" in resolve, "a redeploy checks the list is there too"


def test_a_tree_that_strays_from_the_lock_is_refused() -> None:
    locked = [
        ("pandas", "3.1.1", False),
        ("numpy", "2.4.6", True),
        ("numpy", "2.5.5", True),
        ("tzdata", "1", True),
    ]
    builder.check_installed({"pandas": "3.1.1", "numpy": "2.5.5"}, locked)
    with pytest.raises(builder.BuildError, match=r"unexpected \['pandas==3.0.0'\]"):
        builder.check_installed({"pandas": "3.0.0", "numpy": "2.5.5"}, locked)
    with pytest.raises(builder.BuildError, match=r"unexpected \['six==1.17.0'\], missing \['pandas'\]"):
        builder.check_installed({"six": "1.17.0"}, locked)


# ---------------------------------------------------------------- the built artifact


@pytest.fixture(scope="session")
def artifact(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return builder.build(tmp_path_factory.mktemp("lambda"))


@pytest.fixture(scope="session")
def runtime_python() -> str:
    return builder.runtime_python()


# Run by the runtime's own Python: every module in the zip has bytecode for it, unchecked-hash
# (flags 0b01), whose hash is that of the shipped source, with tracebacks naming /var/task.
PYC_CHECK = r"""
import importlib.util, json, marshal, sys, zipfile
zf = zipfile.ZipFile(sys.argv[1])
names = set(zf.namelist())
tag = sys.implementation.cache_tag
problems, checked, sample = [], 0, None
for name in sorted(n for n in names if n.endswith(".py")):
    folder, _, stem = name.rpartition("/")
    pyc = (folder + "/" if folder else "") + "__pycache__/" + stem[:-3] + "." + tag + ".pyc"
    if pyc not in names:
        problems.append("no " + pyc)
        continue
    data = zf.read(pyc)
    if data[:4] != importlib.util.MAGIC_NUMBER:
        problems.append(pyc + ": magic of another Python")
    elif int.from_bytes(data[4:8], "little") != 1:
        problems.append(pyc + ": not unchecked-hash")
    elif data[8:16] != importlib.util.source_hash(zf.read(name)):
        problems.append(pyc + ": compiled from another source")
    else:
        checked += 1
        if sample is None and name.endswith("observe/__init__.py"):
            sample = marshal.loads(data[16:]).co_filename
print(json.dumps({"tag": tag, "checked": checked, "problems": problems[:20], "sample": sample}))
"""


def test_every_module_ships_bytecode_for_the_runtime(artifact: dict[str, Path], runtime_python: str) -> None:
    done = subprocess.run([runtime_python, "-I", "-c", PYC_CHECK, str(artifact["zip"])],
                          capture_output=True, text=True, timeout=300, check=True)  # fmt: skip
    report = json.loads(done.stdout)
    assert report["tag"] == f"cpython-{builder.PYTHON_VERSION.replace('.', '')}"
    assert report["problems"] == []
    assert report["checked"] > 1000, "observe, the pipelines and every dependency"
    assert report["sample"] == "/var/task/observe/__init__.py"


def test_the_handlers_import_from_the_zip_alone(
    artifact: dict[str, Path], runtime_python: str, tmp_path: Path
) -> None:
    """Unpacked and imported by the runtime's Python with nothing else on the path (no site-packages,
    as in Lambda, where the zip's boto3 comes first)."""
    with zipfile.ZipFile(artifact["zip"]) as zf:
        zf.extractall(tmp_path)
    handlers = ["pipelines.ingest.scheduler.ingest_scheduler", "pipelines.ingest.worker.ingest_worker",
                "pipelines.auth.handlers.login.handler", "pipelines.auth.handlers.callback.handler",
                "pipelines.auth.handlers.jwks.handler"]  # fmt: skip
    script = (
        "import importlib, sys\n"
        f"sys.path.insert(0, {str(tmp_path)!r})\n"
        f"for dotted in {handlers!r}:\n"
        "    module, _, attr = dotted.rpartition('.')\n"
        "    assert callable(getattr(importlib.import_module(module), attr)), dotted\n"
        "import boto3, pandas, numpy\n"
        "print(boto3.__file__.startswith(sys.path[0]), pandas.__version__, numpy.__version__)\n"
    )
    done = subprocess.run([runtime_python, "-I", "-S", "-c", script], capture_output=True, text=True,
                          timeout=300, env={"PATH": "/usr/bin:/bin"})  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    own_boto, pandas_version, numpy_version = done.stdout.split()
    assert own_boto == "True"
    sbom = json.loads(artifact["sbom"].read_text(encoding="utf-8"))
    versions = {c["name"]: c["version"] for c in sbom["components"]}
    assert (versions["pandas"], versions["numpy"]) == (pandas_version, numpy_version)


def test_the_dependency_list_is_exactly_what_the_zip_holds(artifact: dict[str, Path]) -> None:
    with zipfile.ZipFile(artifact["zip"]) as zf:
        infos = zf.infolist()
        shipped = {}
        for name in (i.filename for i in infos if i.filename.endswith(".dist-info/METADATA")):
            meta = zf.read(name).decode()
            dist = re.search(r"^Name: (.+)$", meta, re.M).group(1).strip()  # type: ignore[union-attr]
            shipped[re.sub(r"[-_.]+", "-", dist).lower()] = (
                re.search(r"^Version: (.+)$", meta, re.M).group(1).strip()
            )  # type: ignore[union-attr]
    sbom = json.loads(artifact["sbom"].read_text(encoding="utf-8"))
    assert sbom["bomFormat"] == "CycloneDX" and sbom["specVersion"] == "1.5"
    assert {c["name"]: c["version"] for c in sbom["components"]} == shipped
    assert sbom["metadata"]["component"]["hashes"][0]["content"] == builder.sha256(artifact["zip"])
    assert {"boto3", "observe-pipelines", "pandas", "structlog"} <= set(shipped)

    pinned = artifact["requirements"].read_text(encoding="utf-8")
    entries = dict(re.findall(r"^([a-z0-9_.-]+)==(\S+)", pinned, re.M | re.I))
    for name, version in shipped.items():
        assert re.search(rf"^{re.escape(name)}=={re.escape(version)}\b", pinned, re.M | re.I), name
    assert all(v for v in entries.values())
    blocks = re.split(r"\n(?=[a-z0-9])", pinned.split("\n", 3)[3], flags=re.I)
    assert all("--hash=sha256:" in b for b in blocks if b.strip()), "every pin carries its hashes"
    assert f"--hash=sha256:{builder.sha256(artifact['wheel'])}" in pinned

    assert not any(i.filename.startswith(("pandas/tests/", "numpy/_core/tests/", "bin/")) for i in infos)
    assert sum(i.file_size for i in infos) < builder.LAMBDA_UNZIPPED_LIMIT
    assert [i.filename for i in infos] == sorted(i.filename for i in infos)
    assert {i.date_time for i in infos} == {builder.ZIP_TIME}, "the same commit gives the same bytes"
