"""Chains whose segments differ (issue 14 item 2): per-segment links and multiplexing on every engine.

Independent checks: the all-equal per-segment chain against the one-link chain (and the per-segment code
path itself against it), the 2-segment chain against closed forms / direct double sums over the two
geometric links, and Monte Carlo and the event engine against the exact engine (4 σ).
"""

import math

import numpy as np
import pytest

from qrepeater import build_scenario
from qrepeater.builders import SegmentChoice, chain_segment, chain_segments, swap_model
from qrepeater.engines import (
    ChainSpec,
    SwapModel,
    abstract_link,
    run_exact,
    run_montecarlo,
)
from qrepeater.engines.events import run_chain_events
from qrepeater.engines.exact_hetero import hetero_means
from qrepeater.engines.model import link_key
from qrepeater.errors import ParameterError

TAU = 1e-3


def _pair(p1, p2, f1=0.97, f2=0.9, coherence=0.5, delay=0.0):
    return abstract_link(p1, TAU, f1, coherence, delay), abstract_link(p2, TAU, f2, coherence, delay)


# ---------------------------------------------------------------- (a) equal segments, given one by one
@pytest.mark.parametrize("delay,cutoff", [(0.0, None), (3e-4, 0.02)])
def test_equal_segments_give_the_one_link_chain_on_every_engine(delay, cutoff):
    link = abstract_link(0.1, TAU, 0.95, 0.5, delay)
    hom = ChainSpec(link=link, segments=4, cutoff_s=cutoff, multiplex=2)
    het = ChainSpec(link=(link,) * 4, segments=4, cutoff_s=cutoff, multiplex=(2, 2, 2, 2))
    assert het.homogeneous and het.segment_links is not None
    a, b = run_exact(hom), run_exact(het)
    assert (a.rate_hz, a.mean_fidelity) == (b.rate_hz, b.mean_fidelity)
    a, b = run_montecarlo(hom, 2000, seed=5).result, run_montecarlo(het, 2000, seed=5).result
    assert (a.rate_hz, a.mean_fidelity) == (b.rate_hz, b.mean_fidelity)
    a, b = run_chain_events(hom, 300, seed=5), run_chain_events(het, 300, seed=5)
    assert (a.rate_hz, a.mean_fidelity) == (b.rate_hz, b.mean_fidelity)


@pytest.mark.parametrize("delay,cutoff,segments", [(0.0, None, 4), (0.0, 0.02, 4), (3e-4, None, 4), (3e-4, 0.02, 4)])
def test_per_segment_exact_path_on_equal_segments_matches_the_one_link_engine(delay, cutoff, segments):
    link = abstract_link(0.1, TAU, 0.95, 0.5, delay)
    hom = ChainSpec(link=link, segments=segments, cutoff_s=cutoff)
    het = ChainSpec(link=(link,) * segments, segments=segments, cutoff_s=cutoff)
    from qrepeater.engines.exact import exact_means

    mean_h, corr_h, _, _ = exact_means(hom)
    mean_x, corr_x, _, _ = hetero_means(het, 1e-8, 2**24)  # the per-segment path, forced
    assert mean_x == pytest.approx(mean_h, rel=1e-8)
    np.testing.assert_allclose(corr_x, corr_h, rtol=1e-8)


# ---------------------------------------------------------------- (b) two different segments: closed forms
def _direct_two_links(p1, p2, w, gamma_tau, cutoff=None, n=1500):
    """E[T] (attempts) and Werner parameter of the swapped pair from direct sums over G1, G2 (restart
    when |G1 − G2| > c: the round lasts min + c)."""
    g = np.arange(1, n + 1, dtype=float)
    P = np.outer(p1 * (1 - p1) ** (g - 1), p2 * (1 - p2) ** (g - 1))
    D = np.abs(g[:, None] - g[None, :])
    ok = np.ones_like(P, bool) if cutoff is None else D <= cutoff
    dur = np.where(ok, np.maximum(g[:, None], g[None, :]), np.minimum(g[:, None], g[None, :]) + (cutoff or 0))
    p_ok = (P * ok).sum()
    mean = (P * dur).sum() / p_ok
    w_out = w * (P * ok * np.exp(-gamma_tau * D)).sum() / p_ok
    return mean, w_out


def test_two_segments_mean_waiting_time_is_the_closed_form():
    p1, p2 = 0.1, 0.3
    la, lb = _pair(p1, p2, coherence=math.inf)
    res = run_exact(ChainSpec(link=(la, lb), segments=2))
    closed = 1 / p1 + 1 / p2 - 1 / (p1 + p2 - p1 * p2)  # E[max(G1, G2)]
    assert res.mean_waiting_time_s / TAU == pytest.approx(closed, rel=1e-7)
    assert not ChainSpec(link=(la, lb), segments=2).homogeneous


@pytest.mark.parametrize("cutoff_attempts", [None, 6])
def test_two_segments_fidelity_and_wait_against_direct_sums(cutoff_attempts):
    p1, p2, f1, f2, coherence = 0.08, 0.35, 0.97, 0.9, 0.05
    la, lb = _pair(p1, p2, f1, f2, coherence)
    cutoff_s = None if cutoff_attempts is None else cutoff_attempts * TAU
    res = run_exact(ChainSpec(link=(la, lb), segments=2, cutoff_s=cutoff_s))
    w = (4 * f1 - 1) / 3 * (4 * f2 - 1) / 3  # Werner parameters multiply under a perfect swap
    mean, w_out = _direct_two_links(p1, p2, w, TAU / coherence, cutoff_attempts)
    assert res.mean_waiting_time_s / TAU == pytest.approx(mean, rel=1e-6)
    assert res.mean_fidelity == pytest.approx((1 + 3 * w_out) / 4, rel=1e-7)


def test_two_segments_with_classical_delay_add_one_message():
    p1, p2, delay = 0.1, 0.3, 4e-4
    la, lb = _pair(p1, p2, coherence=math.inf, delay=delay)
    res = run_exact(ChainSpec(link=(la, lb), segments=2))
    closed = 1 / p1 + 1 / p2 - 1 / (p1 + p2 - p1 * p2)
    assert res.mean_waiting_time_s == pytest.approx(closed * TAU + delay, rel=1e-7)


def test_per_segment_multiplexing_is_the_first_success_among_m():
    la, _ = _pair(0.1, 0.1, 0.95, 0.95, math.inf)
    res = run_exact(ChainSpec(link=(la, la), segments=2, multiplex=(1, 3)))
    q1, q2 = 0.1, 1 - 0.9**3
    assert res.mean_waiting_time_s / TAU == pytest.approx(1 / q1 + 1 / q2 - 1 / (q1 + q2 - q1 * q2), rel=1e-7)
    assert res.multiplex == 3


def test_per_segment_links_must_share_the_clock():
    la = abstract_link(0.1, TAU, 0.95, 0.5)
    with pytest.raises(ParameterError, match="lock-step"):
        ChainSpec(link=(la, abstract_link(0.1, 2 * TAU, 0.95, 0.5)), segments=2)
    with pytest.raises(ParameterError, match="one SegmentLink per segment"):
        ChainSpec(link=(la, la), segments=4)


# ---------------------------------------------------------------- (c) sampled engines against exact
def _bright_scenario():
    sets = [f"{n}.source.{k}={v}" for n in ("node_a", "node_b")
            for k, v in (("collection_efficiency", 0.5), ("fiber_mode_matching_efficiency", 0.9))]
    return build_scenario("ustc2026", None, sets + ["detectors.efficiency=0.95", "conversion.external_efficiency=0.95"])


MIXED = {
    2: ([2.0, 4.0], [SegmentChoice("spep", 0.05), SegmentChoice("two-photon")], 0.05),
    4: ([2.0, 3.0, 2.0, 4.0], [SegmentChoice("spep", 0.05), SegmentChoice("two-photon"), SegmentChoice("spep", 0.15),
                               SegmentChoice("spep", 0.02, multiplex=2)], None),
}


def _within(sampled, exact, k=4.0):
    for value, ci, target in ((sampled.mean_waiting_time_s, sampled.waiting_time_ci95, exact.mean_waiting_time_s),
                              (sampled.mean_fidelity, sampled.fidelity_ci95, exact.mean_fidelity)):
        sigma = (ci[1] - ci[0]) / (2 * 1.96)
        assert abs(value - target) <= k * sigma, (value, target, sigma)


@pytest.mark.parametrize("segments", [2, 4])
def test_montecarlo_and_events_agree_with_exact_on_mixed_protocol_chains(segments):
    scenario = _bright_scenario()
    lengths, choices, cutoff = MIXED[segments]
    links, mux = chain_segments(scenario, lengths, choices)
    spec = ChainSpec(link=links, segments=segments, multiplex=mux, swap=swap_model(scenario), cutoff_s=cutoff)
    assert not spec.homogeneous and links[0].classical_delay_s > 0
    exact = run_exact(spec)
    _within(run_montecarlo(spec, 20000, seed=11).result, exact)
    _within(run_chain_events(spec, 4000, seed=12), exact)
    _within(run_chain_events(spec, 1500, seed=13, compiled=False), exact)


def test_montecarlo_two_different_segments_agree_with_exact():
    la, lb = _pair(0.05, 0.2, 0.97, 0.9, 0.3, 2e-4)
    spec = ChainSpec(link=(la, lb), segments=2, swap=SwapModel(0.9, 0.99, 0.01))
    _within(run_montecarlo(spec, 20000, seed=3).result, run_exact(spec))


def test_swap_asap_montecarlo_draws_each_segment_from_its_own_link():
    # 3 swap-asap segments, the middle one certain and instant: the chain waits for max of the outer two
    la, lb = _pair(0.1, 1.0, 0.95, 0.95, math.inf)
    spec = ChainSpec(link=(la, lb, la), segments=3, schedule="swap-asap")
    res = run_montecarlo(spec, 40000, seed=4).result
    p = 0.1
    closed = 2 / p - 1 / (2 * p - p * p)  # E[max(G1, G3)], the middle link at attempt 1
    sigma = (res.waiting_time_ci95[1] - res.waiting_time_ci95[0]) / (2 * 1.96)
    assert abs(res.mean_waiting_time_s / TAU - closed) <= 4 * sigma / TAU


# ---------------------------------------------------------------- builders
def test_chain_segments_of_equal_choices_are_chain_segment():
    scenario = build_scenario("ustc2026", None, [])
    links, mux = chain_segments(scenario, [10.0, 10.0])
    assert all(link_key(lk) == link_key(chain_segment(scenario, 10.0)) for lk in links) and mux == (1, 1)


def test_chain_segments_put_a_faster_segment_on_the_slow_clock():
    scenario = build_scenario("ustc2026", None, [])
    (short, long_), _ = chain_segments(scenario, [10.0, 10.0], [SegmentChoice("spep", 0.05), SegmentChoice("two-photon")])
    own = chain_segment(build_scenario("ustc2026", None, ["link.excitation_probability=0.05"]), 10.0)
    k = int(long_.attempt_duration_s / own.attempt_duration_s + 1e-9)  # two-photon: two excitation rounds
    assert k == 2 and short.attempt_duration_s == long_.attempt_duration_s
    assert short.success_probability == pytest.approx(1 - (1 - own.success_probability) ** 2, rel=1e-12)
    # the first attempt's pair is stored one attempt more (weight 1/(2 - p) of the two)
    assert own.fresh_state.fidelity > short.fresh_state.fidelity > own.fresh_state.fidelity - 0.01


def test_swap_asap_montecarlo_and_events_agree_on_three_different_segments():
    # no exact recursion for 3 swap-asap segments: the two sampled engines against each other (4 sigma combined)
    links = tuple(abstract_link(p, TAU, f, 0.5, 2e-4) for p, f in ((0.05, 0.97), (0.3, 0.9), (0.12, 0.95)))
    spec = ChainSpec(link=links, segments=3, schedule="swap-asap")
    mc = run_montecarlo(spec, 20000, seed=21).result
    ev = run_chain_events(spec, 4000, seed=22)
    for a, b, ca, cb in ((mc.mean_waiting_time_s, ev.mean_waiting_time_s, mc.waiting_time_ci95, ev.waiting_time_ci95),
                         (mc.mean_fidelity, ev.mean_fidelity, mc.fidelity_ci95, ev.fidelity_ci95)):
        sigma = math.hypot(ca[1] - ca[0], cb[1] - cb[0]) / (2 * 1.96)
        assert abs(a - b) <= 4 * sigma, (a, b, sigma)


def test_two_segment_swap_asap_is_the_nested_chain_on_the_exact_engine():
    la, lb = _pair(0.05, 0.3, 0.97, 0.9, 0.5, 2e-4)
    nested = run_exact(ChainSpec(link=(la, lb), segments=2))
    asap = run_exact(ChainSpec(link=(la, lb), segments=2, schedule="swap-asap"))
    assert (asap.rate_hz, asap.mean_fidelity) == (nested.rate_hz, nested.mean_fidelity)


@pytest.mark.parametrize("delay", [0.0, 2e-4])
def test_purified_per_segment_chain_agrees_on_all_engines(delay):
    # link-level DEJMPS per segment, failing swaps and a cut-off: the sampled engines within 4 sigma of exact
    la, lb = _pair(0.1, 0.3, 0.9, 0.85, 0.3, delay)
    spec = ChainSpec(link=(la, lb, lb, la), segments=4, purification="dejmps", purification_rounds=1, cutoff_s=0.02,
                     swap=SwapModel(0.8, 0.99, 0.0))
    exact = run_exact(spec)
    _within(run_montecarlo(spec, 20000, seed=2).result, exact)
    _within(run_chain_events(spec, 3000, seed=3), exact)
