"""Photons through the filter cascade (spectral overlap) and length-dependent residual phase noise.

Independent checks: the photon's linewidth from a numerical Fourier transform of its wave packet;
the cascade's photon transmission against closed forms (Lorentzian and Airy filters) and against a
Monte-Carlo average over photon frequencies; the servo's residual phase variance against a time-domain
simulation of the delayed integrating loop.
"""

import dataclasses
import math

import numpy as np
import pytest
from scipy.integrate import quad

from qrepeater.builders import link_hardware
from qrepeater.config import build_scenario, load_preset
from qrepeater.errors import ParameterError
from qrepeater.physics.conversion import (
    FilterCascade,
    FilterStage,
    lorentzian_photon_spectrum,
    lorentzian_photon_through_airy,
    lorentzian_photon_through_lorentzian,
)
from qrepeater.physics.emission import IonPhotonSource
from qrepeater.physics.fiber import Fiber, PhaseStabilisation, fit_fiber_phase_noise_level
from qrepeater.physics.phase_servo import (
    delayed_servo_residual_integral,
    optimal_delay_bandwidth_product,
    servo_bandwidth_hz,
    stabilised_fiber_phase_variance_rad2,
)

TAU_P32_S = 7.45e-9  # 40Ca+ P3/2 decay time [S]


# --- the photon's spectrum ----------------------------------------------------------------------------
def test_emission_linewidth_from_fourier_transform_of_the_wave_packet():
    """1/(2πτ) = 21.4 MHz, against the FWHM of |FT|² of the amplitude e^{−t/2τ} (no formula used)."""
    source = IonPhotonSource(excited_state_decay_time_s=TAU_P32_S)
    dt = TAU_P32_S / 40
    t = np.arange(0, 80 * TAU_P32_S, dt)
    amplitude = np.exp(-t / (2 * TAU_P32_S))
    n = 1 << 22
    power = np.abs(np.fft.rfft(amplitude, n)) ** 2
    nu = np.fft.rfftfreq(n, dt)
    half = power[0] / 2
    i = np.argmax(power < half)  # first sample below half maximum; interpolate the crossing
    nu_half = nu[i - 1] + (half - power[i - 1]) * (nu[i] - nu[i - 1]) / (power[i] - power[i - 1])
    assert source.emission_linewidth_hz == pytest.approx(2 * nu_half, rel=2e-3)
    assert source.emission_linewidth_hz == pytest.approx(21.36e6, rel=1e-3)


def test_lorentzian_through_lorentzian_closed_form_matches_the_integral():
    gamma_p, gamma_f, peak = 21.4e6, 40e6, 0.8

    def filt(nu):
        return peak / (1 + (2 * nu / gamma_f) ** 2)

    mhz = 1e6  # integrate in MHz so the quadrature sees numbers of order one
    integral = 2 * quad(lambda x: mhz * lorentzian_photon_spectrum(x * mhz, gamma_p) * filt(x * mhz), 0, np.inf, epsabs=1e-14, epsrel=1e-11, limit=500)[0]
    assert lorentzian_photon_through_lorentzian(gamma_p, gamma_f, peak) == pytest.approx(integral, rel=1e-9)
    assert lorentzian_photon_through_lorentzian(gamma_p, gamma_f) == pytest.approx(40 / 61.4, rel=1e-12)


def test_lorentzian_overlap_equals_the_energy_of_the_filtered_wave_packet():
    """Time domain: a filter of FWHM Γ_f (field impulse response πΓ_f·e^{−πΓ_f t}) driven by the packet
    e^{−t/2τ} passes the energy fraction Γ_f/(Γ_f + Γ_p) — the closed form, from the other domain."""
    tau, gamma_f = TAU_P32_S, 40e6
    a, g = 1 / (2 * tau), math.pi * gamma_f
    t = np.linspace(0, 600e-9, 600_001)
    filtered = g * (np.exp(-a * t) - np.exp(-g * t)) / (g - a)
    ratio = np.trapezoid(filtered**2, t) / np.trapezoid(np.exp(-2 * a * t), t)
    gamma_p = IonPhotonSource(excited_state_decay_time_s=tau).emission_linewidth_hz
    assert lorentzian_photon_through_lorentzian(gamma_p, gamma_f) == pytest.approx(ratio, rel=1e-5)


def test_airy_closed_form_matches_the_cascade_integral_and_its_lorentzian_limit():
    gamma_p = 21.36e6
    for fsr in (1e9, 5.5e9):
        etalon = FilterStage("etalon", "airy", 40e6, 0.7, fsr)
        window = FilterStage("window", "flat", 16 * fsr, 1.0)  # wide: passes the photon's wings
        numeric = FilterCascade((window, etalon)).photon_transmission(gamma_p)
        # the window cuts the Lorentzian wings beyond ±8 FSR: mass 2/π·arctan-tail ≈ γ/(π·8FSR), at T ≤ peak
        assert numeric == pytest.approx(lorentzian_photon_through_airy(gamma_p, etalon), rel=2e-4)
    # FSR ≫ FWHM: the etalon's order is a Lorentzian of the same FWHM
    lone = FilterStage("etalon", "airy", 40e6, 1.0, 1e13)
    assert lorentzian_photon_through_airy(gamma_p, lone) == pytest.approx(lorentzian_photon_through_lorentzian(gamma_p, 40e6), rel=1e-4)


def test_reference_cascade_photon_transmission_by_monte_carlo():
    """Average the cascade's transmission over photon frequencies drawn from the Lorentzian."""
    hw = link_hardware(load_preset("ustc2026"))
    cascade = hw.node_a.converter.filters
    gamma_p = hw.node_a.source.emission_linewidth_hz
    rng = np.random.default_rng(20260211)
    nu = rng.standard_cauchy(2_000_000) * gamma_p / 2
    samples = cascade.transmission_spectrum(nu)
    mc, err = samples.mean(), samples.std() / math.sqrt(nu.size)
    got = cascade.photon_transmission(gamma_p)
    assert got == pytest.approx(mc, abs=4 * err)
    # peak product (fitted to the 28 % [P]) × 0.652 etalon overlap: the photon sees ≈ 0.65 of it
    assert cascade.peak_transmission == pytest.approx(math.prod(st.peak_transmission for st in cascade.stages), rel=1e-12)
    assert got == pytest.approx(cascade.peak_transmission * 0.6519, rel=2e-3)
    assert hw.filter_photon_transmission("a") == pytest.approx(got, rel=1e-12)


def test_zero_linewidth_photon_sees_the_peak_product():
    cascade = link_hardware(load_preset("ustc2026")).node_a.converter.filters
    assert cascade.photon_transmission(0.0) == cascade.peak_transmission
    narrow = cascade.photon_transmission(1e3)  # 1 kHz ≪ 40 MHz: Γ_f/(Γ_f + Γ_p) → 1
    assert narrow == pytest.approx(cascade.peak_transmission * 40e6 / (40e6 + 1e3), rel=1e-6)


def test_link_efficiency_uses_the_photon_transmission():
    hw = link_hardware(load_preset("ustc2026"))
    conv, src = hw.node_a.converter, hw.node_a.source
    ratio = hw.filter_photon_transmission("a") / conv.filter_transmission
    laser = hw.module_to_detector_efficiency("a", probe="laser")
    assert laser == pytest.approx(conv.external_efficiency * conv.filters.peak_transmission * 10 ** (-0.1) * hw.detector.efficiency, rel=1e-6)
    assert hw.module_to_detector_efficiency("a") == pytest.approx(laser * ratio, rel=1e-12)
    eta = src.fiber_coupled_efficiency * conv.external_efficiency * hw.filter_photon_transmission("a")
    eta *= 10 ** (-0.1) * hw.detector.efficiency * (1 - math.exp(-hw.detector.detection_window_s / src.excited_state_decay_time_s))
    assert hw.arm_efficiency("a") == pytest.approx(eta, rel=1e-12)
    with pytest.raises(ParameterError, match="probe"):
        hw.module_to_detector_efficiency("a", probe="lamp")


def test_conversion_noise_at_the_detectors_of_the_10km_link():
    """35 counts/s after the cascade, through 5 km (0.2 dB/km) and the 72 % detectors: ≈ 20 counts/s."""
    hw = link_hardware(load_preset("ustc2026"))
    got = hw.conversion_noise_at_detectors_hz("a")
    assert got == pytest.approx(hw.node_a.converter.noise_counts_per_s * 10 ** (-0.1) * 0.72, rel=1e-12)
    assert 19.0 < got < 21.5  # vs 9.6 counts/s [S]: the model is ×2.1 (÷2 per detector: 10)
    assert hw.detected_noise_rate_hz() == pytest.approx(got + hw.conversion_noise_at_detectors_hz("b") + 2 * hw.detector.dark_count_rate_hz)


# --- the phase servo ----------------------------------------------------------------------------------
def test_servo_integral_limits():
    assert delayed_servo_residual_integral(0.0) == pytest.approx(math.pi / 2, rel=1e-7)
    # small delay: J(u) = π/2 + π²u + O(u²)
    u = 1e-4
    slope = (delayed_servo_residual_integral(u) - delayed_servo_residual_integral(0.0)) / u
    assert slope == pytest.approx(math.pi**2, rel=2e-3)
    with pytest.raises(ParameterError, match="unstable"):
        delayed_servo_residual_integral(0.25)


def test_optimal_bandwidth_minimises_the_residual_at_fixed_delay():
    u_star = optimal_delay_bandwidth_product()
    assert 0.10 < u_star < 0.13
    best = delayed_servo_residual_integral(u_star) / u_star
    for u in (0.5 * u_star, 0.9 * u_star, 1.1 * u_star, 0.24):
        assert delayed_servo_residual_integral(u) / u > best
    assert servo_bandwidth_hz(1e9, 1e-3) == pytest.approx(u_star / 1e-3)
    assert servo_bandwidth_hz(100.0, 1e-3) == 100.0


def _simulate_loop_variance(h, f_c, tau, seed, dt=0.002, trajectories=300, burn_s=20.0, measure_s=150.0):
    """Time-domain loop: Wiener fibre phase N (one-sided PSD h/f², i.e. diffusion 2π²h), error e = N + b,
    actuator seen at the station db/dt = −2π f_c e(t − τ); returns the stationary ⟨e²⟩."""
    rng = np.random.default_rng(seed)
    lag = int(round(tau / dt))
    gain = 2 * math.pi * f_c * dt
    history = np.zeros((lag + 1, trajectories))
    n_phase = np.zeros(trajectories)
    actuator = np.zeros(trajectories)
    step_sd = math.sqrt(2 * math.pi**2 * h * dt)
    total, count = 0.0, 0
    burn = int(burn_s / dt)
    for k in range(burn + int(measure_s / dt)):
        e = n_phase + actuator
        history[k % (lag + 1)] = e
        actuator = actuator - gain * history[(k - lag) % (lag + 1)]
        n_phase = n_phase + step_sd * rng.standard_normal(trajectories)
        if k >= burn:
            total += float(e @ e)
            count += trajectories
    return total / count


@pytest.mark.parametrize("u", [0.1, 0.2])
def test_residual_variance_matches_a_time_domain_simulation_of_the_loop(u):
    h, f_c = 1.0, 1.0
    tau = u / f_c
    simulated = _simulate_loop_variance(h, f_c, tau, seed=11)
    model = h * delayed_servo_residual_integral(u) / f_c  # (hL/f_c)·J(f_c τ)
    assert simulated == pytest.approx(model, rel=0.03)
    if u < optimal_delay_bandwidth_product():  # the actuator limit f_c is below u*/τ, so f_c is used
        assert stabilised_fiber_phase_variance_rad2(h, f_c, tau) == pytest.approx(model, rel=1e-12)


def test_residual_grows_with_length_and_delay():
    fiber = Fiber()
    phase = PhaseStabilisation(fiber_phase_noise_rad2_per_hz_per_km=1.0, stabilisation_bandwidth_hz=50.0, servo_latency_s=0.0)

    def variance(total_km, **changes):
        p = dataclasses.replace(phase, **changes).for_arms((total_km / 2,) * 2, (fiber.delay_s(total_km / 2),) * 2)
        return p.fiber_residual_rms_rad**2

    # bandwidth-limited (station-side actuator, no delay): σ² = π h L / (2 f_c), exactly ∝ L
    assert variance(10, correction_at_node=False) == pytest.approx(math.pi * 10 / (2 * 50.0), rel=1e-7)
    assert variance(100, correction_at_node=False) / variance(10, correction_at_node=False) == pytest.approx(10, rel=1e-9)
    # delay-limited (fast actuator, correction returned to the node): σ² = (J(u*)/u*)·h·L·τ ∝ L²
    fast = {"stabilisation_bandwidth_hz": 1e7}
    ratio = variance(100, **fast) / variance(10, **fast)
    assert ratio == pytest.approx(100, rel=1e-6)
    u_star = optimal_delay_bandwidth_product()
    tau_10 = 2 * fiber.delay_s(5)
    assert variance(10, **fast) == pytest.approx(2 * 5 * tau_10 * delayed_servo_residual_integral(u_star) / u_star, rel=1e-9)
    # more latency (longer loop) only adds noise
    assert variance(10, servo_latency_s=20e-6) > variance(10)


def test_fixed_residual_overrides_the_spectral_model():
    fixed = PhaseStabilisation(0.3, 1.0, 0.0).for_arms((50.0, 50.0), (2.4e-4, 2.4e-4))
    assert fixed.fiber_residual_rms_rad == 0.3
    assert PhaseStabilisation().fiber_residual_rms_rad == 0.0  # no arms, no fibre noise


# --- the reference preset -----------------------------------------------------------------------------
def test_fitted_level_reproduces_the_contrast_it_was_fitted_to():
    """fit_fiber_phase_noise_level inverts the servo model: the level it returns for a target contrast
    gives that contrast back (the preset's level itself is the output of `qrepeater calibrate`)."""
    hw = link_hardware(load_preset("ustc2026"))
    level = fit_fiber_phase_noise_level(hw.phase, 0.986)
    refit = dataclasses.replace(hw.phase, fiber_phase_noise_rad2_per_hz_per_km=level)
    assert refit.interference_contrast == pytest.approx(0.986, rel=1e-9)
    assert hw.phase.interference_contrast == pytest.approx(0.986, abs=0.005)  # [P], within its error bar


def test_101km_contrast_is_a_prediction_from_the_length_dependence():
    near = link_hardware(build_scenario("ustc2026"))
    far = link_hardware(build_scenario("ustc2026", overrides=["link.length_km=101"]))
    assert far.fiber_residual_phase_noise_rad > 5 * near.fiber_residual_phase_noise_rad
    assert far.phase.interference_contrast < near.phase.interference_contrast
    # the heralded state's coherence carries it (spep_link uses the link's own phase)
    assert far.phase.state_coherence / near.phase.state_coherence == pytest.approx(
        math.exp(-0.5 * (far.fiber_residual_phase_noise_rad**2 - near.fiber_residual_phase_noise_rad**2)), rel=1e-12
    )
