"""Issue 15, interrupts: Ctrl-C on any long command prints one line ``interrupted: ...`` saying what
was kept and how to continue, exits 130 and leaves no partial output; a sweep keeps its finished points
for ``--resume``. (Split from test_cli_robustness.py; distill's Ctrl-C is in test_cli_keyfiles.py.)"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from qrepeater.cli.main import app

runner = CliRunner()

TOPOLOGY = ('[hardware]\npreset = "abstract"\n[[nodes]]\nname = "A"\nmemories = 1\n[[nodes]]\nname = "B"\nmemories = 1\n'
            '[[links]]\na = "A"\nb = "B"\nlength_km = 10.0\n[[consumers]]\na = "A"\nb = "B"\n')


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("inputs")
    (d / "topo.toml").write_text(TOPOLOGY)
    return d


def test_ctrl_c_on_a_sweep_says_what_was_kept_and_how_to_resume(tmp_path, monkeypatch):
    import qrepeater.studies.sweep_runner as runner_mod

    spec = tmp_path / "s.toml"
    spec.write_text("seed = 1\n[parameters]\ndistance_km = [10, 20, 30, 40, 50]\n")
    out = tmp_path / "s.parquet"
    real = runner_mod.evaluate_task
    calls = []

    def flaky(payload, pid, seed):
        calls.append(pid)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(payload, pid, seed)

    monkeypatch.setattr(runner_mod, "evaluate_task", flaky)
    res = invoke("sweep", spec, "--out", out, "--workers", "1", "--no-progress")
    assert res.exit_code == 130
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("interrupted: 2 of 5 points are kept") and "--resume" in lines[0]
    monkeypatch.setattr(runner_mod, "evaluate_task", real)
    res = invoke("sweep", spec, "--out", out, "--workers", "1", "--no-progress", "--resume", "--json")
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["resumed"] == 2 and pq.read_table(out).num_rows == 5


def _ctrl_c(*args, **kwargs):
    raise KeyboardInterrupt


@pytest.mark.parametrize(
    "args, target, needle",
    [
        (("chain", "--preset", "abstract", "--engine", "montecarlo", "--distance-km", "10", "--pairs", "100", "--seed", "1"),
         "qrepeater.engines.montecarlo.run_montecarlo", "fewer --pairs"),
        (("network", "TOPO", "--duration-s", "1", "--seed", "1"), "qrepeater.engines.events.simulate", "--duration-s"),
        (("diqkd", "simulate", "--preset", "abstract", "--rounds", "100", "--seed", "1", "--out", "OUT/r.parquet"),
         "qrepeater.qkd.simulate.simulate_records", "no records file was written"),
        (("requirements", "--target", "rate_hz>=0.1", "--distance-km", "50", "--max-evaluations", "2", "--out", "OUT/req"),
         "qrepeater.studies.requirements.find_requirements", "--max-evaluations"),
        (("reproduce", "ustc2026", "--out", "OUT/rep", "--no-plots", "--no-html"), "qrepeater.validation.reproduce",
         "run reproduce again"),
        (("sensitivity", "--metric", "link_efficiency", "--out", "OUT/c.png"), "qrepeater.studies.sensitivity.sensitivity",
         "nothing was written"),
    ],
)
def test_ctrl_c_on_other_long_commands_is_one_line(tmp_path, files, monkeypatch, args, target, needle):
    """Ctrl-C on each long command: exit 130, one line saying what was kept and how to run it again,
    and no partial output."""
    module, name = target.rsplit(".", 1)
    monkeypatch.setattr(module + "." + name, _ctrl_c)
    args = [str(files / "topo.toml") if a == "TOPO" else a.replace("OUT", str(tmp_path)) for a in args]
    res = invoke(*args)
    assert res.exit_code == 130, (res.exit_code, res.stdout, res.stderr)
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("interrupted: ") and needle in lines[0], res.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_ctrl_c_while_the_command_line_starts(tmp_path):
    """SIGINT at any moment of a real process, from the imports on: exit 130 and one line, never a
    traceback (before the fix, Ctrl-C in the first ~0.3 s printed one from the imports or from typer
    building the commands)."""
    cmd = [sys.executable, "-c", "from qrepeater.cli.main import run; run()", "chain", "--preset", "abstract",
           "--engine", "montecarlo", "--distance-km", "10", "--pairs", "1e8", "--seed", "1", "--max-samples", "1e10"]
    for wait in (0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.6, 1.0):
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=tmp_path)
        time.sleep(wait)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
        lines = [ln for ln in err.splitlines() if ln.strip()]
        assert proc.returncode == 130 and len(lines) == 1 and lines[0].startswith("interrupted: "), (wait, err)


@pytest.mark.slow
def test_real_sigint_on_a_sweep(tmp_path):
    """SIGINT to a running `qrepeater sweep` process: exit 130, one line naming --resume."""
    spec = tmp_path / "s.toml"
    spec.write_text('seed = 1\n[options]\nengine = "montecarlo"\npairs = 100000\nsegments = 4\n'
                    '[parameters]\ndistance_km = { start = 10, stop = 400, num = 40 }\n')
    out = tmp_path / "s.parquet"
    proc = subprocess.Popen([sys.executable, "-m", "qrepeater.cli.main", "sweep", str(spec), "--out", str(out),
                             "--workers", "1", "--no-progress"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    parts = tmp_path / "s.parquet.parts"
    deadline = time.time() + 120
    while time.time() < deadline and len(list(parts.glob("point-*.json"))) < 2:
        time.sleep(0.1)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "points are kept" in lines[0] and "--resume" in lines[0] and "Traceback" not in err
