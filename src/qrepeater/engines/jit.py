"""First-use notice of the compiled (numba) kernels of the engines.

numba compiles a kernel the first time it is called and, with ``cache=True``, stores the machine code
next to the module (or in numba's user cache) so that later processes load it in milliseconds. The
first call after an install or upgrade therefore takes seconds; :func:`announce_compile` prints one line
on stderr before such a call, so the user knows the wait is compilation and happens once.
"""

from __future__ import annotations

import hashlib
import os
import sys

_ANNOUNCED: set[str] = set()

#: The compiled event kernels call jitted helpers and read constants from several modules, but numba's
#: on-disk cache checks only the hash of the *kernel's own* file: editing ``fastnet_units.py`` alone left
#: ``fastnet.py``'s cached machine code in use.  Every cached kernel in this directory therefore gets a
#: freshness stamp over all of these sources (paths relative to ``engines/``).
EVENT_KERNEL_SOURCES = (
    "events/fastchain.py", "events/fastnet.py", "events/fastnet_heap.py", "events/fastnet_state.py",
    "events/fastnet_swap.py", "events/fastnet_units.py", "events/cutoff.py", "events/kernel.py",
    "../states/chsh.py",
)
_ENGINES = os.path.dirname(os.path.abspath(__file__))
_EVENTS = os.path.join(_ENGINES, "events")


def kernel_sources_digest() -> bytes:
    """sha256 over :data:`EVENT_KERNEL_SOURCES` (names and contents): the event kernels' cache stamp."""
    digest = hashlib.sha256()
    for rel in EVENT_KERNEL_SOURCES:
        with open(os.path.normpath(os.path.join(_ENGINES, rel)), "rb") as f:
            digest.update(rel.encode())
            digest.update(f.read())
    return digest.digest()


def register_event_kernel_cache() -> None:
    """(Once, before the event kernels are decorated.) Put numba cache locators that stamp with :func:`kernel_sources_digest` in front of numba's own,
    for functions defined in ``engines/events`` (in-tree ``__pycache__`` or, if unwritable, numba's
    user-wide cache: an upgrade that changes only a helper module must not reuse old kernels)."""
    from numba.core import caching

    class _Stamp:
        @classmethod
        def from_function(cls, py_func, py_file):
            if os.path.dirname(os.path.abspath(py_file)) != _EVENTS:
                return None
            return super().from_function(py_func, py_file)

        def get_source_stamp(self):
            return kernel_sources_digest()

    class EventKernelInTreeLocator(_Stamp, caching.InTreeCacheLocator):
        pass

    class EventKernelUserWideLocator(_Stamp, caching.UserWideCacheLocator):
        pass

    classes = caching.CacheImpl._locator_classes
    if not any(getattr(c, "__name__", "") == "EventKernelInTreeLocator" for c in classes):
        classes[0:0] = [EventKernelInTreeLocator, EventKernelUserWideLocator]



def _cached_on_disk(dispatcher) -> bool:
    """True if numba's cache index of ``dispatcher`` holds machine code for the current sources."""
    try:
        cache = dispatcher._cache  # numba's FunctionCache (cache=True); absent for uncached kernels
        return bool(cache._cache_file._load_index())  # {} if absent or stamped for other sources
    except Exception:  # noqa: BLE001 - numba internals: any failure means "not known to be cached"
        return False


def announce_compile(dispatcher, what: str) -> None:
    """Print ``qrepeater: compiling <what> ...`` once per process if ``dispatcher`` (a numba kernel) is
    neither loaded in this process nor cached on disk."""
    if what in _ANNOUNCED or dispatcher.signatures or _cached_on_disk(dispatcher):
        return
    _ANNOUNCED.add(what)
    print(f"qrepeater: compiling the {what} (first use after install; cached for later runs) ...",
          file=sys.stderr, flush=True)
