"""Compiled chain agents (fastchain) against the exact engine, the Python agents and the delay identity."""

import math

import numpy as np
import pytest

from qrepeater.engines.events import run_chain_events, simulate_chain, simulate_chain_compiled
from qrepeater.engines.exact import run_exact
from qrepeater.engines.model import ChainSpec, SwapModel, abstract_link
from qrepeater.errors import ParameterError
from qrepeater.builders import chain_segment, swap_model
from qrepeater.config import load_preset


def _sigma(ci):
    return (ci[1] - ci[0]) / (2 * 1.959963984540054)


def test_compiled_agrees_with_python_agents_with_classical_delay():
    """Swap-asap on 4 segments with message latency: no closed form, so the two transcriptions of
    the agents are compared (independent random streams)."""
    spec = ChainSpec(link=abstract_link(0.05, 1e-4, 0.95, 0.05, classical_delay_s=1e-3), segments=4,
                     schedule="swap-asap", swap=SwapModel(0.9, 0.99, 0.01))
    a = simulate_chain_compiled(spec, 40_000, seed=1)
    b = simulate_chain(spec, 10_000, seed=2, compiled=False)
    ra, rb = a.routes[0], b.routes[0]
    for key in ("mean_waiting_time_s", "mean_fidelity"):
        ci = "waiting_time_ci95" if key == "mean_waiting_time_s" else "fidelity_ci95"
        s = math.hypot(_sigma(getattr(ra, ci)), _sigma(getattr(rb, ci)))
        assert abs(getattr(ra, key) - getattr(rb, key)) <= 4 * s, key
    # same message protocol: two frame messages per swap, forwarded ones on top; failed swaps leave
    # messages of destroyed pairs to be dropped
    for run in (a, b):
        assert run.counts["messages_sent"] == 2 * run.counts["swaps"]
        assert run.counts["messages_forwarded"] > 0
    # forwarded per delivered pair: a property of the protocol, not of the implementation
    fa = a.counts["messages_forwarded"] / a.counts["deliveries"]
    fb = b.counts["messages_forwarded"] / b.counts["deliveries"]
    assert fa == pytest.approx(fb, rel=0.1)


def test_compiled_delay_identity_and_determinism():
    base = ChainSpec(link=abstract_link(0.05, 1e-4, 0.95, 0.05), segments=2, schedule="nested",
                     swap=SwapModel(1.0, 0.99, 0.005))
    delta = 0.004
    import dataclasses

    slow = dataclasses.replace(base, link=dataclasses.replace(base.link, classical_delay_s=delta))
    r0 = simulate_chain_compiled(base, 20_000, seed=7).routes[0]
    r1 = simulate_chain_compiled(slow, 20_000, seed=7).routes[0]
    np.testing.assert_allclose(r1.mean_correlators, np.array(r0.mean_correlators) * math.exp(-base.link.transverse_rate_hz * delta), rtol=1e-9)
    assert r1.mean_waiting_time_s == pytest.approx(r0.mean_waiting_time_s + delta, rel=1e-9)
    again = simulate_chain_compiled(base, 20_000, seed=7).routes[0]
    assert again == r0
    assert simulate_chain_compiled(base, 20_000, seed=8).routes[0] != r0


def test_compiled_on_ustc2026_five_node_chain_agrees_with_exact():
    sc = load_preset("ustc2026")
    import dataclasses

    seg = dataclasses.replace(chain_segment(sc, 10.0), classical_delay_s=0.0)
    spec = ChainSpec(link=seg, segments=4, swap=swap_model(sc), schedule="nested")
    ex = run_exact(spec)
    ev = run_chain_events(spec, 40_000, seed=3)
    assert ev.engine == "events" and ev.pairs == 40_000
    assert abs(ev.mean_waiting_time_s - ex.mean_waiting_time_s) <= 4 * _sigma(ev.waiting_time_ci95)
    assert abs(ev.mean_fidelity - ex.mean_fidelity) <= 4 * _sigma(ev.fidelity_ci95)


def test_compiled_refuses_what_it_does_not_cover():
    spec = ChainSpec(link=abstract_link(0.2, 1e-4, 0.85, 0.05), segments=1, purification="dejmps", purification_rounds=1)
    with pytest.raises(ParameterError):
        simulate_chain_compiled(spec, 10)
    # the default dispatch falls back to the compiled network agents (fastnet)
    assert run_chain_events(spec, 200, seed=1).pairs == 200


def test_compiled_cutoff_agrees_with_python_agents_on_swap_asap():
    """Swap-asap with cut-off on 4 segments (no closed form): both transcriptions of the agents."""
    spec = ChainSpec(link=abstract_link(0.1, 1e-4, 0.95, 0.05), segments=4, cutoff_s=3e-4, schedule="swap-asap")
    a = simulate_chain_compiled(spec, 30_000, seed=1)
    b = simulate_chain(spec, 4_000, seed=2, compiled=False)
    ra, rb = a.routes[0], b.routes[0]
    sw = math.hypot(_sigma(ra.waiting_time_ci95), _sigma(rb.waiting_time_ci95))
    sf = math.hypot(_sigma(ra.fidelity_ci95), _sigma(rb.fidelity_ci95))
    assert abs(ra.mean_waiting_time_s - rb.mean_waiting_time_s) <= 4 * sw
    assert abs(ra.mean_fidelity - rb.mean_fidelity) <= 4 * sf
    da = a.counts["cutoff_discards"] / a.counts["deliveries"]
    db = b.counts["cutoff_discards"] / b.counts["deliveries"]
    assert da == pytest.approx(db, rel=0.1) and da > 1


def test_compiled_survives_floods_of_cancelled_heralds():
    """Nested 4 segments, p = 0.01 and a 20-attempt cut-off: ~100 block restarts per delivered pair,
    each leaving cancelled heralds on the heap (compaction and growth of the heap), against the Python
    agents."""
    spec = ChainSpec(link=abstract_link(0.01, 1e-4, 0.95, 0.05), segments=4, cutoff_s=20e-4, schedule="nested")
    a = simulate_chain_compiled(spec, 400, seed=1)
    b = simulate_chain(spec, 100, seed=2, compiled=False)
    ra, rb = a.routes[0], b.routes[0]
    assert a.counts["cutoff_discards"] > 50 * a.counts["deliveries"]
    sw = math.hypot(_sigma(ra.waiting_time_ci95), _sigma(rb.waiting_time_ci95))
    sf = math.hypot(_sigma(ra.fidelity_ci95), _sigma(rb.fidelity_ci95))
    assert abs(ra.mean_waiting_time_s - rb.mean_waiting_time_s) <= 4 * sw
    assert abs(ra.mean_fidelity - rb.mean_fidelity) <= 4 * sf


def test_compiled_table_overflow_reruns_to_the_identical_result():
    from qrepeater.engines.events.fastchain import simulate_chain_fast

    spec = ChainSpec(link=abstract_link(0.01, 1e-4, 0.95, 0.05), segments=4, cutoff_s=20e-4, schedule="nested")
    big_out, big_counts = simulate_chain_fast(spec, 50, seed=3)
    small_out, small_counts = simulate_chain_fast(spec, 50, seed=3, initial_capacity=(28, 8))
    np.testing.assert_array_equal(big_out, small_out)
    np.testing.assert_array_equal(big_counts, small_counts)
