"""Two-photon (Barrett–Kok) heralding, for comparison with the SPEP.

Barrett & Kok, Phys. Rev. A 71, 060310 (2005): each ion emits one photon entangled with its spin; the
photons meet on a beam splitter; a click in each of two rounds (with a spin flip in between) heralds
``|Ψ±⟩``. Both photons must arrive, so the success probability per attempt is ``η_A η_B / 2`` —
quadratic in the link transmission — and the state is insensitive to the optical phase (its coherence
is limited by the photons' indistinguishability, the mode overlap). One attempt takes two rounds.

A noise click standing in for a lost photon heralds an unentangled state: probability about
``(η_A + η_B)·p_n`` per attempt (one real photon in one round, noise in the other).
"""

from __future__ import annotations

import numpy as np

from ..states import BellDiagonal, decay
from .heralding import LinkHardware
from .outcome import HeraldedLink
from .spep import psi_frame_to_phi_frame


def two_photon_success_probability(eta_a, eta_b, noise_click_probability=0.0):
    """Per-attempt herald probability ``η_Aη_B/2 + (η_A+η_B)·p_n·(1 − ...)`` (vectorised)."""
    eta_a = np.asarray(eta_a, float)
    eta_b = np.asarray(eta_b, float)
    p_signal = 0.5 * eta_a * eta_b
    p_noise = 0.5 * (eta_a * (1 - eta_b) + eta_b * (1 - eta_a)) * noise_click_probability
    return p_signal + p_noise


def two_photon_link(hardware: LinkHardware) -> HeraldedLink:
    """Per-attempt success probability and heralded state of the Barrett–Kok protocol."""
    eta_a = hardware.arm_efficiency("a")
    eta_b = hardware.arm_efficiency("b")
    p_n = hardware.noise_click_probability()
    p_signal = 0.5 * eta_a * eta_b
    p_success = float(two_photon_success_probability(eta_a, eta_b, p_n))
    signal_fraction = p_signal / p_success if p_success > 0 else 0.0
    coherence = hardware.phase.mode_overlap * signal_fraction
    zz = -signal_fraction  # noise heralds: uncorrelated spins
    shrink = hardware.node_a.memory.transfer_bloch_shrink * hardware.node_b.memory.transfer_bloch_shrink
    xx, yy, zz = psi_frame_to_phi_frame(coherence * shrink, coherence * shrink, zz * shrink)
    state = BellDiagonal.from_correlators(xx, yy, zz)
    rates = hardware.pair_decay
    round_duration = hardware.attempt_duration_s
    state = decay(state, 1.5 * round_duration, rates.transverse_rate_hz, rates.longitudinal_rate_hz)
    return HeraldedLink(
        protocol="two-photon",
        success_probability=p_success,
        attempt_duration_s=2.0 * round_duration,
        heralded_state=state,
        pair_decay=rates,
        signal_fraction=signal_fraction,
    )
