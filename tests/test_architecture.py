"""Layers import only downwards: physics → states → links → engines → qkd → scenarios → cli/report."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "qrepeater"
ORDER = ["physics", "states", "links", "engines", "qkd", "scenarios", "report", "cli"]
LEAVES = {"errors", "bounds", "__init__"}  # importable from anywhere


def _layer(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "qrepeater" else None


def _imports(path: Path) -> set[str]:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    package = list(rel.parts[:-1])  # the package a relative import starts from
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                found.add(".".join(base + ([node.module] if node.module else [])))
            elif node.module:
                found.add(node.module)
    return found


@pytest.mark.parametrize("layer", ORDER)
def test_layer_imports_only_downwards(layer):
    allowed = set(ORDER[: ORDER.index(layer) + 1]) | LEAVES
    if layer in ("report", "cli"):
        allowed |= {"report", "cli"}
    bad = []
    for path in sorted((PACKAGE / layer).rglob("*.py")):
        for mod in _imports(path):
            target = _layer(mod)
            if target is not None and target not in allowed and not target.startswith("_"):
                bad.append(f"{path.relative_to(PACKAGE)} imports {mod}")
    assert not bad, "\n".join(bad)
