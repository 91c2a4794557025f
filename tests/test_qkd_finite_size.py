"""Finite-size DI-QKD key lengths: limits, monotonicity, acceptance margin, eps, counts, the USTC figures."""

import dataclasses
import math

import numpy as np
import pytest
from scipy.stats import binom

from qrepeater.errors import ParameterError
from qrepeater.qkd.finite_size import (
    DEFAULT_EPS_COM,
    FINITE_METHODS,
    USTC2026_REFERENCE_CHOICES,
    finite_key,
    minimum_rounds,
    qkd_rate_summary,
)
from qrepeater.qkd.methods import ASYMPTOTIC_DEFAULT, FINITE_DEFAULT, METHODS
from qrepeater.qkd.planning import plan_rounds
from qrepeater.qkd.rates import asymptotic_rate, complementarity_asymptotic_rate

REF_N, REF_S, REF_Q = 405_145, 2.5758, 0.036  # USTC 2026, 10 km [P]
PAPER_BITS = 1_917  # [P], complementarity-based analysis
H_Q = 0.2236416645  # h(0.036), evaluated by hand
RECON = "complementarity-reconstruction"


def key(n, **kw):
    kw.setdefault("compute_min_rounds", False)
    return finite_key(n, REF_S, REF_Q, **kw)


def test_registry_defaults_are_published_bounds_and_reconstruction_is_labelled():
    assert ASYMPTOTIC_DEFAULT == "pironio" and not METHODS["pironio"].reconstruction
    assert FINITE_DEFAULT != RECON and "reconstruction" in RECON and METHODS[RECON].reconstruction
    assert set(FINITE_METHODS) == {"eat", "nadlinger2022", "tan2022", "tan2022-collective", "collective-aep", RECON}
    # the finite default is a published analysis read in full; no reconstruction is ever a default
    assert not METHODS[FINITE_DEFAULT].reconstruction and METHODS["eat"].reconstruction
    assert key(REF_N).method == FINITE_DEFAULT == "nadlinger2022"
    # the old name is an alias of the reconstruction (distill and validation call it)
    assert key(REF_N, method="complementarity").key_bits == key(REF_N, method=RECON).key_bits
    assert key(REF_N, method="complementarity").method == RECON


def test_reconstruction_fit_is_within_ten_percent_of_paper():
    """A *fit* (f = 1.16 chosen after a scan, no completeness margin), declared as such: not a validation."""
    res = key(REF_N, **USTC2026_REFERENCE_CHOICES)
    assert abs(res.key_bits - PAPER_BITS) <= 0.10 * PAPER_BITS
    assert res.eps_com is None
    # the optimised test fraction implies ~2.5e5 CHSH rounds; the CHSH-estimator standard deviation
    # 3.06/sqrt(m) then is ~0.006, consistent with the published +-0.0059
    m = res.details["n_test_rounds"]
    assert 3.06 / math.sqrt(m) == pytest.approx(0.0059, rel=0.10)


def test_leakage_uses_the_counts_and_is_reported():
    res = key(REF_N, method=RECON)
    assert res.eps_sec == 1e-10 and res.eps_cor == 1e-10
    assert res.key_bits > 0 and 0 < res.test_fraction < 1
    n_key = res.details["n_key_rounds"]
    assert res.ec_leakage_bits == pytest.approx(1.1 * n_key * H_Q)
    # observed counts replace the expected ones: leak = f * n_key(observed) * h(Q)
    obs = key(REF_N, method="collective-aep", test_rounds=150_000, key_rounds=250_000)
    assert obs.ec_leakage_bits == pytest.approx(1.1 * 250_000 * H_Q, rel=1e-9)
    assert obs.details["counts"] == "observed" and obs.test_fraction == pytest.approx(150_000 / REF_N)
    fewer = key(REF_N, method="collective-aep", test_rounds=150_000, key_rounds=200_000)
    assert fewer.key_bits < obs.key_bits
    # EAT: Bob also learns Alice's test outputs, leak = f [n_key h(Q) + m h(omega)], omega = 1/2 + S/8
    eat = key(REF_N, method="eat", test_rounds=100_000)
    h_w = -0.821975 * math.log2(0.821975) - 0.178025 * math.log2(0.178025)
    assert eat.ec_leakage_bits == pytest.approx(1.1 * (305_145 * H_Q + 100_000 * h_w), rel=1e-9)


def test_every_security_parameter_is_explicit_and_composes_to_eps_sec():
    for method, weights in (("eat", (1, 1, 2)), ("collective-aep", (1, 1, 2)), (RECON, (2, 1, 0))):
        res = key(REF_N, method=method)
        w_pe, w_pa, w_s = weights
        assert w_pe * res.eps_pe + w_pa * res.eps_pa + w_s * res.eps_smooth == pytest.approx(1e-10)
        given = key(REF_N, method=method, eps_pe=1e-11, eps_pa=2e-11)
        assert given.eps_pe == 1e-11 and given.eps_pa == 2e-11
        if w_s:  # the smoothing gets the rest: (1e-10 - 1e-11 - 2e-11) / 2
            assert given.eps_smooth == pytest.approx(3.5e-11)
        else:  # all parts given: the secrecy achieved is their weighted sum
            assert given.eps_sec == pytest.approx(2e-11 + 2e-11)
    with pytest.raises(ParameterError):
        key(REF_N, eps_pe=2e-10)
    assert key(REF_N, method="collective-aep", eps_sec=1e-15).key_bits < key(REF_N, method="collective-aep").key_bits


def test_completeness_margin_holds_for_an_honest_device_brute_force():
    """An honest device (i.i.d. wins with the expected probability) passes the threshold except w.p. <= eps_com.

    Independent check by sampling, not by the Hoeffding formula the code uses.
    """
    rng = np.random.default_rng(2024)
    omega, eps_com = 0.5 + REF_S / 8, 0.05
    # tan2022's acceptance test is on counts over all n rounds (Eq. 4.17), not on the m test rounds:
    # tests/test_qkd_tan2022.py samples that test
    for method in (m for m in FINITE_METHODS if not m.startswith("tan2022")):
        res = key(100_000, method=method, test_fraction=0.1, eps_com=eps_com)
        m, threshold = int(res.details["n_test_rounds"]), res.details["omega_threshold"]
        assert threshold < omega
        wins = rng.binomial(m, omega, size=200_000) / m
        fail = float(np.mean(wins < threshold))
        assert fail <= eps_com
        # a margin of the right size, not an absurdly wide one: at most twice the exact binomial one
        exact = omega - binom.ppf(eps_com, m, omega) / m
        assert exact <= omega - threshold <= 2.0 * exact
        # the margin costs key (or min rounds), and vanishes without eps_com
        assert key(100_000, method=method, test_fraction=0.1).details["omega_threshold"] == pytest.approx(omega)


def test_margin_costs_key_for_every_method():
    for method in FINITE_METHODS:
        with_margin = key(10 * REF_N, method=method, eps_com=DEFAULT_EPS_COM)
        without = key(10 * REF_N, method=method)
        # (before flooring: tan2022 needs ~8e6 rounds here, so both of its keys are 0 bits)
        assert with_margin.details["key_length_unclipped"] < without.details["key_length_unclipped"], method
        assert with_margin.key_bits <= without.key_bits, method


def test_key_rate_increases_with_rounds_and_tends_to_asymptotic():
    for method, limit in [(RECON, complementarity_asymptotic_rate(REF_S, REF_Q) + (1 - 1.0) * H_Q),
                          ("eat", asymptotic_rate(REF_S, REF_Q, "eat")),
                          ("collective-aep", asymptotic_rate(REF_S, REF_Q, "collective-aep"))]:
        rates = [key(n, method=method, ec_efficiency=1.0, eps_com=1e-2).key_rate_per_round
                 for n in (10**6, 10**7, 10**8, 10**10, 10**13)]
        assert all(b > a for a, b in zip(rates, rates[1:])), (method, rates)
        assert rates[-1] < limit
        assert rates[-1] == pytest.approx(limit, rel=0.03), method
    # the n -> infinity limit of both EAT and AEP is Pironio's rate
    assert asymptotic_rate(REF_S, REF_Q, "eat") == asymptotic_rate(REF_S, REF_Q, "pironio")


def test_collective_attacks_need_fewer_rounds_than_coherent():
    """Murta et al. arXiv:1811.07983, abstract: restricting to collective attacks reduces the number of
    signals needed before key can be obtained (the only statement of theirs readable here)."""
    for s, q in ((2.5758, 0.036), (2.7, 0.02), (2.6, 0.03)):
        n_coll = minimum_rounds(s, q, "collective-aep", eps_com=1e-2)
        n_eat = minimum_rounds(s, q, "eat", eps_com=1e-2)
        assert n_coll < n_eat, (s, q)


def test_eat_needs_order_1e6_rounds_at_the_reference_point():
    # USTC 2026 note [S, secondary]: "an EAT analysis would need about 1.5e6 rounds"
    n_eat = minimum_rounds(REF_S, REF_Q, "eat", eps_com=DEFAULT_EPS_COM)
    assert REF_N < n_eat
    assert 0.5e6 < n_eat < 4.5e6
    assert key(REF_N, method="eat", eps_com=DEFAULT_EPS_COM).key_bits == 0


@pytest.mark.parametrize("method", ["eat", "collective-aep", RECON])
def test_minimum_rounds_is_the_threshold(method):
    n = minimum_rounds(REF_S, REF_Q, method, eps_com=1e-2)
    assert key(n, method=method, eps_com=1e-2).key_bits >= 1
    assert key(n - 1, method=method, eps_com=1e-2).key_bits == 0


def test_plan_is_the_smallest_run_with_the_target_key():
    out = plan_rounds(REF_S, REF_Q, 50_000, method="collective-aep", round_rate_hz=1.0)
    n = out["rounds"]
    assert key(n, method="collective-aep", eps_com=1e-2).key_bits >= 50_000
    assert key(n - 1, method="collective-aep", eps_com=1e-2).key_bits < 50_000
    assert out["hours"] == pytest.approx(n / 3600.0)
    # the default round rate is the USTC run's: 405,145 rounds in 386.1 h [P]
    assert plan_rounds(REF_S, REF_Q, 1, method="collective-aep")["round_rate_hz"] == pytest.approx(0.29148, rel=1e-4)


def test_minimum_rounds_decreases_with_chsh():
    for method in FINITE_METHODS:
        ns = [minimum_rounds(s, 0.03, method) for s in (2.6, 2.65, 2.7, 2.8)]
        assert all(b < a for a, b in zip(ns, ns[1:])), (method, ns)


def test_more_noise_means_less_key():
    for method in ("collective-aep", RECON):
        base = key(REF_N, method=method).key_bits
        assert finite_key(REF_N, REF_S, 0.04, method=method, compute_min_rounds=False).key_bits < base
        assert finite_key(REF_N, REF_S - 0.0059, REF_Q, method=method, compute_min_rounds=False).key_bits < base
    base = key(REF_N, method=RECON).key_bits
    assert key(REF_N, method=RECON, concentration="freedman").key_bits > base  # a tighter martingale bound


def test_explicit_leakage_is_subtracted_bit_for_bit():
    for method in FINITE_METHODS:
        a = key(10 * REF_N, method=method, test_fraction=0.1, ec_leakage_bits=30_000)
        b = key(10 * REF_N, method=method, test_fraction=0.1, ec_leakage_bits=31_000)
        assert a.ec_leakage_bits == 30_000
        assert a.key_bits - b.key_bits == pytest.approx(1000, abs=1), method


def test_no_violation_gives_zero_key_with_reason():
    res = finite_key(1000, 2.0, 0.01)
    assert res.key_bits == 0 and res.min_rounds_for_positive_key is None
    assert "no Bell violation" in res.details["reason"]
    assert minimum_rounds(1.8, 0.01) is None
    assert minimum_rounds(2.3, 0.2) is None  # asymptotic rate 0: no key at any size


def test_result_is_frozen():
    res = key(1000)
    with pytest.raises(dataclasses.FrozenInstanceError):
        res.key_bits = 5  # type: ignore[misc]


@pytest.mark.parametrize(
    "kwargs, field",
    [
        (dict(rounds=0), "rounds"),
        (dict(rounds=10.5), "rounds"),
        (dict(chsh=2.9), "chsh"),
        (dict(qber=0.51), "qber"),
        (dict(eps_sec=0.0), "eps_sec"),
        (dict(eps_cor=1.0), "eps_cor"),
        (dict(eps_com=1.5), "eps_com"),
        (dict(method="pironio"), "method"),
        (dict(test_fraction=1.0), "test_fraction"),
        (dict(method=RECON, test_fraction=0.7, key_fraction=0.5), "key_fraction"),
        (dict(key_fraction=0.2), "key_fraction"),  # eat: all non-test rounds are key rounds
        (dict(test_rounds=0), "test_rounds"),
        (dict(method=RECON, test_rounds=300_000, key_rounds=300_000), "key_rounds"),
        (dict(ec_efficiency=0.9), "ec_efficiency"),
        (dict(concentration="chernoff"), "concentration"),
    ],
)
def test_invalid_inputs_raise_parameter_error(kwargs, field):
    args = dict(rounds=REF_N, chsh=REF_S, qber=REF_Q)
    args.update(kwargs)
    with pytest.raises(ParameterError) as info:
        finite_key(args.pop("rounds"), args.pop("chsh"), args.pop("qber"), **args)
    assert info.value.field == field


def test_summary_for_the_cli():
    out = qkd_rate_summary(REF_S, REF_Q, rounds=REF_N, method="complementarity")
    assert out["method"] == RECON and out["finite_method"] == RECON
    for k in ("asymptotic_rate", "finite_key_bits", "min_rounds", "asymptotic_rate_pironio", "eps_sec",
              "eps_cor", "eps_pe", "eps_pa", "eps_com", "ec_leakage_bits", "finite_keys"):
        assert k in out
    assert out["eps_com"] == DEFAULT_EPS_COM
    assert out["finite_key_bits"] == key(REF_N, method=RECON, eps_com=DEFAULT_EPS_COM).key_bits
    assert set(out["finite_keys"]) == set(FINITE_METHODS)
    local = qkd_rate_summary(1.9, 0.01, rounds=100)
    assert local["finite_key_bits"] == 0 and local["reason"]
    pir = qkd_rate_summary(REF_S, REF_Q)
    assert pir["method"] == "pironio" and pir["asymptotic_rate"] == pytest.approx(0.326, abs=0.002)
    assert pir["finite_key_bits"] is None and pir["finite_method"] == "nadlinger2022"
