"""Finite-size key from the full statistics (qkd/bff_finite.py): BFF bound on correlator intervals, collective attacks."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from qrepeater.qkd.bff_finite import BOX_SHARE, ChshTestCounts, bff_collective_key_length, correlator_box
from qrepeater.qkd.collective import aep_penalty_per_sqrt_round
from qrepeater.qkd.simulate import simulate_records
from qrepeater.qkd.statistics import estimate_chsh
from qrepeater.states import werner


def test_counts_from_records_match_a_plain_loop():
    table, _ = simulate_records(werner(0.95), 4000, 5)
    c = ChshTestCounts.from_records(table)
    rows = table.to_pylist()
    tests = [r for r in rows if r["test"] and r["y"] < 2]
    assert c.rounds == len(tests)
    assert c.wins == sum(((r["a"] ^ r["b"]) == (r["x"] & r["y"])) for r in tests)
    for x in range(2):
        for y in range(2):
            sel = [r for r in tests if r["x"] == x and r["y"] == y]
            assert c.counts[x, y] == len(sel) and c.agreements[x, y] == sum(r["a"] == r["b"] for r in sel)
    np.testing.assert_allclose(c.correlators, estimate_chsh(table).correlators, atol=1e-12)


@pytest.mark.parametrize("n, e_true", [(200, 0.7), (5000, 0.3), (20000, -0.9)])
def test_correlator_interval_is_sound_against_the_exact_binomial_tail(n, e_true):
    # Ê = 2K/n - 1, K ~ Binomial(n, (1+E)/2): the probability that E lies above Ê + t must be <= eps_box/8
    eps_box = 1e-6
    counts = ChshTestCounts(np.full((2, 2), n), np.full((2, 2), n // 2), n)
    t = float((correlator_box(counts, eps_box, 2.0).upper - counts.correlators)[0, 0])
    assert t == pytest.approx(math.sqrt(2.0 * math.log(8.0 / eps_box) / n))
    p = (1.0 + e_true) / 2.0
    k_low = math.ceil(n * (e_true - t + 1.0) / 2.0 - 1e-9)  # Ê <= E - t  <=>  K <= n(E - t + 1)/2
    k_high = math.floor(n * (e_true + t + 1.0) / 2.0 + 1e-9)
    assert stats.binom.cdf(k_low, n, p) <= eps_box / 8  # E above the interval
    assert stats.binom.sf(k_high - 1, n, p) <= eps_box / 8  # E below the interval


def test_too_few_key_rounds_or_no_certified_violation_give_a_reason_without_sdp():
    counts = ChshTestCounts(np.full((2, 2), 250), np.full((2, 2), 210), 850)  # 1000 rounds, ω = 0.85
    length, det = bff_collective_key_length(counts, 10, 0.01, ec_leakage_bits=0.0)
    assert length == -math.inf and "AEP" in det["reason"]
    length, det = bff_collective_key_length(counts, 10_000, 0.01, ec_leakage_bits=0.0)
    # ω_L = 0.85 - sqrt(ln(1/((1-κ) ε_PE))/2000) = 0.7395 -> S_L = 1.916 <= 2 (ε_PE = 2.5e-11)
    assert det["entropy"]["chsh_lower_bound"] == pytest.approx(
        8 * (0.85 - math.sqrt(math.log(1 / ((1 - BOX_SHARE) * 2.5e-11)) / 2000)) - 4, rel=1e-12)
    assert length == -math.inf and "<= 2" in det["reason"] and det["entropy"]["entropy_rate_bff"] is None


@pytest.mark.slow
def test_box_limits_reproduce_pironio_and_the_full_statistics_bound():
    from qrepeater.qkd.bff import ChshCorrelators, CorrelatorBox, bff_entropy_bound
    from qrepeater.qkd.entropy import conditional_entropy_chsh

    # an interval [-1, 1] on every correlator constrains nothing: CHSH-only, i.e. Pironio's closed form
    wide = CorrelatorBox(-np.ones((2, 2)), np.ones((2, 2)), 2.6)
    assert bff_entropy_bound(wide, m=8) == pytest.approx(conditional_entropy_chsh(2.6), abs=1e-4)
    # symmetric correlators (0.66 ± 0.005 each: S >= 2.62) exclude Pironio's optimal attack at S = 2.62
    # (E_0y = 1/√2 > E_1y = 0.60), so the box certifies clearly more than Pironio there, and no more than
    # the exact statistics at its centre (a smaller feasible set)
    e = np.array([[0.66, 0.66], [0.66, -0.66]])
    tight = bff_entropy_bound(CorrelatorBox(e - 0.005, e + 0.005, 2.0), m=8)
    exact = bff_entropy_bound(ChshCorrelators(e), m=8)
    assert conditional_entropy_chsh(2.62) + 0.01 < tight <= exact + 1e-6


@pytest.mark.slow
def test_key_length_terms_against_a_hand_composition():
    table, _ = simulate_records(werner(0.985), 60_000, 7)
    counts = ChshTestCounts.from_records(table)
    n_key = 60_000 - int(np.asarray(table.column("test")).sum())
    length, det = bff_collective_key_length(counts, n_key, 0.01, ec_leakage_bits=5000.0)
    h = det["entropy"]["entropy_rate_per_key_round"]
    assert h >= det["entropy"]["entropy_rate_chsh_only"] and h == det["entropy"]["entropy_rate_bff"]
    # collective-aep's composition (eps_PE = eps_PA = eps_s = eps_sec/4 = 2.5e-11)
    by_hand = (n_key * h - math.sqrt(n_key) * aep_penalty_per_sqrt_round(2.5e-11) - 5000.0
               - math.log2(1e10) - 2 * math.log2(1 / 5e-11))
    assert length == pytest.approx(by_hand, rel=1e-12)
