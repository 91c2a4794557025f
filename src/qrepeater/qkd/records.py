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
read back from ``true/false/1/0`` case-insensitively). Writers go through
:func:`qrepeater.files.atomic_path` (a temporary file in the destination folder, then ``os.replace``).

Checksum: the writers store :func:`records_checksum` (SHA-256 of the canonical columns and the row
count) in the file — Parquet: schema metadata ``qrepeater.records``; CSV: a first line
``# qrepeater.records {...}`` before the header. :func:`read_records` recomputes it and refuses a file
whose content does not match (:class:`~qrepeater.errors.RecordsError`): records changed or truncated
after they were written. Files without the checksum (written by other tools) are read as before;
:func:`read_records_checked` says which case it was.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from ..errors import RecordsError
from ..files import atomic_path

__all__ = ["COLUMNS", "SCHEMA", "make_records", "read_records", "read_records_checked", "records_checksum",
           "records_format", "records_rows_estimate", "validate_records", "write_records"]

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
#: Parquet schema-metadata key (and CSV comment tag) of the checksum
META_KEY = "qrepeater.records"
_CSV_TAG = b"# " + META_KEY.encode() + b" "
_CHECKSUM_VERSION = 1


def records_checksum(table: pa.Table) -> dict:
    """``{"version", "rows", "sha256"}`` of a validated records table.

    SHA-256 over a version tag, the row count and every column in schema order as little-endian
    bytes of its canonical type (``round`` int64, ``test`` one byte 0/1, the others int8): the same
    records give the same digest whatever file format carried them.
    """
    h = hashlib.sha256(b"qrepeater-records-v1\0")
    h.update(int(table.num_rows).to_bytes(8, "little"))
    for name in COLUMNS:
        col = table.column(name).to_numpy(zero_copy_only=False)
        dtype = "<i8" if name == "round" else "u1" if name == "test" else "i1"
        h.update(np.ascontiguousarray(np.asarray(col).astype(dtype)).tobytes())
    return {"version": _CHECKSUM_VERSION, "rows": int(table.num_rows), "sha256": h.hexdigest()}


def records_rows_estimate(path) -> int:
    """Rows a records file holds (Parquet: its footer; CSV: an upper bound from its size), without
    reading it: for memory estimates before a file is loaded. 0 when the file cannot be inspected."""
    path = Path(path)
    try:
        if records_format(path) == "parquet":
            return int(pq.ParquetFile(path).metadata.num_rows)
        return path.stat().st_size // 12 + 1  # the shortest row, "0,1,0,0,0,0\n", has 12 bytes
    except Exception:  # noqa: BLE001 - the reader reports an unreadable file in one line
        return 0


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


def write_records(table: pa.Table, path, *, format: str | None = None) -> Path:  # noqa: A002
    """Validate and write ``table`` atomically as Parquet or CSV (format from the suffix by default).

    The file is private (mode 0600): the key rounds' outcomes are the raw key.
    """
    path = Path(path)
    fmt = format or records_format(path)
    table = validate_records(table)
    meta = json.dumps(records_checksum(table), sort_keys=True)
    with atomic_path(path, mode=0o600) as tmp:
        if fmt == "parquet":
            pq.write_table(table.replace_schema_metadata({META_KEY: meta}), str(tmp), compression="zstd")
        elif fmt == "csv":
            with open(tmp, "wb") as fh:
                fh.write(_CSV_TAG + meta.encode() + b"\n")
                pacsv.write_csv(table, fh)
        else:
            raise RecordsError(f"unknown records format {fmt!r}; use parquet or csv")
    return path


def read_records(path) -> pa.Table:
    """Read and validate a records file; returns a table with exactly the canonical schema.

    Raises
    ------
    RecordsError
        File missing/unreadable, the first bad row and column, or a checksum that does not match.
    """
    return read_records_checked(path)[0]


def _parse_meta(raw, path: Path) -> dict:
    try:
        meta = json.loads(raw)
        if not (isinstance(meta, dict) and isinstance(meta.get("sha256"), str) and isinstance(meta.get("rows"), int)):
            raise ValueError
        return meta
    except ValueError:
        raise RecordsError(f"{path}: malformed {META_KEY} checksum metadata; allowed: records as written by qrepeater") from None


def read_records_checked(path) -> tuple[pa.Table, str]:
    """:func:`read_records` and the checksum status: ``"verified"`` (the file's checksum matches its
    content) or ``"absent"`` (a file without one, e.g. from another tool)."""
    path = Path(path)
    fmt = records_format(path)
    if not path.is_file():
        raise RecordsError(f"{path}: no such records file")
    meta = None
    try:
        if fmt == "parquet":
            table = pq.read_table(path)
            raw = (table.schema.metadata or {}).get(META_KEY.encode())
            meta = None if raw is None else _parse_meta(raw, path)
            line_offset = None
        else:
            # everything as text first, so a bad cell is reported by row rather than by a parse failure
            with open(path, "rb") as fh:
                first = fh.readline()
                skip = 0
                if first.startswith(_CSV_TAG):
                    meta = _parse_meta(first[len(_CSV_TAG):], path)
                    first = fh.readline()
                    skip = 1
            header = first.decode("utf-8", "replace").strip().split(",")
            opts = pacsv.ConvertOptions(column_types={name: pa.string() for name in header}, strings_can_be_null=True)
            table = pacsv.read_csv(path, read_options=pacsv.ReadOptions(skip_rows=skip), convert_options=opts)
            line_offset = 2 + skip  # header is line 1 (line 2 after the checksum line)
    except RecordsError:
        raise
    except Exception as exc:  # pyarrow raises a zoo of types for corrupt files
        raise RecordsError(f"{path}: cannot read records ({type(exc).__name__}: {str(exc).splitlines()[0]}); "
                          "allowed: a records file written by qrepeater diqkd simulate (.parquet or .csv)") from None
    if meta is not None and table.num_rows != meta["rows"]:
        raise RecordsError(f"{path}: holds {table.num_rows} rounds but its checksum was written for {meta['rows']}: "
                           "the records were truncated or changed after they were written; allowed: records as written")
    table = validate_records(table, source=str(path), line_offset=line_offset)
    if meta is None:
        return table, "absent"
    actual = records_checksum(table)["sha256"]
    if actual != meta["sha256"]:
        raise RecordsError(f"{path}: checksum mismatch (content sha256 {actual[:16]}..., written {meta['sha256'][:16]}...): "
                           "the records were changed after they were written; allowed: records as written")
    return table, "verified"


def _where(row: int, col: str, source: str | None, line_offset: int | None) -> str:
    loc = f"row {row}"
    if line_offset is not None:
        loc += f" (line {row + line_offset})"
    return f"{source + ': ' if source else ''}{loc}, column {col!r}"


def _column_to_int(arr: pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray, list]:
    """(values, bad mask, raw cells) of an integer column; bad cells are nulls or non-integers."""
    t = arr.type
    n = len(arr)
    null = np.asarray(arr.is_null(), dtype=bool) if arr.null_count else np.zeros(n, bool)
    if pa.types.is_integer(t) or pa.types.is_boolean(t):
        v = np.asarray(arr.fill_null(0).to_numpy(zero_copy_only=False)).astype(np.int64)
        return v, null, None
    if pa.types.is_floating(t):
        v = np.asarray(arr.fill_null(0).to_numpy(zero_copy_only=False), dtype=float)
        bad = null | ~np.isfinite(v) | (v != np.round(v))
        return np.where(bad, 0, v).astype(np.int64), bad, v
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        raw = np.asarray(arr.fill_null("").to_pylist(), dtype=object).astype(str)
        stripped = np.char.strip(raw)
        body = np.where(np.char.startswith(stripped, "-") | np.char.startswith(stripped, "+"),
                        np.char.lstrip(stripped, "+-"), stripped)
        unsigned = np.char.lstrip(stripped, "+-")
        one_sign = np.char.str_len(stripped) - np.char.str_len(unsigned) <= 1
        bad = null | ~(np.char.isdigit(body) & one_sign & (np.char.str_len(body) > 0))
        v = np.zeros(n, np.int64)
        v[~bad] = stripped[~bad].astype(np.int64)
        return v, bad, raw
    return np.zeros(n, np.int64), np.ones(n, bool), [f"<{t}>"] * n


def _column_to_bool(arr: pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray, list]:
    t = arr.type
    n = len(arr)
    null = np.asarray(arr.is_null(), dtype=bool) if arr.null_count else np.zeros(n, bool)
    if pa.types.is_boolean(t):
        return np.asarray(arr.fill_null(False).to_numpy(zero_copy_only=False), bool), null, None
    if pa.types.is_integer(t):
        v = np.asarray(arr.fill_null(0).to_numpy(zero_copy_only=False)).astype(np.int64)
        return v == 1, null | ((v != 0) & (v != 1)), v
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        raw = np.asarray(arr.fill_null("").to_pylist(), dtype=object).astype(str)
        s = np.char.lower(np.char.strip(raw))
        true = (s == "true") | (s == "1")
        false = (s == "false") | (s == "0")
        return true, null | ~(true | false), raw
    return np.zeros(n, bool), np.ones(n, bool), [f"<{t}>"] * n


def validate_records(table: pa.Table, *, source: str | None = None, line_offset: int | None = None) -> pa.Table:
    """Check a records table against the schema and return it cast to the canonical types.

    Every rule is evaluated on every row; the error names the *first* bad row (ties: the first
    column in schema order): missing value, wrong type, value outside its set, ``round`` not strictly
    increasing, key round without ``x = 0, y = 2``, test round with ``y = 2``.
    """
    missing = [c for c in COLUMNS if c not in table.column_names]
    if missing:
        raise RecordsError(f"{source + ': ' if source else ''}missing column(s) {', '.join(map(repr, missing))}; expected {', '.join(COLUMNS)}")
    if table.num_rows == 0:
        raise RecordsError(f"{source + ': ' if source else ''}no rounds in the records")
    n = table.num_rows
    problems: list[tuple[np.ndarray, str, object]] = []  # (bad mask, column, message(row))
    cols: dict[str, np.ndarray] = {}
    for c in COLUMNS:
        arr = table.column(c)
        if c == "test":
            v, bad_type, raw = _column_to_bool(arr)
            what = "a boolean (true/false/1/0)"
        else:
            v, bad_type, raw = _column_to_int(arr)
            what = "an integer"
        null = np.asarray(arr.is_null(), dtype=bool) if arr.null_count else np.zeros(n, bool)
        problems.append((null, c, lambda r: "missing value"))
        problems.append((bad_type & ~null, c, (lambda raw, what: lambda r: f"{raw[r].item() if hasattr(raw[r], 'item') else raw[r]!r} is not {what}")(raw, what)))
        if c in _ALLOWED:
            out = ~bad_type & ~np.isin(v, _ALLOWED[c])
            problems.append((out, c, (lambda v, c: lambda r: f"{int(v[r])} not in {set(_ALLOWED[c])}")(v, c)))
        cols[c] = v
    ok = ~np.logical_or.reduce([m for m, _, _ in problems])
    r = cols["round"]
    dec = np.zeros(n, bool)
    if n > 1:
        dec[1:] = (np.diff(r) <= 0) & ok[1:] & ok[:-1]
    problems.append((dec, "round", lambda i: f"{int(r[i])} does not increase (previous {int(r[i - 1])})"))
    key = ~cols["test"]
    bad_x = ok & key & (cols["x"] != 0)
    bad_y = ok & ((key & (cols["y"] != 2)) | (~key & (cols["y"] == 2)))

    def consistency(i):
        rule = "key round (test=false) needs x=0, y=2" if key[i] else "test round needs y in {0, 1}"
        return f"{rule}, got x={int(cols['x'][i])}, y={int(cols['y'][i])}"

    problems.append((bad_x, "x", consistency))
    problems.append((bad_y, "y", consistency))
    order = {c: k for k, c in enumerate(COLUMNS)}
    first = [(int(np.argmax(m)), order[c], c, msg) for m, c, msg in problems if m.any()]
    if first:
        row, _, c, msg = min(first, key=lambda t: (t[0], t[1]))
        raise RecordsError(f"{_where(row, c, source, line_offset)}: {msg(row)}")
    arrays = [pa.array(cols[name].astype(SCHEMA.field(name).type.to_pandas_dtype())) for name in COLUMNS]
    return pa.Table.from_arrays(arrays, schema=SCHEMA)
