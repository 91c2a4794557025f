"""Secret-key and report files: atomic, private (mode 0600) writes; no key material in logs.

Key file format: the key bits packed MSB-first into bytes (``numpy.packbits``), the last byte padded
with zeros; the number of bits is recorded in the JSON report (``key_bits``). The file is created
with ``os.open(..., 0o600)`` in the destination folder, written, fsync'ed and moved into place with
``os.replace``, so a reader never sees a partial key and no other user can read it at any moment.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

__all__ = ["read_key_file", "write_json_atomic", "write_key_file"]


def _tmp_name(path: Path) -> Path:
    return path.parent / f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp"


def _atomic_write_bytes(path: Path, data: bytes, mode: int) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _tmp_name(path)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        os.fchmod(fd, mode)  # independent of the umask
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        os.unlink(tmp)
        raise
    os.close(fd)
    try:
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
    return path


def write_key_file(path, bits: np.ndarray) -> Path:
    """Write key ``bits`` (array of {0,1}) packed MSB-first to ``path`` atomically with mode 0600."""
    b = np.asarray(bits, dtype=np.uint8)
    if b.size and b.max() > 1:
        raise ValueError("key bits must be 0 or 1")
    return _atomic_write_bytes(Path(path), np.packbits(b).tobytes(), 0o600)


def read_key_file(path, key_bits: int) -> np.ndarray:
    """Key bits from a file written by :func:`write_key_file` (``key_bits`` from the report)."""
    raw = np.frombuffer(Path(path).read_bytes(), dtype=np.uint8)
    if raw.size * 8 < key_bits:
        raise ValueError(f"{path}: holds {raw.size * 8} bits, report says {key_bits}")
    return np.unpackbits(raw)[:key_bits].copy()


def write_json_atomic(path, obj, *, mode: int = 0o644) -> Path:
    """Write ``obj`` as indented JSON atomically (temporary file + ``os.replace``)."""
    text = json.dumps(obj, indent=2, sort_keys=False) + "\n"
    return _atomic_write_bytes(Path(path), text.encode("utf-8"), mode)
