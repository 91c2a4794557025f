"""Single-photon entanglement protocol (SPEP): one click at a midpoint station heralds the pair.

Each ion is excited with probability α and, if excited, emits one photon; the two arms meet on a
beam splitter and one click (in either detector, non-photon-number-resolving) heralds
``|Ψ±⟩ = (√η_A|↑↓⟩ ± e^{iφ}√η_B|↓↑⟩)/√(η_A+η_B)``. Per attempt (standard single-click analysis, e.g.
Humphreys et al., Nature 558, 268 (2018); reference-sheet notes ``p ≈ 2αη``):

* one ion excited, its photon detected: ``α(1−α)(η_A+η_B)`` → the entangled state;
* both excited, one photon lost: ``α²[η_A(1−η_B)+η_B(1−η_A)]`` → ``|↑↑⟩``;
* both excited, both detected: they bunch (Hong–Ou–Mandel) into one detector → one click, ``|↑↑⟩``,
  probability ``α²η_Aη_B``;
* no photon detected but a noise click (dark count or conversion noise), probability ``p_n`` per
  attempt → an unentangled mixture with each ion up with probability ``α(1−η)/(1−αη)``.

The entangled part's coherence is scaled by ``2√(η_Aη_B)/(η_A+η_B)`` (arm imbalance), the optical
interference contrast and the residual local phase noise. Each node's state transfer is a
depolarising channel; the memories decay while the herald travels back. Rate ∝ α·η: linear in the
link transmission.
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import check_range
from ..states import BellDiagonal, decay
from .heralding import LinkHardware
from .outcome import HeraldedLink


def psi_frame_to_phi_frame(xx, yy, zz):
    """Correlators after the Pauli-X correction that maps Ψ+ onto the target Φ+."""
    return xx, -yy, -zz


def spep_link(hardware: LinkHardware, excitation_probability: float) -> HeraldedLink:
    """Per-attempt success probability and heralded state of the SPEP on ``hardware``.

    Parameters
    ----------
    hardware : LinkHardware
        Nodes, fibre, detectors, phase stabilisation and timing.
    excitation_probability : float
        α, probability that an ion is excited (and emits) per attempt.
    """
    alpha = check_range("link.excitation_probability", excitation_probability, 0, 1, low_inclusive=False)
    eta_a = hardware.arm_efficiency("a")
    eta_b = hardware.arm_efficiency("b")
    p_noise = hardware.noise_click_probability()

    p_entangled = alpha * (1 - alpha) * (eta_a + eta_b)
    p_double_one_lost = alpha**2 * (eta_a * (1 - eta_b) + eta_b * (1 - eta_a))
    p_double_bunched = alpha**2 * eta_a * eta_b
    p_signal = p_entangled + p_double_one_lost + p_double_bunched
    p_noise_herald = (1.0 - p_signal) * p_noise
    p_success = p_signal + p_noise_herald

    # Ψ-frame correlators (XX, YY, ZZ) of each herald class.
    imbalance = 2.0 * math.sqrt(eta_a * eta_b) / (eta_a + eta_b) if eta_a + eta_b > 0 else 0.0
    coherence = imbalance * hardware.phase.state_coherence
    up_a = alpha * (1 - eta_a) / (1 - alpha * eta_a)
    up_b = alpha * (1 - eta_b) / (1 - alpha * eta_b)
    classes = np.array(
        [
            [coherence, coherence, -1.0],  # entangled
            [0.0, 0.0, 1.0],  # |↑↑⟩ (double excitation, one or both detected)
            [0.0, 0.0, (1 - 2 * up_a) * (1 - 2 * up_b)],  # noise herald
        ]
    )
    weights = np.array([p_entangled, p_double_one_lost + p_double_bunched, p_noise_herald]) / p_success
    xx, yy, zz = weights @ classes
    shrink = hardware.node_a.memory.transfer_bloch_shrink * hardware.node_b.memory.transfer_bloch_shrink
    xx, yy, zz = psi_frame_to_phi_frame(xx * shrink, yy * shrink, zz * shrink)
    state = BellDiagonal.from_correlators(xx, yy, zz)
    decay_rates = hardware.pair_decay
    state = decay(state, hardware.herald_round_trip_s, decay_rates.transverse_rate_hz, decay_rates.longitudinal_rate_hz)
    return HeraldedLink(
        protocol="spep",
        success_probability=p_success,
        attempt_duration_s=hardware.attempt_duration_s,
        heralded_state=state,
        pair_decay=decay_rates,
        signal_fraction=p_signal / p_success,
    )


def spep_success_probability(excitation_probability, eta_a, eta_b, noise_click_probability=0.0):
    """Vectorised per-attempt herald probability of the SPEP (same terms as :func:`spep_link`)."""
    a = np.asarray(excitation_probability, float)
    p_signal = a * (1 - a) * (eta_a + eta_b) + a**2 * (eta_a * (1 - eta_b) + eta_b * (1 - eta_a)) + a**2 * eta_a * eta_b
    return p_signal + (1 - p_signal) * noise_click_probability
