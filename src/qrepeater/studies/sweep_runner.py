"""Run a sweep on dask.distributed, committing every finished point atomically, with resume.

Execution
---------
* ``workers = None`` (the default) without a scheduler: automatic. Points run in-process while the
  sweep is small; once the measured cost per point says the remaining work would take more than
  :data:`AUTO_PARALLEL_MIN_S` serially (and at least two CPUs are idle, :func:`auto_worker_count`),
  the rest goes to a local cluster of min(idle CPUs, remaining points) processes. A local cluster costs about
  :data:`CLUSTER_START_S` to start, import the package in its workers and close, so a 32-point
  link sweep is never slower than ``workers = 1`` (benchmarks/RESULTS.md).
* ``workers = 1`` without a scheduler: in-process, no cluster.
* ``workers = N``: a :class:`distributed.LocalCluster` of N worker *processes*, one thread each.
* ``scheduler = "tcp://host:port"``: an existing cluster (its workers must have ``qrepeater``
  installed); the client writes all files, so the workers need no shared filesystem.
* or an existing :class:`distributed.Client` (``client=``), e.g. one cluster shared by several sweeps.

Seeds: point ``i`` gets ``numpy.random.SeedSequence(spec.seed).spawn(n_points)[i]``, so a result
depends only on its point id — not on the number of workers or the order of completion.

Files
-----
While the sweep runs, each finished point is written as ``<out>.parts/point-<id>.json`` (its row as
JSON — floats round-trip exactly; written to a temporary file in the same folder, then renamed),
next to ``<out>.parts/sweep.json`` (the spec and its digest). ``resume=True`` skips the committed points and evaluates the rest, so a
sweep killed at any moment (SIGKILL included) finishes with every point exactly once. When all
points are in, they are consolidated into the tidy Parquet file ``out`` (one row per point: ``point_id``,
the parameters, the metrics, ``error`` (None, or the one-line message of a point the model rejects),
``config`` — the point's full scenario as JSON, also for rejected points whose overrides applied —
``options`` and ``qrepeater_version``; the spec is
in the file's metadata under ``qrepeater.sweep``), optionally an xarray/netCDF cube, and the parts
folder is removed.
"""

from __future__ import annotations

import itertools
import json
import logging
import math
import os
import shutil
import time
import uuid
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ..errors import ConfigError, InterruptedRun, QRepeaterError
from ..version import __version__
from .evaluate import evaluate, point_scenario
from .point import metric_names, split_point
from .sweep_files import (
    META_KEY,
    SweepOutcome,
    committed_points,
    consolidate,
    parts_dir_for,
    prepare_parts,
    read_results_table,
    write_netcdf,
    write_part,
)
from .sweep_spec import SweepSpec


def _point_params(payload: dict, point_id: int) -> dict[str, Any]:
    params = payload["parameters"]
    shape = tuple(len(v) for v in params.values())
    idx = np.unravel_index(point_id, shape) if shape else ()
    return {name: values[i] for (name, values), i in zip(params.items(), idx)}


def point_seed(root: int, point_id: int) -> np.random.SeedSequence:
    """Seed of point ``point_id``: identical to ``SeedSequence(root).spawn(n_points)[point_id]``
    (a child's spawn key is its index), built without materialising the other children."""
    return np.random.SeedSequence(root, spawn_key=(int(point_id),))


class _PointSeeds:
    def __init__(self, root: int):
        self.root = root

    def __getitem__(self, point_id: int) -> np.random.SeedSequence:
        return point_seed(self.root, point_id)


def evaluate_task(payload: dict, point_id: int, seed: np.random.SeedSequence) -> dict[str, Any]:
    """Evaluate one point (runs on a worker); returns its result row.

    Errors the model raises for this point's values (``QRepeaterError``) are recorded in the row's
    ``error`` column with empty metrics, so one impossible combination does not stop a sweep.
    """
    params = _point_params(payload, point_id)
    opts = dict(payload["options"])
    opts.update(split_point(params)[0])
    names = payload["metrics"] or metric_names(opts.get("engine", "link"))
    error = None
    config: Any = None
    try:
        scenario, config = point_scenario(payload["base_data"], params)
        values = evaluate(scenario, opts, seed)
        metrics = {m: values.get(m) for m in names}
    except QRepeaterError as exc:
        metrics = {m: None for m in names}
        error = str(exc)
    row: dict[str, Any] = {"point_id": int(point_id)}
    row.update(params)
    row.update(metrics)
    row["error"] = error
    row["config"] = None if config is None else json.dumps(config, sort_keys=True)
    row["options"] = json.dumps(opts, sort_keys=True)
    row["qrepeater_version"] = __version__
    return row


def _run_local(payload, todo, seeds, commit) -> None:
    for pid in todo:
        commit(evaluate_task(payload, pid, seeds[pid]))


#: seconds a local cluster costs: start, import the package in every worker, close (measured 7 s on a
#: loaded 2-core machine, 18 s under heavier load; benchmarks/RESULTS.md)
CLUSTER_START_S = 10.0
#: ``workers=None`` moves to a local cluster once the remaining points would take longer than this
#: serially and the parallel time saved, (1 - 1/P) of it, exceeds twice the start-up cost
AUTO_PARALLEL_MIN_S = 30.0


def auto_worker_count(cpus: int | None = None, idle: float | None = None) -> int:
    """Processes an automatic sweep may use: this process's own CPU plus the ``idle`` ones (measured by
    :func:`_run_auto` while it evaluates points in-process; else estimated from the 1-minute load
    average), at most ``cpus`` (those this process may run on). On a shared machine whose cores are
    busy, parallel workers only compete with each other and the other jobs (a 32-point sweep at load
    4.6 on 2 cores: 48 s in-process, 51 s on 2 workers; benchmarks/RESULTS.md)."""
    if cpus is None:
        try:
            cpus = len(os.sched_getaffinity(0))
        except (AttributeError, OSError):
            cpus = os.cpu_count() or 1
    if idle is None:
        try:
            idle = cpus - os.getloadavg()[0]  # the load counts this process too
        except (AttributeError, OSError):
            idle = cpus - 1.0
    idle = min(max(0.0, float(idle)), float(cpus))
    return max(1, min(int(cpus), int(round(idle + 1.0))))


def _idle_cpus(before, after, cpus: int) -> float | None:
    """CPUs that were idle between two ``psutil.cpu_times()`` samples (None if no time passed)."""
    total = sum(after) - sum(before)
    if total <= 0:
        return None
    return cpus * (after.idle - before.idle) / total


def worth_a_cluster(seconds_left: float, points_left: int, cpus: int) -> int:
    """Worker processes to start for the remaining work (0: stay in-process)."""
    procs = min(cpus, points_left)
    if procs < 2 or seconds_left < AUTO_PARALLEL_MIN_S:
        return 0
    saved = seconds_left * (1.0 - 1.0 / procs)
    return procs if saved > 2.0 * CLUSTER_START_S else 0


def _run_auto(payload, todo, seeds, commit, start_cluster, cpus: int) -> list[int]:
    """Evaluate in-process while the remaining work is small; returns the points left for a cluster
    (empty when everything ran here). The cost per point is the mean over the points done, without
    the first one (it pays one-time costs such as a numba compilation) once there are two; the
    processes it may start are ``cpus`` capped by the CPUs left idle meanwhile (:func:`auto_worker_count`)."""
    import psutil

    times: list[float] = []
    cpu0 = psutil.cpu_times()
    for i, pid in enumerate(todo):
        t0 = time.perf_counter()
        commit(evaluate_task(payload, pid, seeds[pid]))
        times.append(time.perf_counter() - t0)
        rest = todo[i + 1:]
        if not rest:
            return []
        per_point = float(np.mean(times[1:] if len(times) > 1 else times))
        usable = min(cpus, auto_worker_count(cpus, _idle_cpus(cpu0, psutil.cpu_times(), cpus)))
        procs = worth_a_cluster(per_point * len(rest), len(rest), usable)
        if procs:
            start_cluster(procs)
            return rest
    return []


def evaluate_chunk(payload: dict, point_ids: list[int], seeds: list) -> tuple[list[dict[str, Any]], float]:
    """Evaluate several points in one task; returns their rows and the seconds it took."""
    t0 = time.perf_counter()
    rows = [evaluate_task(payload, pid, seed) for pid, seed in zip(point_ids, seeds)]
    return rows, time.perf_counter() - t0


#: Target duration of one dask task (s): cheap points are batched up to this, expensive ones go alone.
TASK_SECONDS = 0.5
MAX_CHUNK = 32


def _run_dask(client, payload, todo, seeds, commit) -> None:
    """Points go out in chunks sized so that a task takes about :data:`TASK_SECONDS` — one point per
    task at first, then sized from the measured cost per point (at most :data:`MAX_CHUNK`) — with
    three tasks per worker in flight; every row is committed as soon as its task returns, so a crash
    loses at most the points in flight."""
    from distributed import as_completed

    n_workers = max(1, len(client.scheduler_info().get("workers", {})))
    [payload_future] = client.scatter([payload], broadcast=True)
    tag = uuid.uuid4().hex[:12]
    pending = iter(todo)
    cost = {"seconds": 0.0, "points": 0}

    def chunk_size() -> int:
        if cost["points"] == 0:
            return 1
        per_point = cost["seconds"] / cost["points"]
        size = int(TASK_SECONDS / per_point) if per_point > 0 else MAX_CHUNK
        return max(1, min(MAX_CHUNK, size, math.ceil(len(todo) / (4 * n_workers))))

    def submit():
        chunk = list(itertools.islice(pending, chunk_size()))
        if not chunk:
            return None
        return client.submit(evaluate_chunk, payload_future, chunk, [seeds[p] for p in chunk], key=f"qrepeater-points-{tag}-{chunk[0]}", retries=1)

    first = [f for f in (submit() for _ in range(3 * n_workers)) if f is not None]
    ac = as_completed(first)
    for fut in ac:
        rows, seconds = fut.result()
        for row in rows:
            commit(row)
        cost["seconds"] += seconds
        cost["points"] += len(rows)
        fut.release()
        nxt = submit()
        if nxt is not None:
            ac.add(nxt)


class _RichBar:
    """``progress=True``: a rich bar on stderr (the reporter interface: ``step(text, advance)``, ``status(text)``)."""

    def __init__(self, spec: SweepSpec, done: int):
        self.bar, self.task = _progress_bar(spec, done)
        self.name = spec.name

    def step(self, text: str = "", advance: int = 1) -> None:
        self.bar.update(self.task, advance=advance, description=f"sweep {self.name}")

    def status(self, text: str) -> None:
        self.bar.update(self.task, description=f"sweep {self.name}: {text}")

    def stop(self) -> None:
        self.bar.stop()


def _progress_bar(spec: SweepSpec, done: int):
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    bar = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
    )
    task = bar.add_task(f"sweep {spec.name}", total=spec.n_points, completed=done)
    bar.start()
    return bar, task


def _make_client(workers: int, scheduler: str | None, connect_timeout_s: float = 15.0):
    from distributed import Client, LocalCluster

    if scheduler:
        try:
            return Client(scheduler, timeout=f"{connect_timeout_s}s"), None
        except (OSError, TimeoutError, ValueError) as exc:  # ValueError: an unknown address scheme
            raise ConfigError(f"--scheduler = {scheduler!r}: cannot connect ({' '.join(str(exc).split())}); "
                              "allowed: the address of a running dask scheduler, e.g. tcp://host:8786") from None
    import dask

    # dask's nannies set MALLOC_TRIM_THRESHOLD_=65536 in their workers; setting it at all turns off
    # glibc's dynamic mmap threshold, so every large numpy array is mmap'ed and unmapped again: the
    # Monte Carlo engine ran 2.7x slower in a worker than in-process (benchmarks/RESULTS.md). Unset.
    with dask.config.set({"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}):
        cluster = LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=logging.ERROR,
        )
    return Client(cluster), cluster


def run_sweep(
    spec: SweepSpec,
    out: str | Path,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    client=None,
    resume: bool = False,
    netcdf: str | Path | None = None,
    progress: Any = False,
    keep_parts: bool = False,
    on_point: Callable[[int], None] | None = None,
    connect_timeout_s: float = 15.0,
) -> SweepOutcome:
    """Evaluate every point of ``spec`` and write the tidy Parquet ``out`` (see the module docstring).

    Parameters
    ----------
    workers : int, optional
        Worker processes of the local cluster (1: in-process, no cluster; None: automatic, see the
        module docstring).
    scheduler : str, optional
        Address of an existing dask scheduler (``tcp://host:port``); ``workers`` is then ignored.
    client : distributed.Client, optional
        Use this client instead of starting a cluster.
    resume : bool
        Continue an interrupted sweep from ``<out>.parts/``.
    netcdf : path, optional
        Also write the metrics cube as netCDF.
    progress : bool or reporter
        True: a rich progress bar on stderr. Or an object with ``step(text, advance=1)`` (called for
        every committed point, and once with ``advance`` = the resumed points) and ``status(text)``
        (start-up of workers), e.g. :class:`qrepeater.cli.progress.Progress`.
    connect_timeout_s : float
        How long to try to reach ``scheduler``.

    Returns
    -------
    SweepOutcome
        ``out`` (the results file), ``n_points``, ``evaluated``, ``resumed``, ``failed_points``,
        ``seconds`` (s), ``netcdf``; ``.to_dataframe()`` is one row per point (parameters, the metrics
        of :func:`qrepeater.studies.evaluate.evaluate` with units in their names, ``error``),
        ``.to_xarray()`` the metrics over the swept parameters.

    Raises
    ------
    InterruptedRun
        On Ctrl-C: every point finished so far stays committed in ``<out>.parts/``; the message
        says how many and that ``--resume`` continues the sweep.
    """
    t0 = time.perf_counter()
    out = Path(out)
    if workers is not None and workers < 1:
        raise ConfigError(f"--workers {workers}: need at least 1")
    parts = parts_dir_for(out)
    if resume and not parts.exists() and out.exists():
        table = read_results_table(out)
        meta = json.loads((table.schema.metadata or {}).get(META_KEY, b"{}"))
        if meta.get("digest") == spec.digest and table.num_rows == spec.n_points:
            nc = write_netcdf(spec, table, Path(netcdf)) if netcdf else None
            failed = sum(e is not None for e in table.column("error").to_pylist())
            return SweepOutcome(out, spec.n_points, 0, spec.n_points, failed, time.perf_counter() - t0, nc)
    created = not parts.exists()
    new_folders = []  # folders above the parts folder that this run creates (deepest first)
    folder = parts.parent
    while not folder.exists() and folder.parent != folder:
        new_folders.append(folder)
        folder = folder.parent
    parts, done = prepare_parts(spec, out, resume)
    try:
        return _run_parts(spec, out, parts, done, t0, workers=workers, scheduler=scheduler, client=client,
                          netcdf=netcdf, progress=progress, keep_parts=keep_parts, on_point=on_point,
                          connect_timeout_s=connect_timeout_s)
    except BaseException as exc:
        kept = len(committed_points(parts, spec.n_points)) if parts.is_dir() else 0
        if created and kept == 0:  # nothing to resume: leave no parts folder (nor the folders made for it)
            shutil.rmtree(parts, ignore_errors=True)
            for d in new_folders:
                try:
                    d.rmdir()
                except OSError:
                    break
        if isinstance(exc, KeyboardInterrupt):
            if kept == 0:
                raise InterruptedRun(f"no point of {spec.n_points} was finished, nothing was kept; run the command again") from None
            raise InterruptedRun(
                f"{kept} of {spec.n_points} points are kept in {parts}; run the same command with --resume to continue"
            ) from None
        raise


def _run_parts(spec, out, parts, done, t0, *, workers, scheduler, client, netcdf, progress, keep_parts, on_point,
               connect_timeout_s) -> SweepOutcome:
    todo = [pid for pid in range(spec.n_points) if pid not in done]
    seeds = _PointSeeds(spec.seed)
    payload = spec.payload()
    reporter = None

    def commit(row: dict) -> None:
        write_part(parts, row)
        if reporter is not None:
            reporter.step(f"point {int(row['point_id'])}" + (" (rejected by the model)" if row.get("error") else ""))
        if on_point is not None:
            on_point(int(row["point_id"]))

    state = {"client": client, "cluster": None, "own": False}

    def start_cluster(n: int) -> None:
        if reporter is not None:
            reporter.status(f"starting {n} worker process{'es' if n > 1 else ''} (dask local cluster)")
        state["client"], state["cluster"] = _make_client(n, scheduler, connect_timeout_s)
        state["own"] = True
        if reporter is not None:
            reporter.status(f"{n} worker process{'es' if n > 1 else ''} evaluating {spec.n_points} points")

    try:
        if todo:
            if progress is True:
                reporter = _RichBar(spec, len(done))
            elif progress:
                reporter = progress
                if done:
                    reporter.step(f"{len(done)} points resumed", advance=len(done))
            if client is None and scheduler:
                if reporter is not None:
                    reporter.status(f"connecting to {scheduler}")
                state["client"], state["cluster"] = _make_client(1, scheduler, connect_timeout_s)
                state["own"] = True
            elif client is None and workers is not None and workers > 1:
                start_cluster(workers)
            if state["client"] is not None:
                _run_dask(state["client"], payload, todo, seeds, commit)
            elif workers is None:
                rest = _run_auto(payload, todo, seeds, commit, start_cluster, auto_worker_count(idle=float("inf")))
                if rest:
                    _run_dask(state["client"], payload, rest, seeds, commit)
            else:
                _run_local(payload, todo, seeds, commit)
    finally:
        if isinstance(reporter, _RichBar):
            reporter.stop()
        if state["own"]:
            state["client"].close()
            if state["cluster"] is not None:
                state["cluster"].close()
    table = consolidate(spec, out, parts)
    nc = write_netcdf(spec, table, Path(netcdf)) if netcdf else None
    if not keep_parts:
        shutil.rmtree(parts, ignore_errors=True)
    failed = sum(e is not None for e in table.column("error").to_pylist())
    return SweepOutcome(out, spec.n_points, len(todo), len(done), failed, time.perf_counter() - t0, nc)


__all__ = ["SweepOutcome", "auto_worker_count", "evaluate_chunk", "evaluate_task", "point_seed", "run_sweep", "worth_a_cluster"]
