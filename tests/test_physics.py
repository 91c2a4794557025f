"""Component models against closed forms, limits and the reference sheet."""

import math

import numpy as np
import pytest

from qrepeater.errors import ParameterError
from qrepeater.physics.conversion import (
    FilterCascade,
    FilterStage,
    FrequencyConverter,
    bandwidth_nm_from_hz,
    difference_frequency_wavelength_m,
)
from qrepeater.physics.detectors import Detector
from qrepeater.physics.emission import IonPhotonSource, collection_solid_angle_fraction
from qrepeater.physics.fiber import Fiber, PhaseStabilisation, independent_laser_coherence
from qrepeater.physics.memory import IonMemory, dd_dephasing_rate_hz, pair_decay
from qrepeater.builders import link_hardware


# --- memory -----------------------------------------------------------------------------------------
from qrepeater.config import load_preset


# --- memory -----------------------------------------------------------------------------------------
def test_dd_dephasing_motional_narrowing_limit():
    # Δt ≫ τ_c: the pulses do nothing, Γ = σ² τ_c (motional narrowing).
    sigma, tau = 200.0, 1e-4
    assert dd_dephasing_rate_hz(sigma, tau, None) == pytest.approx(sigma**2 * tau)
    assert dd_dephasing_rate_hz(sigma, tau, 1.0) == pytest.approx(sigma**2 * tau, rel=2e-3)


def test_dd_dephasing_fast_pulse_limit():
    # Δt ≪ τ_c: Γ = σ² Δt² / (12 τ_c) (derived in the module docstring).
    sigma, tau, dt = 188.5, 0.05, 1e-4
    assert dd_dephasing_rate_hz(sigma, tau, dt) == pytest.approx(sigma**2 * dt**2 / (12 * tau), rel=1e-3)


def test_dd_dephasing_matches_ornstein_uhlenbeck_simulation():
    """Independent check: simulate OU frequency noise under periodic π pulses and fit the decay."""
    rng = np.random.default_rng(7)
    sigma, tau, dt_pulse = 1000.0, 2e-3, 1e-3
    step = 2e-5
    n_steps, n_traj = 5000, 4000  # 0.1 s
    a = math.exp(-step / tau)
    x = rng.normal(0, sigma, n_traj)
    phase = np.zeros(n_traj)
    t = 0.0
    for i in range(n_steps):
        sign = 1.0 if int(t / dt_pulse) % 2 == 0 else -1.0
        phase += sign * x * step
        x = a * x + math.sqrt(1 - a * a) * sigma * rng.standard_normal(n_traj)
        t += step
    measured = -math.log(np.mean(np.cos(phase))) / t
    model = dd_dephasing_rate_hz(sigma, tau, dt_pulse)
    assert measured == pytest.approx(model, rel=0.12)


def test_pair_coherence_time_of_reference_preset():
    hw = link_hardware(load_preset("ustc2026"))
    rates = pair_decay(hw.node_a.memory, hw.node_b.memory)
    assert rates.coherence_time_s == pytest.approx(0.550, abs=0.036)  # [P] 550 ± 36 ms (a calibration target)
    assert rates.memory_encoding == "optical"
    # Every rate against an explicit density-matrix simulation: tests/test_memory_master_equation.py.


def test_field_noise_leaves_populations_alone():
    # Limit: no storage-level decay, no pulse error: field noise dephases only, ⟨ZZ⟩ does not decay.
    for encoding in ("optical", "zeeman_d52"):
        m = IonMemory(storage_encoding=encoding, storage_level_lifetime_s=1e12, decoupling_error_per_pulse=0.0, field_noise_rms_rad_per_s=500.0)
        assert pair_decay(m, m).longitudinal_rate_hz == pytest.approx(0.0, abs=1e-11)
        assert pair_decay(m, m).transverse_rate_hz > 0.01


def test_full_pulse_error_accumulation_would_miss_reference():
    # With every [S] pulse error accumulating (weight 1) the pair coherence is below 550 − 36 ms:
    # the reason the weight is a calibrated parameter.
    a = IonMemory(decoupling_error_per_pulse=6.1e-4, pulse_error_dephasing_weight=1.0)
    b = IonMemory(decoupling_error_per_pulse=5.7e-4, pulse_error_dephasing_weight=1.0)
    assert pair_decay(a, b).coherence_time_s < 0.514


def test_memory_rejects_out_of_range():
    with pytest.raises(ParameterError, match="state_transfer_fidelity"):
        IonMemory(state_transfer_fidelity=1.2)
    with pytest.raises(ParameterError, match=r"storage_encoding = 'hyperfine'.*optical \| zeeman_d52"):
        IonMemory(storage_encoding="hyperfine")


# --- emission ---------------------------------------------------------------------------------------
def test_solid_angle_fraction():
    assert collection_solid_angle_fraction(1.0) == pytest.approx(0.5)  # a hemisphere
    # NA 0.5 is a 30° half-angle cone: (1 − cos 30°)/2 = (1 − √3/2)/2 = 0.066987...
    assert collection_solid_angle_fraction(0.5) == pytest.approx(0.0669872981, rel=1e-9)
    # independent: integrate the isotropic emission density sinθ/2 over the cone of the NA 0.635 objective
    theta = np.linspace(0.0, math.asin(0.635), 20001)
    assert collection_solid_angle_fraction(0.635) == pytest.approx(np.trapezoid(np.sin(theta) / 2, theta), rel=1e-8)


def test_fiber_coupled_efficiency_matches_reference():
    hw = link_hardware(load_preset("ustc2026"))
    assert hw.node_a.source.fiber_coupled_efficiency == pytest.approx(0.026, rel=1e-3)  # [S]
    assert hw.node_b.source.fiber_coupled_efficiency == pytest.approx(0.028, rel=1e-3)  # [S]


def test_window_capture():
    src = IonPhotonSource(excited_state_decay_time_s=7.45e-9)
    assert src.window_capture(7.45e-9) == pytest.approx(1 - math.exp(-1))


# --- conversion and filters -------------------------------------------------------------------------
def test_difference_frequency_wavelength():
    # 1/λ = 1/393 nm − 1/527 nm → 1545.6 nm (the "1550 nm" band).
    # reduced by hand: λ = 393·527/(527 − 393) nm = 207111/134 nm = 1545.604... nm
    lam = difference_frequency_wavelength_m(393e-9, 527e-9)
    assert lam == pytest.approx(207111 / 134 * 1e-9, rel=1e-12)
    assert 1540e-9 < lam < 1550e-9


def test_bandwidth_conversion():
    # 100 GHz at 1550 nm ≈ 0.8 nm (the ITU grid spacing).
    assert bandwidth_nm_from_hz(100e9, 1550e-9) == pytest.approx(0.8014, rel=1e-3)


def test_airy_noise_bandwidth_closed_form():
    # Over an integer number of free spectral ranges the mean Airy transmission is 1/√(1+K).
    fsr, fwhm = 1e9, 20e6
    etalon = FilterStage("e", "airy", fwhm, 1.0, fsr)
    window = FilterStage("w", "flat", 8 * fsr, 1.0)
    k = etalon.coefficient_of_finesse
    got = FilterCascade((window, etalon)).noise_bandwidth_hz()
    assert got == pytest.approx(8 * fsr / math.sqrt(1 + k), rel=2e-3)


def test_reference_cascade_gives_35_counts_at_28_percent():
    """[P]: 1.3e5 s⁻¹ nm⁻¹ through 100 GHz / 10 GHz / 40 MHz → ≈ 35 counts/s at 28 % transmission."""
    conv = link_hardware(load_preset("ustc2026")).node_a.converter
    assert conv.filter_transmission == pytest.approx(0.28, abs=0.02)
    assert conv.noise_counts_per_s == pytest.approx(35.0, rel=0.10)
    # Independent estimate: Lorentzian etalon orders (area π/2·FWHM each) weighted by the Gaussian VBG.
    stages = {s.name: s for s in conv.filters.stages}
    vbg, etalon = stages["volume-bragg-grating"], stages["etalon"]
    orders = np.arange(-10, 11) * etalon.free_spectral_range_hz
    weights = np.exp(-4 * math.log(2) * (orders / vbg.bandwidth_hz) ** 2)
    enbw_hz = weights.sum() * math.pi / 2 * etalon.bandwidth_hz * conv.filter_transmission
    estimate = 1.3e5 * bandwidth_nm_from_hz(enbw_hz, conv.output_wavelength_m)
    assert conv.noise_counts_per_s == pytest.approx(estimate, rel=0.05)


def test_noise_without_etalon_is_huge():
    # Sanity: the etalon is what brings the noise down by orders of magnitude.
    conv = FrequencyConverter(filters=FilterCascade((FilterStage("bp", "flat", 100e9, 0.9),)))
    # Independent: the flat 100 GHz passband around ν0 = c/λ0 spans the wavelengths c/(ν0 ∓ 50 GHz)
    # exactly (no small-bandwidth λ²Δν/c linearisation); 0.9 of S_λ over that interval.
    c = 299_792_458.0
    nu0 = c / (207111 / 134 * 1e-9)
    band_nm = (c / (nu0 - 50e9) - c / (nu0 + 50e9)) * 1e9
    assert conv.noise_counts_per_s == pytest.approx(1.3e5 * 0.9 * band_nm, rel=1e-5)  # ≈ 9.3e4 counts/s
    assert conv.noise_counts_per_s > 1000 * 35.0  # vs ≈ 35 counts/s with the reference cascade


def test_filter_stage_validation():
    with pytest.raises(ParameterError, match="free_spectral_range_hz"):
        FilterStage("e", "airy", 40e6, 0.5)
    with pytest.raises(ParameterError, match="peak_transmission"):
        FilterStage("f", "flat", 1e9, 1.5)


# --- fibre, phase, detectors ------------------------------------------------------------------------
def test_fiber_loss_and_delay():
    f = Fiber(attenuation_db_per_km=0.2, group_index=1.468)
    assert f.transmission(50) == pytest.approx(0.1)
    assert f.delay_s(10) == pytest.approx(48.9672e-6, rel=1e-5)  # ≈ 4.9 µs per km of SMF-28, by hand
    with pytest.raises(ParameterError, match="length_km"):
        f.transmission(-1)


def test_contrast_of_reference():
    phase = link_hardware(load_preset("ustc2026")).phase
    assert phase.interference_contrast == pytest.approx(0.986, abs=0.005)  # [P]
    assert PhaseStabilisation(0.0, 1.0, 0.0).interference_contrast == 1.0
    # Independent: ⟨cos φ⟩ over a Gaussian phase error, by Gauss–Hermite quadrature (no closed form used)
    x, w = np.polynomial.hermite_e.hermegauss(40)

    def mean_cos(rms):
        return float(np.sum(w * np.cos(rms * x)) / math.sqrt(2 * math.pi))

    assert PhaseStabilisation(0.3, 1.0, 0.0).interference_contrast == pytest.approx(mean_cos(0.3), rel=1e-12)
    assert PhaseStabilisation(0.3, 0.9, 0.0).interference_contrast == pytest.approx(0.9 * mean_cos(0.3), rel=1e-12)
    # local phase noise lowers the ion-ion coherence but not the optical contrast
    local = PhaseStabilisation(0.3, 0.9, 0.5)
    assert local.interference_contrast == pytest.approx(0.9 * mean_cos(0.3), rel=1e-12)
    assert local.state_coherence == pytest.approx(0.9 * mean_cos(0.3) * mean_cos(0.5), rel=1e-12)


def test_independent_laser_coherence():
    assert independent_laser_coherence(0.0, 1e-3) == 1.0
    # Independent (Wiener–Khinchin): each laser's field correlation is the Fourier transform of its
    # Lorentzian line (FWHM Δν); the two lasers are independent, so the beat coherence is the product.
    from scipy.integrate import quad

    fwhm, delay = 100.0, 1e-3
    def line(nu):  # Lorentzian, normalised on (−∞, ∞)
        return (fwhm / (2 * math.pi)) / (nu * nu + (fwhm / 2) ** 2)

    g_one, _ = quad(line, 0.0, np.inf, weight="cos", wvar=2 * math.pi * delay)
    assert independent_laser_coherence(fwhm, delay) == pytest.approx((2 * g_one) ** 2, rel=1e-7)


def test_detector_noise_probability_small_rate_limit():
    d = Detector(efficiency=0.8, dark_count_rate_hz=10.0, detection_window_s=50e-9)
    assert d.noise_click_probability(30.0) == pytest.approx(40.0 * 50e-9, rel=1e-5)
