"""Photon emission and collection from a trapped ion.

Reference values (``shared/reference/ustc2026.md``): 393 nm photons from the P3/2 level, decay time
7.45 ns; about 9 % of photons collected by an NA 0.635 objective; 2.6 % (node A) and 2.8 % (node B)
of emitted photons coupled into single-mode fibre [S]. We read the fibre-coupling figure as the
end-to-end probability from emission to fibre, so the mode-matching efficiency into the fibre is
``fiber_coupling / collection``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..errors import check_range


def collection_solid_angle_fraction(numerical_aperture: float) -> float:
    """Fraction of an isotropic emitter's photons inside a lens of the given NA: (1 − cos θ)/2."""
    check_range("numerical_aperture", numerical_aperture, 0, 1)
    return 0.5 * (1.0 - math.sqrt(1.0 - numerical_aperture**2))


@dataclass(frozen=True)
class IonPhotonSource:
    """Excitation, emission and fibre coupling of one ion.

    Parameters
    ----------
    collection_efficiency : float
        Probability that an emitted photon enters the collection optics (9 % [S]).
    fiber_mode_matching_efficiency : float
        Probability that a collected photon couples into the single-mode fibre (dimensionless).
    excited_state_decay_time_s : float
        1/e decay time of the emitting level (s); 7.45 ns for 40Ca+ P3/2 [S].
    wavelength_m : float
        Emitted wavelength (m); 393 nm.
    """

    collection_efficiency: float = 0.09
    fiber_mode_matching_efficiency: float = 0.289
    excited_state_decay_time_s: float = 7.45e-9
    wavelength_m: float = 393e-9

    def __post_init__(self) -> None:
        check_range("collection_efficiency", self.collection_efficiency, 0, 1)
        check_range("fiber_mode_matching_efficiency", self.fiber_mode_matching_efficiency, 0, 1)
        check_range("excited_state_decay_time_s", self.excited_state_decay_time_s, 0, None, low_inclusive=False)
        check_range("wavelength_m", self.wavelength_m, 0, None, low_inclusive=False)

    @property
    def emission_linewidth_hz(self) -> float:
        """FWHM (Hz) of the emitted photon's spectrum: 1/(2πτ) for a decay time τ (21.4 MHz at 7.45 ns).

        Spontaneous decay of a level with 1/e lifetime τ emits a wave packet whose amplitude decays as
        exp(−t/2τ); its power spectrum is a Lorentzian of full width at half maximum Γ/2π = 1/(2πτ) in Hz
        (Weisskopf & Wigner, Z. Phys. 63, 54 (1930); IUPAC Gold Book, "natural linewidth",
        doi:10.1351/goldbook.08641: FWHM = 1/(2π c Δt) in wavenumbers). This is the photon as emitted
        after a short excitation pulse; difference-frequency conversion with a narrow pump shifts every
        frequency component by the pump frequency (ν_out = ν_in − ν_pump) and so keeps the width in Hz.
        """
        return 1.0 / (2.0 * math.pi * self.excited_state_decay_time_s)

    @property
    def fiber_coupled_efficiency(self) -> float:
        """Probability that an emitted photon is in the fibre (2.6 % / 2.8 % in the reference)."""
        return self.collection_efficiency * self.fiber_mode_matching_efficiency

    def window_capture(self, detection_window_s: float) -> float:
        """Fraction of the exponential photon wave packet inside a detection window of that length."""
        check_range("detection_window_s", detection_window_s, 0, None)
        return -math.expm1(-detection_window_s / self.excited_state_decay_time_s)
