"""Event engine on repeater chains: closed forms, the exact engine, classical delay, cut-off."""

import math

import numpy as np
import pytest

from qrepeater.engines.events import run_chain_events, simulate_chain
from qrepeater.engines.exact import run_exact
from qrepeater.engines.model import ChainSpec, SwapModel, abstract_link
from qrepeater.builders import chain_segment, swap_model
from qrepeater.config import load_preset
from qrepeater.states import decay, swap, werner

Z = 4.0  # agreement within 4 sigma


def _sigma(ci):
    return (ci[1] - ci[0]) / (2 * 1.959963984540054)


def _agree(ev, mean_wait_ref, fid_ref):
    sw, sf = _sigma(ev.waiting_time_ci95), _sigma(ev.fidelity_ci95)
    assert abs(ev.mean_waiting_time_s - mean_wait_ref) <= Z * sw, (ev.mean_waiting_time_s, mean_wait_ref, sw)
    assert abs(ev.mean_fidelity - fid_ref) <= Z * sf + 1e-12, (ev.mean_fidelity, fid_ref, sf)


def test_one_segment_rate_p_over_tau_and_fresh_fidelity():
    p, tau = 0.02, 2e-4
    spec = ChainSpec(link=abstract_link(p, tau, 0.93, 0.5), segments=1)
    r = run_chain_events(spec, 20_000, seed=1, compiled=False)
    _agree(r, tau / p, 0.93)
    assert r.mean_fidelity == pytest.approx(0.93, abs=1e-12)  # delivered at the herald: no storage
    assert r.engine == "events" and r.pairs == 20_000


def test_two_segments_closed_form_waiting_time_and_fidelity():
    p, tau, f0, t_coh = 0.05, 1e-4, 0.95, 0.02
    spec = ChainSpec(link=abstract_link(p, tau, f0, t_coh), segments=2, schedule="swap-asap")
    r = run_chain_events(spec, 30_000, seed=2, compiled=False)
    mean_attempts = (3 - 2 * p) / (p * (2 - p))
    # E[q^D], D = |G1 - G2| for two geometric waits, q = exp(-tau/T) per attempt of storage
    q = math.exp(-tau / t_coh)
    eqd = p / (2 - p) * (1 + 2 * (1 - p) * q / (1 - (1 - p) * q))
    w = (4 * f0 - 1) / 3
    f_ref = (1 + 3 * w * w * eqd) / 4
    _agree(r, mean_attempts * tau, f_ref)


CASES = {
    "nested-2-noisy-swap": dict(link=abstract_link(0.05, 1e-4, 0.95, 0.2), segments=2,
                                swap=SwapModel(0.8, 0.98, 0.01), schedule="nested"),
    "nested-4": dict(link=abstract_link(0.08, 1e-4, 0.97, 0.1), segments=4,
                     swap=SwapModel(0.9, 0.99, 0.0), schedule="nested"),
    "asap-2-multiplexed": dict(link=abstract_link(0.02, 1e-4, 0.95, 0.1), segments=2, multiplex=3,
                               schedule="swap-asap"),
    "dejmps-1-segment": dict(link=abstract_link(0.1, 1e-4, 0.85, 0.05), segments=1, purification="dejmps",
                             purification_rounds=1),
    "bbpssw-2-rounds": dict(link=abstract_link(0.2, 1e-4, 0.8, 0.05), segments=1, purification="bbpssw",
                            purification_rounds=2),
    "nested-2-cutoff": dict(link=abstract_link(0.1, 1e-4, 0.95, 0.05), segments=2, cutoff_s=3e-4, schedule="nested"),
    "nested-4-cutoff": dict(link=abstract_link(0.1, 1e-4, 0.95, 0.05), segments=4, cutoff_s=3e-4, schedule="nested"),
    "dejmps-2-rounds-cutoff": dict(link=abstract_link(0.2, 1e-4, 0.85, 0.05), segments=1, cutoff_s=4e-4,
                                   purification="dejmps", purification_rounds=2),
    "dejmps-2-segments": dict(link=abstract_link(0.1, 1e-4, 0.85, 0.05), segments=2, purification="dejmps",
                              purification_rounds=1, schedule="nested"),
}


PAIRS = {"nested-4-cutoff": 3_000, "dejmps-2-rounds-cutoff": 6_000}  # many cut-off restarts per pair


@pytest.mark.parametrize("name", sorted(CASES))
def test_agrees_with_exact_engine(name):
    """Python agents on every case; the compiled agents too where they apply (no purification)."""
    spec = ChainSpec(**CASES[name])
    ex = run_exact(spec)
    ev = run_chain_events(spec, PAIRS.get(name, 15_000), seed=11, compiled=False)
    _agree(ev, ex.mean_waiting_time_s, ex.mean_fidelity)
    assert (ev.multiplex, ev.channel_uses_per_attempt) == (ex.multiplex, ex.channel_uses_per_attempt)
    if spec.rounds == 0:
        ev = run_chain_events(spec, min(40_000, 4 * PAIRS.get(name, 15_000)), seed=12, compiled=True)
        _agree(ev, ex.mean_waiting_time_s, ex.mean_fidelity)


def test_agrees_with_exact_engine_on_ustc2026_hardware():
    sc = load_preset("ustc2026")
    spec = ChainSpec(link=chain_segment(sc, 10.0), segments=2, swap=swap_model(sc), schedule="nested")
    # the hardware chain has classical delay: compare the fidelity at zero delay (the schedules agree)
    import dataclasses

    spec = dataclasses.replace(spec, link=dataclasses.replace(spec.link, classical_delay_s=0.0))
    ex = run_exact(spec)
    ev = run_chain_events(spec, 8_000, seed=3, compiled=False)
    _agree(ev, ex.mean_waiting_time_s, ex.mean_fidelity)


def test_agrees_with_montecarlo_engine_if_present():
    mc = pytest.importorskip("qrepeater.engines.montecarlo")
    fn = getattr(mc, "run_montecarlo", None)
    if fn is None:
        pytest.skip("qrepeater.engines.montecarlo has no run_montecarlo yet")
    spec = ChainSpec(link=abstract_link(0.05, 1e-4, 0.95, 0.2), segments=4, schedule="swap-asap",
                     swap=SwapModel(1.0, 0.99, 0.0))
    ref = fn(spec, 20_000, seed=4).result
    ev = run_chain_events(spec, 20_000, seed=5, compiled=False)
    s_w = math.hypot(_sigma(ev.waiting_time_ci95), _sigma(ref.waiting_time_ci95))
    s_f = math.hypot(_sigma(ev.fidelity_ci95), _sigma(ref.fidelity_ci95))
    assert abs(ev.mean_waiting_time_s - ref.mean_waiting_time_s) <= Z * s_w
    assert abs(ev.mean_fidelity - ref.mean_fidelity) <= Z * s_f


def _with_delay(spec, delay):
    import dataclasses

    return dataclasses.replace(spec, link=dataclasses.replace(spec.link, classical_delay_s=delay))


def test_classical_delay_costs_exactly_the_decay_of_the_added_storage_time():
    """Same seed, same heralds: the Pauli-frame messages (one segment away from the swapping node)
    add delta of storage to every delivered pair, i.e. the decay channel exp(-Gamma delta) on the mean
    correlators, and delta to every round."""
    base = ChainSpec(link=abstract_link(0.05, 1e-4, 0.95, 0.05), segments=2, schedule="nested",
                     swap=SwapModel(1.0, 0.99, 0.005))
    delta = 0.004
    r0 = simulate_chain(base, 5_000, seed=7).routes[0]
    r1 = simulate_chain(_with_delay(base, delta), 5_000, seed=7).routes[0]
    rate = base.link.transverse_rate_hz
    np.testing.assert_allclose(np.array(r1.mean_correlators), np.array(r0.mean_correlators) * math.exp(-rate * delta), rtol=1e-9)
    expected = decay(r0.mean_state, delta, rate, base.link.longitudinal_rate_hz)
    assert r1.mean_fidelity == pytest.approx(float(expected.fidelity), rel=1e-9)
    assert r1.mean_fidelity < r0.mean_fidelity - 1e-3
    assert r1.mean_waiting_time_s == pytest.approx(r0.mean_waiting_time_s + delta, rel=1e-9)
    # and the exact engine's accounting of the same storage (decay for one segment delay) agrees
    ex = run_exact(_with_delay(base, delta))
    ev = run_chain_events(_with_delay(base, delta), 15_000, seed=8, compiled=False)
    assert abs(ev.mean_fidelity - ex.mean_fidelity) <= Z * _sigma(ev.fidelity_ci95)


def test_nested_swaps_wait_for_the_frame_messages():
    """Nested 4 segments: the level-2 swap needs the level-1 outcomes (delta away) and the ends need
    the level-2 outcome (2 delta away): every round lasts exactly 3 delta longer (same seed)."""
    base = ChainSpec(link=abstract_link(0.1, 1e-4, 0.95, 0.5), segments=4, schedule="nested")
    delta = 1e-3
    r0 = simulate_chain(base, 3_000, seed=9)
    r1 = simulate_chain(_with_delay(base, delta), 3_000, seed=9)
    assert r1.routes[0].mean_waiting_time_s == pytest.approx(r0.routes[0].mean_waiting_time_s + 3 * delta, rel=1e-9)
    assert r1.counts["messages_dropped"] == 0
    assert r1.counts["messages_sent"] == 2 * 3 * 3_000


def _direct_two_link_cutoff(p, tau, c_attempts, f0, t_coh, n, seed):
    """Independent sampler of the 2-segment cut-off protocol: a pair waits at most c attempts for its
    partner, else it is discarded and its link restarts (the partner keeps trying: memoryless)."""
    rng = np.random.default_rng(seed)
    w = (4 * f0 - 1) / 3
    waits, fids = [], []
    for _ in range(n):
        t = 0
        a, b = rng.geometric(p), rng.geometric(p)
        while abs(a - b) > c_attempts:
            if a < b:
                a = a + c_attempts + rng.geometric(p)
            else:
                b = b + c_attempts + rng.geometric(p)
        d = abs(a - b)
        waits.append(max(a, b) * tau)
        fids.append((1 + 3 * w * w * math.exp(-d * tau / t_coh)) / 4)
    return np.mean(waits), np.std(waits) / math.sqrt(n), np.mean(fids), np.std(fids) / math.sqrt(n)


def test_cutoff_two_segments_against_an_independent_sampler():
    p, tau, f0, t_coh, c = 0.05, 1e-4, 0.95, 0.01, 5
    spec = ChainSpec(link=abstract_link(p, tau, f0, t_coh), segments=2, cutoff_s=c * tau, schedule="swap-asap")
    ev = run_chain_events(spec, 15_000, seed=12)
    mw, sw, mf, sf = _direct_two_link_cutoff(p, tau, c, f0, t_coh, 15_000, 13)
    assert abs(ev.mean_waiting_time_s - mw) <= Z * math.hypot(sw, _sigma(ev.waiting_time_ci95))
    assert abs(ev.mean_fidelity - mf) <= Z * math.hypot(sf, _sigma(ev.fidelity_ci95))


def test_cutoff_bounds_every_delivered_pair():
    """With a cut-off of c attempts no delivered pair is worse than a swap of a fresh pair with one
    stored c attempts; without the cut-off some are (so the check can fail)."""
    p, tau, f0, t_coh, c = 0.02, 1e-4, 0.95, 0.01, 10
    link = abstract_link(p, tau, f0, t_coh)
    bound = swap(werner(f0), decay(werner(f0), c * tau, 1 / t_coh, 1 / t_coh))[0].fidelity
    for cutoff, expect_all_above in ((c * tau, True), (None, False)):
        spec = ChainSpec(link=link, segments=2, cutoff_s=cutoff, schedule="swap-asap")
        run = simulate_chain(spec, 2_000, seed=14, trace=True)
        table = run.trace_table()
        f = np.array([fi for ev, fi in zip(table["event"].to_pylist(), table["fidelity"].to_pylist()) if ev == "deliver"])
        assert f.size == 2_000
        assert (f.min() >= bound - 1e-12) == expect_all_above
        if cutoff is not None:
            assert run.counts["cutoff_discards"] > 0


def test_chain_cli_engine_events_agrees_with_exact():
    import json

    from typer.testing import CliRunner

    from qrepeater.cli.main import app

    runner = CliRunner()
    common = ["chain", "--preset", "abstract", "--distance-km", "20", "--segments", "2", "--json"]
    ev = runner.invoke(app, common + ["--engine", "events", "--pairs", "20000", "--seed", "3"])
    ex = runner.invoke(app, common + ["--engine", "exact"])
    assert ev.exit_code == 0 and ex.exit_code == 0, ev.output + ex.output
    a, b = json.loads(ev.stdout), json.loads(ex.stdout)
    assert a["engine"] == "events" and a["pairs"] == 20000
    s = (a["waiting_time_ci95"][1] - a["waiting_time_ci95"][0]) / (2 * 1.96)
    assert abs(a["mean_waiting_time_s"] - b["mean_waiting_time_s"]) <= 4 * s
    s = (a["fidelity_ci95"][1] - a["fidelity_ci95"][0]) / (2 * 1.96)
    assert abs(a["mean_fidelity"] - b["mean_fidelity"]) <= 4 * s + 1e-12
