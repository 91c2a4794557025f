"""Repeater-chain engines: exact vs Monte Carlo, closed forms, multiplexing, validation."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from qrepeater.engines import (
    ChainSpec,
    SwapModel,
    abstract_link,
    bb84_key_fraction,
    run,
    run_exact,
    run_montecarlo,
    sample_chain,
    solve_exact,
)
from qrepeater.errors import ParameterError
from qrepeater.states import purify_dejmps, werner

TAU = 1e-4  # attempt duration (s)


def _scenarios():
    out = []
    grid = [
        # (p, segments, cut-off in units of 1/p attempts, purification, swap success)
        (1e-3, 2, None, "none", 0.8),
        (1e-3, 2, 1.0, "none", 1.0),
        (1e-3, 1, 1.0, "dejmps", 1.0),
        (0.01, 2, None, "dejmps", 0.8),
        (0.01, 2, 0.5, "bbpssw", 0.9),
        (0.01, 4, None, "none", 0.6),
        (0.01, 4, 2.0, "none", 0.8),
        (0.01, 8, None, "none", 1.0),
        (0.01, 8, 4.0, "none", 0.9),
        (0.05, 4, 3.0, "dejmps", 0.8),
        (0.05, 8, None, "bbpssw", 0.9),
        (0.05, 8, 6.0, "dejmps", 0.9),
        (0.1, 2, 0.2, "none", 0.5),
        (0.1, 4, None, "dejmps", 1.0),
        (0.1, 8, 5.0, "none", 0.7),
        (0.1, 8, 8.0, "bbpssw", 0.9),
        (0.2, 2, None, "bbpssw", 0.7),
        (0.2, 8, 4.0, "dejmps", 0.8),
        (0.5, 2, 0.0, "none", 0.9),
        (0.5, 4, 1.0, "dejmps", 0.5),
        (0.5, 8, None, "none", 0.5),
        (0.5, 8, 2.0, "bbpssw", 0.9),
    ]
    for i, (p, seg, cut, pur, ps) in enumerate(grid):
        link = abstract_link(p, TAU, 0.96, coherence_time_s=30 * TAU / p, classical_delay_s=0.1 * TAU)
        cutoff_s = None if cut is None else (cut / p + 1) * TAU
        spec = ChainSpec(link, seg, SwapModel(ps, 0.99, 0.005), cutoff_s, purification=pur)
        # a fixed integer seed per case (hash() of a str is salted per process: not reproducible)
        out.append(pytest.param(spec, 1000 + i, id=f"{i}-p{p}-n{seg}-cut{cut}-{pur}-ps{ps}"))
    return out


@pytest.mark.parametrize("spec, seed", _scenarios())
def test_exact_and_montecarlo_agree(spec, seed):
    exact = run_exact(spec)
    assert exact.truncation_error < 1e-7
    mc = run_montecarlo(spec, pairs=6000, seed=seed).result
    for value, (lo, hi) in (
        (exact.mean_waiting_time_s, mc.waiting_time_ci95),
        (exact.mean_fidelity, mc.fidelity_ci95),
    ):
        sigma = (hi - lo) / 3.92
        centre = (hi + lo) / 2
        assert abs(value - centre) <= 4 * sigma + 1e-12, (value, centre, sigma)


@pytest.mark.parametrize("p", [0.5, 0.2, 0.03, 1e-3])
def test_two_segment_waiting_time_closed_form(p):
    link = abstract_link(p, TAU, 1.0, math.inf)
    spec = ChainSpec(link, 2, SwapModel(), None)
    sol = solve_exact(spec)
    assert sol.mean_waiting_time_attempts == pytest.approx((3 - 2 * p) / (p * (2 - p)), rel=1e-7)
    mc = run_montecarlo(spec, pairs=20000, seed=4).result
    lo, hi = mc.waiting_time_ci95
    assert lo / TAU <= (3 - 2 * p) / (p * (2 - p)) <= hi / TAU


def test_three_halves_rule_small_p_limit():
    p = 2e-4
    # one level: max of two geometrics → 3/(2p) exactly in the limit
    one = solve_exact(ChainSpec(abstract_link(p, TAU, 1.0, math.inf), 2, SwapModel(), None))
    assert one.mean_waiting_time_attempts * p == pytest.approx(1.5, rel=1e-3)
    # with deterministic swaps the nested chain waits for the last of 2^n links: H_{2^n} < (3/2)^n
    two = solve_exact(ChainSpec(abstract_link(p, TAU, 1.0, math.inf), 4, SwapModel(), None))
    assert two.mean_waiting_time_attempts * p == pytest.approx(1 + 1 / 2 + 1 / 3 + 1 / 4, rel=2e-3)
    # with rare swap success each level is near-exponential and the (3/2)^n rule / p_s^n holds
    ps = 0.05
    link = abstract_link(0.05, TAU, 1.0, math.inf)
    four = solve_exact(ChainSpec(link, 4, SwapModel(ps), None))
    assert four.mean_waiting_time_attempts * 0.05 * ps**2 == pytest.approx(1.5**2, rel=0.03)


def test_two_segment_fidelity_closed_form():
    p, T, delay = 0.01, 0.05, 1e-5
    link = abstract_link(p, TAU, 0.97, T, delay)
    res = run_exact(ChainSpec(link, 2, SwapModel(0.8, 0.99, 0.01), None))
    # E[e^{-D τ/T}] for D = |G1 − G2| of two geometrics
    q = math.exp(-TAU / T)
    den = 1 - (1 - p) ** 2
    e_decay = p * p / den + 2 * p * p * (1 - p) * q / den / (1 - (1 - p) * q)
    w0 = (4 * 0.97 - 1) / 3
    # swap noise by hand (cf. the four-qubit simulation in test_states_ops): depolarising gate 0.99 on
    # every correlator; a readout error 0.01 on the Z-correction bit flips ⟨XX⟩, ⟨YY⟩, on the X-correction
    # bit ⟨YY⟩, ⟨ZZ⟩: factors 0.99·(0.98, 0.98², 0.98)
    swap_factors = 0.99 * np.array([0.98, 0.98**2, 0.98])
    t = np.array([1, -1, 1]) * np.array([w0, -w0, w0]) ** 2 * swap_factors * e_decay * math.exp(-delay / T)
    assert res.mean_fidelity == pytest.approx((1 + t[0] - t[1] + t[2]) / 4, abs=1e-8)


def test_link_purification_without_decay():
    p = 0.1
    link = abstract_link(p, TAU, 0.9, math.inf)
    res = run_exact(ChainSpec(link, 1, SwapModel(), None, purification="dejmps"))
    out, ps = purify_dejmps(werner(0.9), werner(0.9))
    assert res.mean_fidelity == pytest.approx(out.fidelity, abs=1e-9)
    assert res.mean_waiting_time_s / TAU == pytest.approx((3 - 2 * p) / (p * (2 - p)) / ps, rel=1e-7)


@pytest.mark.parametrize("engine", ["exact", "montecarlo"])
def test_multiplexing_raises_link_rate_about_m_fold(engine):
    p, M = 1e-4, 4
    link = abstract_link(p, TAU, 0.95, 1.0)
    r1 = run(ChainSpec(link, 1, multiplex=1), engine=engine, pairs=40000, seed=1)
    rM = run(ChainSpec(link, 1, multiplex=M), engine=engine, pairs=40000, seed=2)
    assert rM.rate_hz / r1.rate_hz == pytest.approx(M, rel=0.03 if engine == "montecarlo" else 1e-3)
    if engine == "exact":
        assert rM.rate_hz * TAU == pytest.approx(1 - (1 - p) ** M, rel=1e-6)


def test_swap_asap_event_kernel():
    p = 0.05
    link = abstract_link(p, TAU, 0.95, math.inf)
    for n in (3, 4):
        spec = ChainSpec(link, n, SwapModel(1.0, 0.98, 0.0), None, schedule="swap-asap")
        t, corr = sample_chain(spec, 40000, seed=9)
        # deterministic swaps, no decay: wait for the last of n geometric links
        e_max = sum((-1) ** (k + 1) * math.comb(n, k) / (1 - (1 - p) ** k) for k in range(1, n + 1))
        assert abs(t.mean() - e_max) < 4 * t.std() / math.sqrt(t.size)
        w0 = (4 * 0.95 - 1) / 3
        w = w0**n * 0.98 ** (n - 1)
        assert np.allclose(corr, [w, -w, w])
    # swap-asap needs Monte Carlo beyond 2 segments
    with pytest.raises(ParameterError, match="montecarlo"):
        run_exact(ChainSpec(link, 4, schedule="swap-asap"))


def test_swap_asap_two_segments_kernel_matches_exact():
    from qrepeater.engines.montecarlo import _sample_swap_asap

    link = abstract_link(0.05, TAU, 0.97, 0.05, 1e-5)
    spec = ChainSpec(link, 2, SwapModel(0.8, 0.99, 0.01), 4e-3, schedule="swap-asap")
    t, corr = _sample_swap_asap(spec, 20000, 5)
    exact = solve_exact(spec)
    f = (1 + corr[:, 0] - corr[:, 1] + corr[:, 2]) / 4
    assert abs(t.mean() - exact.mean_waiting_time_attempts) < 4 * t.std() / math.sqrt(t.size)
    assert abs(f.mean() - exact.mean_state.fidelity) < 4 * f.std() / math.sqrt(f.size)


def test_schedules_coincide_for_deterministic_swaps():
    # without cut-off and with certain swaps both schedules wait for the last of the 4 links
    link = abstract_link(0.05, TAU, 0.97, 0.05)
    nested = run_montecarlo(ChainSpec(link, 4, SwapModel(1.0), None, schedule="nested"), 20000, seed=1).result
    asap = run_montecarlo(ChainSpec(link, 4, SwapModel(1.0), None, schedule="swap-asap"), 20000, seed=2).result
    sigma = math.hypot(*((r.waiting_time_ci95[1] - r.waiting_time_ci95[0]) / 3.92 for r in (nested, asap)))
    assert abs(nested.mean_waiting_time_s - asap.mean_waiting_time_s) < 4 * sigma
    # ... but swap-asap stores pairs less long (it swaps early), so it delivers higher fidelity
    assert asap.fidelity_ci95[0] > nested.fidelity_ci95[1]


def test_montecarlo_seeded_and_reproducible():
    link = abstract_link(0.05, TAU, 0.97, 0.05)
    spec = ChainSpec(link, 4, SwapModel(0.7), 6e-3, schedule="swap-asap", purification="dejmps")
    a = run_montecarlo(spec, 2000, seed=np.random.SeedSequence(3))
    b = run_montecarlo(spec, 2000, seed=np.random.SeedSequence(3))
    c = run_montecarlo(spec, 2000, seed=4)
    assert np.array_equal(a.waiting_times_s, b.waiting_times_s)
    assert np.array_equal(a.states.coefficients, b.states.coefficients)
    assert not np.array_equal(a.waiting_times_s, c.waiting_times_s)
    assert np.allclose(np.diff(a.delivery_times_s), a.waiting_times_s[1:])


def test_result_metrics_and_json():
    link = abstract_link(0.2, TAU, 0.99, 1.0)
    res = run_exact(ChainSpec(link, 2, SwapModel(), None)).with_distance(20.0)
    d = res.to_dict()
    json.dumps(d, allow_nan=False)
    for key in ("rate_hz", "mean_fidelity", "fidelity_ci95", "mean_waiting_time_s", "secret_key_fraction",
                "plob_bound", "tgw_bound", "beats_plob", "engine", "truncation_error"):
        assert key in d
    assert d["plob_bound"] == pytest.approx(-math.log2(1 - 10 ** (-0.4)))
    assert d["beats_plob"] == (res.key_bits_per_channel_use > res.plob_bound)
    # key rate against closed forms of both factors (perfect memories, deterministic ideal swap):
    # rate = 1 / E[max of two geometrics] = p(2 − p)/((3 − 2p) τ); the swapped pair is Werner with
    # parameter w0², so both QBERs are (1 − w0²)/2 and the BB84 fraction is 1 − 2 h(e).
    p = 0.2
    ideal = run_exact(ChainSpec(abstract_link(p, TAU, 0.99, math.inf), 2, SwapModel(), None))
    w0 = (4 * 0.99 - 1) / 3
    e = (1 - w0**2) / 2
    h = -e * math.log2(e) - (1 - e) * math.log2(1 - e)
    assert ideal.secret_key_rate_bps == pytest.approx(p * (2 - p) / ((3 - 2 * p) * TAU) * (1 - 2 * h), rel=1e-7)
    # a long lossless-memory chain beats PLOB at 400 km, a short one does not beat it at 2 km
    far = run_exact(ChainSpec(abstract_link(0.2, TAU, 0.999, math.inf), 8, SwapModel(), None)).with_distance(400)
    assert far.beats_plob is True
    near = run_exact(ChainSpec(abstract_link(0.2, TAU, 0.999, math.inf), 1, SwapModel(), None)).with_distance(2)
    assert near.beats_plob is False


def test_bb84_key_fraction():
    assert bb84_key_fraction(werner(1.0)) == pytest.approx(1.0)
    f = 0.9
    e = 2 * (1 - f) / 3
    h = -e * math.log2(e) - (1 - e) * math.log2(1 - e)
    assert bb84_key_fraction(werner(f)) == pytest.approx(1 - 2 * h)
    assert bb84_key_fraction(werner(0.8)) == 0.0  # QBER 13.3 % > 11 %


@pytest.mark.parametrize(
    "kwargs,field",
    [
        ({"segments": 3}, "segments"),
        ({"segments": 0}, "segments"),
        ({"cutoff_s": 0.0}, "cutoff_s"),
        ({"multiplex": 0}, "multiplex"),
        ({"schedule": "eager"}, "schedule"),
        ({"purification": "magic"}, "purification"),
        ({"purification": "dejmps", "purification_rounds": 0}, "purification_rounds"),
    ],
)
def test_invalid_specs_raise_parameter_error(kwargs, field):
    link = abstract_link(0.1, TAU, 0.9, 1.0)
    args = {"segments": 2, **kwargs}
    with pytest.raises(ParameterError) as info:
        ChainSpec(link, **args)
    assert info.value.field == field
    assert info.value.value == args.get(field, kwargs.get(field))
    assert "allowed" in str(info.value) and info.value.allowed


@pytest.mark.parametrize(
    "call,field",
    [
        (lambda: abstract_link(1.5, TAU, 0.9, 1.0), "success_probability"),
        (lambda: abstract_link(0.0, TAU, 0.9, 1.0), "success_probability"),
        (lambda: abstract_link(0.1, -1.0, 0.9, 1.0), "attempt_duration_s"),
        (lambda: abstract_link(0.1, TAU, 1.2, 1.0), "fresh_fidelity"),
        (lambda: SwapModel(success_probability=-0.1), "swap.success_probability"),
        (lambda: SwapModel(gate_fidelity=2.0), "swap.gate_fidelity"),
    ],
)
def test_invalid_link_and_swap_raise(call, field):
    with pytest.raises(ParameterError) as info:
        call()
    assert info.value.field == field
