"""Finite-size DI-QKD key lengths: limits, monotonicity, bisection and the USTC 2026 figures."""

import dataclasses
import math

import pytest

from qrepeater.errors import ParameterError
from qrepeater.qkd.finite_size import (
    USTC2026_REFERENCE_CHOICES,
    finite_key,
    minimum_rounds,
    qkd_rate_summary,
)
from qrepeater.qkd.rates import asymptotic_rate, complementarity_asymptotic_rate

REF_N, REF_S, REF_Q = 405_145, 2.5758, 0.036  # USTC 2026, 10 km [P]
PAPER_BITS = 1_917  # [P], complementarity-based analysis


def key(n, **kw):
    kw.setdefault("compute_min_rounds", False)
    return finite_key(n, REF_S, REF_Q, **kw)


def test_reference_key_within_ten_percent_of_paper():
    res = key(REF_N, **USTC2026_REFERENCE_CHOICES)
    assert abs(res.key_bits - PAPER_BITS) <= 0.10 * PAPER_BITS
    assert res.key_rate_per_round == pytest.approx(4.7e-3, rel=0.10)
    # the optimised test fraction implies ~2.5e5 CHSH rounds; the CHSH-estimator standard deviation
    # 3.06/sqrt(m) then is ~0.006, consistent with the published +-0.0059
    m = res.details["n_test_rounds"]
    assert 3.06 / math.sqrt(m) == pytest.approx(0.0059, rel=0.10)


def test_defaults_are_documented_and_give_a_positive_key():
    res = key(REF_N)
    assert res.eps_sec == 1e-10 and res.eps_cor == 1e-10 and res.method == "complementarity"
    assert res.key_bits > 0
    assert 0 < res.test_fraction < 1
    # leak = f n_key h(Q) with f = 1.1
    n_key = res.details["n_key_rounds"]
    h_q = -REF_Q * math.log2(REF_Q) - (1 - REF_Q) * math.log2(1 - REF_Q)
    assert res.ec_leakage_bits == pytest.approx(1.1 * n_key * h_q)


def test_key_rate_increases_with_rounds_and_tends_to_asymptotic():
    for method, limit in [("complementarity", complementarity_asymptotic_rate(REF_S, REF_Q)),
                          ("eat", asymptotic_rate(REF_S, REF_Q, "eat"))]:
        rates = [key(n, method=method, ec_efficiency=1.0).key_rate_per_round
                 for n in (10**6, 10**7, 10**8, 10**10, 10**13)]
        assert all(b > a for a, b in zip(rates, rates[1:])), (method, rates)
        assert rates[-1] < limit
        assert rates[-1] == pytest.approx(limit, rel=0.03), method


def test_eat_needs_more_rounds_than_complementarity_and_is_of_order_1e6():
    n_eat = minimum_rounds(REF_S, REF_Q, "eat")
    n_comp = minimum_rounds(REF_S, REF_Q, "complementarity")
    assert n_comp < REF_N < n_eat  # the paper: key with 4.05e5 rounds; EAT would need ~1.5e6 [S]
    assert 3e5 < n_eat < 5e6
    assert key(REF_N, method="eat").key_bits == 0


def test_minimum_rounds_is_the_threshold():
    n = minimum_rounds(REF_S, REF_Q)
    assert key(n).key_bits >= 1
    assert key(n - 1).key_bits == 0
    assert key(REF_N, compute_min_rounds=True).min_rounds_for_positive_key == n


def test_minimum_rounds_decreases_with_chsh():
    for method in ("complementarity", "eat"):
        ns = [minimum_rounds(s, 0.03, method) for s in (2.55, 2.6, 2.7, 2.8)]
        assert all(b < a for a, b in zip(ns, ns[1:])), (method, ns)


def test_more_noise_or_smaller_eps_means_less_key():
    base = key(REF_N).key_bits
    assert key(REF_N, eps_sec=1e-15).key_bits < base
    assert finite_key(REF_N, REF_S, 0.04, compute_min_rounds=False).key_bits < base
    assert finite_key(REF_N, REF_S - 0.0059, REF_Q, compute_min_rounds=False).key_bits < base
    assert key(REF_N, concentration="freedman").key_bits > base  # a tighter martingale bound


def test_explicit_leakage_is_subtracted_bit_for_bit():
    a = key(REF_N, test_fraction=0.6, ec_leakage_bits=30_000)
    b = key(REF_N, test_fraction=0.6, ec_leakage_bits=31_000)
    assert a.ec_leakage_bits == 30_000
    assert a.key_bits - b.key_bits == pytest.approx(1000, abs=1)


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
        (dict(method="pironio"), "method"),
        (dict(test_fraction=1.0), "test_fraction"),
        (dict(test_fraction=0.7, key_fraction=0.5), "key_fraction"),
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
    for k in ("asymptotic_rate", "finite_key_bits", "method", "min_rounds", "eat_finite_key_bits",
              "eat_min_rounds", "asymptotic_rate_pironio"):
        assert k in out
    assert out["finite_key_bits"] == key(REF_N).key_bits
    assert out["eat_finite_key_bits"] == 0 and out["eat_min_rounds"] > REF_N
    local = qkd_rate_summary(1.9, 0.01, rounds=100)
    assert local["finite_key_bits"] == 0 and local["reason"]
    pir = qkd_rate_summary(REF_S, REF_Q, method="pironio")
    assert pir["asymptotic_rate"] == pytest.approx(0.326, abs=0.002)
    assert pir["finite_key_bits"] is None
