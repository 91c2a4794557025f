"""First-use notice of the compiled (numba) kernels of the engines.

numba compiles a kernel the first time it is called and, with ``cache=True``, stores the machine code
next to the module (or in numba's user cache) so that later processes load it in milliseconds. The
first call after an install or upgrade therefore takes seconds; :func:`announce_compile` prints one line
on stderr before such a call, so the user knows the wait is compilation and happens once.
"""

from __future__ import annotations

import os
import sys

_ANNOUNCED: set[str] = set()


def _cached_on_disk(dispatcher) -> bool:
    """True if numba's cache index of ``dispatcher`` exists and is newer than its source file."""
    try:
        cache = dispatcher._cache  # numba's FunctionCache (cache=True); absent for uncached kernels
        index = cache._cache_file._index_path
        source = dispatcher.py_func.__code__.co_filename
        return os.path.exists(index) and os.path.getmtime(index) >= os.path.getmtime(source)
    except (AttributeError, OSError):
        return False


def announce_compile(dispatcher, what: str) -> None:
    """Print ``qrepeater: compiling <what> ...`` once per process if ``dispatcher`` (a numba kernel) is
    neither loaded in this process nor cached on disk."""
    if what in _ANNOUNCED or dispatcher.signatures or _cached_on_disk(dispatcher):
        return
    _ANNOUNCED.add(what)
    print(f"qrepeater: compiling the {what} (first use after install; cached for later runs) ...",
          file=sys.stderr, flush=True)
