"""Round records of a device-independent QKD run: schema, validating reader, atomic writers.

Schema (one row per heralded round; column order is free, extra columns are ignored)
--------------------------------------------------------------------------------------
=========  ========  ==========================================================================
column     type      meaning
=========  ========  ==========================================================================
``round``  int64     round index, strictly increasing (gaps allowed: unheralded attempts)
``test``   bool      ``True``: test round (CHSH); ``False``: key round
``x``      int8      Alice's setting, 0 or 1 (her measurement A0 = Z, A1 = X in the simulation)
``y``      int8      Bob's setting, 0, 1 or 2; 0/1 are his CHSH settings, 2 is his key setting,
                     aligned with Alice's ``x = 0``
``a``      int8      Alice's outcome, 0 or 1
``b``      int8      Bob's outcome, 0 or 1
=========  ========  ==========================================================================

Consistency rules: key rounds (``test = False``) have ``x = 0`` and ``y = 2``; test rounds have
``y ∈ {0, 1}``. The validating reader (:func:`read_records`) raises
:class:`qrepeater.errors.RecordsError` naming the first bad row (0-based data row; for CSV also the
file line) and column: missing column, wrong type, value outside its set, null, non-increasing round.

Files: Parquet (``.parquet``/``.pq``) or CSV (``.csv``; ``test`` written as ``true``/``false``,
read back from ``true/false/1/0`` case-insensitively). Writers go through a temporary file in the
destination folder and ``os.replace``.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from ..errors import RecordsError

__all__ = ["COLUMNS", "SCHEMA", "make_records", "read_records", "validate_records", "write_records", "records_format"]

SCHEMA = pa.schema(
    [
        ("round", pa.int64()),
        ("test", pa.bool_()),
        ("x", pa.int8()),
        ("y", pa.int8()),
        ("a", pa.int8()),
        ("b", pa.int8()),
    ]
)
COLUMNS = tuple(SCHEMA.names)
_ALLOWED = {"x": (0, 1), "y": (0, 1, 2), "a": (0, 1), "b": (0, 1)}


def records_format(path) -> str:
    """``"parquet"`` or ``"csv"`` from the file suffix (RecordsError otherwise)."""
    suffix = Path(path).suffix.lower()
    if suffix in (".parquet", ".pq"):
        return "parquet"
    if suffix == ".csv":
        return "csv"
    raise RecordsError(f"{path}: unknown records format {suffix!r}; use .parquet, .pq or .csv")


def make_records(round, test, x, y, a, b) -> pa.Table:  # noqa: A002 - schema name
    """Build a records table with the canonical schema from array-likes (validated)."""
    arrays = [
        pa.array(np.asarray(round, dtype=np.int64)),
        pa.array(np.asarray(test, dtype=bool)),
        pa.array(np.asarray(x, dtype=np.int8)),
        pa.array(np.asarray(y, dtype=np.int8)),
        pa.array(np.asarray(a, dtype=np.int8)),
        pa.array(np.asarray(b, dtype=np.int8)),
    ]
    table = pa.Table.from_arrays(arrays, schema=SCHEMA)
    return validate_records(table)


def _atomic_target(path: Path):
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    return tmp


def write_records(table: pa.Table, path, *, format: str | None = None) -> Path:  # noqa: A002
    """Validate and write ``table`` atomically as Parquet or CSV (format from the suffix by default)."""
    path = Path(path)
    fmt = format or records_format(path)
    table = validate_records(table)
    tmp = _atomic_target(path)
    try:
        if fmt == "parquet":
            pq.write_table(table, tmp, compression="zstd")
        elif fmt == "csv":
            pacsv.write_csv(table, tmp)
        else:
            raise RecordsError(f"unknown records format {fmt!r}; use parquet or csv")
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def read_records(path) -> pa.Table:
    """Read and validate a records file; returns a table with exactly the canonical schema.

    Raises
    ------
    RecordsError
        File missing/unreadable, or the first bad row and column.
    """
    path = Path(path)
    fmt = records_format(path)
    if not path.is_file():
        raise RecordsError(f"{path}: no such records file")
    try:
        if fmt == "parquet":
            table = pq.read_table(path)
            line_offset = None
        else:
            # everything as text first, so a bad cell is reported by row rather than by a parse failure
            with open(path, "rb") as fh:
                header = fh.readline().decode("utf-8", "replace").strip().split(",")
            opts = pacsv.ConvertOptions(column_types={name: pa.string() for name in header}, strings_can_be_null=True)
            table = pacsv.read_csv(path, convert_options=opts)
            line_offset = 2  # header is line 1
    except RecordsError:
        raise
    except Exception as exc:  # pyarrow raises a zoo of types for corrupt files
        raise RecordsError(f"{path}: cannot read records ({type(exc).__name__}: {str(exc).splitlines()[0]})") from None
    return validate_records(table, source=str(path), line_offset=line_offset)


def _where(row: int, col: str, source: str | None, line_offset: int | None) -> str:
    loc = f"row {row}"
    if line_offset is not None:
        loc += f" (line {row + line_offset})"
    return f"{source + ': ' if source else ''}{loc}, column {col!r}"


def _column_to_int(arr: pa.ChunkedArray, col: str, source, line_offset) -> np.ndarray:
    """Integer values of a column, or RecordsError at the first non-integer / null cell."""
    t = arr.type
    if arr.null_count:
        row = int(np.flatnonzero(np.asarray(arr.is_null()))[0])
        raise RecordsError(f"{_where(row, col, source, line_offset)}: missing value")
    if pa.types.is_integer(t):
        return arr.to_numpy().astype(np.int64)
    if pa.types.is_boolean(t):
        return arr.to_numpy(zero_copy_only=False).astype(np.int64)
    if pa.types.is_floating(t):
        v = arr.to_numpy()
        bad = ~np.isfinite(v) | (v != np.round(v))
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise RecordsError(f"{_where(row, col, source, line_offset)}: {v[row]!r} is not an integer")
        return v.astype(np.int64)
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        s = np.asarray(arr.to_pylist(), dtype=object)
        stripped = np.char.strip(s.astype(str))
        ok = np.char.isdigit(np.char.lstrip(np.char.lstrip(stripped, "+"), "-")) & (np.char.str_len(stripped) > 0)
        # lstrip would accept "--1"; reject more than one sign character
        ok &= ~np.char.startswith(stripped, "--") & ~np.char.startswith(stripped, "+-") & ~np.char.startswith(stripped, "-+")
        if not ok.all():
            row = int(np.flatnonzero(~ok)[0])
            raise RecordsError(f"{_where(row, col, source, line_offset)}: {s[row]!r} is not an integer")
        return stripped.astype(np.int64)
    row = 0
    raise RecordsError(f"{_where(row, col, source, line_offset)}: column has type {t}, expected integers")


def _column_to_bool(arr: pa.ChunkedArray, col: str, source, line_offset) -> np.ndarray:
    t = arr.type
    if arr.null_count:
        row = int(np.flatnonzero(np.asarray(arr.is_null()))[0])
        raise RecordsError(f"{_where(row, col, source, line_offset)}: missing value")
    if pa.types.is_boolean(t):
        return arr.to_numpy(zero_copy_only=False).astype(bool)
    if pa.types.is_integer(t):
        v = arr.to_numpy()
        bad = (v != 0) & (v != 1)
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise RecordsError(f"{_where(row, col, source, line_offset)}: {int(v[row])} is not a boolean (0/1)")
        return v.astype(bool)
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        s = np.char.lower(np.char.strip(np.asarray(arr.to_pylist(), dtype=object).astype(str)))
        true = (s == "true") | (s == "1")
        false = (s == "false") | (s == "0")
        bad = ~(true | false)
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise RecordsError(f"{_where(row, col, source, line_offset)}: {s[row]!r} is not a boolean (true/false/1/0)")
        return true
    raise RecordsError(f"{_where(0, col, source, line_offset)}: column has type {t}, expected booleans")


def validate_records(table: pa.Table, *, source: str | None = None, line_offset: int | None = None) -> pa.Table:
    """Check a records table against the schema and return it cast to the canonical types.

    Checks, in this order: every column present; per column (in schema order) types and nulls, then
    the value sets; ``round`` strictly increasing; key rounds have ``x = 0, y = 2``; test rounds have
    ``y ∈ {0, 1}``. The first failing cell (lowest row among the failures of that check) is named.
    """
    missing = [c for c in COLUMNS if c not in table.column_names]
    if missing:
        raise RecordsError(f"{source + ': ' if source else ''}missing column(s) {', '.join(map(repr, missing))}; expected {', '.join(COLUMNS)}")
    if table.num_rows == 0:
        raise RecordsError(f"{source + ': ' if source else ''}no rounds in the records")
    cols: dict[str, np.ndarray] = {}
    cols["round"] = _column_to_int(table.column("round"), "round", source, line_offset)
    cols["test"] = _column_to_bool(table.column("test"), "test", source, line_offset)
    for c in ("x", "y", "a", "b"):
        v = _column_to_int(table.column(c), c, source, line_offset)
        bad = ~np.isin(v, _ALLOWED[c])
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise RecordsError(f"{_where(row, c, source, line_offset)}: {int(v[row])} not in {set(_ALLOWED[c])}")
        cols[c] = v
    r = cols["round"]
    if r.size > 1:
        bad = np.diff(r) <= 0
        if bad.any():
            row = int(np.flatnonzero(bad)[0]) + 1
            raise RecordsError(
                f"{_where(row, 'round', source, line_offset)}: {int(r[row])} does not increase (previous {int(r[row - 1])})"
            )
    key = ~cols["test"]
    bad_x = key & (cols["x"] != 0)
    bad_y = (key & (cols["y"] != 2)) | (~key & (cols["y"] == 2))
    first = [(int(np.flatnonzero(m)[0]), c) for m, c in ((bad_x, "x"), (bad_y, "y")) if m.any()]
    if first:
        row, c = min(first)
        msg = "key round (test=false) needs x=0, y=2" if key[row] else "test round needs y in {0, 1}"
        raise RecordsError(f"{_where(row, c, source, line_offset)}: {msg}, got x={int(cols['x'][row])}, y={int(cols['y'][row])}")
    arrays = [pa.array(cols[name].astype(SCHEMA.field(name).type.to_pandas_dtype())) for name in COLUMNS]
    return pa.Table.from_arrays(arrays, schema=SCHEMA)
