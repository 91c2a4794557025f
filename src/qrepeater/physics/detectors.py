"""Single-photon detectors at the heralding station."""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..errors import check_range


@dataclass(frozen=True)
class Detector:
    """A gated single-photon detector (e.g. a superconducting nanowire detector at 1550 nm).

    Parameters
    ----------
    efficiency : float
        Detection efficiency (dimensionless); not published for the reference.
    dark_count_rate_hz : float
        Dark counts per second.
    detection_window_s : float
        Length of the acceptance window after each excitation (s).
    """

    efficiency: float = 0.72
    dark_count_rate_hz: float = 2.0
    detection_window_s: float = 30e-9

    def __post_init__(self) -> None:
        check_range("efficiency", self.efficiency, 0, 1)
        check_range("dark_count_rate_hz", self.dark_count_rate_hz, 0, None)
        check_range("detection_window_s", self.detection_window_s, 0, None, low_inclusive=False)

    def noise_click_probability(self, background_rate_hz: float = 0.0) -> float:
        """Probability of at least one noise click in one window: 1 − exp(−(dark + background)·window).

        ``background_rate_hz`` is the rate of noise photons *detected* at this detector (already
        multiplied by its efficiency).
        """
        check_range("background_rate_hz", background_rate_hz, 0, None)
        return -math.expm1(-(self.dark_count_rate_hz + background_rate_hz) * self.detection_window_s)
