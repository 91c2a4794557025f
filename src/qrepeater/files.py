"""Atomic file output: every file the package writes goes through here.

A file is written to a temporary name in its destination folder, flushed to disk and renamed onto
its final name (``os.replace``), so a reader sees either the old file or the complete new one, never
a partial write, and nothing is left behind when writing fails. The temporary file is created with
mode 0600 (``tempfile.mkstemp``), so a secret is never readable by others at any moment; the final
mode is set just before the rename (``mode=0o600`` for key material, otherwise 0666 less the umask).
"""

from __future__ import annotations

import errno
import json
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

__all__ = ["atomic_path", "write_bytes_atomic", "write_json_atomic", "write_text_atomic"]


def _default_mode() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


@contextmanager
def atomic_path(path: str | Path, mode: int | None = None, *, exclusive: bool = False) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; when the block succeeds, move it onto ``path``.

    The caller (or a library such as pyarrow or matplotlib) writes the temporary path. On success
    the file is fsync'ed, given ``mode`` and renamed; if the block raises (an interrupt included),
    the temporary file is removed and ``path`` is untouched.

    Parameters
    ----------
    path : str or Path
        Final destination; its folder is created if missing.
    mode : int, optional
        Permission bits of the result; ``None`` means 0666 less the process umask. Pass ``0o600``
        for secrets (the temporary file is 0600 from its creation on).
    exclusive : bool
        Never replace an existing ``path``: the result is hard-linked onto its name, which fails
        with :class:`FileExistsError` if the name exists (also when another process created it in
        the meantime); used for key files, which must never be replaced silently.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.chmod(tmp, _default_mode() if mode is None else mode)
        if exclusive:
            _link_exclusive(tmp, target)
        else:
            os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _link_exclusive(tmp: Path, target: Path) -> None:
    """Give ``tmp`` the name ``target`` unless that name exists (then FileExistsError)."""
    try:
        os.link(tmp, target)
    except FileExistsError:
        raise
    except OSError:  # a file system without hard links: check, then rename (a narrow race remains)
        if target.exists():
            raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), str(target)) from None
        os.replace(tmp, target)
        return
    tmp.unlink()


def write_bytes_atomic(path: str | Path, data: bytes, mode: int | None = None, *, exclusive: bool = False) -> Path:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_path`); returns ``Path(path)``."""
    with atomic_path(path, mode, exclusive=exclusive) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def write_text_atomic(path: str | Path, text: str, mode: int | None = None) -> Path:
    """Write UTF-8 ``text`` to ``path`` atomically (see :func:`atomic_path`)."""
    return write_bytes_atomic(path, text.encode("utf-8"), mode)


def write_json_atomic(path: str | Path, obj, mode: int | None = None) -> Path:
    """Write ``obj`` as indented JSON atomically; numpy scalars are written as floats."""
    return write_text_atomic(path, json.dumps(obj, indent=2, default=float) + "\n", mode)
