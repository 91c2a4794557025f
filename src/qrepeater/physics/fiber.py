"""Optical fibre: attenuation, propagation delay, and phase stability of an interferometric link."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

from ..errors import ParameterError, check_range
from .constants import SPEED_OF_LIGHT_M_PER_S
from .phase_servo import stabilised_fiber_phase_variance_rad2


def transmission_from_db(loss_db):
    """Power transmission for a loss in dB: 10^(−dB/10)."""
    return 10.0 ** (-loss_db / 10.0)


#: Longest fibre distance accepted as input (km): Earth's equatorial circumference.  Beyond it nothing
#: terrestrial is modelled and derived figures (servo delay × bandwidth, loss in dB) overflow.
MAX_FIBRE_KM = 40_075.0


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
    weak 393 nm reference during Doppler cooling (TDM), all from one shared laser system [P/S].

    The rms residual of the stabilised fibre arms is computed for the arms of the link
    (:mod:`qrepeater.physics.phase_servo`): each arm of length L has free-running phase noise of
    one-sided spectrum S(f) = h·L/f² (``fiber_phase_noise_rad2_per_hz_per_km`` = h, the level at 1 Hz
    per km), suppressed by an integrating servo whose correction arrives after the loop delay
    τ = (reference flight to the station + return of the correction over the herald channel, if the
    correction is applied at the node) + ``servo_latency_s``. The servo runs at the smaller of
    ``stabilisation_bandwidth_hz`` and the bandwidth that minimises the residual for its delay. The
    residual variance is h·L·J(f_c τ)/f_c: it grows with the length and with delay × bandwidth.

    Parameters
    ----------
    fiber_residual_phase_noise_rad : float or None
        A fixed rms residual of the fibre arms (rad) that replaces the spectral model, for studies that
        hold it constant; ``None`` (default) computes it for the link's arms. Not offered in the
        scenario configuration.
    mode_overlap : float
        Indistinguishability of the two photons' spatio-temporal/spectral modes (dimensionless).
    local_residual_phase_noise_rad : float
        rms residual phase error of the excitation/free-space paths between TDM reference samples
        (rad); reduces the coherence of the heralded ion-ion state but not the optical contrast.
    fiber_phase_noise_rad2_per_hz_per_km : float
        Level h (rad²/Hz at 1 Hz, per km of fibre) of the free-running fibre phase noise S(f) = h·L/f².
        Not published; the default is the value fitted to the 10 km contrast (see the preset).
    stabilisation_bandwidth_hz : float
        Largest unity-gain frequency of the fibre-phase servo (actuator limit, Hz); not published.
    servo_latency_s : float
        Electronic latency of the servo (s), added to the propagation delays; not published.
    correction_at_node : bool
        True: the error measured at the station is applied at the node, so the loop delay includes the
        reference's flight to the station and the correction's return over the herald channel (emulated
        electrically in the reference). False: a station-side actuator (loop delay = latency only).
    arm_lengths_km, arm_delays_s : tuple of float
        Lengths (km) and one-way fibre delays (s) of the stabilised arms; set by the link
        (:class:`qrepeater.links.heralding.LinkHardware`). No arms: no fibre phase noise.

    Notes
    -----
    Interference contrast V = mode_overlap · exp(−σ_fiber²/2) (the 0.986 ± 0.005 of the reference is
    this optical contrast); the ion-ion coherence is V · exp(−σ_local²/2).
    """

    fiber_residual_phase_noise_rad: float | None = None
    mode_overlap: float = 0.993
    local_residual_phase_noise_rad: float = 0.0
    fiber_phase_noise_rad2_per_hz_per_km: float = 0.666189
    stabilisation_bandwidth_hz: float = 1e3
    servo_latency_s: float = 1e-6
    correction_at_node: bool = True
    arm_lengths_km: tuple[float, ...] = ()
    arm_delays_s: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        if self.fiber_residual_phase_noise_rad is not None:
            check_range("fiber_residual_phase_noise_rad", self.fiber_residual_phase_noise_rad, 0, None)
        check_range("mode_overlap", self.mode_overlap, 0, 1)
        check_range("local_residual_phase_noise_rad", self.local_residual_phase_noise_rad, 0, None)
        check_range("fiber_phase_noise_rad2_per_hz_per_km", self.fiber_phase_noise_rad2_per_hz_per_km, 0, None)
        check_range("stabilisation_bandwidth_hz", self.stabilisation_bandwidth_hz, 0, None, low_inclusive=False)
        check_range("servo_latency_s", self.servo_latency_s, 0, None)
        if len(self.arm_lengths_km) != len(self.arm_delays_s):
            raise ParameterError("arm_delays_s", self.arm_delays_s, f"one delay per arm ({len(self.arm_lengths_km)} arms)")
        for length, delay in zip(self.arm_lengths_km, self.arm_delays_s):
            check_range("arm length (km)", length, 0, None)
            check_range("arm delay (s)", delay, 0, None)

    def for_arms(self, arm_lengths_km, arm_delays_s) -> "PhaseStabilisation":
        """The same stabilisation applied to fibre arms of these lengths (km) and one-way delays (s)."""
        return dataclasses.replace(self, arm_lengths_km=tuple(map(float, arm_lengths_km)), arm_delays_s=tuple(map(float, arm_delays_s)))

    def loop_delay_s(self, arm_delay_s: float) -> float:
        """Loop delay (s) of the servo of an arm with one-way fibre delay ``arm_delay_s``."""
        return (2.0 * arm_delay_s if self.correction_at_node else 0.0) + self.servo_latency_s

    def arm_residual_phase_variance_rad2(self, length_km: float, arm_delay_s: float) -> float:
        """Residual phase variance (rad²) of one stabilised arm (see the class docstring)."""
        return stabilised_fiber_phase_variance_rad2(
            self.fiber_phase_noise_rad2_per_hz_per_km * length_km, self.stabilisation_bandwidth_hz, self.loop_delay_s(arm_delay_s)
        )

    @property
    def fiber_residual_rms_rad(self) -> float:
        """rms residual phase (rad) of the two arms' difference (independent arms: variances add)."""
        if self.fiber_residual_phase_noise_rad is not None:
            return self.fiber_residual_phase_noise_rad
        return math.sqrt(sum(self.arm_residual_phase_variance_rad2(l, d) for l, d in zip(self.arm_lengths_km, self.arm_delays_s)))

    @property
    def interference_contrast(self) -> float:
        """Optical interference contrast of the two arms at the heralding station."""
        return self.mode_overlap * gaussian_phase_coherence(self.fiber_residual_rms_rad)

    @property
    def state_coherence(self) -> float:
        """Factor on the heralded state's coherence (⟨XX⟩, ⟨YY⟩) from all phase noise and mode mismatch."""
        return self.interference_contrast * gaussian_phase_coherence(self.local_residual_phase_noise_rad)


def fit_fiber_phase_noise_level(phase: PhaseStabilisation, target_contrast: float) -> float:
    """Fibre phase-noise level h (rad²/Hz at 1 Hz per km) that gives ``phase`` the contrast ``target_contrast``.

    The residual variance is proportional to h, so h = σ²_target / σ²(h = 1) with
    σ²_target = −2 ln(V / mode_overlap). ``phase`` must carry its arms (:meth:`PhaseStabilisation.for_arms`).
    This is how the preset's level is fitted to the reference's 10 km contrast.
    """
    check_range("target_contrast", target_contrast, 0, phase.mode_overlap, low_inclusive=False)
    unit = dataclasses.replace(phase, fiber_residual_phase_noise_rad=None, fiber_phase_noise_rad2_per_hz_per_km=1.0)
    per_unit = unit.fiber_residual_rms_rad**2
    if per_unit <= 0:
        raise ParameterError("arm_lengths_km", phase.arm_lengths_km, "at least one fibre arm of positive length")
    return -2.0 * math.log(target_contrast / phase.mode_overlap) / per_unit


def independent_laser_coherence(linewidth_hz: float, delay_s: float) -> float:
    """Coherence ⟨cos Δφ⟩ between two free-running lasers with Lorentzian linewidth after a delay.

    Two independent lasers of FWHM ``linewidth_hz`` each accumulate Wiener phase noise with variance
    2π·Δν·τ per laser; their difference has variance 4π·Δν·τ, so ⟨cos Δφ⟩ = exp(−2π·Δν·τ).
    """
    check_range("linewidth_hz", linewidth_hz, 0, None)
    check_range("delay_s", delay_s, 0, None)
    return math.exp(-2.0 * math.pi * linewidth_hz * delay_s)
