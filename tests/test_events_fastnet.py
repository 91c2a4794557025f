"""Compiled network agents (fastnet) against the Python agents: the same run, bit for bit.

The compiled agents transcribe the Python agents statement by statement and draw from the same numpy
generator in the same order, so for one seed both must give identical results — every counter, every
consumer sum (rates, fidelities, correlators, CHSH, QBER), the occupancy and the final time — on
topologies that exercise every agent: several routes sharing nodes, several link units per hop,
recurrence purification (DEJMPS and BBPSSW, 1–2 rounds), cut-offs on and off the attempt grid,
failing swaps, swap-asap and nested schedules, continuous and per-delivery operation, classical
latency with forwarded and dropped frame messages.
"""

import dataclasses
import math

import numpy as np
import pytest

from qrepeater.builders.topology import topology_from_dict
from qrepeater.engines.events import chain_model, run_chain_events, simulate
from qrepeater.engines.events.fastnet import purify_xyz
from qrepeater.engines.events.purification import purify_correlators
from qrepeater.engines.model import ChainSpec, SwapModel, abstract_link
from qrepeater.errors import ParameterError

NODES5 = [{"name": "A", "memories": 2}, {"name": "B", "memories": 4}, {"name": "C", "memories": 4},
          {"name": "D", "memories": 2}, {"name": "E", "memories": 2}]
LINKS5 = [{"a": "A", "b": "B", "length_km": 10}, {"a": "B", "b": "C", "length_km": 12},
          {"a": "C", "b": "D", "length_km": 8}, {"a": "B", "b": "E", "length_km": 5},
          {"a": "A", "b": "D", "length_km": 45}]
TWO_ROUTES = [{"a": "A", "b": "D", "kind": "diqkd"}, {"a": "E", "b": "C"}]
# abstract hardware: p = 0.02 per 100 us attempt, 50 ms memories, no classical delay
FAST = {"preset": "abstract", "set": ["link.success_probability=0.02", "memory.coherence_time_s=0.05"]}

CASES = {
    # the test_events_network topology: two routes sharing B and C, DI-QKD + fidelity consumers
    "two routes, swap-asap, cut-off": (
        {"protocol": {"schedule": "swap-asap", "cutoff_s": 1.0}, "nodes": NODES5, "links": LINKS5,
         "consumers": TWO_ROUTES}, {"duration_s": 300.0}),
    "several units per hop, failing swaps, per-delivery, grid cut-off": (
        {"protocol": {"schedule": "swap-asap", "cutoff_s": 0.05, "restart": "per-delivery",
                                        "swap": {"success_probability": 0.7, "gate_fidelity": 0.98,
                                                 "readout_error": 0.01}},
         "nodes": [dict(n, memories=3 * n["memories"]) for n in NODES5], "links": LINKS5,
         "consumers": TWO_ROUTES}, {"pairs": 150}),
    "nested, DEJMPS, lasers, cut-off": (
        {"protocol": {"schedule": "nested", "purification": "dejmps", "purification_rounds": 1,
                                        "cutoff_s": 2.0},
         "lasers": {"stabilisation": "free-running", "linewidth_hz": 50.0},
         "nodes": [{"name": "A", "memories": 2}, {"name": "B", "memories": 4}, {"name": "C", "memories": 2}],
         "links": [{"a": "A", "b": "B", "length_km": 10.0}, {"a": "B", "b": "C", "length_km": 20.0}],
         "consumers": [{"a": "A", "b": "C", "kind": "diqkd"}]}, {"duration_s": 400.0}),
    "BBPSSW 2 rounds, per-delivery, nested 4 hops, cut-off": (
        {"hardware": FAST, "protocol": {"schedule": "nested", "purification": "bbpssw", "purification_rounds": 2,
                                        "cutoff_s": 0.02, "restart": "per-delivery"},
         "nodes": [{"name": n, "memories": 4 if n in "AE" else 8} for n in "ABCDE"],
         "links": [{"a": a, "b": b, "length_km": 5.0} for a, b in zip("ABCD", "BCDE")],
         "consumers": [{"a": "A", "b": "E"}]}, {"duration_s": 20.0}),
    "DEJMPS 2 rounds continuous, swap-asap, two routes": (
        {"hardware": FAST, "protocol": {"schedule": "swap-asap", "purification": "dejmps",
                                        "purification_rounds": 2, "cutoff_s": 0.02},
         "nodes": [dict(n, memories=4 * n["memories"]) for n in NODES5], "links": LINKS5,
         "consumers": TWO_ROUTES}, {"duration_s": 20.0}),
}


def _same(a, b):
    """Every figure of two EventRuns equal (NaN == NaN), wall time aside."""
    assert a.events == b.events and a.counts == b.counts
    assert a.simulated_time_s == b.simulated_time_s
    assert a.occupancy == b.occupancy
    for ra, rb in zip(a.routes, b.routes, strict=True):
        ta, tb = dataclasses.astuple(ra), dataclasses.astuple(rb)
        assert repr(ta) == repr(tb), (ta, tb)


@pytest.mark.parametrize("case", sorted(CASES))
def test_compiled_network_is_the_python_run_bit_for_bit(case):
    data, stop = CASES[case]
    model = topology_from_dict(data)
    py = simulate(model, seed=11, compiled=False, **stop)
    fast = simulate(model, seed=11, compiled=True, **stop)
    _same(py, fast)
    # the case exercises what it names (not a vacuous equality)
    c = py.counts
    assert all(r.pairs > 0 for r in py.routes) and c["heralds"] > 50
    if model.protocol.cutoff_s is not None:
        assert c["cutoff_discards"] > 0
    if model.protocol.purification != "none":
        assert c["purifications"] > 0 and c["purification_failures"] > 0
    if model.protocol.swap.success_probability < 1:
        assert c["swap_failures"] > 0
    if model.protocol.restart == "per-delivery":
        assert c["resets"] == c["deliveries"]
    # and a different seed is a different run
    assert simulate(model, seed=12, **stop).counts != c


def test_default_is_compiled_and_seed_sequences_work():
    model = topology_from_dict(CASES["two routes, swap-asap, cut-off"][0])
    ss = np.random.SeedSequence(2024)
    a = simulate(model, duration_s=100.0, seed=ss)
    b = simulate(model, duration_s=100.0, seed=np.random.SeedSequence(2024), compiled=False)
    _same(a, b)
    assert a.routes[0].mean_chsh == pytest.approx(
        math.sqrt(2) * (a.routes[0].mean_correlators[0] + a.routes[0].mean_correlators[2]), rel=1e-12)


def test_pairs_and_duration_together_stop_at_the_first():
    model = topology_from_dict(CASES["two routes, swap-asap, cut-off"][0])
    for kw in ({"pairs": 5, "duration_s": 1e4}, {"pairs": 10_000, "duration_s": 50.0}):
        _same(simulate(model, seed=3, compiled=False, **kw), simulate(model, seed=3, **kw))


@pytest.mark.parametrize("schedule, cutoff_s, purification", [
    ("nested", 3e-4, "none"), ("swap-asap", 3e-4, "none"), ("nested", 1e-3, "dejmps"), ("swap-asap", None, "bbpssw")])
def test_chains_per_delivery_with_grid_cutoffs(schedule, cutoff_s, purification):
    """Chains as the chain engines see them (per-delivery rounds, cut-off in whole attempts, level
    restarts of nested blocks), with classical delay."""
    spec = ChainSpec(link=abstract_link(0.1, 1e-4, 0.95, 0.05, classical_delay_s=2e-5), segments=4, schedule=schedule,
                     cutoff_s=cutoff_s, swap=SwapModel(0.9, 0.99, 0.01), purification=purification,
                     purification_rounds=1 if purification != "none" else 0)
    m = chain_model(spec)
    _same(simulate(m, pairs=500, seed=5, compiled=False), simulate(m, pairs=500, seed=5, compiled=True))
    # run_chain_events: purified chains now run compiled by default, with the Python agents' result
    if purification != "none":
        a, b = run_chain_events(spec, 300, seed=4), run_chain_events(spec, 300, seed=4, compiled=False)
        assert (a.rate_hz, a.mean_fidelity, a.fidelity_ci95, a.pairs) == (b.rate_hz, b.mean_fidelity, b.fidelity_ci95, b.pairs)
        np.testing.assert_array_equal(a.mean_state.coefficients, b.mean_state.coefficients)


def test_floods_of_cancelled_heralds():
    """Nested 4 segments, p = 0.01, 20-attempt cut-off: ~100 block restarts per pair, each leaving
    cancelled heralds on the heap (which grows by reruns) — still the Python agents' run."""
    spec = ChainSpec(link=abstract_link(0.01, 1e-4, 0.95, 0.05), segments=4, cutoff_s=20e-4, schedule="nested")
    m = chain_model(spec)
    py = simulate(m, pairs=60, seed=1, compiled=False)
    assert py.counts["cutoff_discards"] > 50 * py.counts["deliveries"]
    _same(py, simulate(m, pairs=60, seed=1))


def test_full_tables_rerun_to_the_identical_result():
    from qrepeater.engines.events.fastnet import counts_of, simulate_network_fast

    model = topology_from_dict(CASES["DEJMPS 2 rounds continuous, swap-asap, two routes"][0])
    big = simulate_network_fast(model, None, 30.0, seed=9)
    small = simulate_network_fast(model, None, 30.0, seed=9, caps=(4, 4, 1, 1, 1))
    assert counts_of(big) == counts_of(small)
    for name in ("rf", "nf", "gf"):
        np.testing.assert_array_equal(getattr(big, name), getattr(small, name))


def test_uniforms_refilled_between_events_continue_the_stream(monkeypatch):
    """A tiny uniform buffer: the kernel returns for a refill every few events, and the run is still
    the Python agents' run (the refill keeps the stream's order)."""
    from qrepeater.engines.events import fastnet_state

    monkeypatch.setattr(fastnet_state, "uniform_buffer_size", lambda model, reserve: reserve + 7)
    model = topology_from_dict(CASES["several units per hop, failing swaps, per-delivery, grid cut-off"][0])
    _same(simulate(model, pairs=40, seed=6, compiled=False), simulate(model, pairs=40, seed=6))


def test_compiled_purification_is_the_scalar_transcription():
    rng = np.random.default_rng(0)
    for _ in range(200):
        a, b = rng.uniform(-1, 1, 3), rng.uniform(-1, 1, 3)
        for method in ("dejmps", "bbpssw"):
            got = purify_xyz(method == "dejmps", *a, *b)
            assert got == purify_correlators(method, tuple(a), tuple(b))


def test_traces_stay_on_the_python_agents():
    model = topology_from_dict(CASES["two routes, swap-asap, cut-off"][0])
    with pytest.raises(ParameterError):
        simulate(model, duration_s=10.0, trace=True, compiled=True)
    run = simulate(model, duration_s=10.0, trace=True)
    assert run.trace and run.occupancy
