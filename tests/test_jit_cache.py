"""numba's on-disk cache of the event kernels is invalidated by an edit to *any* module they compile from.

numba stamps a cached function with the hash of its own file only; the network kernel in fastnet.py
inlines helpers of fastnet_units.py, fastnet_swap.py, ... and constants of kernel.py and cutoff.py, so an
edit to one of those alone used to leave stale machine code in use (engines/jit.py).
"""

from __future__ import annotations

import shutil

import pytest

numba = pytest.importorskip("numba")

from qrepeater.engines import jit  # noqa: E402
from qrepeater.engines.events import fastchain, fastnet, fastnet_units  # noqa: E402


def _locator(dispatcher):
    return dispatcher._cache._impl.locator


def test_event_kernels_are_stamped_with_every_source_they_compile_from():
    for dispatcher in (fastnet.run_kernel, fastnet_units.advance, fastchain._chain_kernel):
        locator = _locator(dispatcher)
        assert type(locator).__name__.startswith("EventKernel")
        assert locator.get_source_stamp() == jit.kernel_sources_digest()
    # every module an event kernel imports jitted code or constants from is in the stamp
    listed = {rel.split("/")[-1] for rel in jit.EVENT_KERNEL_SOURCES}
    assert {"fastnet.py", "fastnet_units.py", "fastnet_swap.py", "fastnet_heap.py", "fastnet_state.py",
            "fastchain.py", "kernel.py", "cutoff.py", "chsh.py"} <= listed


def test_the_stamp_changes_when_a_helper_module_changes(tmp_path, monkeypatch):
    engines = tmp_path / "engines"
    shutil.copytree(jit._ENGINES, engines, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(jit._ENGINES + "/../states", tmp_path / "states", ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(jit, "_ENGINES", str(engines))
    before = jit.kernel_sources_digest()
    assert before == jit.kernel_sources_digest()  # deterministic
    helper = engines / "events" / "fastnet_units.py"
    helper.write_text(helper.read_text() + "\n# an edit to a helper only\n")
    assert jit.kernel_sources_digest() != before
    const = tmp_path / "states" / "chsh.py"
    after_helper = jit.kernel_sources_digest()
    const.write_text(const.read_text() + "\n")
    assert jit.kernel_sources_digest() != after_helper


def test_other_modules_keep_numbas_own_locator():
    from qrepeater.qkd import bp_decoding

    dispatchers = [v for v in vars(bp_decoding).values() if hasattr(v, "_cache") and hasattr(v._cache, "_impl")]
    assert dispatchers
    assert not type(_locator(dispatchers[0])).__name__.startswith("EventKernel")
