"""Model curves drawn beside the reference figures by ``qrepeater reproduce`` (computed here, drawn
by :mod:`qrepeater.report.plots`).

Each function returns plain numpy arrays (SI units, names with their unit) so that the report layer
only renders.
"""

from __future__ import annotations

import numpy as np

from ..builders import link_metrics, scenario_link
from ..config import apply_overrides, validate_scenario
from ..links import humphreys_delivery_fidelity
from ..links.storage import stored_fidelity


def rate_and_fidelity_vs_alpha(scenario_data: dict, alphas=None) -> dict[str, np.ndarray]:
    """Heralding rate (Hz) and heralded fidelity of the link at each excitation probability α."""
    alphas = np.linspace(0.005, 0.30, 60) if alphas is None else np.asarray(alphas, dtype=float)
    metrics = [link_metrics(validate_scenario(apply_overrides(scenario_data, [f"link.excitation_probability={a}"]))) for a in alphas]
    return {
        "excitation_probability": alphas,
        "rate_hz": np.array([m.rate_hz for m in metrics]),
        "heralded_fidelity": np.array([m.heralded_fidelity for m in metrics]),
    }


def stored_fidelity_vs_time(scenario_data: dict, times_s=None) -> dict:
    """Fidelity of the stored heralded pair after each storage time (s), with the link's summary figures."""
    scenario = validate_scenario(scenario_data)
    link = scenario_link(scenario)
    m = link_metrics(scenario)
    t = np.linspace(0.0, 1.5, 300) if times_s is None else np.asarray(times_s, dtype=float)
    rates = link.pair_decay
    return {
        "time_s": t,
        "fidelity": np.asarray(stored_fidelity(link.heralded_state, t, rates.transverse_rate_hz, rates.longitudinal_rate_hz)),
        "expected_stored_fidelity": m.expected_stored_fidelity,
        "coherence_time_s": m.coherence_time_s,
        "excitation_probability": scenario.link.excitation_probability,
    }


def delivery_fidelity_vs_link_efficiency(fresh_fidelity: float, link_efficiencies=None) -> dict[str, np.ndarray]:
    """Deterministic-delivery fidelity (Humphreys et al. 2018) for a perfect and for the model's fresh pair."""
    x = np.logspace(-2, 1.5, 200) if link_efficiencies is None else np.asarray(link_efficiencies, dtype=float)
    return {
        "link_efficiency": x,
        "ideal": np.array([humphreys_delivery_fidelity(v, 1.0) for v in x]),
        "model": np.array([humphreys_delivery_fidelity(v, fresh_fidelity) for v in x]),
    }
