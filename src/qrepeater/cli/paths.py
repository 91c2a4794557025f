"""Checks of the files a command reads and writes, before any work is done.

A bad path is one line naming the option, the path and what is allowed (exit 2): a missing or
unreadable input, a folder given where a file is expected (or the reverse), a binary file where
text is expected, an output under the wrong extension, an output folder that is read-only or
immutable, an existing file that must not be replaced. The writes themselves go through
:mod:`qrepeater.files` (atomic: a failed or interrupted command leaves no partial file).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable

from ..errors import ConfigError

#: largest text input (scenario, topology, sweep TOML) read; a bigger file is refused, not loaded
MAX_TEXT_INPUT_BYTES = 16 * 2**20


def _line(option: str, path, problem: str, allowed: str) -> ConfigError:
    return ConfigError(f"{option} = {str(path)!r}: {problem}; allowed: {allowed}")


def input_file(option: str, path, what: str, *, text: bool = False, suffixes: Iterable[str] | None = None) -> Path:
    """``Path(path)`` if it is a readable regular file (UTF-8 text of at most
    :data:`MAX_TEXT_INPUT_BYTES` when ``text``), else :class:`ConfigError` naming ``option``.

    ``what`` names the kind of file without an article, e.g. ``"scenario TOML file"``.
    """
    p = Path(path)
    if suffixes is not None:
        allowed = tuple(s.lower() for s in suffixes)
        if p.suffix.lower() not in allowed:
            raise _line(option, p, f"unknown extension {p.suffix!r}", f"a {what} named *{' or *'.join(allowed)}")
    if not p.exists():
        raise _line(option, p, f"no such {what}", f"an existing {what}")
    if p.is_dir():
        raise _line(option, p, "is a folder", f"a {what}")
    if not p.is_file():
        raise _line(option, p, "is not a regular file", f"a {what}")
    if not os.access(p, os.R_OK):
        raise _line(option, p, "not readable by this user", f"a readable {what}")
    if text:
        size = p.stat().st_size
        if size > MAX_TEXT_INPUT_BYTES:
            raise _line(option, p, f"{size} bytes is too large for a text input", f"a {what} of at most {MAX_TEXT_INPUT_BYTES} bytes")
        raw = p.read_bytes()
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise _line(option, p, f"not UTF-8 text (byte {raw[exc.start:exc.start + 1]!r} at offset {exc.start})", f"a {what}") from None
    return p


def _writable_folder(option: str, target: Path, folder: Path, what: str) -> None:
    """The folder that will hold ``target`` (its first existing ancestor if it will be created)
    must be a writable folder."""
    probe = folder
    while not probe.exists():
        if probe.parent == probe:
            break
        probe = probe.parent
    if probe.exists() and not probe.is_dir():
        raise _line(option, target, f"{probe} is not a folder", what)
    if not os.access(probe, os.W_OK | os.X_OK):
        raise _line(option, target, f"folder {probe} is not writable (read-only or immutable)", f"{what} in a writable folder")


def output_file(option: str, path, what: str, *, suffixes: Iterable[str] | None = None, replace: bool = True) -> Path:
    """``Path(path)`` if a file may be written there (see the module docstring), else
    :class:`ConfigError` naming ``option``.

    Parameters
    ----------
    suffixes : iterable of str, optional
        Allowed extensions (lower case, with the dot), e.g. ``(".png", ".svg", ".pdf")``.
    replace : bool
        Whether an existing file may be replaced (False for key files without ``--force``).
    """
    p = Path(path)
    if str(path) == "" or p.name in ("", ".", ".."):
        raise _line(option, path, "not a file name", what)
    if suffixes is not None:
        allowed = tuple(s.lower() for s in suffixes)
        if p.suffix.lower() not in allowed:
            raise _line(option, p, f"unknown extension {p.suffix!r}", f"{what} named *{' or *'.join(allowed)}")
    if p.is_dir():
        raise _line(option, p, "is a folder", f"{what} (a file name)")
    if p.exists() or p.is_symlink():
        if not p.is_file():
            raise _line(option, p, "exists and is not a regular file", f"{what} (a regular file name)")
        if not replace:
            raise _line(option, p, "exists", f"a new file name, or --force to replace it")
    _writable_folder(option, p, p.parent, what)
    return p


def output_folder(option: str, path, what: str) -> Path:
    """``Path(path)`` if files may be written into it (created if missing), else :class:`ConfigError`."""
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise _line(option, p, "exists and is not a folder", what)
    if p.is_dir():
        if not os.access(p, os.W_OK | os.X_OK):
            raise _line(option, p, "folder is not writable (read-only or immutable)", f"{what} that is writable")
    else:
        _writable_folder(option, p, p.parent, what)
    return p


def distinct(*named: tuple[str, object]) -> None:
    """Refuse two options naming the same file (e.g. ``--report`` equal to ``--key-out``)."""
    seen: dict[str, str] = {}
    for option, path in named:
        if path is None:
            continue
        key = os.path.realpath(os.fspath(path))
        if key in seen:
            raise ConfigError(f"{option} = {str(path)!r}: the same file as {seen[key]}; allowed: a different file")
        seen[key] = option
