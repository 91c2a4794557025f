"""Figures of merit of one heralded link (the contract behind ``qrepeater link --json``)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from .delivery import humphreys_delivery_fidelity
from .heralding import LinkHardware
from .outcome import HeraldedLink
from .spep import spep_link
from .storage import expected_stored_fidelity, time_above_fidelity
from .two_photon import two_photon_link


@dataclass(frozen=True)
class LinkMetrics:
    """Link figures; every attribute is also a key of :meth:`to_dict`.

    Attributes (units in the names; dimensionless otherwise)
    ----------
    success_probability : per-attempt herald probability.
    attempt_duration_s : duration of one attempt.
    rate_hz : heralding (entanglement) rate.
    mean_generation_time_s : 1/rate.
    heralded_fidelity : fidelity with the target Bell state at the herald.
    decoherence_rate_hz : 1/coherence time of the stored pair.
    coherence_time_s : 1/e time of the stored pair's ⟨XX⟩ correlator.
    memory_encoding : storage encoding of the ion memories (``"optical"``, ``"zeeman_d52"``;
        None for an abstract depolarising memory); see :mod:`qrepeater.physics.memory`.
    pair_decay_rates_per_s : ``{"xx", "yy", "zz"}`` decay rates (1/s) of the stored pair's correlators
        at the start of storage (exponential decay, so the same at all times).
    link_efficiency : rate / decoherence rate (Humphreys et al. 2018 "quantum link efficiency").
    deterministic_delivery_fidelity : best deterministic-delivery fidelity for this link efficiency
        and heralded fidelity (Humphreys et al. 2018).
    expected_stored_fidelity : expected fidelity of the stored pair when the next attempt succeeds.
    expected_stored_fidelity_window : the same, conditioned on success within ``storage_window_s``.
    storage_window_s : that window.
    time_above_half_s : storage time until the pair's fidelity falls to 1/2.
    signal_fraction : fraction of heralds caused by the ions' photons.
    noise_counts_per_s : conversion noise per node after its filter cascade (None for abstract links).
    filter_transmission : signal transmission of the filter cascade (None for abstract links).
    interference_contrast : optical interference contrast at the station (None for abstract links).
    arm_efficiency : mean probability that an emitted photon clicks a station detector (None for abstract).
    detected_noise_rate_hz : noise counts per second at the station (None for abstract).
    """

    protocol: str
    success_probability: float
    attempt_duration_s: float
    rate_hz: float
    mean_generation_time_s: float
    heralded_fidelity: float
    decoherence_rate_hz: float
    coherence_time_s: float
    memory_encoding: str | None
    pair_decay_rates_per_s: dict[str, float]
    link_efficiency: float
    deterministic_delivery_fidelity: float
    expected_stored_fidelity: float
    expected_stored_fidelity_window: float
    storage_window_s: float
    time_above_half_s: float
    signal_fraction: float
    noise_counts_per_s: float | None = None
    filter_transmission: float | None = None
    interference_contrast: float | None = None
    arm_efficiency: float | None = None
    detected_noise_rate_hz: float | None = None

    def to_dict(self) -> dict:
        """JSON-safe dict (inf → None; nested dicts of numbers likewise)."""
        return {k: ({kk: _json_number(vv) for kk, vv in v.items()} if isinstance(v, dict) else _json_number(v)) for k, v in asdict(self).items()}

    def to_dataframe(self):
        """One-row :class:`pandas.DataFrame` of these figures (pandas is imported here, on first use).

        Columns are the attributes, in order, with ``pair_decay_rates_per_s`` split into
        ``pair_decay_rate_xx_per_s``, ``..._yy_...``, ``..._zz_...``; values are the attributes' own
        (``inf`` stays ``inf``, an absent hardware figure is NaN). Units are in the column names and,
        for every column that has one, in ``df.attrs["units"]`` (column → unit).
        """
        import pandas as pd

        row = {}
        for k, v in asdict(self).items():
            if k == "pair_decay_rates_per_s":
                row.update({f"pair_decay_rate_{c}_per_s": float(r) for c, r in v.items()})
            else:
                row[k] = math.nan if v is None and k != "memory_encoding" else v
        df = pd.DataFrame([row])
        df.attrs["units"] = {c: u for c, u in LINK_METRIC_UNITS.items() if c in df.columns}
        return df


#: unit of every :class:`LinkMetrics` figure that has one (the others are dimensionless or labels)
LINK_METRIC_UNITS = {
    "attempt_duration_s": "s",
    "rate_hz": "Hz",
    "mean_generation_time_s": "s",
    "decoherence_rate_hz": "Hz",
    "coherence_time_s": "s",
    "pair_decay_rate_xx_per_s": "1/s",
    "pair_decay_rate_yy_per_s": "1/s",
    "pair_decay_rate_zz_per_s": "1/s",
    "storage_window_s": "s",
    "time_above_half_s": "s",
    "noise_counts_per_s": "1/s",
    "detected_noise_rate_hz": "Hz",
}


def _json_number(v):
    """A float for JSON (inf/nan → None); anything that is not a number is returned unchanged."""
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        v = float(v)
        return v if math.isfinite(v) else None
    return v


def metrics_from_link(link: HeraldedLink, storage_window_s: float, **hardware_figures) -> LinkMetrics:
    """Compute the metrics of a :class:`HeraldedLink` (hardware figures passed through)."""
    rates = link.pair_decay
    state = link.heralded_state
    t_rate, l_rate = rates.transverse_rate_hz, rates.longitudinal_rate_hz
    link_eff = link.rate_hz / rates.decoherence_rate_hz if rates.decoherence_rate_hz > 0 else math.inf
    return LinkMetrics(
        protocol=link.protocol,
        success_probability=link.success_probability,
        attempt_duration_s=link.attempt_duration_s,
        rate_hz=link.rate_hz,
        mean_generation_time_s=1.0 / link.rate_hz,
        heralded_fidelity=link.heralded_fidelity,
        decoherence_rate_hz=rates.decoherence_rate_hz,
        coherence_time_s=rates.coherence_time_s,
        memory_encoding=rates.memory_encoding,
        pair_decay_rates_per_s=rates.correlator_rates_per_s,
        link_efficiency=link_eff,
        deterministic_delivery_fidelity=humphreys_delivery_fidelity(link_eff, link.heralded_fidelity) if math.isfinite(link_eff) else link.heralded_fidelity,
        expected_stored_fidelity=expected_stored_fidelity(state, t_rate, l_rate, link.success_probability, link.attempt_duration_s),
        expected_stored_fidelity_window=expected_stored_fidelity(
            state, t_rate, l_rate, link.success_probability, link.attempt_duration_s, storage_window_s
        ),
        storage_window_s=storage_window_s,
        time_above_half_s=time_above_fidelity(state, t_rate, l_rate, 0.5),
        signal_fraction=link.signal_fraction,
        **hardware_figures,
    )


def heralded_link(hardware: LinkHardware, protocol: str, excitation_probability: float) -> HeraldedLink:
    """Run the named protocol on the hardware."""
    if protocol == "spep":
        return spep_link(hardware, excitation_probability)
    if protocol == "two-photon":
        return two_photon_link(hardware)
    raise ValueError(f"unknown protocol {protocol!r}")


def hardware_link_metrics(hardware: LinkHardware, protocol: str, excitation_probability: float, storage_window_s: float) -> LinkMetrics:
    """Metrics of a hardware link, including the component figures (noise, filters, contrast)."""
    link = heralded_link(hardware, protocol, excitation_probability)
    conv = hardware.node_a.converter
    return metrics_from_link(
        link,
        storage_window_s,
        noise_counts_per_s=conv.noise_counts_per_s,
        filter_transmission=conv.filter_transmission,
        interference_contrast=hardware.phase.interference_contrast,
        arm_efficiency=0.5 * (hardware.arm_efficiency("a") + hardware.arm_efficiency("b")),
        detected_noise_rate_hz=hardware.detected_noise_rate_hz(),
    )
