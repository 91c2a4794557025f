"""Secret-key files: atomic, private (mode 0600) writes that never replace a file; no key material in logs.

Key file format: the key bits packed MSB-first into bytes (``numpy.packbits``), the last byte padded
with zeros; the number of bits is recorded in the JSON report (``key_bits``). The file is written
through :func:`qrepeater.files.write_bytes_atomic` with ``mode=0o600`` and ``exclusive=True``: a
temporary file created 0600 in the destination folder, written, fsync'ed and linked onto its name only
if that name does not exist, so a reader never sees a partial key, no other user can read it at any
moment, and an existing key is never replaced (the caller deletes it first, e.g. ``distill --force``).

A key from a *seeded* run (tests, reproducible examples) is not secret: anyone holding the records
and the seed rebuilds it. Its file starts with the one-line header :data:`INSECURE_HEADER`, so no tool
can mistake it for a key; :func:`read_key_file` skips the header and :func:`key_file_is_insecure`
reports it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..files import write_bytes_atomic

__all__ = ["INSECURE_HEADER", "key_file_is_insecure", "read_key_file", "write_key_file"]

#: first line of the key file of a seeded (insecure, test-only) run
INSECURE_HEADER = (b"QREPEATER INSECURE TEST KEY: seeded run, rebuilt by anyone with the records and the seed; "
                   b"never use it as a secret\n")


def write_key_file(path, bits: np.ndarray, *, insecure: bool = False) -> Path:
    """Write key ``bits`` (array of {0,1}) packed MSB-first to the new file ``path`` (mode 0600).

    ``insecure=True`` (a seeded run) prefixes :data:`INSECURE_HEADER`. Raises FileExistsError if
    ``path`` exists: a key file is never replaced.
    """
    b = np.asarray(bits, dtype=np.uint8)
    if b.size and b.max() > 1:
        raise ValueError("key bits must be 0 or 1")
    data = (INSECURE_HEADER if insecure else b"") + np.packbits(b).tobytes()
    return write_bytes_atomic(path, data, mode=0o600, exclusive=True)


def key_file_is_insecure(path) -> bool:
    """True if ``path`` is the key file of a seeded (test-only) run."""
    with open(path, "rb") as fh:
        return fh.read(len(INSECURE_HEADER)) == INSECURE_HEADER


def read_key_file(path, key_bits: int) -> np.ndarray:
    """Key bits from a file written by :func:`write_key_file` (``key_bits`` from the report)."""
    raw = Path(path).read_bytes()
    if raw.startswith(INSECURE_HEADER):
        raw = raw[len(INSECURE_HEADER):]
    data = np.frombuffer(raw, dtype=np.uint8)
    if data.size * 8 < key_bits:
        raise ValueError(f"{path}: holds {data.size * 8} bits, report says {key_bits}")
    return np.unpackbits(data)[:key_bits].copy()
