"""Turn a validated scenario into physics objects, heralded links and engine inputs."""

from __future__ import annotations

from dataclasses import dataclass

from ..config.schema import AbstractScenario, HardwareScenario, NodeConfig, Scenario
from ..engines.model import SegmentLink, SwapModel
from ..errors import check_range
from ..links import (
    LinkHardware,
    LinkMetrics,
    NodeHardware,
    ProtocolTiming,
    hardware_link_metrics,
    heralded_link,
)
from ..links.metrics import metrics_from_link
from ..links.outcome import HeraldedLink
from ..physics.conversion import FilterCascade, FilterStage, FrequencyConverter
from ..physics.detectors import Detector
from ..physics.emission import IonPhotonSource
from ..physics.fiber import Fiber, PhaseStabilisation
from ..physics.memory import IonMemory, PairDecay
from ..physics.node import RepeaterNode
from ..states import BellDiagonal, decay, werner


def _converter(s: HardwareScenario) -> FrequencyConverter:
    c = s.conversion
    cascade = FilterCascade(tuple(FilterStage(**f.model_dump()) for f in c.filters))
    return FrequencyConverter(
        external_efficiency=c.external_efficiency,
        noise_spectral_density_per_s_per_nm=c.noise_spectral_density_per_s_per_nm,
        filters=cascade,
        pump_wavelength_m=c.pump_wavelength_m,
        pump_power_w=c.pump_power_w,
    )


def _node(cfg: NodeConfig, converter: FrequencyConverter) -> NodeHardware:
    return NodeHardware(
        memory=IonMemory(**cfg.memory.model_dump()),
        source=IonPhotonSource(**cfg.source.model_dump()),
        converter=converter,
    )


def link_hardware(scenario: HardwareScenario, length_km: float | None = None) -> LinkHardware:
    """Hardware of the scenario's link, optionally with another total length (km)."""
    length = scenario.link.length_km if length_km is None else length_km
    check_range("link.length_km", length, 0, None)
    conv = _converter(scenario)
    return LinkHardware(
        node_a=_node(scenario.node_a, conv),
        node_b=_node(scenario.node_b, conv),
        arm_a_km=length * scenario.link.station_position,
        arm_b_km=length * (1.0 - scenario.link.station_position),
        fiber=Fiber(**scenario.fiber.model_dump()),
        detector=Detector(**scenario.detectors.model_dump()),
        phase=PhaseStabilisation(**scenario.phase.model_dump()),
        timing=ProtocolTiming(**scenario.timing.model_dump()),
    )


def _abstract_link(scenario: AbstractScenario) -> HeraldedLink:
    rate = 1.0 / scenario.memory.coherence_time_s
    return HeraldedLink(
        protocol="abstract",
        success_probability=scenario.link.success_probability,
        attempt_duration_s=scenario.link.attempt_duration_s,
        heralded_state=werner(scenario.link.fresh_fidelity),
        pair_decay=PairDecay(transverse_rate_hz=rate, longitudinal_rate_hz=rate),
        signal_fraction=1.0,
    )


def scenario_link(scenario: Scenario, length_km: float | None = None) -> HeraldedLink:
    """The heralded link a scenario describes (hardware or abstract)."""
    if isinstance(scenario, AbstractScenario):
        return _abstract_link(scenario)
    return heralded_link(link_hardware(scenario, length_km), scenario.link.protocol, scenario.link.excitation_probability)


def link_metrics(scenario: Scenario) -> LinkMetrics:
    """Link figures of merit of a scenario: the elementary link of ``link.length_km`` as built.

    Parameters
    ----------
    scenario : Scenario
        A validated hardware or abstract scenario (:func:`qrepeater.load_preset`,
        :func:`qrepeater.build_scenario`).

    Returns
    -------
    LinkMetrics
        Frozen dataclass (:class:`qrepeater.links.LinkMetrics`; ``.to_dict()`` is the JSON of
        ``qrepeater link --json``, ``.to_dataframe()`` one pandas row). Fields and units:

        - ``protocol`` (str): ``"spep"``, ``"two-photon"`` or ``"abstract"``;
        - ``success_probability`` (1): herald probability per attempt;
        - ``attempt_duration_s`` (s): duration of one attempt;
        - ``rate_hz`` (Hz): heralded pairs per second, ``success_probability / attempt_duration_s``;
        - ``mean_generation_time_s`` (s): ``1 / rate_hz``;
        - ``heralded_fidelity`` (1): Φ+ fidelity of the pair at the herald;
        - ``decoherence_rate_hz`` (Hz) and ``coherence_time_s`` (s): decay rate and 1/e time of the
          stored pair's ⟨XX⟩ correlator;
        - ``memory_encoding`` (str or None): ``"optical"``, ``"zeeman_d52"`` or None (abstract memory);
        - ``pair_decay_rates_per_s`` (dict, 1/s): ``{"xx", "yy", "zz"}`` correlator decay rates;
        - ``link_efficiency`` (1): ``rate_hz / decoherence_rate_hz``, the quantum link efficiency of
          Humphreys et al., Nature 558, 268 (2018);
        - ``deterministic_delivery_fidelity`` (1): the best fidelity of a pair delivered at a fixed time
          for that efficiency and heralded fidelity (Humphreys et al. 2018);
        - ``expected_stored_fidelity`` (1): mean fidelity of the stored pair when the next attempt
          succeeds; ``expected_stored_fidelity_window`` (1): the same within ``storage_window_s`` (s);
        - ``time_above_half_s`` (s): storage time until the fidelity falls to 1/2;
        - ``signal_fraction`` (1): fraction of heralds caused by the ions' photons;
        - hardware scenarios only (None for abstract ones): ``noise_counts_per_s`` (1/s, conversion
          noise per node after filtering), ``filter_transmission`` (1), ``interference_contrast`` (1),
          ``arm_efficiency`` (1, emitted photon → station click), ``detected_noise_rate_hz`` (Hz).

    Examples
    --------
    >>> from qrepeater import load_preset, link_metrics
    >>> round(link_metrics(load_preset("ustc2026")).rate_hz, 2)
    2.23
    """
    if isinstance(scenario, AbstractScenario):
        return metrics_from_link(_abstract_link(scenario), scenario.link.storage_window_s)
    return hardware_link_metrics(
        link_hardware(scenario), scenario.link.protocol, scenario.link.excitation_probability, scenario.link.storage_window_s
    )


def chain_segment(scenario: Scenario, segment_length_km: float):
    """Engine input for one elementary segment of a chain (``qrepeater.engines.model.SegmentLink``).

    Hardware scenarios rebuild the link for the segment length (station at the scenario's relative
    position); the one-way classical delay across the segment — counted as storage time while a
    swap outcome is announced — is the fibre delay plus the processing latency. Abstract scenarios use
    their link as given, with no classical delay unless ``classical.delay_per_segment_s`` is set.
    With ``repeater_node.enabled`` the node as built is mapped onto the segment (:func:`node_segment`).

    Returns
    -------
    SegmentLink
        ``success_probability`` (per attempt and mode), ``attempt_duration_s`` (s), ``fresh_state``
        (BellDiagonal at the herald), ``transverse_rate_hz`` and ``longitudinal_rate_hz`` (1/s, the
        stored pair's decay rates), ``classical_delay_s`` (s); the ``link`` of a :class:`ChainSpec`.
    """
    check_range("segment length (km)", segment_length_km, 0, None, low_inclusive=False)
    link = scenario_link(scenario, segment_length_km if isinstance(scenario, HardwareScenario) else None)
    if isinstance(scenario, HardwareScenario):
        delay = Fiber(**scenario.fiber.model_dump()).delay_s(segment_length_km) + scenario.classical.processing_delay_s
        if scenario.repeater_node.enabled:
            return node_segment(scenario, link, delay)
    else:
        delay = scenario.classical.delay_per_segment_s + scenario.classical.processing_delay_s
    return SegmentLink(
        success_probability=link.success_probability,
        attempt_duration_s=link.attempt_duration_s,
        fresh_state=link.heralded_state,
        transverse_rate_hz=link.pair_decay.transverse_rate_hz,
        longitudinal_rate_hz=link.pair_decay.longitudinal_rate_hz,
        classical_delay_s=delay,
    )


def swap_model(scenario: Scenario):
    """Engine swap model (``qrepeater.engines.model.SwapModel``) from the scenario's ``swap`` section.

    With ``repeater_node.enabled`` the gate's reliability is reduced by motional heating
    (:meth:`qrepeater.physics.node.RepeaterNode.gate_reliability`); its duration is in the segment's delay.

    Returns
    -------
    SwapModel
        ``success_probability`` (of the Bell measurement), ``gate_fidelity`` and ``readout_error``
        (probabilities); the ``swap`` of a :class:`ChainSpec`.
    """
    swap = scenario.swap.model_dump()
    if isinstance(scenario, HardwareScenario) and scenario.repeater_node.enabled:
        swap["gate_fidelity"] = repeater_node(scenario).gate_reliability(swap["gate_fidelity"])
    return SwapModel(**swap)


def repeater_node(scenario: HardwareScenario) -> RepeaterNode:
    """The scenario's node as built (:class:`qrepeater.physics.node.RepeaterNode`), whether enabled or not."""
    return RepeaterNode(**scenario.repeater_node.model_dump(exclude={"enabled"}))


def node_segment(scenario: HardwareScenario, link: HeraldedLink, delay_s: float) -> SegmentLink:
    """Engine input of one segment whose nodes are built as ``scenario.repeater_node`` describes.

    Mapping (derivations in :mod:`qrepeater.physics.node`): success probability 1 − (1 − p)^N for N
    communication ions; fresh state = the heralded pair, each end transferred to its memory ion (every
    correlator × p₂ⁿ per end), then stored for the transfer duration at the memories' rates; pair rates =
    the memories' rates + crosstalk (light held for cooling + pumping + excitation of each attempt); one-way
    delay + the swap duration (the swapped pair is not usable until the readout is done).
    """
    node = repeater_node(scenario)
    tau = link.attempt_duration_s
    t = scenario.timing
    exposure_s = t.cooling_duration_s + t.state_preparation_s + t.excitation_s
    shrink = node.transfer_bloch_shrink ** 2
    transferred = BellDiagonal.from_correlators(*(link.heralded_state.correlators * shrink))
    memory = link.pair_decay
    fresh = decay(transferred, node.transfer_duration_s, memory.transverse_rate_hz, memory.longitudinal_rate_hz)
    extra_transverse, extra_longitudinal = node.crosstalk_pair_rates_hz(tau, exposure_s)
    return SegmentLink(
        success_probability=node.multiplexed_success_probability(link.success_probability),
        attempt_duration_s=tau,
        fresh_state=fresh,
        transverse_rate_hz=float(memory.transverse_rate_hz) + extra_transverse,
        longitudinal_rate_hz=float(memory.longitudinal_rate_hz) + extra_longitudinal,
        classical_delay_s=delay_s + node.swap_duration_s,
    )


@dataclass(frozen=True)
class QKDSource:
    """What a DI-QKD round sees: the measured state, the rate of rounds, and the readout error."""

    state: BellDiagonal
    round_rate_hz: float
    readout_error: float


def qkd_source(scenario: Scenario) -> QKDSource:
    """DI-QKD source of a single link: the heralded pair after ``qkd.measurement_delay_s`` of storage."""
    link = scenario_link(scenario)
    state = decay(
        link.heralded_state,
        scenario.qkd.measurement_delay_s,
        link.pair_decay.transverse_rate_hz,
        link.pair_decay.longitudinal_rate_hz,
    )
    return QKDSource(state=state, round_rate_hz=link.rate_hz, readout_error=scenario.qkd.readout_error)
