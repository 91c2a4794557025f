"""Validated scenario configuration (pydantic), one nested model per hardware component.

Two kinds of scenario share the loaders and the ``--set dotted.path=value`` overrides:

* ``kind = "hardware"``: the physical model — ion memories, photon sources, converters and filters,
  fibre, detectors, phase stabilisation, protocol timing — from which :mod:`qrepeater.links` computes
  the link.
* ``kind = "abstract"``: the literature's abstract link (success probability per attempt, attempt
  duration, Werner fresh fidelity, memory coherence time), for comparison with papers.

Every bound below is a physical range; a value outside it is reported with the field's dotted path,
the value and the allowed range.
"""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field

from ..engines.model import SwapModel
from ..links.heralding import ProtocolTiming
from ..physics.conversion import FrequencyConverter
from ..physics.detectors import Detector
from ..physics.emission import IonPhotonSource
from ..physics.fiber import MAX_FIBRE_KM, Fiber, PhaseStabilisation
from ..physics.memory import IonMemory, StorageEncoding
from ..physics.node import RepeaterNode

Probability = Annotated[float, Field(ge=0.0, le=1.0)]
NonNegative = Annotated[float, Field(ge=0.0)]
Positive = Annotated[float, Field(gt=0.0)]
#: A fibre link no longer than physics.fiber.MAX_FIBRE_KM (beyond it the derived servo and loss figures
#: overflow and the error would name them instead of the length).
FibreLengthKm = Annotated[float, Field(ge=0.0, le=MAX_FIBRE_KM)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)


def default_of(component: type, name: str) -> Any:
    """The default of field ``name`` of the physics dataclass ``component``: the one place it is set.

    A configuration section that describes a component (its ``model_dump()`` builds the component)
    takes its defaults from the component, so a default is written once, beside its source.
    """
    f = {f.name: f for f in dataclasses.fields(component)}[name]
    if f.default is dataclasses.MISSING:
        raise TypeError(f"{component.__name__}.{name} has no default")
    return f.default


#: Configuration section → the component it builds (section fields ⊆ component fields; tested).
COMPONENT_OF: dict[type, type] = {}


def _component(cls: type):
    def register(model: type) -> type:
        COMPONENT_OF[model] = cls
        return model

    return register


@_component(IonMemory)
class MemoryConfig(_Model):
    """Ion memory of one node (see :class:`qrepeater.physics.memory.IonMemory`)."""

    storage_encoding: StorageEncoding = default_of(IonMemory, "storage_encoding")
    storage_level_lifetime_s: Positive = default_of(IonMemory, "storage_level_lifetime_s")
    decoupling_pulse_interval_s: Positive = default_of(IonMemory, "decoupling_pulse_interval_s")
    decoupling_error_per_pulse: Probability = default_of(IonMemory, "decoupling_error_per_pulse")
    pulse_error_dephasing_weight: Probability = default_of(IonMemory, "pulse_error_dephasing_weight")
    field_noise_rms_rad_per_s: NonNegative = default_of(IonMemory, "field_noise_rms_rad_per_s")
    field_noise_correlation_time_s: Positive = default_of(IonMemory, "field_noise_correlation_time_s")
    state_transfer_fidelity: Annotated[float, Field(ge=0.5, le=1.0)] = default_of(IonMemory, "state_transfer_fidelity")


@_component(IonPhotonSource)
class SourceConfig(_Model):
    """Photon emission and fibre coupling of one node."""

    collection_efficiency: Probability = default_of(IonPhotonSource, "collection_efficiency")
    fiber_mode_matching_efficiency: Probability = default_of(IonPhotonSource, "fiber_mode_matching_efficiency")
    excited_state_decay_time_s: Positive = default_of(IonPhotonSource, "excited_state_decay_time_s")
    wavelength_m: Positive = default_of(IonPhotonSource, "wavelength_m")


class NodeConfig(_Model):
    memory: MemoryConfig = MemoryConfig()
    source: SourceConfig = SourceConfig()


class FilterStageConfig(_Model):
    name: str
    shape: Literal["flat", "gaussian", "airy"]
    bandwidth_hz: Positive
    peak_transmission: Probability
    free_spectral_range_hz: Positive | None = None


@_component(FrequencyConverter)
class ConversionConfig(_Model):
    """Frequency converter and filter cascade (identical at both nodes)."""

    external_efficiency: Probability = default_of(FrequencyConverter, "external_efficiency")
    noise_spectral_density_per_s_per_nm: NonNegative = default_of(FrequencyConverter, "noise_spectral_density_per_s_per_nm")
    pump_wavelength_m: Positive = default_of(FrequencyConverter, "pump_wavelength_m")
    pump_power_w: NonNegative = default_of(FrequencyConverter, "pump_power_w")
    filters: tuple[FilterStageConfig, ...] = ()


@_component(Fiber)
class FiberConfig(_Model):
    attenuation_db_per_km: NonNegative = default_of(Fiber, "attenuation_db_per_km")
    group_index: Annotated[float, Field(ge=1.0)] = default_of(Fiber, "group_index")


@_component(Detector)
class DetectorConfig(_Model):
    efficiency: Probability = default_of(Detector, "efficiency")
    dark_count_rate_hz: NonNegative = default_of(Detector, "dark_count_rate_hz")
    detection_window_s: Positive = default_of(Detector, "detection_window_s")


@_component(PhaseStabilisation)
class PhaseConfig(_Model):
    """Phase stabilisation; the fibre arms' residual is computed for the link's arm lengths and delays."""

    mode_overlap: Probability = default_of(PhaseStabilisation, "mode_overlap")
    local_residual_phase_noise_rad: NonNegative = default_of(PhaseStabilisation, "local_residual_phase_noise_rad")
    fiber_phase_noise_rad2_per_hz_per_km: NonNegative = default_of(PhaseStabilisation, "fiber_phase_noise_rad2_per_hz_per_km")
    stabilisation_bandwidth_hz: Positive = default_of(PhaseStabilisation, "stabilisation_bandwidth_hz")
    servo_latency_s: NonNegative = default_of(PhaseStabilisation, "servo_latency_s")
    correction_at_node: bool = default_of(PhaseStabilisation, "correction_at_node")


@_component(ProtocolTiming)
class TimingConfig(_Model):
    cooling_duration_s: NonNegative = default_of(ProtocolTiming, "cooling_duration_s")
    state_preparation_s: NonNegative = default_of(ProtocolTiming, "state_preparation_s")
    excitation_s: NonNegative = default_of(ProtocolTiming, "excitation_s")


class HardwareLinkConfig(_Model):
    """The heralded link: protocol, excitation probability, length and station position."""

    protocol: Literal["spep", "two-photon"] = "spep"
    excitation_probability: Annotated[float, Field(gt=0.0, le=1.0)] = 0.17
    length_km: FibreLengthKm = 10.0
    station_position: Probability = 0.5
    storage_window_s: Positive = 0.45


@_component(SwapModel)
class SwapConfig(_Model):
    """Entanglement swapping at a repeater node."""

    success_probability: Probability = default_of(SwapModel, "success_probability")
    gate_fidelity: Probability = default_of(SwapModel, "gate_fidelity")
    readout_error: Annotated[float, Field(ge=0.0, le=0.5)] = default_of(SwapModel, "readout_error")


class ClassicalConfig(_Model):
    """Classical communication: processing latency added to every message (s)."""

    processing_delay_s: NonNegative = 0.0


class QKDConfig(_Model):
    """DI-QKD measurement: delay from herald to measurement, and readout error per outcome."""

    measurement_delay_s: NonNegative = 0.0
    readout_error: Annotated[float, Field(ge=0.0, le=0.5)] = 0.0


class FreeParameterConfig(_Model):
    """An unpublished parameter that ``qrepeater calibrate`` fits (``tied`` paths take the same value).

    ``prior`` is the value one would choose *before* seeing the targets (stated with its reason in
    ``note``): the fit starts there and holds the parameter to it by a weak Gaussian prior of relative
    width ``prior_relative_uncertainty``. The prior keeps a parameter defined when the target that fixes
    it is left out (leave-one-out), so a left-out target is predicted from a-priori knowledge only.
    The preset's own value at ``path`` is the fit's output.
    """

    path: str
    prior: float
    tied: tuple[str, ...] = ()
    prior_relative_uncertainty: Positive = 1.0
    note: str = ""


class InputUncertaintyConfig(_Model):
    """1σ uncertainty of a (published or chosen) input, propagated into every model figure."""

    path: str
    uncertainty: NonNegative
    tied: tuple[str, ...] = ()
    note: str = ""


class CalibrationConfig(_Model):
    """What ``qrepeater calibrate`` fits: free parameters, the published figures they are fitted to
    (keys of ``validation/data/<experiment>.toml``), and the uncertainties of the other inputs."""

    experiment: str = ""
    targets: tuple[str, ...] = ()
    parameters: tuple[FreeParameterConfig, ...] = ()
    inputs: tuple[InputUncertaintyConfig, ...] = ()


class RepeaterNodeConfig(_Model):
    """A repeater node as built: communication and memory ions, transfer gates, crosstalk, timed swaps
    (:class:`qrepeater.physics.node.RepeaterNode`). Off unless ``enabled``: then ``node_a``/``node_b``
    ``.memory`` describe the memory ions, ``swap.gate_fidelity``/``readout_error`` the swap's gate and readout,
    and chain segments and swaps are mapped as :mod:`qrepeater.physics.node` describes."""

    enabled: bool = False
    memory_species: Literal["same", "other"] = default_of(RepeaterNode, "memory_species")
    communication_qubits: Annotated[int, Field(ge=1, le=10_000)] = default_of(RepeaterNode, "communication_qubits")
    transfer_gate_count: Annotated[int, Field(ge=0, le=100)] = default_of(RepeaterNode, "transfer_gate_count")
    transfer_gate_fidelity: Probability = default_of(RepeaterNode, "transfer_gate_fidelity")
    transfer_gate_duration_s: NonNegative = default_of(RepeaterNode, "transfer_gate_duration_s")
    swap_gate_duration_s: NonNegative = default_of(RepeaterNode, "swap_gate_duration_s")
    readout_duration_s: NonNegative = default_of(RepeaterNode, "readout_duration_s")
    heating_gate_error_per_s: NonNegative = default_of(RepeaterNode, "heating_gate_error_per_s")
    time_since_recooling_s: NonNegative = default_of(RepeaterNode, "time_since_recooling_s")
    crosstalk_model: Literal["stated", "light"] = default_of(RepeaterNode, "crosstalk_model")
    crosstalk_scatter_probability_per_attempt: Annotated[float, Field(ge=0.0, lt=1.0)] = default_of(
        RepeaterNode, "crosstalk_scatter_probability_per_attempt")
    crosstalk_coupled_fraction: Probability = default_of(RepeaterNode, "crosstalk_coupled_fraction")
    scatter_leak_probability: Probability = default_of(RepeaterNode, "scatter_leak_probability")
    crosstalk_exposed_ions_per_pair: Annotated[float, Field(ge=0.0, le=2.0)] = default_of(RepeaterNode, "crosstalk_exposed_ions_per_pair")
    cooling_saturation_parameter: NonNegative = default_of(RepeaterNode, "cooling_saturation_parameter")
    cooling_detuning_hz: float = default_of(RepeaterNode, "cooling_detuning_hz")
    communication_line_decay_rate_hz: Positive = default_of(RepeaterNode, "communication_line_decay_rate_hz")
    communication_line_wavelength_m: Positive = default_of(RepeaterNode, "communication_line_wavelength_m")
    memory_line_offset_hz: float = default_of(RepeaterNode, "memory_line_offset_hz")
    memory_line_decay_rate_hz: Positive = default_of(RepeaterNode, "memory_line_decay_rate_hz")
    memory_line_wavelength_m: Positive = default_of(RepeaterNode, "memory_line_wavelength_m")
    crosstalk_intensity_fraction: Probability = default_of(RepeaterNode, "crosstalk_intensity_fraction")
    ion_distance_m: Positive = default_of(RepeaterNode, "ion_distance_m")


class HardwareScenario(_Model):
    kind: Literal["hardware"] = "hardware"
    name: str = "custom"
    description: str = ""
    link: HardwareLinkConfig = HardwareLinkConfig()
    node_a: NodeConfig = NodeConfig()
    node_b: NodeConfig = NodeConfig()
    conversion: ConversionConfig = ConversionConfig()
    fiber: FiberConfig = FiberConfig()
    detectors: DetectorConfig = DetectorConfig()
    phase: PhaseConfig = PhaseConfig()
    timing: TimingConfig = TimingConfig()
    swap: SwapConfig = SwapConfig()
    classical: ClassicalConfig = ClassicalConfig()
    qkd: QKDConfig = QKDConfig()
    calibration: CalibrationConfig = CalibrationConfig()
    repeater_node: RepeaterNodeConfig = RepeaterNodeConfig()


class AbstractLinkConfig(_Model):
    """The literature's abstract elementary link."""

    success_probability: Annotated[float, Field(gt=0.0, le=1.0)] = 0.01
    attempt_duration_s: Positive = 1e-4
    fresh_fidelity: Annotated[float, Field(ge=0.25, le=1.0)] = 0.95
    length_km: FibreLengthKm = 0.0
    storage_window_s: Positive = 0.45


class AbstractMemoryConfig(_Model):
    """Depolarising memory: 1/e time of the stored pair's Werner parameter (s)."""

    coherence_time_s: Positive = 1.0


class AbstractClassicalConfig(_Model):
    """One-way classical delay across one segment (s); none unless set."""

    delay_per_segment_s: NonNegative = 0.0
    processing_delay_s: NonNegative = 0.0


class AbstractScenario(_Model):
    kind: Literal["abstract"] = "abstract"
    name: str = "abstract"
    description: str = ""
    link: AbstractLinkConfig = AbstractLinkConfig()
    memory: AbstractMemoryConfig = AbstractMemoryConfig()
    swap: SwapConfig = SwapConfig()
    classical: AbstractClassicalConfig = AbstractClassicalConfig()
    qkd: QKDConfig = QKDConfig()
    calibration: CalibrationConfig = CalibrationConfig()


Scenario = Union[HardwareScenario, AbstractScenario]
SCENARIO_TYPES = {"hardware": HardwareScenario, "abstract": AbstractScenario}
