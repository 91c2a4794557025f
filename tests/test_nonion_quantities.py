"""Model quantities of the non-ion experiments (munich2022, vanleent2022, delft2018), checked against
closed forms evaluated by hand, not against the implementation's own expressions."""

from __future__ import annotations

import math

import pytest

from qrepeater.config import preset_data
from qrepeater.validation.quantities import HARDWARE, Evaluation


def _point(preset: str, overrides: tuple[str, ...] = ()):
    ev = Evaluation(preset_data(preset), {"main": overrides})
    return ev.at("main"), ev


def _h(x: float) -> float:
    return -x * math.log2(x) - (1 - x) * math.log2(1 - x)


def test_measured_fidelity_is_the_depolarised_werner_fidelity():
    """A Werner pair stored for t in a depolarising memory of 1/e time T: F(t) = 1/4 + (F0 − 1/4)e^(−t/T)."""
    p, ev = _point("vanleent2022", ("link.fresh_fidelity=0.9", "memory.coherence_time_s=100e-6", "qkd.measurement_delay_s=50e-6"))
    assert HARDWARE["measured_fidelity"](p, ev) == pytest.approx(0.25 + 0.65 * math.exp(-0.5), rel=1e-12)


def test_measured_fidelity_counts_readout_errors():
    """Readout error e on each side shrinks every correlator by (1 − 2e)²: F = (1 + 3(1 − 2e)²w)/4."""
    p, ev = _point("munich2022", ("link.fresh_fidelity=1.0", "qkd.measurement_delay_s=0", "qkd.readout_error=0.05"))
    assert HARDWARE["measured_fidelity"](p, ev) == pytest.approx((1 + 3 * 0.81) / 4, rel=1e-12)


def test_unclipped_pironio_rate_of_a_werner_pair_by_hand():
    """Werner F = 0.95: w = 0.9333, S = 2√2 w, Q = (1 − w)/2; r = 1 − h(Q) − h((1 + √((S/2)² − 1))/2).
    At F = 0.85 the same expression is negative and must not be clipped."""
    for f in (0.95, 0.85):
        w = (4 * f - 1) / 3
        s, q = 2 * math.sqrt(2) * w, (1 - w) / 2
        by_hand = 1 - _h(q) - _h((1 + math.sqrt((s / 2) ** 2 - 1)) / 2)
        p, ev = _point("munich2022", (f"link.fresh_fidelity={f}", "qkd.measurement_delay_s=0"))
        assert HARDWARE["pironio_rate_unclipped"](p, ev) == pytest.approx(by_hand, abs=1e-9)
    assert by_hand < 0


def test_two_photon_rate_moved_along_the_fibre():
    """From 33 km (p = 1e-6, T = 100 µs) to 13 km at 0.2 dB/km: p × 10^(0.4) and T − 10 km × 1.5/c."""
    p, ev = _point("vanleent2022", ("link.success_probability=1e-6", "link.attempt_duration_s=100e-6"))
    f = HARDWARE["two_photon_rate_hz_at_length"]
    assert f(p, ev, length_km=33.0, attenuation_db_per_km=0.2, group_index=1.5) == pytest.approx(1e-6 / 100e-6)
    expected = 1e-6 * 10 ** 0.4 / (100e-6 - 10.0 * 1.5 / 299_792.458)
    assert f(p, ev, length_km=13.0, attenuation_db_per_km=0.2, group_index=1.5) == pytest.approx(expected, rel=1e-12)


def test_spi_scaling_between_bright_state_populations():
    """Rate ∝ α and fidelity ∝ 1 − α: from α = 0.3 (F = 0.6, p = 2.4e-4 per 5.5 µs) to α = 0.1."""
    p, ev = _point("delft2018", ("link.fresh_fidelity=0.6",))
    args = {"bright_state_population": 0.1, "reference_bright_state_population": 0.3}
    assert HARDWARE["spi_rate_hz"](p, ev, **args) == pytest.approx(2.4e-4 / 5.5e-6 / 3, rel=1e-12)
    assert HARDWARE["spi_heralded_fidelity"](p, ev, **args) == pytest.approx(0.6 * 0.9 / 0.7, rel=1e-12)
