"""Hardware description of one heralded link, shared by the SPEP and two-photon protocols.

A link joins node A and node B through a heralding station that splits the fibre into arms of
``arm_a_km`` and ``arm_b_km``. Each node has an ion memory, a photon source and a frequency converter
with its filter cascade; the station has two detectors behind a beam splitter.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import check_range
from ..physics.conversion import FrequencyConverter
from ..physics.detectors import Detector
from ..physics.emission import IonPhotonSource
from ..physics.fiber import Fiber, PhaseStabilisation
from ..physics.memory import IonMemory, PairDecay, pair_decay


@dataclass(frozen=True)
class NodeHardware:
    """One end node: memory, photon source and frequency converter."""

    memory: IonMemory
    source: IonPhotonSource
    converter: FrequencyConverter


@dataclass(frozen=True)
class ProtocolTiming:
    """Fixed parts of one entanglement attempt (s).

    Parameters
    ----------
    cooling_duration_s : float
        Doppler cooling per attempt, during which the weak 393 nm phase reference is sent (TDM).
    state_preparation_s : float
        Optical pumping / state initialisation.
    excitation_s : float
        Excitation pulse and photon emission.

    The attempt also waits for the photon to reach the station and the herald to come back: twice the
    longer arm's one-way delay (see :meth:`LinkHardware.attempt_duration_s`).
    """

    cooling_duration_s: float = 300e-6
    state_preparation_s: float = 20e-6
    excitation_s: float = 2e-6

    def __post_init__(self) -> None:
        for name in ("cooling_duration_s", "state_preparation_s", "excitation_s"):
            check_range(name, getattr(self, name), 0, None)

    @property
    def local_duration_s(self) -> float:
        """Time of the local steps of one attempt (s)."""
        return self.cooling_duration_s + self.state_preparation_s + self.excitation_s


@dataclass(frozen=True)
class LinkHardware:
    """All hardware of one elementary link."""

    node_a: NodeHardware
    node_b: NodeHardware
    arm_a_km: float
    arm_b_km: float
    fiber: Fiber
    detector: Detector
    phase: PhaseStabilisation
    timing: ProtocolTiming

    def __post_init__(self) -> None:
        check_range("arm_a_km", self.arm_a_km, 0, None)
        check_range("arm_b_km", self.arm_b_km, 0, None)

    @property
    def length_km(self) -> float:
        return self.arm_a_km + self.arm_b_km

    # -- efficiencies ----------------------------------------------------------------------------
    def arm_efficiency(self, node: str) -> float:
        """Probability that a photon emitted by the node's ion clicks a station detector in the window.

        η = fibre-coupled efficiency × converter × filters × fibre arm × detector × window capture.
        """
        hw, arm = (self.node_a, self.arm_a_km) if node == "a" else (self.node_b, self.arm_b_km)
        return (
            hw.source.fiber_coupled_efficiency
            * hw.converter.efficiency
            * self.fiber.transmission(arm)
            * self.detector.efficiency
            * hw.source.window_capture(self.detector.detection_window_s)
        )

    def module_to_detector_efficiency(self, node: str) -> float:
        """Efficiency from the conversion module's input to a detector click (9.1 % at 10 km [S])."""
        hw, arm = (self.node_a, self.arm_a_km) if node == "a" else (self.node_b, self.arm_b_km)
        return hw.converter.efficiency * self.fiber.transmission(arm) * self.detector.efficiency

    # -- noise ---------------------------------------------------------------------------------------
    def detected_noise_rate_hz(self) -> float:
        """Noise counts per second at the station, both detectors together (dark + conversion noise).

        The conversion noise of each node's module passes its fibre arm and the detector efficiency;
        the beam splitter shares it between the two detectors, whose dark counts add.
        """
        conv = sum(
            hw.converter.noise_counts_per_s * self.fiber.transmission(arm) * self.detector.efficiency
            for hw, arm in ((self.node_a, self.arm_a_km), (self.node_b, self.arm_b_km))
        )
        return conv + 2.0 * self.detector.dark_count_rate_hz

    def noise_click_probability(self) -> float:
        """Probability per attempt of a noise click in either detector within the window."""
        conv = self.detected_noise_rate_hz() - 2.0 * self.detector.dark_count_rate_hz
        p_one = self.detector.noise_click_probability(0.5 * conv)
        return 1.0 - (1.0 - p_one) ** 2

    # -- timing ---------------------------------------------------------------------------------------
    @property
    def herald_round_trip_s(self) -> float:
        """Photon to the station and herald back, for the longer arm (s)."""
        return 2.0 * self.fiber.delay_s(max(self.arm_a_km, self.arm_b_km))

    @property
    def attempt_duration_s(self) -> float:
        """Duration of one single-photon attempt (s): local steps + herald round trip."""
        return self.timing.local_duration_s + self.herald_round_trip_s

    @property
    def pair_decay(self) -> PairDecay:
        """Decay rates of a pair stored in the two memories."""
        return pair_decay(self.node_a.memory, self.node_b.memory)
