"""Link figures of the reference system (Liu et al., arXiv:2602.08472, Nature 2026) against the model.

Each row pairs a published figure (:class:`~qrepeater.validation.figures.ReferenceFigure`, graded
[P] published / [S] secondary write-up / [D] derived) with the model quantity computed from the
preset at the published operating point.
"""

from __future__ import annotations

from typing import Callable

from ..builders import link_hardware, link_metrics, scenario_link
from ..config import build_scenario
from ..links import delivery_threshold
from ..links.storage import stored_fidelity
from .figures import Comparison, ReferenceFigure


def _link_rows(base: str) -> list[tuple[ReferenceFigure, Callable[[], float]]]:
    main = build_scenario(base)
    qkd = build_scenario(base, overrides=["link.excitation_probability=0.025"])
    far = build_scenario(base, overrides=["link.excitation_probability=0.05", "link.length_km=101"])
    m = link_metrics(main)
    mq = link_metrics(qkd)
    link = scenario_link(main)
    rates = link.pair_decay
    slope_per_percent = (m.rate_hz - mq.rate_hz) / (100 * (main.link.excitation_probability - qkd.link.excitation_probability))
    rows = [
        (ReferenceFigure("rate_hz", "entanglement rate at α = 17%", "Hz", 2.226, "P", error=0.02 * 2.226, note="±2%"), lambda: m.rate_hz),
        (ReferenceFigure("mean_generation_time_s", "mean generation time", "s", 0.450, "P", error=0.010), lambda: m.mean_generation_time_s),
        (ReferenceFigure("coherence_time_s", "remote-entanglement coherence time", "s", 0.550, "P", error=0.036), lambda: m.coherence_time_s),
        (ReferenceFigure("decoherence_rate_hz", "decoherence rate", "Hz", 1.8, "P", low=1 / 0.586, high=1 / 0.514, note="1/(550 ± 36 ms)"), lambda: m.decoherence_rate_hz),
        (ReferenceFigure("link_efficiency", "quantum link efficiency", "", 1.2, "P", error=0.05), lambda: m.link_efficiency),
        (ReferenceFigure("expected_stored_fidelity", "stored-pair fidelity at next success", "", 0.578, "P", error=0.006), lambda: m.expected_stored_fidelity),
        (ReferenceFigure("expected_stored_fidelity_window", "… with next success within 450 ms", "", 0.668, "S", error=0.005), lambda: m.expected_stored_fidelity_window),
        (
            ReferenceFigure("stored_fidelity_450ms", "stored-pair fidelity after 450 ms", "", 0.554, "S", error=0.050),
            lambda: stored_fidelity(link.heralded_state, 0.45, rates.transverse_rate_hz, rates.longitudinal_rate_hz),
        ),
        (ReferenceFigure("time_above_half_s", "stored pair above F = 0.5 for", "s", 0.547, "S", error=0.034), lambda: m.time_above_half_s),
        (ReferenceFigure("interference_contrast", "interference contrast (10 km)", "", 0.986, "P", error=0.005), lambda: m.interference_contrast),
        (ReferenceFigure("noise_counts_per_s", "noise after filter cascade", "1/s", 35.0, "P", error=3.5, note="±10%"), lambda: m.noise_counts_per_s),
        (ReferenceFigure("filter_transmission", "filter cascade transmission", "", 0.28, "P", error=0.02), lambda: m.filter_transmission),
        (
            ReferenceFigure("module_to_detector_efficiency", "conversion module → detectors (10 km)", "", 0.091, "S", error=0.005),
            lambda: link_hardware(main).module_to_detector_efficiency("a"),
        ),
        (ReferenceFigure("rate_slope_hz_per_percent", "heralding rate per % of α", "Hz/%", 0.1309, "S", error=0.05 * 0.1309, note="±5%"), lambda: slope_per_percent),
        (ReferenceFigure("rate_hz_alpha_2.5", "entanglement rate at α = 2.5%", "Hz", 0.327, "S", error=0.05 * 0.327, note="±5%"), lambda: mq.rate_hz),
        (ReferenceFigure("heralded_fidelity_alpha_2.5", "heralded fidelity at α = 2.5%", "", 0.917, "S", low=0.90, high=0.935, note="0.923 / 0.910"), lambda: mq.heralded_fidelity),
        (ReferenceFigure("heralded_fidelity_101km", "heralded fidelity, 101 km, α = 5%", "", 0.90, "S", low=0.90, high=0.92, note="just above 0.90"), lambda: link_metrics(far).heralded_fidelity),
        (ReferenceFigure("delivery_threshold", "deterministic-delivery threshold (F0 = 1)", "", 0.83, "P", error=0.005, note="Humphreys 2018"), lambda: delivery_threshold(1.0)),
    ]
    return rows


def compare_link(base: str = "ustc2026") -> list[Comparison]:
    """Model vs paper for every link figure of the reference (see :data:`ReferenceFigure`)."""
    return [Comparison(fig, float(fn())) for fig, fn in _link_rows(base)]
