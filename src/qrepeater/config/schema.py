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

from typing import Annotated, Literal, Union

from pydantic import BaseModel, ConfigDict, Field

Probability = Annotated[float, Field(ge=0.0, le=1.0)]
NonNegative = Annotated[float, Field(ge=0.0)]
Positive = Annotated[float, Field(gt=0.0)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)


class MemoryConfig(_Model):
    """Ion memory of one node (see :class:`qrepeater.physics.memory.IonMemory`)."""

    storage_level_lifetime_s: Positive = 1.16
    decoupling_pulse_interval_s: Positive = 0.5e-3
    decoupling_error_per_pulse: Probability = 6.1e-4
    pulse_error_dephasing_weight: Probability = 1.0
    field_noise_rms_rad_per_s: NonNegative = 0.0
    field_noise_correlation_time_s: Positive = 0.05
    state_transfer_fidelity: Annotated[float, Field(ge=0.5, le=1.0)] = 1.0


class SourceConfig(_Model):
    """Photon emission and fibre coupling of one node."""

    collection_efficiency: Probability = 0.09
    fiber_mode_matching_efficiency: Probability = 0.289
    excited_state_decay_time_s: Positive = 7.45e-9
    wavelength_m: Positive = 393e-9


class NodeConfig(_Model):
    memory: MemoryConfig = MemoryConfig()
    source: SourceConfig = SourceConfig()


class FilterStageConfig(_Model):
    name: str
    shape: Literal["flat", "gaussian", "airy"]
    bandwidth_hz: Positive
    peak_transmission: Probability
    free_spectral_range_hz: Positive | None = None


class ConversionConfig(_Model):
    """Frequency converter and filter cascade (identical at both nodes)."""

    external_efficiency: Probability = 0.57
    noise_spectral_density_per_s_per_nm: NonNegative = 1.3e5
    pump_wavelength_m: Positive = 527e-9
    pump_power_w: NonNegative = 0.060
    filters: tuple[FilterStageConfig, ...] = ()


class FiberConfig(_Model):
    attenuation_db_per_km: NonNegative = 0.2
    group_index: Annotated[float, Field(ge=1.0)] = 1.468


class DetectorConfig(_Model):
    efficiency: Probability = 0.72
    dark_count_rate_hz: NonNegative = 2.0
    detection_window_s: Positive = 30e-9


class PhaseConfig(_Model):
    fiber_residual_phase_noise_rad: NonNegative = 0.12
    mode_overlap: Probability = 0.993
    local_residual_phase_noise_rad: NonNegative = 0.0


class TimingConfig(_Model):
    cooling_duration_s: NonNegative = 300e-6
    state_preparation_s: NonNegative = 20e-6
    excitation_s: NonNegative = 2e-6


class HardwareLinkConfig(_Model):
    """The heralded link: protocol, excitation probability, length and station position."""

    protocol: Literal["spep", "two-photon"] = "spep"
    excitation_probability: Annotated[float, Field(gt=0.0, le=1.0)] = 0.17
    length_km: NonNegative = 10.0
    station_position: Probability = 0.5
    storage_window_s: Positive = 0.45


class SwapConfig(_Model):
    """Entanglement swapping at a repeater node."""

    success_probability: Probability = 1.0
    gate_fidelity: Probability = 1.0
    readout_error: Annotated[float, Field(ge=0.0, le=0.5)] = 0.0


class ClassicalConfig(_Model):
    """Classical communication: processing latency added to every message (s)."""

    processing_delay_s: NonNegative = 0.0


class QKDConfig(_Model):
    """DI-QKD measurement: delay from herald to measurement, and readout error per outcome."""

    measurement_delay_s: NonNegative = 0.0
    readout_error: Annotated[float, Field(ge=0.0, le=0.5)] = 0.0


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


class AbstractLinkConfig(_Model):
    """The literature's abstract elementary link."""

    success_probability: Annotated[float, Field(gt=0.0, le=1.0)] = 0.01
    attempt_duration_s: Positive = 1e-4
    fresh_fidelity: Annotated[float, Field(ge=0.25, le=1.0)] = 0.95
    length_km: NonNegative = 0.0
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


Scenario = Union[HardwareScenario, AbstractScenario]
SCENARIO_TYPES = {"hardware": HardwareScenario, "abstract": AbstractScenario}
