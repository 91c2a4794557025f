"""The scipy-free numerics on the ``qrepeater link`` path agree with scipy's (issue 16, instant commands).

``qrepeater link`` no longer imports scipy: the filter overlap and the servo integral use an adaptive
Gauss–Legendre rule on numpy arrays, the best deterministic-delivery fidelity its closed form, the
time above F = 1/2 a bisection, and the servo's optimal delay × bandwidth a stored constant. Each is
compared here with the scipy routine it replaced (``quad``, ``minimize_scalar``, ``brentq``) applied to
the model's definition, at a stated tolerance; and the link command is checked to load no scipy.
"""

import math
import subprocess
import sys

import numpy as np
import pytest
from scipy.integrate import quad
from scipy.optimize import brentq, minimize_scalar

from qrepeater.builders import link_hardware
from qrepeater.config import load_preset
from qrepeater.links.delivery import delivered_fidelity, humphreys_delivery_fidelity
from qrepeater.links.storage import stored_fidelity, time_above_fidelity
from qrepeater.physics.conversion import FilterCascade, FilterStage, lorentzian_photon_spectrum
from qrepeater.physics.phase_servo import (
    OPTIMAL_DELAY_BANDWIDTH_PRODUCT,
    _TAIL_START,
    delayed_servo_residual_integral,
)
from qrepeater.physics.quadrature import integrate_pieces
from qrepeater.states import BellDiagonal


def _quad_servo_integral(u: float) -> float:
    """J(u) with scipy quad on the pieces the package used before (half an oscillation period each)."""
    step = min(0.5 / u, 50.0) if u > 0 else 50.0
    edges = np.unique(np.concatenate([np.linspace(0.0, 4.0, 41), np.arange(4.0, _TAIL_START, step), [_TAIL_START]]))

    def integrand(x):
        return 1.0 / (x * x + 1.0 - 2.0 * x * math.sin(2.0 * math.pi * u * x))

    return sum(quad(integrand, a, b, limit=200, epsabs=1e-13, epsrel=1e-11)[0] for a, b in zip(edges[:-1], edges[1:])) + 1.0 / _TAIL_START


@pytest.mark.parametrize("u", [0.0, 1e-4, 0.05, 0.1176, 0.2, 0.249])
def test_servo_integral_matches_scipy_quad(u):
    assert delayed_servo_residual_integral(u) == pytest.approx(_quad_servo_integral(u), rel=1e-10)


def test_stored_optimal_delay_bandwidth_product_is_scipys_minimum():
    res = minimize_scalar(lambda u: _quad_servo_integral(u) / u, bounds=(1e-3, 0.249), method="bounded", options={"xatol": 1e-9})
    assert OPTIMAL_DELAY_BANDWIDTH_PRODUCT == pytest.approx(res.x, abs=1e-8)


def _quad_photon_transmission(stages, linewidth_hz: float) -> float:
    """∫S(ν)T(ν)dν by scipy quad (an independent integrator) on the same piece boundaries."""
    cascade = FilterCascade(stages)
    edges = cascade._overlap_break_points_hz(linewidth_hz)

    def integrand(nu):
        return float(lorentzian_photon_spectrum(nu, linewidth_hz) * cascade.transmission_spectrum(np.array(nu)))

    return sum(quad(integrand, a, b, limit=400, epsabs=1e-14, epsrel=1e-10)[0] for a, b in zip(edges[:-1], edges[1:]))


CASCADES = {
    "reference": link_hardware(load_preset("ustc2026")).node_a.converter.filters.stages,
    "window+etalon": (FilterStage("window", "flat", 16e9, 1.0), FilterStage("etalon", "airy", 40e6, 0.7, 1e9)),
    "vbg+etalon": (FilterStage("vbg", "gaussian", 10e9, 0.9), FilterStage("etalon", "airy", 40e6, 0.8, 2e9)),
    "narrow": (FilterStage("window", "flat", 100e6, 0.9), FilterStage("etalon", "airy", 10e6, 0.8, 1e8)),
}


@pytest.mark.parametrize("name", sorted(CASCADES))
@pytest.mark.parametrize("linewidth_hz", [1e3, 21.36e6, 1e8])
def test_photon_transmission_matches_scipy_quad(name, linewidth_hz):
    got = FilterCascade(CASCADES[name])._integrate_photon_transmission(linewidth_hz)
    assert got == pytest.approx(_quad_photon_transmission(CASCADES[name], linewidth_hz), rel=1e-10)


def test_quadrature_exact_cases_and_refusal():
    assert integrate_pieces(np.cos, [0.0, 1.0, math.pi / 2]) == pytest.approx(1.0, rel=1e-14)
    # a peak of width 1e-4 between break points 0.5 apart: refined until it is resolved
    assert integrate_pieces(lambda x: 1e-4 / ((x - 0.3) ** 2 + 1e-8), [0.0, 0.5, 1.0]) == pytest.approx(
        math.atan(0.7e4) + math.atan(0.3e4), rel=1e-11
    )
    with pytest.raises(ArithmeticError):  # a pole: refinement stops and says so
        integrate_pieces(lambda x: 1.0 / x, [0.0, 1.0], max_pieces=1000)


@pytest.mark.parametrize("f0", [1.0, 0.8, 0.6, 0.2])
def test_best_delivery_fidelity_closed_form_is_the_numerical_maximum(f0):
    for x in (1e-3, 0.1, 0.83, 1.0 - 1e-10, 1.0, 1.0 + 1e-9, 1.2218, 7.0, 1e4):
        res = minimize_scalar(lambda log_s: -delivered_fidelity(x, math.exp(log_s), f0), bounds=(-12.0, 8.0), method="bounded", options={"xatol": 1e-11})
        assert humphreys_delivery_fidelity(x, f0) == pytest.approx(max(-res.fun, 0.25), abs=1e-10), x


def test_unentangled_fallback_other_than_a_quarter_still_maximised_numerically():
    x, f0, fallback = 1.5, 0.9, 0.3
    grid = np.exp(np.linspace(-8, 4, 200_001))
    brute = max(delivered_fidelity(x, s, f0, fallback) for s in grid[::50])
    assert humphreys_delivery_fidelity(x, f0, fallback) == pytest.approx(brute, abs=1e-6)


@pytest.mark.parametrize(
    ("correlators", "rates"),
    [((0.8, -0.8, 0.9), (2.0, 0.5)), ((0.6, -0.6, 0.7), (1.8216, 2.6541)), ((0.99, -0.97, 0.98), (1e-3, 3e-3)), ((0.9, -0.7, 0.6), (50.0, 1e4))],
)
def test_time_above_half_matches_brentq(correlators, rates):
    state = BellDiagonal.from_correlators(*correlators)
    horizon = 50.0 / min(rates)
    want = brentq(lambda t: stored_fidelity(state, t, *rates) - 0.5, 0.0, horizon, xtol=1e-13)
    assert time_above_fidelity(state, *rates, 0.5) == pytest.approx(want, abs=2e-12, rel=1e-13)


def test_link_command_loads_no_scipy():
    """`qrepeater link --json` (the command's code path, in a fresh interpreter) imports no scipy, numba or numpy.ma."""
    code = (
        "import sys; sys.argv = ['qrepeater', 'link', '--json']\n"
        "from qrepeater.cli.main import run\n"
        "try:\n    run()\nexcept SystemExit as e:\n    assert not e.code, e.code\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('scipy', 'numba') or m == 'numpy.ma' or m.startswith('numpy.ma.'))\n"
        "print('HEAVY', heavy, file=sys.stderr)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "HEAVY []" in out.stderr
    assert '"rate_hz"' in out.stdout


def test_exact_engine_fft_lengths_are_scipys():
    """The exact engine's FFT lengths (numpy.fft, no scipy import) are scipy.fft.next_fast_len's."""
    import scipy.fft

    from qrepeater.engines.exact_lattice import next_fast_len

    rng = np.random.default_rng(16)
    for target in [1, 2, 7, 11, 13, 97, 1000, 1001, 65537, *rng.integers(2, 10**7, 200).tolist()]:
        for real in (True, False):
            assert next_fast_len(target, real=real) == scipy.fft.next_fast_len(target, real=real), (target, real)


def test_exact_chain_command_loads_no_scipy():
    """`qrepeater chain ... --engine exact --json` (fresh interpreter) imports no scipy."""
    code = (
        "import sys; sys.argv = 'qrepeater chain --preset ustc2026 --segments 4 --distance-km 100 --engine exact --json'.split()\n"
        "from qrepeater.cli.main import run\n"
        "try:\n    run()\nexcept SystemExit as e:\n    assert not e.code, e.code\n"
        "print('HEAVY', sorted(m for m in sys.modules if m.split('.')[0] == 'scipy'), file=sys.stderr)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "HEAVY []" in out.stderr
