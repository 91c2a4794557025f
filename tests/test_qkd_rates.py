"""Asymptotic DI-QKD rates: closed forms, limits and published figures."""

import math

import pytest
from scipy.optimize import brentq

from qrepeater.errors import ParameterError
from qrepeater.qkd.entropy import (
    binary_entropy,
    chsh_to_winning_probability,
    conditional_entropy_chsh,
    conditional_entropy_chsh_derivative_omega,
    conditional_entropy_chsh_from_omega,
    noisy_preprocessing_entropy,
    phase_error_bound_linear,
)
from qrepeater.qkd.rates import (
    asymptotic_rate,
    complementarity_asymptotic_rate,
    noisy_preprocessing_rate,
    optimal_noisy_preprocessing,
    pironio_rate,
    rate_explanation,
)

TSIRELSON = 2 * math.sqrt(2)
REF_S, REF_Q = 2.5758, 0.036  # USTC 2026, 10 km [P]


def depolarised_chsh(q):
    """CHSH value of a Werner state whose aligned-basis QBER is q: S = 2 sqrt2 (1 - 2q)."""
    return TSIRELSON * (1 - 2 * q)


def test_binary_entropy_values():
    assert binary_entropy(0.5) == pytest.approx(1.0)
    assert binary_entropy(0.0) == 0.0 and binary_entropy(1.0) == 0.0
    assert binary_entropy(0.11) == pytest.approx(0.4999, abs=1e-4)  # the familiar BB84 threshold
    assert binary_entropy(0.2) == pytest.approx(binary_entropy(0.8))


def test_pironio_closed_form_limits():
    assert asymptotic_rate(TSIRELSON, 0.0) == pytest.approx(1.0)
    assert asymptotic_rate(2.0 + 1e-12, 0.0) == pytest.approx(0.0, abs=1e-5)
    assert asymptotic_rate(2.0, 0.0) == 0.0
    assert asymptotic_rate(1.5, 0.01) == 0.0
    assert "no Bell violation" in rate_explanation(1.9, 0.0)
    # hand evaluation at S = 2.7: sqrt(1.8225 - 1) = 0.906918; h(0.953459) = 0.271518; h(0.02) = 0.141441
    assert pironio_rate(2.7, 0.02) == pytest.approx(1 - 0.271518 - 0.141441, abs=2e-5)


def test_reference_asymptotic_rate_matches_paper():
    # USTC 2026: asymptotic rate 0.325 per round [S]; the brief's target 0.326 +- 0.002
    assert asymptotic_rate(REF_S, REF_Q) == pytest.approx(0.326, abs=0.002)
    assert asymptotic_rate(REF_S, REF_Q, "eat") == asymptotic_rate(REF_S, REF_Q, "pironio")


def test_101km_default_rate_is_pironio_and_positive():
    r = asymptotic_rate(2.504, 0.069)  # the default method is Pironio et al. (2009)
    # by hand, 40-digit decimal: 1 - h((1 + sqrt(0.567504))/2) - h(0.069) = 1 - 0.5388738053 - 0.3621807173
    assert r == pytest.approx(0.0989454774, abs=1e-9)
    assert r > 0  # "positive" [P]
    assert asymptotic_rate(2.504, 0.069, "noisy-preprocessing") > r


def test_every_registered_method_has_an_asymptotic_value_and_aliases_resolve():
    from qrepeater.qkd.methods import METHODS, method_table

    assert [row["name"] for row in method_table()] == list(METHODS)
    for name in METHODS:
        assert 0.0 <= asymptotic_rate(REF_S, REF_Q, name) <= 1.0
    for name in ("eat", "collective-aep"):  # first-order terms are the single-round (Pironio) bound
        assert asymptotic_rate(REF_S, REF_Q, name) == asymptotic_rate(REF_S, REF_Q, "pironio")
    assert asymptotic_rate(REF_S, REF_Q, "complementarity") == asymptotic_rate(
        REF_S, REF_Q, "complementarity-reconstruction")


def test_depolarising_threshold_is_7_15_percent():
    # Pironio et al. 2009 / Woodhead, Acin, Pironio 2021: tolerable QBER 7.15 % for the CHSH protocol
    q_star = brentq(lambda q: pironio_rate(depolarised_chsh(q), q), 0.01, 0.2)
    assert q_star == pytest.approx(0.0715, abs=0.0005)


def test_noisy_preprocessing_depolarising_threshold_bracketed():
    # must beat Pironio's 7.15 % and stay below the 8.34 % that Woodhead, Acin, Pironio (2021) reach
    # with noisy preprocessing *and* the more general asymmetric CHSH family
    lo, hi = 0.06, 0.12
    for _ in range(40):
        mid = (lo + hi) / 2
        if asymptotic_rate(depolarised_chsh(mid), mid, "noisy-preprocessing") > 0:
            lo = mid
        else:
            hi = mid
    assert 0.0725 < lo < 0.0834


def test_noisy_preprocessing_p0_equals_pironio_and_optimum_not_lower():
    for s, q in [(REF_S, REF_Q), (2.504, 0.069), (2.7, 0.02), (2.3, 0.08), (TSIRELSON, 0.0)]:
        assert noisy_preprocessing_rate(s, q, 0.0) == pytest.approx(pironio_rate(s, q), abs=1e-12)
        best, p_star = optimal_noisy_preprocessing(s, q)
        assert best >= pironio_rate(s, q) - 1e-12
        assert 0.0 <= p_star <= 0.5
        assert asymptotic_rate(s, q, "noisy-preprocessing") >= asymptotic_rate(s, q) - 1e-12


def test_noisy_preprocessing_entropy_limits():
    # p = 1/2: Alice's flipped bit is uniform, H(A'|E) = 1 for any S
    assert noisy_preprocessing_entropy(2.4, 0.5) == pytest.approx(1.0)
    # S = 2 sqrt 2: Eve knows nothing already, H = 1 for any p
    assert noisy_preprocessing_entropy(TSIRELSON, 0.2) == pytest.approx(1.0)
    # monotone non-decreasing in p at fixed S (adding noise never helps Eve)
    vals = [noisy_preprocessing_entropy(2.5, p) for p in (0, 0.05, 0.1, 0.2, 0.3, 0.5)]
    assert all(b >= a - 1e-12 for a, b in zip(vals, vals[1:]))
    # noisy preprocessing helps in the noisy regime (known result of Ho et al. 2020)
    s, q = depolarised_chsh(0.07), 0.07
    assert optimal_noisy_preprocessing(s, q)[0] > pironio_rate(s, q) + 1e-3


def test_winning_probability_form_is_the_same_bound():
    # the function g of Arnon-Friedman et al. (2018), written out in ω (not through S):
    # g(ω) = 1 − h(1/2 + 1/2 sqrt(16 ω(ω − 1) + 3))
    def g(w):
        return 1 - binary_entropy(0.5 + 0.5 * math.sqrt(16 * w * (w - 1) + 3))

    assert chsh_to_winning_probability(2.0) == pytest.approx(0.75)  # the classical bound
    assert chsh_to_winning_probability(TSIRELSON) == pytest.approx((2 + math.sqrt(2)) / 4)
    assert conditional_entropy_chsh_from_omega((2 + math.sqrt(2)) / 4) == pytest.approx(1.0, abs=1e-9)
    assert conditional_entropy_chsh_from_omega(0.75) == pytest.approx(0.0, abs=1e-9)
    for s in (2.1, 2.5, 2.7, 2.8):
        w = chsh_to_winning_probability(s)
        assert conditional_entropy_chsh(s) == pytest.approx(g(w), rel=1e-12)
        assert conditional_entropy_chsh_from_omega(w) == pytest.approx(g(w), rel=1e-12)
        d = 1e-6
        numeric = (conditional_entropy_chsh_from_omega(w + d)
                   - conditional_entropy_chsh_from_omega(w - d)) / (2 * d)
        assert conditional_entropy_chsh_derivative_omega(w) == pytest.approx(numeric, rel=1e-5)


def test_linear_phase_error_bound_is_chord_above_convex_per_block_rate():
    assert phase_error_bound_linear(2.0) == pytest.approx(0.5)
    assert phase_error_bound_linear(TSIRELSON) == pytest.approx(0.0, abs=1e-12)
    for s in [2.0 + 0.05 * k for k in range(17)]:
        per_block = (1 - math.sqrt(max(s * s / 4 - 1, 0))) / 2
        assert phase_error_bound_linear(s) >= per_block - 1e-12


def test_complementarity_asymptotic_between_zero_and_pironio():
    r = asymptotic_rate(REF_S, REF_Q, "complementarity-reconstruction")
    assert 0 < r < asymptotic_rate(REF_S, REF_Q)
    assert complementarity_asymptotic_rate(TSIRELSON, 0.0) == pytest.approx(1.0)


@pytest.mark.parametrize(
    "kwargs, field",
    [
        (dict(chsh=3.0, qber=0.01), "chsh"),
        (dict(chsh=-3.0, qber=0.01), "chsh"),
        (dict(chsh=2.5, qber=0.6), "qber"),
        (dict(chsh=2.5, qber=-0.01), "qber"),
        (dict(chsh=float("nan"), qber=0.01), "chsh"),
        (dict(chsh=2.5, qber=0.01, method="bb84"), "method"),
    ],
)
def test_invalid_inputs_raise_parameter_error(kwargs, field):
    with pytest.raises(ParameterError) as info:
        asymptotic_rate(**kwargs)
    assert info.value.field == field


@pytest.mark.parametrize("omega, qber", [(0.797, 0.06), (0.777, 0.035)])
def test_murta_estimates_of_past_bell_tests_give_no_pironio_key(omega, qber):
    # Murta et al. (arXiv:1811.07983) estimated the CHSH winning probability and QBER of the NV (Hensen et
    # al. 2015) and atom (Rosenfeld et al. 2017) loophole-free Bell tests; their text could not be read
    # here, the numbers are as restated by Tan's thesis (arXiv:2111.11769v2, Sec. 4.1.3: w_exp = 0.797 /
    # 0.777, p_err = 0.06 / 0.035), which also states that the basic CHSH protocol of Pironio et al. gives
    # zero asymptotic key for both (Sec. 4.4). Secondhand, but an independent statement: it must hold.
    chsh = 8.0 * omega - 4.0
    assert asymptotic_rate(chsh, qber, "pironio") == 0.0
    assert conditional_entropy_chsh(chsh) < binary_entropy(qber)
