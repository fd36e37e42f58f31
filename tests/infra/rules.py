"""House rules for the Terraform code and the GitHub workflows, as functions over parsed files.

Each rule takes what python-hcl2 (or PyYAML) parsed and returns a list of violations, one
human-readable string each, naming the file and the block; an empty list means the rule holds.
The tests run every rule over the real code (must be empty) and over a deliberately broken
fixture (must not be), so a rule that silently stopped checking would be noticed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import hcl2
from hcl2 import SerializationOptions

_OPTIONS = SerializationOptions(strip_string_quotes=True, explicit_blocks=False, with_comments=False)
ENVIRONMENTS = ("dev", "stg", "prd")
SHA_PINNED = re.compile(r"^[^@\s]+@[0-9a-f]{40}$")


def load_tf(path: Path) -> dict[str, Any]:
    """One .tf file as python-hcl2's dict (labels and strings without quotes, no block markers)."""
    with path.open(encoding="utf-8") as fh:
        return hcl2.load(fh, serialization_options=_OPTIONS)


def load_dir(directory: Path) -> dict[Path, dict[str, Any]]:
    """Every .tf file under ``directory`` (recursively, skipping .terraform), parsed."""
    return {p: load_tf(p) for p in sorted(directory.rglob("*.tf")) if ".terraform" not in p.parts}


def blocks(parsed: Mapping[str, Any], kind: str) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(type, name, body) of every ``resource`` / ``data`` block; for ``variable``/``output``/``module``
    the type is the kind itself."""
    for entry in parsed.get(kind, []):
        for first, body in entry.items():
            if kind in ("resource", "data"):
                for name, inner in body.items():
                    yield first, name, inner
            else:
                yield kind, first, body


def _where(path: Path, kind: str, name: str) -> str:
    return f"{path}: {kind} {name}"


# ---------------------------------------------------------------- terraform rules


def untyped_or_undescribed(files: Mapping[Path, Mapping[str, Any]]) -> list[str]:
    """Every variable has a type and a description; every output a description."""
    bad = []
    for path, parsed in files.items():
        for _, name, body in blocks(parsed, "variable"):
            if not body.get("type"):
                bad.append(_where(path, "variable", name) + " has no type")
            if not str(body.get("description") or "").strip():
                bad.append(_where(path, "variable", name) + " has no description")
        for _, name, body in blocks(parsed, "output"):
            if not str(body.get("description") or "").strip():
                bad.append(_where(path, "output", name) + " has no description")
    return bad


def _statements(parsed: Mapping[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """IAM statements: aws_iam_policy_document blocks and policy_statements passed to modules."""
    for kind, name, body in blocks(parsed, "data"):
        if kind == "aws_iam_policy_document":
            for st in body.get("statement", []):
                yield f"data.{kind}.{name}", st
    for _, name, body in blocks(parsed, "module"):
        value = body.get("policy_statements")
        if isinstance(value, list):
            for st in value:
                if isinstance(st, dict):
                    yield f"module.{name}.policy_statements", st


def wildcard_actions(files: Mapping[Path, Mapping[str, Any]]) -> list[str]:
    """No Allow statement grants a wildcard action ("*", "s3:*", "s3:Get*").

    Deny statements may (a wildcard Deny is stronger); hand-written JSON policies are refused
    outright so that every policy goes through a document this rule can read.
    """
    bad = []
    for path, parsed in files.items():
        for where, st in _statements(parsed):
            if str(st.get("effect", "Allow")) == "Deny":
                continue
            actions = st.get("actions", [])
            for action in actions if isinstance(actions, list) else [actions]:
                if "*" in str(action):
                    bad.append(
                        f"{path}: {where} statement {st.get('sid', '?')} allows wildcard action {action!r}"
                    )
        for kind, name, body in blocks(parsed, "resource"):
            for key in ("policy", "assume_role_policy"):
                value = body.get(key)
                if isinstance(value, str) and re.search(r"\bAction\b", value):
                    where = f"{path}: resource {kind}.{name}.{key}"
                    bad.append(f"{where} is hand-written JSON; use aws_iam_policy_document")
    return bad


# Resource types whose settings the issue of record is about (retention, DLQs, batch failures,
# bucket and table protection, alarms, dashboards, IAM): the plan suites must assert on every one.
PLANNED_TYPES = (
    "aws_cloudwatch_log_group", "aws_lambda_function", "aws_lambda_event_source_mapping", "aws_sqs_queue",
    "aws_s3_bucket", "aws_s3_bucket_versioning", "aws_s3_bucket_server_side_encryption_configuration",
    "aws_s3_bucket_public_access_block", "aws_dynamodb_table", "aws_cloudwatch_metric_alarm",
    "aws_cloudwatch_dashboard", "aws_sns_topic", "aws_iam_policy_document",
)  # fmt: skip


def unplanned_resources(modules_dir: Path) -> list[str]:
    """Every resource (and IAM policy document) of those types is named in its module's
    `terraform test` suites: the plans assert on it, so a new bucket or queue cannot go untested."""
    bad = []
    for module in sorted(p for p in modules_dir.iterdir() if p.is_dir()):
        suites = "".join(
            t.read_text(encoding="utf-8") for t in sorted((module / "tests").glob("*.tftest.hcl"))
        )
        for path in sorted(module.glob("*.tf")):
            parsed = load_tf(path)
            for section, prefix in (("resource", ""), ("data", "data.")):
                for kind, name, _ in blocks(parsed, section):
                    address = f"{prefix}{kind}.{name}"
                    if kind in PLANNED_TYPES and not re.search(rf"{re.escape(address)}\b", suites):
                        bad.append(f"{path}: {address} is not asserted on by any suite in {module}/tests")
    return bad


def workspace_problems(files: Mapping[Path, Mapping[str, Any]]) -> list[str]:
    """The root's workspaces map has exactly dev, stg and prd, and an S3 backend with use_lockfile."""
    bad = []
    maps = [
        (path, entry["workspaces"])
        for path, parsed in files.items()
        for entry in parsed.get("locals", [])
        if "workspaces" in entry
    ]
    if len(maps) != 1:
        bad.append(f"expected one locals.workspaces map, found {len(maps)}")
    for path, ws in maps:
        if sorted(ws) != sorted(ENVIRONMENTS):
            bad.append(f"{path}: locals.workspaces has {sorted(ws)}, expected exactly {list(ENVIRONMENTS)}")
        shapes = {tuple(sorted(v)) for v in ws.values()}
        if len(shapes) > 1:
            bad.append(f"{path}: the workspaces do not all set the same keys: {sorted(shapes)}")
    backends = [
        (path, backend)
        for path, parsed in files.items()
        for tf in parsed.get("terraform", [])
        for backend in tf.get("backend", [])
    ]
    if len(backends) != 1:
        bad.append(f"expected one backend block, found {len(backends)}")
    for path, backend in backends:
        s3 = backend.get("s3")
        if s3 is None:
            bad.append(f"{path}: backend is {list(backend)}, expected s3")
        elif s3.get("use_lockfile") is not True:
            bad.append(f"{path}: backend s3 has no use_lockfile = true")
    return bad


def _version_tuple(text: str) -> tuple[int, ...]:
    return tuple(int(x) for x in re.findall(r"\d+", text)[:3])


# The provider versions every module must admit: the one validated and planned here with the real
# binary, and the 6.x release whose schema the project is checked against (tests/infra/aws_schema).
PROVIDER_VERSIONS_SUPPORTED = ("5.100.0", "6.62.0")


def _padded(version: tuple[int, ...]) -> tuple[int, ...]:
    return (*version, 0, 0, 0)[:3]


def constraint_admits(constraint: str, version: str) -> bool:
    """Whether a Terraform version constraint ("~> 5.70", ">= 5.100, < 7.0") admits ``version``."""
    have = _padded(_version_tuple(version))
    for part in (p.strip() for p in constraint.split(",") if p.strip()):
        match = re.fullmatch(r"(~>|>=|<=|!=|>|<|=)?\s*(\d+(?:\.\d+){0,2})", part)
        if not match:
            raise ValueError(f"cannot read the version constraint {part!r}")
        op, raw = match.group(1) or "=", match.group(2)
        given = _version_tuple(raw)
        want = _padded(given)
        if op == "~>":
            # ~> 5.70 means >= 5.70, < 6.0; ~> 5.70.1 means >= 5.70.1, < 5.71.0
            upper = list(given[:-1]) if len(given) > 1 else list(given)
            upper[-1] += 1
            ok = want <= have < _padded(tuple(upper))
        else:
            ok = {
                "=": have == want, "!=": have != want, ">": have > want,
                ">=": have >= want, "<": have < want, "<=": have <= want,
            }[op]  # fmt: skip
        if not ok:
            return False
    return True


def module_layout(modules_dir: Path) -> list[str]:
    """terraform-aws-modules layout: the four files and a README with a usage example per module;
    required_version >= 1.5; where the module uses the aws provider, a constraint that admits every
    version in PROVIDER_VERSIONS_SUPPORTED and has an upper bound below the next major version."""
    bad = []
    for module in sorted(p for p in modules_dir.iterdir() if p.is_dir()):
        for name in ("main.tf", "variables.tf", "outputs.tf", "versions.tf", "README.md"):
            if not (module / name).is_file():
                bad.append(f"{module}: missing {name}")
        readme = module / "README.md"
        if readme.is_file() and 'source = "' not in readme.read_text(encoding="utf-8"):
            bad.append(f"{readme}: no usage example (a module block with source = ...)")
        if not (module / "versions.tf").is_file():
            continue
        tf = load_tf(module / "versions.tf").get("terraform", [{}])[0]
        required = str(tf.get("required_version", ""))
        if not required.startswith(">=") or _version_tuple(required) < (1, 5):
            bad.append(f"{module}/versions.tf: required_version {required!r} is not >= 1.5")
        uses_aws = any(
            kind.startswith("aws_")
            for parsed in load_dir(module).values()
            for section in ("resource", "data")
            for kind, _, _ in blocks(parsed, section)
        )
        providers = {k: v for entry in tf.get("required_providers", []) for k, v in entry.items()}
        if uses_aws:
            version = str(providers.get("aws", {}).get("version", ""))
            bad += [
                f"{module}/versions.tf: aws provider version {version!r} does not admit {v}"
                for v in PROVIDER_VERSIONS_SUPPORTED
                if not version or not constraint_admits(version, v)
            ]
            if version and constraint_admits(version, "7.0.0"):
                bad.append(
                    f"{module}/versions.tf: aws provider version {version!r} admits 7.0, never checked"
                )
    return bad


def layout_assumptions(modules_dir: Path) -> list[str]:
    """A module is consumed by pinned source from someone else's repository: it may name files only
    under its own directory (path.module) and other modules only as siblings in the same package;
    never path.root / path.cwd (the caller's layout) or a relative path out of the package."""
    bad = []
    siblings = {p.name for p in modules_dir.iterdir() if p.is_dir()}
    for path in sorted(modules_dir.glob("*/*.tf")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            code = re.sub(r"\s*(#|//).*$", "", line) if not line.lstrip().startswith(("#", "//")) else ""
            code = re.sub(r"\$\$\{[^}]*\}", "", code)  # $${...} is literal text, not an expression
            source = re.match(r'\s*source\s*=\s*"([^"]+)"', code)
            if source:
                target = source.group(1)
                if target.startswith(".") and not (target.startswith("../") and target[3:] in siblings):
                    bad.append(f"{path}:{number}: module source {target} is not a sibling module")
                continue
            if re.search(r"\bpath\.(root|cwd)\b", code):
                bad.append(f"{path}:{number}: path.root / path.cwd is the caller's layout")
            if re.search(r"\.\./", code):
                bad.append(f"{path}:{number}: a relative path out of the module")
            for call in re.finditer(r"\b(file|templatefile|fileexists|filebase64)\(\s*([^,)]+)", code):
                argument = call.group(2).strip()
                if not (argument.startswith('"${path.module}/') or argument.startswith(("var.", "each."))):
                    bad.append(f"{path}:{number}: {call.group(1)}({argument}) reads outside the module")
    return bad


# ---------------------------------------------------------------- workflow rules


def _jobs(workflow: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    return dict(workflow.get("jobs") or {})


def workflow_problems(name: str, workflow: Mapping[str, Any]) -> list[str]:
    """Actions pinned by full commit SHA; no default token permissions (permissions: {} at the top,
    minimal per job); no long-lived AWS keys; checkout without persisted credentials."""
    bad = []
    if workflow.get("permissions") != {}:
        bad.append(f"{name}: top-level permissions must be {{}} (each job asks for what it needs)")
    text_keys = ("aws-access-key-id", "aws-secret-access-key", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")
    for job_id, job in _jobs(workflow).items():
        perms = job.get("permissions")
        if not isinstance(perms, dict):
            bad.append(f"{name}: job {job_id} has no permissions block")
        elif any(v == "write" for k, v in perms.items() if k != "id-token"):
            bad.append(f"{name}: job {job_id} asks for write permissions {perms}")
        uses = job.get("uses")
        if uses and not str(uses).startswith("./") and not SHA_PINNED.match(str(uses)):
            bad.append(f"{name}: job {job_id} calls {uses} not pinned by commit SHA")
        for step in job.get("steps") or []:
            ref = step.get("uses")
            if ref and not str(ref).startswith("./") and not SHA_PINNED.match(str(ref)):
                bad.append(f"{name}: job {job_id} uses {ref} not pinned by a full commit SHA")
            checkout = bool(ref) and str(ref).startswith("actions/checkout@")
            if checkout and (step.get("with") or {}).get("persist-credentials") is not False:
                bad.append(f"{name}: job {job_id} checks out with persisted credentials")
            with_ = step.get("with") or {}
            if any(k in with_ for k in text_keys):
                bad.append(f"{name}: job {job_id} passes long-lived AWS keys; use role-to-assume (OIDC)")
        for key in text_keys:
            if key in (job.get("env") or {}):
                bad.append(f"{name}: job {job_id} sets {key}; use GitHub OIDC")
    return bad


def promotion_problems(deploy: Mapping[str, Any]) -> list[str]:
    """deploy.yml: plan -> apply per environment in the order dev, stg, prd; each environment gets the
    SAME artifact references from the one build job; one concurrency group per environment."""
    bad = []
    jobs = _jobs(deploy)
    order = [f"{mode}-{env}" for env in ENVIRONMENTS for mode in ("plan", "apply")]
    previous = "artifacts"
    refs = None
    for job_id in order:
        job = jobs.get(job_id)
        if job is None:
            bad.append(f"deploy.yml: no job {job_id}")
            continue
        needs = job.get("needs")
        needs = [needs] if isinstance(needs, str) else list(needs or [])
        if previous not in needs:
            bad.append(f"deploy.yml: {job_id} does not wait for {previous}")
        with_ = job.get("with") or {}
        env, mode = job_id.split("-")[1], job_id.split("-")[0]
        if with_.get("environment") != env or with_.get("mode") != mode:
            bad.append(
                f"deploy.yml: {job_id} passes environment={with_.get('environment')} mode={with_.get('mode')}"
            )
        these = {k: with_.get(k) for k in ("zip_key", "zip_version", "image_uri", "git_sha", "package_type")}
        if not all("needs.artifacts.outputs" in str(v) for k, v in these.items() if k != "package_type"):
            bad.append(f"deploy.yml: {job_id} does not take its artifact references from the artifacts job")
        if refs is None:
            refs = these
        elif these != refs:
            bad.append(f"deploy.yml: {job_id} gets different artifact references than plan-dev: {these}")
        group = str((job.get("concurrency") or {}).get("group", ""))
        if group != f"terraform-{env}":
            bad.append(f"deploy.yml: {job_id} concurrency group {group!r} is not terraform-{env}")
        previous = job_id
    return bad
