"""The package's layers, read from the table in docs/CONVENTIONS.md, hold in the code.

Every import form counts — ``import qrepeater.x``, ``from qrepeater import x``, ``from .. import x``,
``from ..x import y`` — wherever it stands (module top or inside a function). The checker is proven
by planting each kind of forbidden import in a temporary copy of the package.
"""

from __future__ import annotations

import ast
import re
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "qrepeater"
CONVENTIONS = ROOT / "docs" / "CONVENTIONS.md"
MAX_LINES = 500


# ---------------------------------------------------------------- the layer table
def read_layers(path: Path = CONVENTIONS) -> list[tuple[str, list[str]]]:
    """[(layer, [paths])] in order, from the table between the ``layers: start/end`` markers."""
    text = path.read_text(encoding="utf-8")
    block = text.split("<!-- layers: start", 1)[1].split("<!-- layers: end", 1)[0]
    layers = []
    for line in block.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 2 or not cells[1].startswith("`"):
            continue
        layers.append((cells[0], re.findall(r"`([^`]+)`", cells[1])))
    return layers


def layer_of(rel: str, layers) -> int | None:
    """Index of the layer owning the file ``rel`` (a path relative to the package, '/'-separated)."""
    for i, (_, paths) in enumerate(layers):
        for p in paths:
            if rel == p or (p.endswith("/") and rel.startswith(p)):
                return i
    return None


# ---------------------------------------------------------------- reading imports
def module_files(package: Path) -> dict[str, Path]:
    """Dotted module name → file, for every .py file of the package."""
    out = {}
    for path in sorted(package.rglob("*.py")):
        rel = path.relative_to(package.parent).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _nodes(tree: ast.AST, executed_only: bool):
    """All nodes, or (``executed_only``) those run on import: function bodies skipped."""
    todo = [tree]
    while todo:
        node = todo.pop()
        yield node
        if executed_only and isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            continue
        todo.extend(ast.iter_child_nodes(node))


def imported_modules(path: Path, package: Path, modules: dict[str, Path], executed_only: bool = False) -> set[str]:
    """Package modules that ``path`` imports, by any import statement anywhere in the file
    (``executed_only``: only those that run when the module is imported, not inside functions)."""
    rel = path.relative_to(package.parent).with_suffix("")
    here = list(rel.parts[:-1])  # the package a relative import starts from
    top = package.name
    found: set[str] = set()

    def resolve(base: str, names: list[str]) -> None:
        hit = False
        for name in names:
            if f"{base}.{name}" in modules:  # `from pkg import submodule`
                found.add(f"{base}.{name}")
                hit = True
        if not hit and base in modules:
            found.add(base)

    for node in _nodes(ast.parse(path.read_text(encoding="utf-8")), executed_only):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == top or alias.name.startswith(top + "."):
                    name = alias.name
                    while name not in modules and "." in name:
                        name = name.rsplit(".", 1)[0]
                    found.add(name)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base_parts = here[: len(here) - node.level + 1]
                base = ".".join(base_parts + ([node.module] if node.module else []))
            else:
                base = node.module or ""
                if not (base == top or base.startswith(top + ".")):
                    continue
            resolve(base, [a.name for a in node.names])
        elif isinstance(node, ast.Call) and _is_import_module(node.func) and node.args:
            arg = node.args[0]
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                name = arg.value
                while name not in modules and "." in name:
                    name = name.rsplit(".", 1)[0]
                found.add(name)
            else:  # a computed name, e.g. f"{__name__}.{x}": any module of this package may be meant
                this = ".".join(rel.parts[:-1] if rel.parts[-1] == "__init__" else rel.parts)
                found |= {m for m in modules if m.startswith(this + ".")}
    return found


def _is_import_module(func: ast.AST) -> bool:
    """``importlib.import_module(...)``, ``import_module(...)`` or ``__import__(...)``."""
    name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
    return name in ("import_module", "__import__")


def import_graph(package: Path, executed_only: bool = False) -> dict[str, set[str]]:
    modules = module_files(package)
    return {name: imported_modules(path, package, modules, executed_only) - {name} for name, path in modules.items()}


# ---------------------------------------------------------------- the checks
def upward_imports(package: Path = PACKAGE, layers=None) -> list[str]:
    """Every import of a module from a later layer than the importer's (and every unlisted file)."""
    layers = layers or read_layers()
    modules = module_files(package)
    graph = import_graph(package)
    names = [name for name, _ in layers]
    bad = []

    def layer(mod: str) -> int | None:
        return layer_of(modules[mod].relative_to(package).as_posix(), layers)

    for mod, targets in graph.items():
        src = layer(mod)
        if src is None:
            bad.append(f"{modules[mod].relative_to(package)}: in no layer of the table")
            continue
        for t in sorted(targets):
            dst = layer(t)
            if dst is not None and dst > src:
                bad.append(f"{modules[mod].relative_to(package)} ({names[src]}) imports {t} ({names[dst]})")
    return bad


def import_cycles(package: Path = PACKAGE) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan), i.e. import circles."""
    graph = import_graph(package)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                cycles.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return cycles


def _closure(graph: dict[str, set[str]], start: set[str]) -> set[str]:
    """Modules executed when ``start`` is imported: their imports and every enclosing package."""
    seen: set[str] = set()
    todo = list(start)
    while todo:
        m = todo.pop()
        if m in seen or m not in graph:
            continue
        seen.add(m)
        todo.extend(graph[m])
        parts = m.split(".")
        todo.extend(".".join(parts[:i]) for i in range(1, len(parts)))
    return seen


# ---------------------------------------------------------------- tests on the real package
def test_table_covers_every_file_and_layers_import_only_upwards():
    assert upward_imports() == []


def test_no_import_circles():
    assert import_cycles() == []


def test_no_file_over_500_lines():
    long = {str(p.relative_to(PACKAGE)): n for p in PACKAGE.rglob("*.py") if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert long == {}


#: What report/ may import: base modules, the closed-form bounds it overlays, the names of result
#: columns and the results reader, and itself. Anything else (a link model, an engine, an evaluation,
#: a build step) would mean it computes results instead of rendering them.
REPORT_MAY_IMPORT = ("qrepeater.errors", "qrepeater.files", "qrepeater.version", "qrepeater.bounds",
                     "qrepeater.studies.point", "qrepeater.studies.sweep_files", "qrepeater.report")


def computing_reached_by_report(package: Path = PACKAGE) -> list[str]:
    """report/ modules' imports beyond :data:`REPORT_MAY_IMPORT`, and any Dask import that
    importing report/ executes, however indirectly."""
    files = module_files(package)
    report = {m for m in files if m.startswith("qrepeater.report")}
    graph = import_graph(package)
    bad = [f"{m} imports {t}" for m in sorted(report) for t in sorted(graph[m]) if not t.startswith(REPORT_MAY_IMPORT)]
    for m in sorted(_closure(import_graph(package, executed_only=True), report)):
        tree = ast.parse(files[m].read_text(encoding="utf-8"))
        imported = {a.name for n in _nodes(tree, True) if isinstance(n, ast.Import) for a in n.names}
        imported |= {n.module or "" for n in _nodes(tree, True) if isinstance(n, ast.ImportFrom)}
        bad += [f"{m} imports {i}" for i in sorted(imported) if i.split(".")[0] in {"dask", "distributed"}]
    return bad


def test_report_renders_only_and_needs_no_dask():
    """report/ imports only what renders results, and importing it loads no Dask."""
    assert computing_reached_by_report() == []


def test_readme_layer_table_matches_the_conventions():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = readme.split("<!-- layers -->", 1)[1].split("<!-- /layers -->", 1)[0]
    rows = [re.findall(r"`([^`]+)`", line.split("|")[1])[0] for line in block.splitlines() if line.startswith("| `")]
    assert rows == [name for name, _ in read_layers()]


# ---------------------------------------------------------------- the checker can fail
@pytest.fixture()
def planted(tmp_path):
    """A copy of the package in which a test may plant a line."""
    copy = tmp_path / "qrepeater"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))

    def plant(rel: str, line: str, inside_function: bool = False) -> Path:
        path = copy / rel
        text = path.read_text(encoding="utf-8")
        text += f"\n\ndef _planted():\n    {line}\n" if inside_function else f"\n{line}\n"
        path.write_text(text, encoding="utf-8")
        return copy

    return plant


@pytest.mark.parametrize(
    ("rel", "line", "inside_function"),
    [
        ("physics/fiber.py", "from qrepeater import cli", False),
        ("links/spep.py", "from .. import config", False),
        ("links/spep.py", "from ..config.loading import preset_data", False),
        ("states/decay.py", "import qrepeater.engines.exact", False),
        ("engines/exact.py", "from qrepeater.studies import evaluate", True),
        ("bounds.py", "from .validation import reproduce", False),
        ("errors.py", "from . import physics", True),
        ("qkd/rates.py", "from qrepeater import load_preset", True),
        ("report/plots.py", "from ..cli import main", True),
        ("links/metrics.py", "importlib.import_module('qrepeater.studies.evaluate')", True),
    ],
)
def test_checker_catches_a_planted_upward_import(planted, rel, line, inside_function):
    package = planted(rel, line, inside_function)
    bad = upward_imports(package)
    assert any(b.startswith(rel) for b in bad), bad


def test_checker_catches_a_planted_circle(planted):
    planted("physics/fiber.py", "from . import memory", True)
    package = planted("physics/memory.py", "from .fiber import Fiber", True)
    assert ["qrepeater.physics.fiber", "qrepeater.physics.memory"] in import_cycles(package)


def test_checker_catches_a_file_outside_the_table(planted):
    package = planted("errors.py", "x = 1")
    (package / "newlayer").mkdir()
    (package / "newlayer" / "thing.py").write_text("x = 1\n", encoding="utf-8")
    assert any("newlayer" in b and "in no layer" in b for b in upward_imports(package))


@pytest.mark.parametrize(("rel", "line"), [("report/plots.py", "from ..builders import link_metrics"), ("studies/sweep_files.py", "import distributed")])
def test_report_check_catches_computing_imports(planted, rel, line):
    assert computing_reached_by_report(planted(rel, line)) != []
