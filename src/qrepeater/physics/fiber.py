"""Optical fibre: attenuation, propagation delay, and phase stability of an interferometric link."""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..errors import check_range
from .constants import SPEED_OF_LIGHT_M_PER_S


def transmission_from_db(loss_db):
    """Power transmission for a loss in dB: 10^(−dB/10)."""
    return 10.0 ** (-loss_db / 10.0)


@dataclass(frozen=True)
class Fiber:
    """Telecom fibre.

    Parameters
    ----------
    attenuation_db_per_km : float
        Loss at the signal wavelength (dB/km); 0.2 dB/km is standard SMF-28 at 1550 nm (not published
        for the reference link).
    group_index : float
        Group index of the guided mode (dimensionless); 1.468 for SMF-28 at 1550 nm.
    """

    attenuation_db_per_km: float = 0.2
    group_index: float = 1.468

    def __post_init__(self) -> None:
        check_range("attenuation_db_per_km", self.attenuation_db_per_km, 0, None)
        check_range("group_index", self.group_index, 1, None)

    def transmission(self, length_km: float) -> float:
        """Power transmission of ``length_km`` of fibre."""
        check_range("length_km", length_km, 0, None)
        return transmission_from_db(self.attenuation_db_per_km * length_km)

    def delay_s(self, length_km: float) -> float:
        """One-way propagation delay (s) over ``length_km``: L·n_g/c."""
        check_range("length_km", length_km, 0, None)
        return length_km * 1e3 * self.group_index / SPEED_OF_LIGHT_M_PER_S


def gaussian_phase_coherence(phase_noise_rms_rad):
    """⟨cos φ⟩ = exp(−σ²/2) for a Gaussian phase error of rms σ (rad)."""
    return math.exp(-0.5 * float(phase_noise_rms_rad) ** 2)


@dataclass(frozen=True)
class PhaseStabilisation:
    """Phase stability of a single-photon interferometric link.

    The SPEP heralded state carries the optical phase difference of the two arms. The reference
    stabilises the fibre arms with a 1548 nm reference (WDM) and the free-space/excitation paths with a
    weak 393 nm reference during Doppler cooling (TDM), all from one shared laser system.

    Parameters
    ----------
    fiber_residual_phase_noise_rad : float
        rms residual phase error of the actively stabilised fibre arms (rad).
    mode_overlap : float
        Indistinguishability of the two photons' spatio-temporal/spectral modes (dimensionless).
    local_residual_phase_noise_rad : float
        rms residual phase error of the excitation/free-space paths between TDM reference samples
        (rad); reduces the coherence of the heralded ion-ion state but not the optical contrast.

    Notes
    -----
    Interference contrast V = mode_overlap · exp(−σ_fiber²/2) (the 0.986 ± 0.005 of the reference is
    this optical contrast); the ion-ion coherence is V · exp(−σ_local²/2).
    """

    fiber_residual_phase_noise_rad: float = 0.12
    mode_overlap: float = 0.993
    local_residual_phase_noise_rad: float = 0.0

    def __post_init__(self) -> None:
        check_range("fiber_residual_phase_noise_rad", self.fiber_residual_phase_noise_rad, 0, None)
        check_range("mode_overlap", self.mode_overlap, 0, 1)
        check_range("local_residual_phase_noise_rad", self.local_residual_phase_noise_rad, 0, None)

    @property
    def interference_contrast(self) -> float:
        """Optical interference contrast of the two arms at the heralding station."""
        return self.mode_overlap * gaussian_phase_coherence(self.fiber_residual_phase_noise_rad)

    @property
    def state_coherence(self) -> float:
        """Factor on the heralded state's coherence (⟨XX⟩, ⟨YY⟩) from all phase noise and mode mismatch."""
        return self.interference_contrast * gaussian_phase_coherence(self.local_residual_phase_noise_rad)


def independent_laser_coherence(linewidth_hz: float, delay_s: float) -> float:
    """Coherence ⟨cos Δφ⟩ between two free-running lasers with Lorentzian linewidth after a delay.

    Two independent lasers of FWHM ``linewidth_hz`` each accumulate Wiener phase noise with variance
    2π·Δν·τ per laser; their difference has variance 4π·Δν·τ, so ⟨cos Δφ⟩ = exp(−2π·Δν·τ).
    """
    check_range("linewidth_hz", linewidth_hz, 0, None)
    check_range("delay_s", delay_s, 0, None)
    return math.exp(-2.0 * math.pi * linewidth_hz * delay_s)
