"""Independent laser systems per node and the interference contrast of a single-photon (SPEP) link.

The SPEP heralded state carries the relative optical phase of the two nodes' excitation lasers
(Humphreys et al., Nature 558, 268 (2018); the reference system, Liu et al. arXiv:2602.08472, uses one
laser system shared by both nodes). With one laser per node the relative phase drifts:

* **free-running** lasers with Lorentzian linewidths Δν_a, Δν_b (FWHM, Hz) accumulate Wiener phase
  noise of variance 2π·Δν·τ each over a time τ, so the relative phase drifts by a Gaussian of variance
  2π(Δν_a + Δν_b)τ between the moment the phase reference is taken and the moment the photons
  interfere; ⟨cos Δφ⟩ = exp(−π(Δν_a + Δν_b)τ), which for Δν_a = Δν_b = Δν is
  :func:`qrepeater.physics.fiber.independent_laser_coherence` = exp(−2π Δν τ).
  The delay τ is the arm delay difference (the earlier photon was emitted that much earlier) plus the
  reference delay (time from the phase-reference sample to the excitation: the reference system
  samples the phase with a weak 393 nm probe during Doppler cooling, so by default the state
  preparation and excitation slots after cooling, plus any distribution delay of the reference).
* **locked** lasers are stabilised to a distributed reference with a residual rms phase error σ
  per node (rad): ⟨cos Δφ⟩ = exp(−(σ_a² + σ_b²)/2) (Gaussian residual, as in
  :func:`qrepeater.physics.fiber.gaussian_phase_coherence`).
* **shared**: one laser system for both nodes (the reference system), relative linewidth zero:
  factor 1 — the residual phase noise of the shared system is already in the scenario's ``[phase]``.

The factor multiplies the coherence (⟨XX⟩, ⟨YY⟩) of the heralded state. It is put into the hardware by
adding the equivalent Gaussian phase variance −2 ln C to the excitation-path ("local") residual phase
noise of :class:`qrepeater.physics.fiber.PhaseStabilisation`, so :func:`qrepeater.links.spep_link`
builds the heralded state with it (exact, because the accumulated Wiener phase is Gaussian).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

from ...errors import ParameterError, check_range
from ...physics.fiber import Fiber, independent_laser_coherence

STABILISATIONS = ("shared", "free-running", "locked")


@dataclass(frozen=True)
class NodeLaser:
    """Optical phase/frequency reference of one node.

    Parameters
    ----------
    stabilisation : {"shared", "free-running", "locked"}
        "shared": the node uses the network's common laser system (relative linewidth 0);
        "free-running": independent laser of ``linewidth_hz``;
        "locked": independent laser stabilised to a distributed reference, residual rms phase error
        ``residual_phase_noise_rad``.
    linewidth_hz : float
        Lorentzian FWHM linewidth (Hz) of a free-running laser.
    residual_phase_noise_rad : float
        rms residual phase error (rad) of a locked laser relative to the distributed reference.
    """

    stabilisation: str = "shared"
    linewidth_hz: float = 0.0
    residual_phase_noise_rad: float = 0.0

    def __post_init__(self) -> None:
        if self.stabilisation not in STABILISATIONS:
            raise ParameterError("laser.stabilisation", self.stabilisation, "one of " + ", ".join(STABILISATIONS))
        check_range("laser.linewidth_hz", float(self.linewidth_hz), 0.0, None)
        check_range("laser.residual_phase_noise_rad", float(self.residual_phase_noise_rad), 0.0, None)


SHARED_LASER = NodeLaser()


def interference_delay_s(arm_a_km: float, arm_b_km: float, fiber: Fiber, reference_delay_s: float) -> float:
    """Delay τ (s) between the phase reference and the photons' interference for a SPEP link.

    τ = |L_a − L_b|·n_g/c (arm delay difference) + ``reference_delay_s``.
    """
    check_range("reference_delay_s", float(reference_delay_s), 0.0, None)
    return abs(fiber.delay_s(arm_a_km) - fiber.delay_s(arm_b_km)) + float(reference_delay_s)


def laser_coherence(laser_a: NodeLaser, laser_b: NodeLaser, delay_s: float) -> float:
    """Factor ⟨cos Δφ⟩ on the heralded state's coherence from the two nodes' lasers (see module doc).

    Two shared lasers give 1; two free-running lasers give exp(−π(Δν_a + Δν_b)τ) (the closed form
    :func:`independent_laser_coherence` at the mean linewidth); two locked lasers give
    exp(−(σ_a² + σ_b²)/2). A free-running laser facing a locked or shared one contributes its own
    Wiener variance 2πΔν τ and the locked one its σ².
    """
    check_range("delay_s", float(delay_s), 0.0, None)
    if laser_a.stabilisation == "shared" and laser_b.stabilisation == "shared":
        return 1.0
    free_lw = sum(l.linewidth_hz for l in (laser_a, laser_b) if l.stabilisation == "free-running")
    locked_var = sum(l.residual_phase_noise_rad**2 for l in (laser_a, laser_b) if l.stabilisation == "locked")
    # Wiener part: the closed form at the mean linewidth of the two lasers (exp(−π(Δν_a+Δν_b)τ)).
    wiener = independent_laser_coherence(0.5 * free_lw, delay_s) if free_lw > 0 else 1.0
    return wiener * math.exp(-0.5 * locked_var)


def hardware_with_lasers(hardware, laser_a: NodeLaser, laser_b: NodeLaser, reference_delay_s: float):
    """``LinkHardware`` whose heralded-state coherence includes the lasers' factor; also returns it.

    The factor C enters as the extra Gaussian phase variance −2 ln C on the excitation paths
    (``PhaseStabilisation.local_residual_phase_noise_rad``), via :func:`dataclasses.replace`.

    Returns
    -------
    (LinkHardware, float, float)
        The hardware, the laser coherence factor C and the delay τ (s) it was evaluated at.
    """
    delay = interference_delay_s(hardware.arm_a_km, hardware.arm_b_km, hardware.fiber, reference_delay_s)
    c = laser_coherence(laser_a, laser_b, delay)
    if c >= 1.0:
        return hardware, 1.0, delay
    if c <= 0.0:
        extra_var = 1e6  # coherence numerically zero
    else:
        extra_var = -2.0 * math.log(c)
    sigma = math.sqrt(hardware.phase.local_residual_phase_noise_rad**2 + extra_var)
    phase = dataclasses.replace(hardware.phase, local_residual_phase_noise_rad=sigma)
    return dataclasses.replace(hardware, phase=phase), c, delay
