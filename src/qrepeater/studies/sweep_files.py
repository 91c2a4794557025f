"""The files of a sweep: resumable per-point parts, the tidy Parquet results, the netCDF cube.

While a sweep runs, each finished point is ``<out>.parts/point-<id>.json`` (its row as JSON; floats
round-trip exactly), written atomically next to ``<out>.parts/sweep.json`` (the spec and its digest),
so a sweep killed at any moment resumes with every point exactly once. :func:`consolidate` gathers
the parts into the Parquet file ``out`` (one row per point; the spec in the file's metadata under
``qrepeater.sweep``); :func:`write_netcdf` writes the metrics as an xarray cube over the axes;
:func:`read_results` and :func:`read_results_dataset` read a results file back (pandas, xarray).
Nothing here computes a metric or starts a worker.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from ..errors import ConfigError
from ..files import atomic_path, write_json_atomic
from ..version import __version__
from .sweep_spec import SweepSpec

PARTS_SUFFIX = ".parts"
MANIFEST = "sweep.json"
META_KEY = b"qrepeater.sweep"


def parts_dir_for(out: Path) -> Path:
    out = Path(out)
    return out.with_name(out.name + PARTS_SUFFIX)


def part_path(parts: Path, point_id: int) -> Path:
    return parts / f"point-{point_id:08d}.json"


def write_part(parts: Path, row: dict) -> None:
    path = part_path(parts, int(row["point_id"]))
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(row, allow_nan=True), encoding="utf-8")


def read_part(path: Path) -> dict:
    try:
        row = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(row, dict) or "point_id" not in row:
            raise ValueError("not a point row")
        return row
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path}: unreadable committed point ({' '.join(str(exc).split())}); "
                          "allowed: a point file written by qrepeater sweep; delete it and run with --resume to evaluate it again") from None


def committed_points(parts: Path, n_points: int) -> set[int]:
    done = set()
    for f in parts.glob("point-*.json"):
        try:
            pid = int(f.stem.split("-", 1)[1])
        except ValueError:
            continue
        if 0 <= pid < n_points:
            done.add(pid)
    for tmp in parts.glob(".point-*.tmp"):  # left by a crash between write and rename
        tmp.unlink(missing_ok=True)
    return done


def prepare_parts(spec: SweepSpec, out: Path, resume: bool) -> tuple[Path, set[int]]:
    parts = parts_dir_for(out)
    manifest = parts / MANIFEST
    if parts.exists():
        if not resume:
            raise ConfigError(f"{parts} holds an unfinished sweep: pass --resume to continue it, or delete the folder")
        try:
            old = json.loads(manifest.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            old = None
        if old is not None and old.get("digest") != spec.digest:
            raise ConfigError(f"{parts} belongs to a different sweep (other parameters or base); delete it or use another --out")
        if old is None:
            write_json_atomic(manifest, {"digest": spec.digest, "spec": spec.payload(), "text": spec.text})
        return parts, committed_points(parts, spec.n_points)
    parts.mkdir(parents=True, exist_ok=True)
    write_json_atomic(manifest, {"digest": spec.digest, "spec": spec.payload(), "text": spec.text})
    return parts, set()


def _columns(spec: SweepSpec, rows: list[dict]) -> list[str]:
    cols = ["point_id", *spec.parameters]
    seen = set(cols)
    tail = ["error", "config", "options", "qrepeater_version"]
    for row in rows:
        for key in row:
            if key not in seen and key not in tail:
                seen.add(key)
                cols.append(key)
    return cols + tail


def consolidate(spec: SweepSpec, out: Path, parts: Path) -> pa.Table:
    """Read every committed point (each exactly once), write ``out`` atomically; return the table."""
    rows = []
    for pid in range(spec.n_points):
        path = part_path(parts, pid)
        if not path.exists():
            raise ConfigError(f"{parts}: point {pid} is missing; run the sweep again with --resume")
        rows.append(read_part(path))
    cols = _columns(spec, rows)
    table = pa.Table.from_pylist([{c: r.get(c) for c in cols} for r in rows])
    meta = {META_KEY: json.dumps({"spec": spec.payload(), "text": spec.text, "digest": spec.digest, "qrepeater_version": __version__}).encode()}
    table = table.replace_schema_metadata(meta)
    with atomic_path(out) as tmp:
        pq.write_table(table, tmp)
    return table


def results_dataset(table: pa.Table, parameters: dict[str, list] | None = None, name: str | None = None, seed: int | None = None):
    """The metrics of a results table as an :class:`xarray.Dataset` over the parameter axes.

    ``parameters`` (name → swept values, in the spec's order), ``name`` and ``seed`` default to the
    spec stored in the table's ``qrepeater.sweep`` metadata (:func:`consolidate`). Dimension names are
    the parameter names with '.' replaced by '__' (netCDF-safe); the original names are kept in each
    coordinate's ``parameter`` attribute. One data variable per metric (units in its name, as in
    :data:`qrepeater.studies.point.CHAIN_METRICS`); booleans become 0/1, missing values NaN.
    """
    import xarray as xr

    if parameters is None or name is None or seed is None:
        stored = json.loads((table.schema.metadata or {})[META_KEY])["spec"]
        parameters = stored["parameters"] if parameters is None else parameters
        name = stored["name"] if name is None else name
        seed = stored["seed"] if seed is None else seed
    shape = tuple(len(v) for v in parameters.values())
    skip = {"point_id", "error", "config", "options", "qrepeater_version", *parameters}
    dims = [p.replace(".", "__") for p in parameters]
    coords = {}
    for p, d in zip(parameters, dims):
        vals = parameters[p]
        coords[d] = (d, np.asarray(vals, dtype=object if isinstance(vals[0], str) else None), {"parameter": p})
    data = table.to_pydict()
    order = np.argsort(np.asarray(data["point_id"]))
    variables = {}
    for col_name, col in data.items():
        if col_name in skip:
            continue
        arr = np.array([np.nan if v is None else float(v) for v in col], dtype=float)[order]
        variables[col_name] = (dims, arr.reshape(shape))
    return xr.Dataset(variables, coords=coords, attrs={"qrepeater_version": __version__, "sweep": name, "seed": seed})


def write_netcdf(spec: SweepSpec, table: pa.Table, path: Path) -> Path:
    """The metrics as an xarray cube over the parameter axes (:func:`results_dataset`), written as
    netCDF (atomically)."""
    ds = results_dataset(table, spec.parameters, spec.name, spec.seed)
    path = Path(path)
    import dask

    # xarray asks dask which scheduler is active to choose its file lock; a distributed client of an
    # earlier sweep in this process (closed, or never connected) must not make that question fail
    with atomic_path(path) as tmp, dask.config.set(scheduler="synchronous"):
        ds.to_netcdf(tmp, engine="scipy")  # netCDF-3 through scipy: the same file whatever else is installed
    return path


#: largest results table read (uncompressed bytes, from the Parquet footer): a bigger file is refused
#: before it is loaded
MAX_RESULTS_BYTES = 4 * 10**9
#: columns every results file of :func:`consolidate` has
RESULT_COLUMNS = ("point_id", "error")


def read_results_table(path: str | Path) -> pa.Table:
    """The Parquet table of a sweep's results, checked: a readable Parquet file of at most
    :data:`MAX_RESULTS_BYTES` written by :func:`consolidate` (its columns and ``qrepeater.sweep``
    metadata); anything else is one :class:`ConfigError` line naming the file."""
    path = Path(path)
    allowed = "allowed: the Parquet results file written by qrepeater sweep"
    if not path.exists():
        raise ConfigError(f"{path}: no such results file; {allowed}")
    if not path.is_file():
        raise ConfigError(f"{path}: not a file; {allowed}")
    try:
        meta = pq.ParquetFile(path).metadata
        size = sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
        if size > MAX_RESULTS_BYTES:
            raise ConfigError(f"{path}: {size} bytes of results is more than {MAX_RESULTS_BYTES} (not loaded); {allowed}")
        table = pq.read_table(path)
    except ConfigError:
        raise
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise ConfigError(f"{path}: not a Parquet file ({' '.join(str(exc).split())}); {allowed}") from None
    missing = [c for c in RESULT_COLUMNS if c not in table.column_names]
    if missing or META_KEY not in (table.schema.metadata or {}):
        what = f"no {', '.join(missing)} column" if missing else "no qrepeater.sweep metadata"
        raise ConfigError(f"{path}: not a sweep results file ({what}); {allowed}")
    try:
        json.loads(table.schema.metadata[META_KEY])
    except ValueError:
        raise ConfigError(f"{path}: malformed qrepeater.sweep metadata; {allowed}") from None
    return table


def read_results(path: str | Path):
    """A sweep's Parquet results (:func:`read_results_table`) as a pandas DataFrame, with the stored
    spec in ``df.attrs['sweep']``."""
    table = read_results_table(path)
    df = table.to_pandas()
    raw = (table.schema.metadata or {}).get(META_KEY)
    df.attrs["sweep"] = json.loads(raw) if raw else {}
    return df


def read_results_dataset(path: str | Path):
    """A sweep's Parquet results (:func:`read_results_table`) as an :class:`xarray.Dataset` over the
    swept parameters (:func:`results_dataset`)."""
    return results_dataset(read_results_table(path))


@dataclass(frozen=True)
class SweepOutcome:
    """What :func:`run_sweep` did.

    Attributes
    ----------
    out : Path
        The tidy Parquet results (``.to_dataframe()``, ``.to_xarray()`` read it).
    n_points, evaluated, resumed, failed_points : int
        Points of the grid; evaluated by this call; taken from an interrupted run; rejected by the model.
    seconds : float
        Wall time of the call (s).
    netcdf : Path or None
        The netCDF cube, when asked for.
    """

    out: Path
    n_points: int
    evaluated: int
    resumed: int
    failed_points: int
    seconds: float
    netcdf: Path | None = None

    def to_dict(self) -> dict:
        return {
            "out": str(self.out),
            "n_points": self.n_points,
            "evaluated": self.evaluated,
            "resumed": self.resumed,
            "failed_points": self.failed_points,
            "seconds": self.seconds,
            "netcdf": None if self.netcdf is None else str(self.netcdf),
        }

    def to_dataframe(self):
        """The results file ``out`` as a pandas DataFrame, one row per point (:func:`read_results`):
        ``point_id``, the swept parameters, the metrics (units in their names, e.g. ``rate_hz``,
        ``mean_waiting_time_s``), ``error``, ``config``, ``options``; the spec in ``df.attrs["sweep"]``."""
        return read_results(self.out)

    def to_xarray(self):
        """The metrics as an :class:`xarray.Dataset` over the swept parameters — the cube ``--netcdf``
        writes (:func:`results_dataset`; a dotted parameter name's '.' becomes '__')."""
        return read_results_dataset(self.out)


__all__ = ["SweepOutcome", "committed_points", "consolidate", "parts_dir_for", "prepare_parts", "read_results", "read_results_dataset",
           "read_results_table", "results_dataset", "write_netcdf", "write_part"]
