"""The static half of ``observe check``: every metric name the code emits must be declared.

Python files are parsed (never imported) and every call of observe's ``metric`` (however it was
imported: ``from observe import metric``, ``import observe`` then ``observe.metric``, aliases too)
is checked against the configuration: a literal name must be declared, a literal unit must be the
declared one, and keyword dimensions must be declared. A name computed at run time cannot be
checked here; it is listed as a note (run time still refuses it in dev and counts it in stg/prd).
A line ending in ``# observe-check: ignore`` is skipped (a test that emits a wrong name on purpose).
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from observe.project import FILENAME, ProjectConfig

IGNORE = "# observe-check: ignore"
SKIP_DIRS = frozenset(
    {"node_modules", "__pycache__", "build", "dist", "site-packages", "venv", "env", "htmlcov"}
)
_METRIC_MODULES = ("observe", "observe.metrics")


@dataclass(frozen=True)
class Finding:
    """One problem (or note) at a place in the code."""

    path: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


@dataclass
class ScanResult:
    """What a scan found: problems fail the check, notes do not."""

    files: int = 0
    calls: int = 0
    problems: list[Finding] | None = None
    notes: list[Finding] | None = None

    def __post_init__(self) -> None:
        self.problems = self.problems or []
        self.notes = self.notes or []


def python_files(roots: Iterable[Path], config: ProjectConfig) -> Iterator[Path]:
    """The ``.py`` files under ``roots``, leaving out hidden, virtualenv and build directories and
    other projects (a directory with an ``observe.toml`` this configuration does not include)."""
    own = {str(Path(f).resolve()) for f in config.files}
    for root in roots:
        if root.is_file():
            if root.suffix == ".py":
                yield root
            continue
        stack = [root]
        while stack:
            directory = stack.pop()
            try:
                entries = sorted(directory.iterdir())
            except OSError:
                continue
            for entry in entries:
                if entry.is_dir():
                    name = entry.name
                    if name.startswith(".") or name in SKIP_DIRS or (entry / "pyvenv.cfg").exists():
                        continue
                    nested = entry / FILENAME
                    if nested.is_file() and str(nested.resolve()) not in own:
                        continue
                    stack.append(entry)
                elif entry.suffix == ".py":
                    yield entry


def _metric_callables(tree: ast.AST) -> tuple[set[str], set[str]]:
    """Names bound to observe's ``metric`` and names bound to the ``observe`` modules."""
    functions: set[str] = set()
    modules: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module in _METRIC_MODULES:
            for alias in node.names:
                if alias.name == "metric":
                    functions.add(alias.asname or "metric")
                elif node.module == "observe" and alias.name == "metrics":
                    modules.add(alias.asname or "metrics")
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in _METRIC_MODULES:
                    modules.add(alias.asname or alias.name)
    return functions, modules


def _dotted(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = _dotted(node.value)
        return f"{base}.{node.attr}" if base else None
    return None


def _literal(node: ast.expr | None) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _undeclared(name: str, config: ProjectConfig) -> str:
    import difflib

    from observe.catalogue import STANDARD

    close = difflib.get_close_matches(name, [*config.metrics, *STANDARD], n=1)
    where = config.files[0] if config.files else FILENAME
    hint = f"did you mean {close[0]!r}? else add" if close else "add"
    return f"metric {name!r} is not declared; {hint} [metrics.{name}] to {where}"


def scan_file(path: Path, config: ProjectConfig, result: ScanResult, display: str) -> None:
    """Check every ``metric(...)`` call in ``path``; findings go into ``result``."""
    assert result.problems is not None and result.notes is not None
    try:
        source = path.read_text(encoding="utf-8")
        tree = ast.parse(source, filename=str(path))
    except (OSError, UnicodeDecodeError, SyntaxError) as exc:
        result.problems.append(Finding(display, getattr(exc, "lineno", 0) or 0, f"cannot parse: {exc}"))
        return
    result.files += 1
    functions, modules = _metric_callables(tree)
    if not functions and not modules:
        return
    lines = source.splitlines()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        target = _dotted(node.func)
        if target is None:
            continue
        head, _, attr = target.rpartition(".")
        if not (target in functions or (attr == "metric" and head in modules)):
            continue
        if node.lineno <= len(lines) and IGNORE in lines[node.lineno - 1]:
            continue
        result.calls += 1
        keywords = {k.arg: k.value for k in node.keywords if k.arg is not None}
        name_node = node.args[0] if node.args else keywords.get("name")
        name = _literal(name_node)
        if name is None:
            result.notes.append(
                Finding(display, node.lineno, "metric name computed at run time (not checked)")
            )
            continue
        definition = config.metric(name)
        if definition is None:
            result.problems.append(Finding(display, node.lineno, _undeclared(name, config)))
            continue
        unit = _literal(node.args[2] if len(node.args) > 2 else keywords.get("unit"))
        if unit is not None and unit != definition.unit:
            result.problems.append(
                Finding(display, node.lineno, f"metric {name!r} is declared in {definition.unit}, not {unit}")
            )
        dims = set(keywords) - {"name", "value", "unit"}
        undeclared = sorted(dims - set(definition.dimensions))
        if undeclared:
            result.problems.append(
                Finding(
                    display,
                    node.lineno,
                    f"metric {name!r}: dimension(s) {undeclared} not declared "
                    f"(declared: {list(definition.dimensions) or 'none'})",
                )
            )


def scan(roots: Iterable[Path], config: ProjectConfig, relative_to: Path | None = None) -> ScanResult:
    """Scan every Python file under ``roots`` against ``config``."""
    result = ScanResult()
    base = (relative_to or Path.cwd()).resolve()
    for path in python_files(roots, config):
        try:
            display = str(path.resolve().relative_to(base))
        except ValueError:
            display = str(path)
        scan_file(path, config, result, display)
    return result
