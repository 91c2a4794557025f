"""The Nadlinger et al. (Nature 607, 682 (2022)) DI-QKD analysis against the numbers their paper states.

Stated numbers (main text, Fig. 4, Table I and Supplementary Information, arXiv:2109.14600v2):
omega_thr ~ 0.825538 (Fig. 4, Eq. 25), m = 296,517 (main text, Eq. 23), m/n ~ 0.229 at S = 2.6507,
Q = 2.39 % (SI S6 E), 95,884 key bits (Fig. 4, Table I), a positive key from n ~ 2.6e5 rounds in the
depolarising model (SI Fig. S15a), acceptance with eps_com <= 0.01 (SI S7).
"""

import math

import numpy as np
import pytest
from scipy.stats import binom

from qrepeater.errors import ParameterError
from qrepeater.qkd import nadlinger as nad
from qrepeater.qkd.eat import OMEGA_MIN, exact_infimum, tradeoff_second_order
from qrepeater.qkd.entropy import OMEGA_MAX, conditional_entropy_chsh_from_omega
from qrepeater.qkd.finite_size import finite_key, minimum_rounds
from qrepeater.qkd.methods import METHODS

N, GAMMA, S, Q = 1_500_000, 13 / 256, 2.64, 0.018  # the Oxford protocol's design (Fig. 4, SI S5)
PUBLISHED_KEY = 95_884


def test_acceptance_threshold_is_the_published_one():
    assert nad.acceptance_threshold(N, GAMMA, (4 + S) / 8) == pytest.approx(0.825538, abs=5e-7)


def test_three_sigma_acceptance_is_complete_to_one_percent_exact_binomial():
    """SI S7: k = 3 gives eps_com <= 0.01.  Checked with the exact binomial law of lost test rounds."""
    omega = (4 + S) / 8
    thr = nad.acceptance_threshold(N, GAMMA, omega)
    allowed = math.floor(N * GAMMA * (1 - thr))  # Eq. (5)
    abort = binom.sf(allowed, N, GAMMA * (1 - omega))
    assert abort <= 0.01
    assert abort > 1e-4  # a 3-sigma margin, not a much wider one
    # Bernstein (used for eps_com in finite_key) is sound for the same law
    thr_b = nad.acceptance_threshold(N, GAMMA, omega, sigmas=None, eps_com=0.01)
    assert binom.sf(math.floor(N * GAMMA * (1 - thr_b)), N, GAMMA * (1 - omega)) <= 0.01


def test_syndrome_length_eq23():
    assert math.floor(nad.syndrome_bits(N, GAMMA, S, Q)) == 296_517  # main text
    assert nad.syndrome_bits(N, GAMMA, 2.6507, 0.0239) / N == pytest.approx(0.229, abs=5e-4)  # SI S6 E


def test_published_key_length_is_reproduced():
    length, d = nad.protocol_key_length()
    assert abs(length - PUBLISHED_KEY) <= 0.10 * PUBLISHED_KEY
    assert abs(length - PUBLISHED_KEY) <= 0.001 * PUBLISHED_KEY  # what we measure: 95,843 (-0.04 %)
    assert d["omega_threshold"] == pytest.approx(0.825538, abs=5e-7)
    assert d["syndrome_bits"] == 296_517
    # every term of Eq. (73) is there and adds up to the extractor's input
    assert sum(d["terms_bits"].values()) == pytest.approx(d["extractor_input_bits"])
    assert d["terms_bits"]["messages"] == -264 and d["terms_bits"]["syndrome"] == -296_517
    # Eq. (72) and the parameter ranges of Proposition 2
    e1, e2, e3 = d["eps_smooth_split"]
    assert e1 + 2 * e2 + e3 == pytest.approx((1e-10 - 4 * 2.0**-61 - 1e-3 * (1e-10 - 4 * 2.0**-61)) / 2)
    assert 0.75 < d["tangent_omega"] < OMEGA_MAX and 1 < d["renyi_alpha"] < 2
    assert 1 < d["renyi_alpha2"] < 1 + 1 / math.log2(5)
    # Table I: 95,628 after the 256 bits consumed; Fig. 4: 95,884/n ~ 6.39 %
    assert math.floor(length) - 256 == pytest.approx(95_628, rel=0.001)
    assert math.floor(length) / N == pytest.approx(0.0639, abs=5e-5)


def test_positive_key_from_2p6e5_rounds_in_the_depolarising_model():
    """SI Fig. S15a: eps_snd = 1e-10, eps_com <= 0.01, free parameters optimised: a positive key from
    n ~ 2.6e5 rounds (best at visibility 1: S = 2 sqrt 2, Q = 0; the syndrome of Eq. 23)."""

    def best(n, s, q):
        return max(nad.protocol_key_length(n, g, s, q, syndrome=None)[0] for g in np.geomspace(0.02, 0.5, 40))

    s_max = 2 * math.sqrt(2) - 1e-9
    lo, hi = 150_000, 400_000
    assert best(lo, s_max, 0.0) < 1 <= best(hi, s_max, 0.0)
    while hi - lo > 2_000:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if best(mid, s_max, 0.0) >= 1 else (mid, hi)
    assert hi == pytest.approx(2.6e5, rel=0.05)  # we find 2.56e5
    assert best(hi, 2 * math.sqrt(2) * 0.99, 0.005) < best(hi, s_max, 0.0)  # visibility 1 is the best case


def test_upsilon_inverts_y_plus_4_log2_y_and_obeys_eq55():
    for x in (1.0, 2.0, 50.0, 1e3, 95_000.0, 1e9):
        y = nad.upsilon(x)
        assert y + 4 * math.log2(y) == pytest.approx(x, rel=1e-12, abs=1e-9)
        assert x - 4 / math.log(2) * math.log(x) - 1e-9 <= y <= x
    assert nad.upsilon(0.5) == 0.5  # no key below one bit


def test_second_order_terms_against_the_papers_definitions():
    """Eqs. (63)-(70), (103), (104) evaluated directly on distributions over {lost, won, no test}."""
    gamma, t, alpha = GAMMA, 0.8115, 1.0006

    def eta(w):
        return conditional_entropy_chsh_from_omega(w) if w >= 0.75 or w <= 0.25 else 0.0

    h = 1e-6
    slope = (eta(t + h) - eta(t - h)) / (2 * h)

    def g(w):
        return eta(t) + (w - t) * slope  # Eq. (61)

    f = {"lost": g(0) / gamma + (1 - 1 / gamma) * g(1), "won": g(1), "none": g(1)}  # Eq. (64)
    ws = np.linspace(OMEGA_MIN, OMEGA_MAX, 20_001)
    vals = []
    for w in ws:
        p = {"lost": gamma * (1 - w), "won": gamma * w, "none": 1 - gamma}  # Eq. (67)
        mean = sum(p[u] * f[u] for u in p)
        assert mean == pytest.approx(g(w), abs=1e-9)  # the affine extension reproduces g_t
        var = sum(p[u] * f[u] ** 2 for u in p) - mean**2  # Eq. (65)
        v = math.log(2) / 2 * (math.log2(33) + math.sqrt(2 + var)) ** 2  # Eq. (69)
        delta = eta(w) - mean  # Eq. (68)
        assert delta >= -1e-9  # the tangent lies below eta everywhere on the quantum range
        vals.append(delta - (alpha - 1) * v)
    brute = min(vals)
    assert exact_infimum(gamma, t, alpha) == pytest.approx(brute, abs=1e-6)
    assert exact_infimum(gamma, t, alpha) <= brute + 1e-12
    infimum, k_alpha = tradeoff_second_order(gamma, np.array([[t]]), np.array([[alpha]]))
    assert infimum[0, 0] >= exact_infimum(gamma, t, alpha) - 1e-12  # the grid is refined, never undercut
    x = max(f.values()) - min(g(w) for w in ws)  # Max(f_t) - Min over quantum distributions, Eqs. (103)-(104)
    k_direct = (2 ** ((alpha - 1) * (2 + x)) * math.log(2 ** (2 + x) + math.e**2) ** 3
                / (6 * (2 - alpha) ** 3 * math.log(2)))  # Eq. (70)
    assert k_alpha[0, 0] == pytest.approx(k_direct, rel=1e-4)
    # a lost test round is not a quantum distribution: the old Min f would give a K ~ 1e4 times larger
    x_all = max(f.values()) - min(f.values())
    assert x_all > 20 * x


def test_registered_as_a_published_finite_method():
    row = METHODS["nadlinger2022"]
    assert row.kind == "finite" and not row.reconstruction and "Eq. (73)" in row.source


def test_finite_key_api_every_eps_explicit():
    res = finite_key(N, S, Q, method="nadlinger2022", test_fraction=GAMMA, ec_leakage_bits=296_517,
                     eps_sec=1e-10, eps_com=1e-2, compute_min_rounds=False)
    assert res.eps_cor == 2.0**-61 and res.eps_sec == 1e-10
    assert max(res.eps_pe, res.eps_pa + 2 * res.eps_smooth) + 4 * 2.0**-61 == pytest.approx(1e-10)  # Eq. (91)
    # Bernstein margin at eps_com = 1 %: slightly wider than the paper's 3 sigma, so slightly less key
    assert res.details["omega_threshold"] < 0.825538
    assert 0.97 * PUBLISHED_KEY < res.key_bits < PUBLISHED_KEY
    with pytest.raises(ParameterError):
        finite_key(N, S, Q, method="nadlinger2022", eps_cor=1e-20, compute_min_rounds=False)
    with pytest.raises(ParameterError):
        finite_key(N, S, Q, method="nadlinger2022", key_fraction=0.5, compute_min_rounds=False)
    with pytest.raises(ParameterError):
        finite_key(N, S, Q, method="nadlinger2022", eps_pe=2e-10, compute_min_rounds=False)


def test_ustc_reference_point_gets_no_key():
    """USTC 2026: 405,145 rounds, S = 2.5758, Q = 3.6 %, 1,917 bits published.  This analysis certifies
    none there (needs ~2.9e6 rounds); recorded, not tuned."""
    res = finite_key(405_145, 2.5758, 0.036, method="nadlinger2022", eps_com=1e-2)
    assert res.key_bits == 0
    assert 2e6 < res.min_rounds_for_positive_key < 4e6
    # nor with the paper's own conventions (k = 3, syndrome of Eq. 23), at any test fraction
    assert max(nad.protocol_key_length(405_145, g, 2.5758, 0.036, syndrome=None)[0]
               for g in np.geomspace(0.01, 0.5, 30)) < 0


def test_minimum_rounds_is_the_threshold():
    n = minimum_rounds(2.7, 0.02, "nadlinger2022", eps_com=1e-2)
    assert finite_key(n, 2.7, 0.02, method="nadlinger2022", eps_com=1e-2, compute_min_rounds=False).key_bits >= 1
    assert finite_key(n - 1, 2.7, 0.02, method="nadlinger2022", eps_com=1e-2, compute_min_rounds=False).key_bits == 0
