"""Secret-key files: atomic, private (mode 0600) writes; no key material in logs.

Key file format: the key bits packed MSB-first into bytes (``numpy.packbits``), the last byte padded
with zeros; the number of bits is recorded in the JSON report (``key_bits``). The file is written
through :func:`qrepeater.files.write_bytes_atomic` with ``mode=0o600``: a temporary file created 0600
in the destination folder, written, fsync'ed and moved into place with ``os.replace``, so a reader
never sees a partial key and no other user can read it at any moment.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..files import write_bytes_atomic

__all__ = ["read_key_file", "write_key_file"]


def write_key_file(path, bits: np.ndarray) -> Path:
    """Write key ``bits`` (array of {0,1}) packed MSB-first to ``path`` atomically with mode 0600."""
    b = np.asarray(bits, dtype=np.uint8)
    if b.size and b.max() > 1:
        raise ValueError("key bits must be 0 or 1")
    return write_bytes_atomic(path, np.packbits(b).tobytes(), mode=0o600)


def read_key_file(path, key_bits: int) -> np.ndarray:
    """Key bits from a file written by :func:`write_key_file` (``key_bits`` from the report)."""
    raw = np.frombuffer(Path(path).read_bytes(), dtype=np.uint8)
    if raw.size * 8 < key_bits:
        raise ValueError(f"{path}: holds {raw.size * 8} bits, report says {key_bits}")
    return np.unpackbits(raw)[:key_bits].copy()
