"""Exact engine at small p (issue 16 item 2): the block grid against the fine grid, closed forms and Monte Carlo.

``run_exact`` without classical delay runs on blocks of attempts (qrepeater.engines.exact_blocks);
``solve_exact`` keeps the grid of single attempts (a different code path) and is the reference where it
can run (p = 1e-2, 1e-3). At p = 1e-4 the reference is Monte Carlo and closed forms.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from qrepeater.engines import ChainSpec, SegmentLink, SwapModel, abstract_link, run_exact, run_montecarlo, solve_exact
from qrepeater.engines.exact import exact_means
from qrepeater.engines.exact_blocks import block_basis, choose_block, coefficients_needed
from qrepeater.states import swap_noise_factors, werner

TAU = 1e-4


def _fine(spec):
    sol = solve_exact(spec, tol=1e-10)
    return sol.mean_waiting_time_attempts, sol.correlator_mass.sum(axis=1) / sol.waiting_time_pmf.sum()


def _spec(p, seg, cut, pur="none", ps=0.9, t2=30.0, link=None, multiplex=1):
    link = link or abstract_link(p, TAU, 0.96, coherence_time_s=t2 * TAU / p)
    return ChainSpec(link, seg, SwapModel(ps, 0.99, 0.005), None if cut is None else (cut / p + 1) * TAU,
                     purification=pur, multiplex=multiplex)


FINE_CASES = [
    pytest.param(1e-2, 8, 4.0, "none", 0.9, 30.0, id="p1e-2-8seg-cut(prime c)"),
    pytest.param(1e-2, 8, None, "none", 1.0, 30.0, id="p1e-2-8seg"),
    pytest.param(1e-2, 4, 2.0, "bbpssw", 0.8, 1.0, id="p1e-2-4seg-bbpssw-cut-fast-decay"),
    pytest.param(1e-2, 8, None, "dejmps", 0.9, 3.0, id="p1e-2-8seg-dejmps"),
    pytest.param(1e-3, 8, 2.0, "none", 0.9, 30.0, id="p1e-3-8seg-cut"),
    pytest.param(1e-3, 8, 1.0, "none", 0.9, 0.3, id="p1e-3-8seg-cut-fast-decay"),
    pytest.param(1e-3, 2, 0.5, "dejmps", 0.7, 5.0, id="p1e-3-2seg-dejmps-cut"),
    pytest.param(1e-3, 4, None, "none", 0.5, 0.5, id="p1e-3-4seg-ps0.5"),
]


@pytest.mark.parametrize("p, seg, cut, pur, ps, t2", FINE_CASES)
def test_blocks_match_the_fine_grid(p, seg, cut, pur, ps, t2):
    spec = _spec(p, seg, cut, pur, ps, t2)
    mean_fine, corr_fine = _fine(spec)
    mean, corr, trunc, grid = exact_means(spec, tol=1e-10)
    assert grid.startswith("blocks")
    assert mean == pytest.approx(mean_fine, rel=1e-7)  # the issue asks 1e-6; observed ~1e-9
    np.testing.assert_allclose(corr, corr_fine, rtol=0, atol=1e-8)
    assert trunc < 1e-8


def test_blocks_distinct_memory_rates_and_multiplexing():
    link = SegmentLink(2e-3, TAU, werner(0.97), 1.0 / 0.03, 1.0 / 0.08)
    spec = _spec(2e-3, 4, 1.5, ps=0.85, link=link, multiplex=3)
    mean_fine, corr_fine = _fine(spec)
    mean, corr, _, _ = exact_means(spec, tol=1e-10)
    assert mean == pytest.approx(mean_fine, rel=1e-7)
    np.testing.assert_allclose(corr, corr_fine, atol=1e-8)
    assert corr[0] != pytest.approx(corr[2], rel=1e-3)  # ⟨XX⟩ and ⟨ZZ⟩ decay differently: both are checked


@pytest.mark.parametrize("p", [1e-2, 1e-4, 1e-6])
def test_two_segments_closed_forms(p):
    """No cut-off: E[T] = E[max(G1, G2)]/p_s = (3 − 2p)/(p(2 − p))/p_s and
    ⟨σσ⟩ = w² (swap noise) E[exp(−Γτ|G1 − G2|)] (the hand sum of test_engines)."""
    t2 = 50 * TAU / p
    link = abstract_link(p, TAU, 0.97, t2)
    res = run_exact(ChainSpec(link, 2, SwapModel(0.8, 0.99, 0.01), None), tol=1e-12)  # default 1e-8: ~3e-8 off
    assert res.mean_waiting_time_s / TAU == pytest.approx((3 - 2 * p) / (p * (2 - p)) / 0.8, rel=1e-9)
    q = math.exp(-TAU / t2)
    den = 1 - (1 - p) ** 2
    e_decay = p * p / den + 2 * p * p * (1 - p) * q / den / (1 - (1 - p) * q)
    w0 = (4 * 0.97 - 1) / 3
    t = np.array([1, -1, 1]) * w0 * w0 * swap_noise_factors(0.99, 0.01) * e_decay
    assert res.mean_fidelity == pytest.approx((1 + t[0] - t[1] + t[2]) / 4, abs=1e-9)


@pytest.mark.parametrize("p", [1e-3, 1e-4])
def test_two_segments_with_cutoff_closed_form(p):
    """Certain swaps, cut-off c, no decay. With G1, G2 i.i.d. geometric, D = |G1 − G2|: an attempt succeeds
    iff D ≤ c, lasts max(G1, G2) then and min + c otherwise, so E[T] = E[duration] / P(D ≤ c), with
    P(G1 = m, G2 = m + d) = p² q^(2m + d − 2) summed in closed form over m."""
    q = 1 - p
    c = int(round(0.7 / p))
    link = abstract_link(p, TAU, 0.97, math.inf)
    spec = ChainSpec(link, 2, SwapModel(1.0), (c + 0.5) * TAU)
    assert spec.cutoff_attempts == c
    s0, s1 = 1 / (1 - q * q), 1 / (1 - q * q) ** 2  # Σ_m q^(2m−2), Σ_m m q^(2m−2)
    d = np.arange(c + 1, dtype=float)
    w = np.where(d > 0, 2.0, 1.0)
    e_within = p * p * float((w * q**d * (s1 + d * s0)).sum())
    e_discard = 2 * p * p * q ** (c + 1) / (1 - q) * (s1 + c * s0)
    p_ok = 1 - 2 * q ** (c + 1) / (1 + q)
    res = run_exact(spec, tol=1e-12)
    assert res.mean_waiting_time_s / TAU == pytest.approx((e_within + e_discard) / p_ok, rel=1e-9)


def test_deterministic_swaps_wait_for_the_last_of_the_links():
    p = 1e-4  # 8 segments, certain swaps, no cut-off: T = max of 8 geometrics
    res = run_exact(ChainSpec(abstract_link(p, TAU, 1.0, math.inf), 8, SwapModel(), None), tol=1e-12)
    e_max = sum((-1) ** (k + 1) * math.comb(8, k) / (1 - (1 - p) ** k) for k in range(1, 9))
    assert res.mean_waiting_time_s / TAU == pytest.approx(e_max, rel=1e-9)


def test_p1e4_eight_segments_nested_cutoff_agrees_with_montecarlo():
    p = 1e-4
    spec = _spec(p, 8, 2.0, ps=0.9, t2=30.0)
    ex = run_exact(spec)
    mc = run_montecarlo(spec, 40_000, seed=11).result
    for value, (lo, hi) in ((ex.mean_waiting_time_s, mc.waiting_time_ci95), (ex.mean_fidelity, mc.fidelity_ci95)):
        sigma = (hi - lo) / 3.92
        assert abs(value - (hi + lo) / 2) <= 4 * sigma, (value, (hi + lo) / 2, sigma)


def test_block_count_does_not_grow_with_one_over_p():
    """The work is set by the number of blocks: with the cut-off and coherence time scaled as 1/p (the same
    chain in units of its mean link time) the block grid is the same from p = 1e-3 to 1e-6."""
    grids = {p: exact_means(_spec(p, 8, 2.0, ps=0.9, t2=30.0))[3] for p in (1e-3, 1e-4, 1e-5, 1e-6)}
    sizes = {p: tuple(int(x) for x in g.split()[1::2]) for p, g in grids.items()}  # "blocks b x n"
    per_p = {p: b * p for p, (b, n) in sizes.items()}
    assert max(per_p.values()) / min(per_p.values()) < 1.05, grids
    assert len({n for _, n in sizes.values()}) == 1, grids


def test_block_length_divides_the_cutoff_and_bound_holds():
    for c, rate in ((1135, 5e-3), (2001, 1e-3), (401, 1e-2), (5000, 2e-4)):
        b, n = choose_block(c, rate)
        assert c % b == 0
        assert n == min(b, coefficients_needed(b * rate))
        assert b == 1 or 2 * (b * rate / 4) ** n / math.factorial(n) <= 1e-12


def test_block_convolution_is_exact_for_polynomials():
    """Block k of f and block l of g land in blocks k+l and k+l+1: the tensors reproduce the discrete
    convolution of the represented functions to round-off (checked against numpy.convolve)."""
    b, n = 150, 13  # above the direct-sum threshold: tensors from Gauss sums and interpolation
    basis = block_basis(b, n)
    rng = np.random.default_rng(0)
    coef_f, coef_g = rng.normal(size=(5, n)), rng.normal(size=(4, n))
    from qrepeater.engines.exact_blocks import _phi

    phi = _phi(b, n, np.arange(1, b + 1, dtype=float))
    f = np.concatenate([[0.0], (coef_f @ phi).ravel()])
    g = np.concatenate([[0.0], (coef_g @ phi).ravel()])
    fine = np.convolve(f, g)[1 : 5 * b + 1]
    coarse = basis.convolve(coef_f, coef_g, 5)
    back = (coarse @ phi).ravel()
    # the exact convolution on a block is a polynomial of degree 2n − 1: compare its projection
    proj = (fine.reshape(5, b) @ phi.T) @ phi
    np.testing.assert_allclose(back, proj.ravel(), atol=1e-9 * np.abs(fine).max())


def test_classical_delay_falls_back_to_the_fine_lattice():
    """With δ > 0 run_exact uses the (delay steps, attempts) lattice — not coarsened — reduced to means at
    the last level; it must equal the full lattice solution, and tend to the block grid as δ → 0."""
    spec = _spec(1e-2, 4, 2.0, ps=0.8)
    delayed = dataclasses.replace(spec, link=dataclasses.replace(spec.link, classical_delay_s=0.37 * TAU))
    mean, corr, _, grid = exact_means(delayed, tol=1e-10)
    assert grid == "lattice"
    full = solve_exact(delayed, tol=1e-10)
    assert mean == pytest.approx(full.mean_waiting_time_attempts, rel=1e-8)
    np.testing.assert_allclose(corr, full.correlator_mass.sum(axis=1) / full.waiting_time_pmf.sum(), atol=1e-9)
    tiny = dataclasses.replace(spec, link=dataclasses.replace(spec.link, classical_delay_s=1e-9 * TAU))
    m_tiny, c_tiny, _, _ = exact_means(tiny, tol=1e-10)
    m0, c0, _, grid0 = exact_means(spec, tol=1e-10)
    assert grid0.startswith("blocks")
    assert m_tiny == pytest.approx(m0, rel=1e-7)
    np.testing.assert_allclose(c_tiny, c0, atol=1e-8)
