"""Per-segment cut-offs (issue 14 item 2): a pair spanning segments i … j is discarded when its age exceeds
min(cutoff_i, cutoff_j), the strictest of the two memories that hold it (ChainSpec docstring).

Independent checks: the swap of two pairs with different cut-offs against a brute-force double sum over
two arbitrary waiting-time distributions, the 2-segment chain against a double sum over its two geometric
links, equal segment cut-offs against the scalar cut-off (bit-identical on every engine), and Monte Carlo
within 4 σ of exact.
"""

import math

import numpy as np
import pytest

from qrepeater.engines import (
    ChainSpec,
    SwapModel,
    abstract_link,
    run_exact,
    run_montecarlo,
)
from qrepeater.engines.events import run_chain_events
from qrepeater.engines.exact_blocks import block_basis
from qrepeater.engines.exact_hetero import PairBlockChain
from qrepeater.errors import ParameterError
from qrepeater.states.swapping import PHI_PLUS_CORRELATORS

TAU = 1e-3


def _brute_force_pair_swap(pa, pb, fa, fb, rates, swap_p, ca, cb):
    """One try: A at a, B at b (pmfs pa, pb on attempts 0 … N − 1); the earlier pair waits d = |a − b| (A at
    most ca, B at most cb; a tie is in time) and decays exp(−rate d), else it is discarded at (its time) +
    (its cut-off); E[T] = E[duration of a try] / P(success) (Wald), state averaged over successful tries."""
    n = len(pa)
    t = np.arange(n)
    a, b = np.meshgrid(t, t, indexing="ij")
    d = b - a  # > 0: A earlier
    big = 10**9
    ca, cb = (big if c is None else c for c in (ca, cb))
    ok = np.where(d >= 0, d <= ca, -d <= cb)
    dur = np.where(ok, np.maximum(a, b), np.where(d >= 0, a + ca, b + cb))
    P = np.outer(pa, pb)
    p_succ = swap_p * (P * ok).sum()
    q = np.exp(-np.abs(d)[..., None] * rates[None, None, :])
    corr_a = np.where((d >= 0)[..., None], fa * q, fa)
    corr_b = np.where((d < 0)[..., None], fb * q, fb)
    corr = ((P * ok)[..., None] * corr_a * corr_b * PHI_PLUS_CORRELATORS).sum((0, 1)) / (P * ok).sum()
    return (P * dur).sum() / p_succ, corr


@pytest.mark.parametrize("ca,cb", [(3, 9), (9, 3), (None, 4), (6, None), (5, 5), (0, 4)])
def test_swap_of_two_pairs_with_their_own_cutoffs_against_a_double_sum(ca, cb):
    rng = np.random.default_rng(1)
    n = 60
    pa, pb = np.zeros(n), np.zeros(n)
    pa[1:40], pb[5:45] = rng.random(39) ** 3, rng.random(40) ** 2  # arbitrary waiting-time distributions
    pa, pb = pa / pa.sum(), pb / pb.sum()
    fa, fb = np.array([0.9, -0.8, 0.85]), np.array([0.7, -0.75, 0.8])
    rates = np.array([0.0, 0.05, 0.05, 0.02])

    def lattice(p, f):
        return np.concatenate([p[None, :, None], f[:, None, None] * p[None, :, None]], axis=0)

    chain = PairBlockChain(block_basis(1, 1), 4, rates, 1 << 20)  # blocks of one attempt: the pmf itself
    mean, corr, trunc = chain.means(lattice(pa, fa), "swap", 0.8, np.ones(3), partner=(lattice(pb, fb), ca, cb))
    bf_mean, bf_corr = _brute_force_pair_swap(pa, pb, fa, fb, rates[1:], 0.8, ca, cb)
    p_succ = 0.8 * sum(pa[i] * pb[j] for i in range(n) for j in range(n)
                       if (j - i <= (ca if ca is not None else n) if j >= i else i - j <= (cb if cb is not None else n)))
    # the block basis counts block k as attempt k + 1: one attempt more per try, 1/P(success) in the mean
    assert mean == pytest.approx(bf_mean + 1.0 / p_succ, rel=1e-12)
    np.testing.assert_allclose(corr, bf_corr, rtol=1e-12)
    assert trunc < 1e-12


def _direct_two_links(p1, p2, w, gamma_tau, c1, c2, n=1500):
    """E[T] (attempts) and Werner parameter of the 2-segment chain from direct sums over G1, G2: link 1's
    pair waits at most c1, link 2's at most c2 (the swapped pair's cut-off is irrelevant: delivered at once)."""
    g = np.arange(1, n + 1, dtype=float)
    P = np.outer(p1 * (1 - p1) ** (g - 1), p2 * (1 - p2) ** (g - 1))
    d = g[None, :] - g[:, None]  # > 0: link 1 earlier
    ok = np.where(d >= 0, d <= c1, -d <= c2)
    dur = np.where(ok, np.maximum(g[:, None], g[None, :]), np.where(d >= 0, g[:, None] + c1, g[None, :] + c2))
    p_ok = (P * ok).sum()
    return (P * dur).sum() / p_ok, w * (P * ok * np.exp(-gamma_tau * np.abs(d))).sum() / p_ok


@pytest.mark.parametrize("c1,c2", [(4, 12), (12, 4)])
def test_two_segments_with_different_cutoffs_against_direct_sums(c1, c2):
    p1, p2, f1, f2, coherence = 0.08, 0.35, 0.97, 0.9, 0.05
    la, lb = abstract_link(p1, TAU, f1, coherence), abstract_link(p2, TAU, f2, coherence)
    spec = ChainSpec(link=(la, lb), segments=2, cutoff_s=(c1 * TAU, c2 * TAU))
    assert spec.cutoff_s == min(c1, c2) * TAU and spec.segment_cutoff_attempts == (c1, c2)
    res = run_exact(spec)
    w = (4 * f1 - 1) / 3 * (4 * f2 - 1) / 3
    mean, w_out = _direct_two_links(p1, p2, w, TAU / coherence, c1, c2)
    assert res.mean_waiting_time_s / TAU == pytest.approx(mean, rel=1e-6)
    assert res.mean_fidelity == pytest.approx((1 + 3 * w_out) / 4, rel=1e-7)


def test_pair_cutoff_is_the_strictest_of_its_two_memories():
    link = abstract_link(0.1, TAU, 0.95, 0.5)
    spec = ChainSpec(link=(link,) * 4, segments=4, cutoff_s=(0.005, None, 0.002, 0.009))
    assert spec.cutoff_s == 0.002 and not spec.homogeneous and not spec.uniform_cutoff
    assert spec.pair_cutoff_attempts(0, 2) == 5 and spec.pair_cutoff_attempts(2, 4) == 2
    assert spec.pair_cutoff_attempts(1, 2) is None and spec.pair_cutoff_attempts(0, 4) == 5
    with pytest.raises(ParameterError, match="one cut-off"):
        ChainSpec(link=link, segments=4, cutoff_s=(0.1, 0.2))
    with pytest.raises(ParameterError, match=r"cutoff_s\[1\]"):
        ChainSpec(link=link, segments=2, cutoff_s=(0.1, -1.0))


def test_equal_segment_cutoffs_are_the_scalar_cutoff_on_every_engine():
    la, lb = abstract_link(0.1, TAU, 0.95, 0.5), abstract_link(0.3, TAU, 0.9, 0.5)
    links = (la, lb, lb, la)
    scalar = ChainSpec(link=links, segments=4, cutoff_s=0.01, swap=SwapModel(0.9))
    tuple_ = ChainSpec(link=links, segments=4, cutoff_s=(0.01,) * 4, swap=SwapModel(0.9))
    assert tuple_.segment_cutoffs_s is not None and tuple_.uniform_cutoff
    a, b = run_exact(scalar), run_exact(tuple_)
    assert (a.rate_hz, a.mean_fidelity) == (b.rate_hz, b.mean_fidelity)
    a, b = run_montecarlo(scalar, 2000, seed=5).result, run_montecarlo(tuple_, 2000, seed=5).result
    assert (a.rate_hz, a.mean_fidelity) == (b.rate_hz, b.mean_fidelity)
    a, b = run_chain_events(scalar, 300, seed=5), run_chain_events(tuple_, 300, seed=5)
    assert (a.rate_hz, a.mean_fidelity) == (b.rate_hz, b.mean_fidelity)
    sa = ChainSpec(link=links[:3], segments=3, cutoff_s=0.01, schedule="swap-asap")
    sb = ChainSpec(link=links[:3], segments=3, cutoff_s=(0.01,) * 3, schedule="swap-asap")
    a, b = run_montecarlo(sa, 2000, seed=5).result, run_montecarlo(sb, 2000, seed=5).result
    assert (a.rate_hz, a.mean_fidelity) == (b.rate_hz, b.mean_fidelity)


@pytest.mark.parametrize("c1,c2", [(4, 12), (12, None)])
def test_two_segments_with_different_cutoffs_and_a_classical_delay_against_direct_sums(c1, c2):
    # the swap outcome reaches the ends one delay later (the pair decays meanwhile); cut-offs count from the herald
    p1, p2, f1, f2, coherence, delay = 0.08, 0.35, 0.97, 0.9, 0.05, 3e-4
    la, lb = abstract_link(p1, TAU, f1, coherence, delay), abstract_link(p2, TAU, f2, coherence, delay)
    spec = ChainSpec(link=(la, lb), segments=2, cutoff_s=(c1 * TAU, None if c2 is None else c2 * TAU))
    res = run_exact(spec)
    w = (4 * f1 - 1) / 3 * (4 * f2 - 1) / 3 * math.exp(-delay / coherence)
    mean, w_out = _direct_two_links(p1, p2, w, TAU / coherence, c1, 10**9 if c2 is None else c2)
    assert res.mean_waiting_time_s / TAU == pytest.approx(mean + delay / TAU, rel=1e-6)
    assert res.mean_fidelity == pytest.approx((1 + 3 * w_out) / 4, rel=1e-7)


@pytest.mark.parametrize("delay", [0.0, 3e-4])
def test_event_engine_with_segment_cutoffs_agrees_with_exact(delay):
    # compiled network agents and Python agents: each pair armed with the stricter cut-off of its end links
    # (here the right end's for both halves: the left end's alone would be looser)
    la, lb = abstract_link(0.1, TAU, 0.95, 0.05, delay), abstract_link(0.3, TAU, 0.9, 0.05, delay)
    spec = ChainSpec(link=(la, lb, lb, la), segments=4, cutoff_s=(0.02, 0.004, None, 0.012), swap=SwapModel(0.9))
    exact = run_exact(spec)
    _within(run_chain_events(spec, 4000, seed=12), exact)
    _within(run_chain_events(spec, 1500, seed=13, compiled=False), exact)


def _within(sampled, exact, k=4.0):
    for value, ci, target in ((sampled.mean_waiting_time_s, sampled.waiting_time_ci95, exact.mean_waiting_time_s),
                              (sampled.mean_fidelity, sampled.fidelity_ci95, exact.mean_fidelity)):
        sigma = (ci[1] - ci[0]) / (2 * 1.96)
        assert abs(value - target) <= k * sigma, (value, target, sigma)


@pytest.mark.parametrize("delay", [0.0, 3e-4])
def test_montecarlo_nested_chain_with_segment_cutoffs_agrees_with_exact(delay):
    la, lb = abstract_link(0.1, TAU, 0.95, 0.05, delay), abstract_link(0.3, TAU, 0.9, 0.05, delay)
    spec = ChainSpec(link=(la, lb, lb, la), segments=4, cutoff_s=(0.004, None, 0.012, 0.02), swap=SwapModel(0.9))
    _within(run_montecarlo(spec, 20000, seed=7).result, run_exact(spec))


def test_purified_chain_with_segment_cutoffs_agrees_with_montecarlo():
    # link-level DEJMPS under each segment's own cut-off, with a classical delay
    la, lb = abstract_link(0.1, TAU, 0.9, 0.3, 2e-4), abstract_link(0.3, TAU, 0.85, 0.3, 2e-4)
    spec = ChainSpec(link=(la, lb, lb, la), segments=4, cutoff_s=(0.01, 0.03, None, 0.02), purification="dejmps",
                     swap=SwapModel(0.8, 0.99, 0.0))
    _within(run_montecarlo(spec, 20000, seed=2).result, run_exact(spec))


def test_swap_asap_kernel_with_segment_cutoffs_agrees_with_exact_on_two_segments():
    # the compiled swap-asap kernel (forced) on 2 segments is the nested protocol (the exact engine's)
    from qrepeater.engines.montecarlo import _sample_swap_asap

    la, lb = abstract_link(0.08, TAU, 0.97, 0.05), abstract_link(0.35, TAU, 0.9, 0.05)
    for cut in ((0.004, 0.012), (0.012, None)):
        spec = ChainSpec(link=(la, lb), segments=2, cutoff_s=cut, schedule="swap-asap")
        t, corr = _sample_swap_asap(spec, 20000, seed=9)
        exact = run_exact(spec)
        fid = (1 + corr[:, 0] - corr[:, 1] + corr[:, 2]) / 4
        for sample, target in ((t * TAU, exact.mean_waiting_time_s), (fid, exact.mean_fidelity)):
            assert abs(sample.mean() - target) <= 4 * sample.std() / math.sqrt(sample.size), (sample.mean(), target)


def test_compiled_and_python_agents_agree_bit_for_bit_with_segment_cutoffs():
    from qrepeater.engines.events.engine import simulate_chain

    la, lb = abstract_link(0.1, TAU, 0.95, 0.05, 2e-4), abstract_link(0.3, TAU, 0.9, 0.05, 2e-4)
    spec = ChainSpec(link=(la, lb, lb, la), segments=4, cutoff_s=(0.02, 0.004, None, 0.012), swap=SwapModel(0.9))
    fast, slow = simulate_chain(spec, 300, seed=4, compiled=True), simulate_chain(spec, 300, seed=4, compiled=False)
    assert fast.counts == slow.counts and fast.counts["cutoff_discards"] > 0
    a, b = fast.chain_result(TAU), slow.chain_result(TAU)
    assert (a.mean_waiting_time_s, a.mean_fidelity) == (b.mean_waiting_time_s, b.mean_fidelity)


@pytest.mark.parametrize("p", [0.1, 0.3])
def test_scalar_cutoff_shorter_than_one_attempt_needs_simultaneous_links(p):
    """A cut-off below one attempt (0 attempts) on equal segments: both links must herald in the same attempt,
    so the 2-segment wait is geometric with success p² (E[T] = τ/p²) and the pair is never stored.
    (This crashed the block solver: no divisor of a zero cut-off.)"""
    link = abstract_link(p, TAU, 0.95, 0.5)
    res = run_exact(ChainSpec(link, 2, cutoff_s=0.3 * TAU))
    assert res.mean_waiting_time_s == pytest.approx(TAU / p**2, rel=1e-9)
    never_stored = run_exact(ChainSpec(abstract_link(p, TAU, 0.95, 1e12), 2))  # two fresh pairs swapped
    assert res.mean_fidelity == pytest.approx(never_stored.mean_fidelity, rel=1e-9)
    mc = run_montecarlo(ChainSpec(link, 2, cutoff_s=0.3 * TAU), pairs=4000, seed=5).result
    assert abs(mc.mean_waiting_time_s - res.mean_waiting_time_s) < 4 * (mc.waiting_time_ci95[1] - mc.waiting_time_ci95[0]) / 3.92
