"""docs/api.md: every ```python block runs, in order, in one namespace, in a scratch folder, and prints
what its `# >` lines say (numbers to the printed precision)."""

from __future__ import annotations

import contextlib
import io
import re
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "api.md"
BLOCK = re.compile(r"^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)
NUMBER = re.compile(r"[-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")


def blocks() -> list[tuple[str, list[str]]]:
    """(code, expected printed lines) of every python block."""
    out = []
    for code in BLOCK.findall(DOC.read_text(encoding="utf-8")):
        expected = [line[4:] if line.startswith("# > ") else line[3:] for line in code.splitlines() if line.startswith("# >")]
        out.append((code, expected))
    return out


def same_line(got: str, want: str) -> bool:
    """Equal text (runs of spaces collapsed) and numbers equal to the last digit the doc prints."""
    g, w = " ".join(got.split()), " ".join(want.split())
    if NUMBER.sub("#", g) != NUMBER.sub("#", w):
        return False
    for a, b in zip(NUMBER.findall(g), NUMBER.findall(w)):
        decimals = len(b.split(".")[1]) if "." in b and "e" not in b.lower() else 0
        if abs(float(a) - float(b)) > max(1.01 * 10.0**-decimals, 1e-9 * abs(float(b))):
            return False
    return True


def test_same_line_can_fail():
    assert same_line("rate 2.226 Hz", "rate  2.226 Hz")
    assert same_line("x 0.4315", "x 0.4314")  # one unit of the last printed digit
    assert not same_line("x 0.4317", "x 0.4314")
    assert not same_line("rate 2.226 Hz", "rate 2.226 s")
    assert not same_line("3942 bits", "3943.5 bits")


def test_api_doc_states_outputs_and_is_linked():
    bl = blocks()
    assert len(bl) >= 8
    assert sum(bool(expected) for _, expected in bl) == len(bl), "every block states what it prints"
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "docs/api.md" in readme


@pytest.mark.slow  # ≈ 10 s: a sweep, three chain engines, a 400,000-round distillation
def test_api_doc_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    namespace: dict = {"__name__": "__api_doc__"}
    try:
        for i, (code, expected) in enumerate(blocks()):
            buf = io.StringIO()
            with contextlib.redirect_stdout(buf):
                exec(compile(code, f"{DOC.name}[block {i}]", "exec"), namespace)
            got = buf.getvalue().splitlines()
            assert len(got) == len(expected) and all(same_line(g, w) for g, w in zip(got, expected)), (
                f"block {i} printed:\n" + "\n".join(got) + "\n--- docs/api.md says:\n" + "\n".join(expected)
            )
    finally:
        if isinstance(namespace.get("work"), Path):
            shutil.rmtree(namespace["work"], ignore_errors=True)
