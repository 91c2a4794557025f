"""Hardware description of one heralded link, shared by the SPEP and two-photon protocols.

A link joins node A and node B through a heralding station that splits the fibre into arms of
``arm_a_km`` and ``arm_b_km``. Each node has an ion memory, a photon source and a frequency converter
with its filter cascade; the station has two detectors behind a beam splitter.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import ParameterError, check_range
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
        # The residual phase noise of the stabilised arms depends on their lengths and delays: the
        # stabilisation is applied to this link's arms (idempotent, so dataclasses.replace keeps it).
        arms = (self.arm_a_km, self.arm_b_km)
        phase = self.phase.for_arms(arms, tuple(self.fiber.delay_s(length) for length in arms))
        object.__setattr__(self, "phase", phase)

    @property
    def length_km(self) -> float:
        return self.arm_a_km + self.arm_b_km

    def _node_and_arm(self, node: str) -> tuple[NodeHardware, float]:
        if node not in ("a", "b"):
            raise ParameterError("node", node, "'a' or 'b'")
        return (self.node_a, self.arm_a_km) if node == "a" else (self.node_b, self.arm_b_km)

    # -- efficiencies ----------------------------------------------------------------------------
    def filter_photon_transmission(self, node: str) -> float:
        """Transmission of the node's filter cascade for its ion's photon (Lorentzian, FWHM 1/(2πτ)).

        The overlap of the photon's spectrum with the cascade (:meth:`FilterCascade.photon_transmission`),
        not the product of the peak transmissions (≈ 0.65 of it for the reference cascade).
        """
        hw, _ = self._node_and_arm(node)
        return hw.converter.filter_photon_transmission(hw.source.emission_linewidth_hz)

    def arm_efficiency(self, node: str) -> float:
        """Probability that a photon emitted by the node's ion clicks a station detector in the window.

        η = fibre-coupled efficiency × converter × filters (photon spectrum) × fibre arm × detector ×
        window capture.
        """
        hw, arm = self._node_and_arm(node)
        return (
            hw.source.fiber_coupled_efficiency
            * hw.converter.photon_efficiency(hw.source.emission_linewidth_hz)
            * self.fiber.transmission(arm)
            * self.detector.efficiency
            * hw.source.window_capture(self.detector.detection_window_s)
        )

    def module_to_detector_efficiency(self, node: str, probe: str = "photon") -> float:
        """Efficiency from the conversion module's input to a detector click (9.1 % at 10 km [S]).

        ``probe="photon"``: for the ion's photon (filters by spectral overlap); ``probe="laser"``: for a
        narrowband probe at the filters' centre (product of the peak transmissions). Which of the two the
        secondary source's 9.1 % is, is not stated.
        """
        hw, arm = self._node_and_arm(node)
        if probe == "photon":
            module = hw.converter.photon_efficiency(hw.source.emission_linewidth_hz)
        elif probe == "laser":
            module = hw.converter.narrowband_efficiency
        else:
            raise ParameterError("probe", probe, "'photon' or 'laser'")
        return module * self.fiber.transmission(arm) * self.detector.efficiency

    # -- noise ---------------------------------------------------------------------------------------
    def detected_noise_rate_hz(self) -> float:
        """Noise counts per second at the station, both detectors together (dark + conversion noise).

        The conversion noise of each node's module passes its fibre arm and the detector efficiency;
        the beam splitter shares it between the two detectors, whose dark counts add.
        """
        conv = self.conversion_noise_at_detectors_hz("a") + self.conversion_noise_at_detectors_hz("b")
        return conv + 2.0 * self.detector.dark_count_rate_hz

    def conversion_noise_at_detectors_hz(self, node: str) -> float:
        """Conversion-noise counts per second that one node's module causes at the station (both detectors).

        The noise after the node's cascade (35 counts/s [P]) × its fibre arm × detector efficiency — the
        noise counterpart of :meth:`module_to_detector_efficiency`; compare with the 9.6 counts/s [S]
        quoted for the 10 km link (half of it falls on each detector behind the beam splitter).
        """
        hw, arm = self._node_and_arm(node)
        return hw.converter.noise_counts_per_s * self.fiber.transmission(arm) * self.detector.efficiency

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

    # -- phase -------------------------------------------------------------------------------------------
    @property
    def fiber_residual_phase_noise_rad(self) -> float:
        """rms residual phase (rad) of the stabilised fibre arms, for this link's lengths and delays."""
        return self.phase.fiber_residual_rms_rad

    @property
    def pair_decay(self) -> PairDecay:
        """Decay rates of a pair stored in the two memories."""
        return pair_decay(self.node_a.memory, self.node_b.memory)
