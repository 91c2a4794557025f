"""First-use compile notice (issue 16 item 1): every compiled engine announces its compilation once."""

import types

import pytest

from qrepeater.engines import jit
from qrepeater.engines.events import chain_model, fastchain, fastnet
from qrepeater.engines.model import ChainSpec, abstract_link


def _uncompiled():
    """A stand-in numba dispatcher: nothing compiled in this process, no cache file."""
    return types.SimpleNamespace(signatures=[])


def test_notice_printed_once_when_nothing_is_compiled_or_cached(monkeypatch, capsys):
    monkeypatch.setattr(jit, "_ANNOUNCED", set())
    kernel = _uncompiled()
    jit.announce_compile(kernel, "test kernel")
    jit.announce_compile(kernel, "test kernel")
    err = capsys.readouterr().err
    assert err.count("qrepeater: compiling the test kernel") == 1
    loaded = types.SimpleNamespace(signatures=["(float64,)"])
    jit.announce_compile(loaded, "loaded kernel")
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("engine", ["chain", "network"])
def test_compiled_event_engines_announce_their_kernel(monkeypatch, engine):
    """simulate_chain_fast / simulate_network_fast call announce_compile on their entry kernel before running."""
    seen = []
    module = fastchain if engine == "chain" else fastnet
    monkeypatch.setattr(module, "announce_compile", lambda kernel, what: seen.append((kernel, what)))
    spec = ChainSpec(link=abstract_link(0.2, 1e-4, 0.95, 0.05), segments=2, schedule="swap-asap")
    if engine == "chain":
        fastchain.simulate_chain_fast(spec, 5, seed=1)
        assert seen == [(fastchain._chain_kernel, "compiled chain event engine")]
    else:
        fastnet.simulate_network_fast(chain_model(spec), 5, None, seed=1)
        assert seen == [(fastnet.run_kernel, "compiled network event engine")]
