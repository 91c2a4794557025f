"""Sweep execution: dask LocalCluster vs in-process, SIGKILL + --resume, an external scheduler,
Parquet/netCDF output, per-point errors.

One 2-worker LocalCluster is shared by the module (cluster start-up is the slow part)."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from qrepeater.errors import ConfigError
from qrepeater.studies.sweep_files import parts_dir_for, read_results
from qrepeater.studies.sweep_runner import run_sweep
from qrepeater.studies.sweep_spec import load_sweep, parse_sweep_text

GRID_200 = """
name = "distance-segments"
seed = 2026
[parameters]
distance_km = { start = 10, stop = 600, num = 50, scale = "log" }
segments = [1, 2, 4, 8]
"""

SMALL = """
seed = 4
[parameters]
distance_km = [20, 50, 100, 200, 300, 400]
"link.excitation_probability" = [0.02, 0.05, 0.1, 0.17]
"""


@pytest.fixture(scope="module")
def client():
    from distributed import Client, LocalCluster

    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=logging.ERROR)
    c = Client(cluster)
    yield c
    c.close()
    cluster.close()


@pytest.fixture(scope="module")
def reference_200(tmp_path_factory):
    """The 200-point sweep evaluated in-process (``--workers 1``)."""
    out = tmp_path_factory.mktemp("ref") / "ref.parquet"
    spec = parse_sweep_text(GRID_200)
    outcome = run_sweep(spec, out, workers=1)
    assert outcome.evaluated == 200
    return read_results(out)


@pytest.mark.slow  # ≈ 5 s with its fixtures (2-worker cluster + the 200-point in-process reference)
def test_200_points_on_two_workers_equal_in_process(client, reference_200, tmp_path):
    spec = parse_sweep_text(GRID_200)
    assert spec.n_points == 200
    assert len(client.scheduler_info()["workers"]) == 2
    outcome = run_sweep(spec, tmp_path / "dask.parquet", client=client, netcdf=tmp_path / "cube.nc")
    assert outcome.evaluated == 200 and outcome.failed_points == 0
    got = read_results(tmp_path / "dask.parquet")
    assert got["point_id"].tolist() == list(range(200))
    pd.testing.assert_frame_equal(got.sort_values("point_id").reset_index(drop=True), reference_200.sort_values("point_id").reset_index(drop=True))
    assert not parts_dir_for(tmp_path / "dask.parquet").exists()
    # the tidy table: parameters, metrics, config JSON and version per row
    row = got.iloc[7]
    assert row["distance_km"] == spec.point(7)["distance_km"] and row["segments"] == spec.point(7)["segments"]
    cfg = json.loads(row["config"])
    assert cfg["name"] == "ustc2026" and "node_a" in cfg
    assert row["qrepeater_version"]
    # rate falls with the segment length; more segments → shorter segments → higher link rate
    at = got[got["distance_km"] == got["distance_km"].max()].sort_values("segments")
    assert np.all(np.diff(at["rate_hz"].to_numpy()) > 0)
    # the netCDF cube holds the same numbers on the (distance, segments) grid
    import xarray as xr

    with xr.open_dataset(tmp_path / "cube.nc") as ds:
        assert ds["rate_hz"].dims == ("distance_km", "segments")
        assert ds["rate_hz"].shape == (50, 4)
        cube = ds["rate_hz"].values.ravel()
    assert np.array_equal(cube, got.sort_values("point_id")["rate_hz"].to_numpy())


def test_point_seeds_are_the_spawned_children_of_the_root():
    from qrepeater.studies.sweep_runner import point_seed

    children = np.random.SeedSequence(2026).spawn(50)
    for i in (0, 1, 17, 49):
        assert np.array_equal(point_seed(2026, i).generate_state(4), children[i].generate_state(4))
    assert not np.array_equal(point_seed(2026, 1).generate_state(4), point_seed(2027, 1).generate_state(4))


@pytest.mark.slow  # ≈ 8 s
def test_sigkill_then_resume_gives_every_point_exactly_once(tmp_path, reference_200):
    """Kill -9 the whole process group of a 2-worker LocalCluster sweep (client, nannies, workers)
    once some points are committed; --resume (in-process) finishes with every point exactly once."""
    spec_file = tmp_path / "s.toml"
    spec_file.write_text(GRID_200)
    out = tmp_path / "r.parquet"
    parts = parts_dir_for(out)
    cmd = [sys.executable, "-m", "qrepeater.cli.main", "sweep", str(spec_file), "--out", str(out), "--no-progress"]
    proc = subprocess.Popen(cmd + ["--workers", "2"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    deadline = time.monotonic() + 180
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            if parts.exists() and len(list(parts.glob("point-*.json"))) >= 10:
                break
            time.sleep(0.002)
        assert proc.poll() is None, "the sweep finished before it could be killed: " + proc.stderr.read().decode()
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(timeout=30)
        proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL
    done_at_kill = len(list(parts.glob("point-*.json")))
    assert 10 <= done_at_kill < 200 and not out.exists()
    (parts / ".point-00000199.json.abc.tmp").write_bytes(b"half-written")  # a crash between write and rename

    # a plain re-run refuses to overwrite the unfinished sweep
    with pytest.raises(ConfigError, match="pass --resume"):
        run_sweep(load_sweep(spec_file), out, workers=1)

    res = subprocess.run(cmd + ["--workers", "1", "--resume", "--json"], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    summary = json.loads(res.stdout)
    assert summary["resumed"] == done_at_kill and summary["evaluated"] == 200 - done_at_kill
    df = read_results(out)
    assert df["point_id"].tolist() == list(range(200)) and df["error"].isna().all()
    assert not parts.exists()
    pd.testing.assert_frame_equal(df, reference_200)  # identical to an uninterrupted run
    # resuming a finished sweep evaluates nothing
    noop = run_sweep(load_sweep(spec_file), out, workers=1, resume=True)
    assert noop.evaluated == 0 and noop.resumed == 200


def test_resume_refuses_another_sweep(tmp_path):
    out = tmp_path / "r.parquet"
    a = parse_sweep_text("[parameters]\ndistance_km = [10, 20]")
    parts_dir_for(out).mkdir()
    run_sweep(a, out, resume=True, keep_parts=True)  # a parts folder without manifest is adopted
    b = parse_sweep_text("[parameters]\ndistance_km = [10, 30]")
    with pytest.raises(ConfigError, match="different sweep"):
        run_sweep(b, out, resume=True)
    with pytest.raises(ConfigError, match="unfinished sweep"):
        run_sweep(a, out)


def test_points_the_model_rejects_are_recorded_not_fatal(tmp_path):
    spec = parse_sweep_text('[options]\nengine = "exact"\n[parameters]\ndistance_km = [0, 20]')
    outcome = run_sweep(spec, tmp_path / "r.parquet")
    df = read_results(tmp_path / "r.parquet")
    assert outcome.failed_points == 1
    assert "segment length" in df.loc[0, "error"] and np.isnan(df.loc[0, "rate_hz"])
    assert json.loads(df.loc[0, "config"])["name"] == "ustc2026"  # the configuration is kept
    assert pd.isna(df.loc[1, "error"]) and df.loc[1, "rate_hz"] > 0
    meta = json.loads(pq.read_schema(tmp_path / "r.parquet").metadata[b"qrepeater.sweep"])
    assert meta["spec"]["options"]["engine"] == "exact" and meta["digest"] == spec.digest


def test_same_seed_same_montecarlo_results_regardless_of_workers(client, tmp_path):
    text = 'seed = 11\npreset = "abstract"\n[options]\nengine = "montecarlo"\npairs = 200\n[parameters]\nsegments = [1, 2, 4]\ndistance_km = [10, 20]\n'
    spec = parse_sweep_text(text)
    run_sweep(spec, tmp_path / "a.parquet", workers=1)
    run_sweep(spec, tmp_path / "b.parquet", client=client)
    a, b = read_results(tmp_path / "a.parquet"), read_results(tmp_path / "b.parquet")
    pd.testing.assert_frame_equal(a, b)
    assert a["rate_hz"].nunique() == 6  # independent streams per point
    other = parse_sweep_text(text.replace("seed = 11", "seed = 12"))
    run_sweep(other, tmp_path / "c.parquet", workers=1)
    assert not np.array_equal(read_results(tmp_path / "c.parquet")["rate_hz"], a["rate_hz"])


def _wait_for(path: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists() or path.stat().st_size == 0:
        if time.monotonic() > deadline:
            raise TimeoutError(path)
        time.sleep(0.1)


@pytest.mark.slow  # ≈ 10 s
def test_external_scheduler_and_worker_processes(tmp_path):
    sched_file = tmp_path / "scheduler.json"
    env = dict(os.environ, DASK_DISTRIBUTED__WORKER__DAEMON="False")
    procs = []
    try:
        procs.append(
            subprocess.Popen(
                [sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard", "--scheduler-file", str(sched_file)],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True, env=env,
            )
        )
        _wait_for(sched_file)
        time.sleep(0.2)
        address = json.loads(sched_file.read_text())["address"]
        assert address.startswith("tcp://127.0.0.1:")
        procs.append(
            subprocess.Popen(
                [sys.executable, "-m", "distributed.cli.dask_worker", address, "--nthreads", "1", "--nworkers", "2", "--host", "127.0.0.1", "--no-dashboard"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True, env=env,
            )
        )
        from distributed import Client

        with Client(address, timeout="30s") as c:
            c.wait_for_workers(2, timeout=60)
        spec_file = tmp_path / "s.toml"
        spec_file.write_text(SMALL)
        out = tmp_path / "remote.parquet"
        res = subprocess.run(
            [sys.executable, "-m", "qrepeater.cli.main", "sweep", str(spec_file), "--out", str(out), "--scheduler", address, "--json"],
            capture_output=True, text=True, timeout=300,
        )
        assert res.returncode == 0, res.stderr
        assert json.loads(res.stdout)["evaluated"] == 24
        run_sweep(load_sweep(spec_file), tmp_path / "local.parquet", workers=1)
        pd.testing.assert_frame_equal(read_results(out), read_results(tmp_path / "local.parquet"))
    finally:
        for p in reversed(procs):
            try:
                os.killpg(p.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait(timeout=10)


def test_unreachable_scheduler_is_one_line(tmp_path):
    from typer.testing import CliRunner

    from qrepeater.cli.main import app

    spec = tmp_path / "s.toml"
    spec.write_text("[parameters]\ndistance_km = [10]\n")
    res = CliRunner().invoke(
        app, ["sweep", str(spec), "--out", str(tmp_path / "r.parquet"), "--scheduler", "tcp://127.0.0.1:9", "--connect-timeout", "1", "--no-progress"]
    )
    assert res.exit_code == 2
    assert res.stderr.strip().startswith("error: --scheduler = 'tcp://127.0.0.1:9': cannot connect") and len(res.stderr.strip().splitlines()) == 1
