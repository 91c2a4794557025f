"""docs/tutorial.md: every ```bash and ```python block runs, in order, in one scratch folder."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

TUTORIAL = Path(__file__).resolve().parents[1] / "docs" / "tutorial.md"
BLOCK = re.compile(r"^```(\w+)\n(.*?)^```", re.S | re.M)


def blocks() -> list[tuple[str, str]]:
    return [(lang, code) for lang, code in BLOCK.findall(TUTORIAL.read_text(encoding="utf-8")) if lang in ("bash", "python")]


def test_tutorial_has_runnable_blocks():
    langs = [lang for lang, _ in blocks()]
    assert langs.count("bash") >= 5 and langs.count("python") >= 4


@pytest.mark.slow  # ≈ 16 s
def test_tutorial_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}", MPLBACKEND="Agg")
    namespace: dict = {"__name__": "__tutorial__"}
    for i, (lang, code) in enumerate(blocks()):
        if lang == "bash":
            res = subprocess.run(["bash", "-euo", "pipefail", "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
            assert res.returncode == 0, f"block {i} (bash) failed:\n{code}\n--- stderr ---\n{res.stderr[-3000:]}"
        else:
            exec(compile(code, f"{TUTORIAL.name}[block {i}]", "exec"), namespace)
    for name in ("link-sensitivity.png", "link-plob.png", "chain-rate.png", "chain-report/report.html"):
        assert (tmp_path / name).stat().st_size > 5000, name
