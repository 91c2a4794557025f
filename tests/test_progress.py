"""Progress on stderr for every command that can run long (issue 17), stdout kept for the result.

Each command runs with ``--progress --json`` while its long step is made slow (the step wrapped in a
0.3 s sleep, or replaced by a slow stand-in where the real step takes tens of seconds) and the
heartbeat interval shortened: stderr must announce the work, say ``still running`` during the slow
step and end with ``done in``; stdout must stay one valid JSON document. Without ``--progress`` and
not on a terminal the commands print nothing on stderr; on a terminal (a pseudo-terminal here) the
progress is drawn there and stdout is still clean JSON.
"""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
import time

import pytest
from typer.testing import CliRunner

import qrepeater.cli.progress as progress_mod
from qrepeater.cli.main import app

runner = CliRunner()

SLOW_S = 0.3
TOPOLOGY = ('[hardware]\npreset = "abstract"\n[[nodes]]\nname = "A"\nmemories = 1\n[[nodes]]\nname = "B"\nmemories = 2\n'
            '[[nodes]]\nname = "C"\nmemories = 1\n[[links]]\na = "A"\nb = "B"\nlength_km = 10.0\n[[links]]\na = "B"\nb = "C"\n'
            'length_km = 10.0\n[[consumers]]\na = "A"\nb = "C"\n')


class _Fake:
    def __init__(self, data):
        self.data = data

    def to_dict(self):
        return self.data


FAKE_REPRODUCTION = {"experiment": "ustc2026", "preset": "ustc2026", "figures": [], "headline": "",
                     "summary": {"predictions": 0, "predictions_within": 0, "fitted": 0, "derived": 0, "formula": 0}}
FAKE_SUITE = {"experiments": [], "pulls": [],
              "totals": {"predictions": 0, "predictions_within": 0, "fitted": 0, "derived": 0, "formula": 0}}
FAKE_CALIBRATION = {"parameters": [], "chi2": 0.0, "dof": 0, "leave_one_out": []}


def _slow(func):
    def wrapper(*args, **kwargs):
        time.sleep(SLOW_S)
        return func(*args, **kwargs)

    return wrapper


def _standin(value):
    def fake(*args, **kwargs):
        time.sleep(SLOW_S)
        return value

    return fake


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    d = tmp_path_factory.mktemp("progress-inputs")
    (d / "topology.toml").write_text(TOPOLOGY)
    (d / "sweep.toml").write_text('seed = 1\n[parameters]\ndistance_km = [10, 20, 40]\n')
    res = runner.invoke(app, ["diqkd", "simulate", "--preset", "ustc2026-qkd", "--rounds", "3000", "--seed", "1",
                              "--out", str(d / "records.parquet"), "--json"])
    assert res.exit_code == 0, res.output
    return d


# name -> (command prefix printed on stderr, argv builder, [(module, attribute, "wrap" | stand-in)])
CASES = {
    "sweep": ("sweep", lambda d, t: ["sweep", str(d / "sweep.toml"), "--out", str(t / "r.parquet"), "--workers", "1"],
              [("qrepeater.studies.sweep_runner", "evaluate_task", "wrap")]),
    "chain-exact": ("chain", lambda d, t: ["chain", "--preset", "abstract", "--distance-km", "10"],
                    [("qrepeater.engines", "run", "wrap")]),
    "chain-montecarlo": ("chain", lambda d, t: ["chain", "--preset", "abstract", "--distance-km", "10", "--engine", "montecarlo",
                                                 "--pairs", "200", "--seed", "1"],
                         [("qrepeater.engines.montecarlo", "run_montecarlo", "wrap")]),
    "chain-events": ("chain", lambda d, t: ["chain", "--preset", "abstract", "--distance-km", "10", "--engine", "events",
                                             "--pairs", "200", "--seed", "1"],
                     [("qrepeater.engines.events", "run_chain_events", "wrap")]),
    "chain-optimize": ("chain --optimize", lambda d, t: ["chain", "--preset", "abstract", "--distance-km", "10", "--optimize"],
                       [("qrepeater.engines", "run_exact", "wrap"), ("qrepeater.cli.chain", "SEGMENT_CHOICES", (1, 2)),
                        ("qrepeater.cli.chain", "CUTOFF_MULTIPLES", (None,))]),
    "network": ("network", lambda d, t: ["network", str(d / "topology.toml"), "--duration-s", "5", "--seed", "1"],
                [("qrepeater.engines.events", "simulate", "wrap")]),
    "reproduce": ("reproduce", lambda d, t: ["reproduce", "ustc2026", "--out", str(t / "repro"), "--no-plots", "--no-html"],
                  [("qrepeater.validation", "reproduce", _standin(_Fake(FAKE_REPRODUCTION)))]),
    "reproduce-all": ("reproduce --all", lambda d, t: ["reproduce", "--all", "--out", str(t / "all"), "--no-plots", "--no-html"],
                      [("qrepeater.validation", "reproduce_all", _standin(FAKE_SUITE))]),
    "calibrate": ("calibrate", lambda d, t: ["calibrate", "ustc2026", "--no-loo"],
                  [("qrepeater.validation", "calibrate", _standin(_Fake(FAKE_CALIBRATION)))]),
    "requirements": ("requirements", lambda d, t: ["requirements", "--preset", "abstract", "--target", "rate_hz>=1",
                                                   "--distance-km", "50", "--engine", "link", "--max-evaluations", "20"],
                     [("qrepeater.studies.requirements", "find_requirements", "wrap")]),
    "sensitivity": ("sensitivity", lambda d, t: ["sensitivity", "--preset", "abstract", "--metric", "rate_hz"],
                    [("qrepeater.studies.sensitivity", "sensitivity", "wrap")]),
    "diqkd-simulate": ("diqkd simulate", lambda d, t: ["diqkd", "simulate", "--preset", "ustc2026-qkd", "--rounds", "2000",
                                                       "--seed", "2", "--out", str(t / "rec.parquet")],
                       [("qrepeater.qkd.simulate", "simulate_records", "wrap")]),
    "diqkd-distill": ("diqkd distill", lambda d, t: ["diqkd", "distill", str(d / "records.parquet"), "--key-out",
                                                     str(t / "key.bin"), "--seed", "3"],
                      [("qrepeater.qkd.distill", "distill_file", "wrap")]),
}


def _patch(monkeypatch, patches) -> None:
    import importlib

    for module, attr, how in patches:
        mod = importlib.import_module(module)
        value = _slow(getattr(mod, attr)) if how == "wrap" else how
        monkeypatch.setattr(mod, attr, value)


@pytest.mark.parametrize("name", sorted(CASES))
def test_long_commands_show_progress_and_keep_json_clean(name, inputs, tmp_path, monkeypatch):
    prefix, argv, patches = CASES[name]
    monkeypatch.setattr(progress_mod, "HEARTBEAT_S", 0.05)
    _patch(monkeypatch, patches)
    res = runner.invoke(app, argv(inputs, tmp_path) + ["--progress", "--json"])
    assert res.exit_code in (0, 1), res.output  # distill exits 1 if the protocol aborts (still a JSON report)
    json.loads(res.stdout)  # stdout is exactly one JSON document
    lines = res.stderr.splitlines()
    mine = [ln for ln in lines if ln.startswith(f"{prefix}: ")]
    assert mine and (mine[0].endswith("...") or mine[0].endswith(" steps)")), lines
    assert any("still running" in ln for ln in mine), lines  # a heartbeat during the slow step
    if res.exit_code == 0:
        assert mine[-1].startswith(f"{prefix}: done in "), lines


@pytest.mark.parametrize("name", ["chain-exact", "sweep", "diqkd-simulate"])
def test_no_progress_off_a_terminal_by_default(name, inputs, tmp_path):
    _prefix, argv, _patches = CASES[name]
    res = runner.invoke(app, argv(inputs, tmp_path) + ["--json"])
    assert res.exit_code == 0, res.output
    json.loads(res.stdout)
    assert res.stderr == ""
    res = runner.invoke(app, argv(inputs, tmp_path / "again") + ["--json", "--no-progress"]) if name != "sweep" else res
    assert res.stderr == ""


def test_optimize_counts_every_candidate(monkeypatch):
    import qrepeater.cli.chain as chain_cli

    monkeypatch.setattr(chain_cli, "SEGMENT_CHOICES", (1, 2))
    monkeypatch.setattr(chain_cli, "CUTOFF_MULTIPLES", (None,))
    monkeypatch.setattr(progress_mod, "STEP_LINE_INTERVAL_S", 0.0)  # every step a line
    res = runner.invoke(app, ["chain", "--preset", "abstract", "--distance-km", "10", "--optimize", "--progress", "--json"])
    assert res.exit_code == 0, res.output
    steps = [ln for ln in res.stderr.splitlines() if ln.startswith("chain --optimize: [")]
    # 2 segment counts x 1 cut-off x 3 purification choices, counted 1..6
    assert [ln.split("]")[0] for ln in steps] == [f"chain --optimize: [{i}/6" for i in range(1, 7)]
    assert "purification dejmps" in steps[-1]


def test_progress_on_a_terminal_stays_off_stdout(tmp_path):
    """A real pseudo-terminal on stderr: rich draws the progress there; stdout (a pipe) is clean JSON."""
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "qrepeater.cli.main", "chain", "--preset", "abstract", "--distance-km", "10",
                             "--engine", "montecarlo", "--pairs", "20000", "--seed", "1", "--json"],
                            stdout=subprocess.PIPE, stderr=slave, cwd=tmp_path, env={**os.environ, "COLUMNS": "100"})
    os.close(slave)
    seen = b""
    while True:
        ready, _, _ = select.select([master], [], [], 60)
        if not ready:
            break
        try:
            chunk = os.read(master, 4096)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        seen += chunk
    out, _ = proc.communicate(timeout=120)
    os.close(master)
    assert proc.returncode == 0
    assert json.loads(out)["pairs"] == 20000
    assert b"chain" in seen and b"Monte Carlo engine" in seen, seen[-500:]


def test_sweep_bar_counts_resumed_points(inputs, tmp_path, monkeypatch):
    """A resumed sweep's progress starts from the points already committed."""
    from qrepeater.studies.sweep_files import part_path, parts_dir_for
    from qrepeater.studies.sweep_runner import run_sweep
    from qrepeater.studies.sweep_spec import load_sweep

    spec = load_sweep(inputs / "sweep.toml")
    out = tmp_path / "r.parquet"
    run_sweep(spec, out, workers=1, keep_parts=True)
    part_path(parts_dir_for(out), 1).unlink()
    out.unlink()

    class Recorder:
        def __init__(self):
            self.steps, self.done = [], 0

        def step(self, text="", advance=1):
            self.steps.append(text)
            self.done += advance

        def status(self, text):
            self.steps.append(f"status: {text}")

    rec = Recorder()
    outcome = run_sweep(spec, out, workers=1, resume=True, progress=rec)
    assert outcome.evaluated == 1 and outcome.resumed == 2
    assert rec.done == 3 and rec.steps[0] == "2 points resumed"


# ------------------------------------------------------------------------------------------------
# the sweep's default worker count (automatic): small sweeps in-process, large ones move to a cluster
# ------------------------------------------------------------------------------------------------


def test_cluster_only_when_the_saving_exceeds_its_start_up():
    from qrepeater.studies.sweep_runner import AUTO_PARALLEL_MIN_S, CLUSTER_START_S, worth_a_cluster

    assert worth_a_cluster(5.0, 1000, 2) == 0  # a few seconds of work: never worth a cluster
    assert worth_a_cluster(AUTO_PARALLEL_MIN_S * 0.99, 1000, 8) == 0
    # 2 CPUs save half of the remaining time: worth it once that half exceeds twice the start-up
    assert worth_a_cluster(4.2 * CLUSTER_START_S, 1000, 2) == 2
    assert worth_a_cluster(3.9 * CLUSTER_START_S, 1000, 2) == 0
    assert worth_a_cluster(1000.0, 1, 8) == 0 and worth_a_cluster(1000.0, 3, 8) == 3  # no more processes than points
    assert worth_a_cluster(1000.0, 1000, 1) == 0  # one CPU: in-process


def test_auto_workers_leave_busy_cores_alone():
    from qrepeater.studies.sweep_runner import auto_worker_count

    assert auto_worker_count(cpus=8, idle=7.0) == 8  # only this process running: every CPU
    assert auto_worker_count(cpus=8, idle=3.2) == 4
    assert auto_worker_count(cpus=2, idle=0.1) == 1  # a shared 2-core machine already busy: in-process
    assert auto_worker_count(cpus=2, idle=0.9) == 2
    assert auto_worker_count(cpus=2, idle=float("inf")) == 2


def test_default_workers_keep_a_small_sweep_in_process(inputs, tmp_path, monkeypatch):
    import qrepeater.studies.sweep_runner as runner_mod
    from qrepeater.studies.sweep_spec import load_sweep

    def no_cluster(*args, **kwargs):
        raise AssertionError("a 3-point link sweep must not start a cluster")

    monkeypatch.setattr(runner_mod, "_make_client", no_cluster)
    outcome = runner_mod.run_sweep(load_sweep(inputs / "sweep.toml"), tmp_path / "r.parquet")
    assert outcome.evaluated == 3


def test_default_workers_move_slow_points_to_a_cluster(tmp_path, monkeypatch):
    """Points slow enough that the rest would exceed the threshold go to the cluster after the first
    ones; every point is evaluated once, with the same result as in-process (seeds per point)."""
    import qrepeater.studies.sweep_runner as runner_mod
    from qrepeater.studies.sweep_files import read_results
    from qrepeater.studies.sweep_spec import parse_sweep_text

    spec = parse_sweep_text('seed = 3\n[options]\nengine = "montecarlo"\npairs = 50\n[parameters]\ndistance_km = [10, 20, 30, 40, 50, 60]\n')
    reference = read_results(runner_mod.run_sweep(spec, tmp_path / "ref.parquet", workers=1).out)
    monkeypatch.setattr(runner_mod, "AUTO_PARALLEL_MIN_S", 0.2)
    monkeypatch.setattr(runner_mod, "CLUSTER_START_S", 0.01)
    monkeypatch.setattr(runner_mod, "auto_worker_count", lambda cpus=None, idle=None: 4)
    real_task = runner_mod.evaluate_task
    monkeypatch.setattr(runner_mod, "evaluate_task", lambda *a: (time.sleep(0.15), real_task(*a))[1])
    started, remote = [], []

    class FakeClient:
        def close(self):
            started.append("closed")

    monkeypatch.setattr(runner_mod, "_make_client", lambda n, scheduler, timeout: (started.append(n) or FakeClient(), None))

    def fake_dask(client, payload, todo, seeds, commit):  # the "cluster": evaluates the rest here
        remote.extend(todo)
        for pid in todo:
            commit(real_task(payload, pid, seeds[pid]))

    monkeypatch.setattr(runner_mod, "_run_dask", fake_dask)
    outcome = runner_mod.run_sweep(spec, tmp_path / "auto.parquet", progress=False)
    assert started == [4, "closed"] and 1 <= 6 - len(remote) <= 2  # moved after one or two in-process points
    got = read_results(outcome.out).sort_values("point_id")
    assert got["rate_hz"].tolist() == reference.sort_values("point_id")["rate_hz"].tolist()
