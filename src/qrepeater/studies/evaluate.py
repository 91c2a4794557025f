"""Evaluate one point of a sweep: scenario + engine options → a flat dict of metrics.

Engines (option ``engine``):

* ``"link"`` — the figures of one elementary link (:func:`qrepeater.builders.link_metrics`) of
  length ``distance_km / segments`` (hardware scenarios: ``link.length_km`` is replaced by that
  length; abstract scenarios have no length). Cheap: milliseconds per point.
* ``"exact"`` / ``"montecarlo"`` — a repeater chain of ``segments`` such links
  (:class:`qrepeater.engines.model.ChainSpec` built with :func:`~qrepeater.builders.chain_segment`
  and :func:`~qrepeater.builders.swap_model`) solved by :mod:`qrepeater.engines.exact` or
  :mod:`qrepeater.engines.montecarlo`; the result is flattened from
  :meth:`qrepeater.engines.metrics.ChainResult.to_dict`.

Every engine also reports ``segment_length_km``, the end-to-end fibre ``transmissivity`` of
``distance_km`` and its repeaterless PLOB bound ``plob_bound`` (bits per channel use,
:func:`qrepeater.bounds.plob`), so sweeps can be compared with it. The fibre loss is the scenario's
``fiber.attenuation_db_per_km`` (abstract scenarios: 0.2 dB/km). For the link engine one channel use
is one attempt, so ``pairs_per_channel_use`` is the per-attempt herald probability of the segment
(comparable with PLOB for ``segments = 1``); the chain engines report ``key_bits_per_channel_use``.

Values are floats (None when undefined, e.g. an infinite time); ``beats_plob`` is a bool.
"""

from __future__ import annotations

import math
from typing import Any

from ..bounds import fiber_transmissivity, plob
from ..builders import chain_segment, link_metrics, swap_model
from ..config import HardwareScenario, Scenario, override, validate_scenario
from ..engines.model import ChainSpec
from ..errors import ConfigError
from .point import (
    CHAIN_METRICS,
    DEFAULT_ATTENUATION_DB_PER_KM,
    ENGINE_OPTIONS,
    LINK_FIELDS,
    split_point,
)


def point_scenario(base_data: dict, params: dict[str, Any]) -> tuple[Scenario, dict]:
    """Scenario data of a point with its dotted-path parameters applied, validated; and the raw data."""
    data = base_data
    for path, value in split_point(params)[1].items():
        data = override(data, path, value)
    return validate_scenario(data), data


def _num(x) -> float | None:
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def _attenuation(scenario: Scenario) -> float:
    if isinstance(scenario, HardwareScenario):
        return float(scenario.fiber.attenuation_db_per_km)
    return DEFAULT_ATTENUATION_DB_PER_KM


def _distance_figures(scenario: Scenario, distance_km: float, segments: int) -> dict:
    eta = float(fiber_transmissivity(distance_km, _attenuation(scenario)))
    return {
        "segment_length_km": distance_km / segments,
        "transmissivity": eta,
        "plob_bound": _num(plob(eta)),
    }


def _link(scenario: Scenario, distance_km: float, segments: int) -> dict:
    seg_len = distance_km / segments
    if isinstance(scenario, HardwareScenario):
        scenario = scenario.model_copy(update={"link": scenario.link.model_copy(update={"length_km": seg_len})})
    m = link_metrics(scenario)
    out = {k: _num(getattr(m, k)) for k in LINK_FIELDS}
    out["pairs_per_channel_use"] = _num(m.success_probability)
    out.update(_distance_figures(scenario, distance_km, segments))
    return out


def chain_spec(scenario: Scenario, options: dict):
    """:class:`qrepeater.engines.model.ChainSpec` of a scenario under the engine options."""
    segments = int(options["segments"])
    distance = float(options["distance_km"])
    seg_len = distance / segments
    if not isinstance(scenario, HardwareScenario) and seg_len <= 0:
        seg_len = 1.0  # abstract links ignore the length
    return ChainSpec(
        link=chain_segment(scenario, seg_len),
        segments=segments,
        swap=swap_model(scenario),
        cutoff_s=options.get("cutoff_s"),
        multiplex=int(options.get("multiplex", 1)),
        purification=options.get("purify", "none"),
        purification_rounds=int(options.get("purification_rounds", 1)),
        schedule=options.get("schedule", "nested"),
    )


def _chain(scenario: Scenario, options: dict, seed) -> dict:
    spec = chain_spec(scenario, options)
    if options["engine"] == "exact":
        from ..engines.exact import run_exact  # a link sweep loads no engine

        result = run_exact(spec)
    else:
        from ..engines.montecarlo import run_montecarlo

        result = run_montecarlo(spec, pairs=int(options.get("pairs", 2000)), seed=seed).result
    distance = float(options["distance_km"])
    if distance > 0:
        result = result.with_distance(distance, _attenuation(scenario))
    d = result.to_dict()
    out: dict[str, Any] = {}
    for key in ("rate_hz", "mean_fidelity", "mean_waiting_time_s"):
        out[key] = _num(d.get(key))
    for key, name in (("rate_ci95", "rate_ci95"), ("fidelity_ci95", "fidelity_ci95"), ("waiting_time_ci95", "waiting_time_ci95")):
        lo, hi = d.get(key) or (None, None)
        out[f"{name}_lo"], out[f"{name}_hi"] = _num(lo), _num(hi)
    for label, w in (d.get("mean_state") or {}).items():
        out[f"state_{label}"] = _num(w)
    for key in ("secret_key_fraction", "secret_key_rate_bps", "key_bits_per_channel_use", "attempt_duration_s", "truncation_error", "tgw_bound"):
        out[key] = _num(d.get(key))
    out["pairs_sampled"] = None if d.get("pairs") is None else float(d["pairs"])
    out["beats_plob"] = d.get("beats_plob")
    out.update(_distance_figures(scenario, distance, int(options["segments"])))
    return {k: out.get(k) for k in CHAIN_METRICS}


def evaluate(scenario: Scenario, options: dict, seed=None) -> dict[str, Any]:
    """All metrics of the chosen engine for ``scenario`` under ``options`` (see module docstring).

    ``options`` needs every key of :data:`qrepeater.studies.point.ENGINE_OPTIONS` that the
    engine uses; missing ones take their defaults (``distance_km``: the scenario's ``link.length_km``).
    ``seed`` (int or SeedSequence) is used by the Monte Carlo engine only.

    Returns
    -------
    dict
        Flat ``{metric: float or None}`` (None: undefined, e.g. infinite; ``beats_plob`` a bool), units
        in the names. Every engine: ``segment_length_km`` (km), ``transmissivity`` (1) and
        ``plob_bound`` (bit per channel use). ``"link"``: the fields of
        :func:`qrepeater.builders.link_metrics` of one segment (:data:`~.point.LINK_FIELDS`) and
        ``pairs_per_channel_use`` (1). ``"exact"``/``"montecarlo"``: the chain figures of
        :meth:`qrepeater.engines.metrics.ChainResult.to_dataframe` (:data:`~.point.CHAIN_METRICS`):
        ``rate_hz`` (Hz), ``mean_fidelity`` (1), ``mean_waiting_time_s`` (s), their 95 % bounds
        ``*_ci95_lo``/``*_ci95_hi``, Bell weights ``state_*``, ``secret_key_fraction`` (bit per pair),
        ``secret_key_rate_bps`` (bit/s), ``key_bits_per_channel_use``, ``attempt_duration_s`` (s),
        ``truncation_error``, ``pairs_sampled``, ``tgw_bound`` and ``beats_plob``.
        ``pandas.DataFrame([evaluate(...)])`` is one row.
    """
    opts = {k: default for k, (_, default, _) in ENGINE_OPTIONS.items()}
    opts["distance_km"] = float(scenario.link.length_km)
    opts.update({k: v for k, v in options.items() if v is not None or k == "cutoff_s"})
    engine = opts["engine"]
    if engine == "link":
        return _link(scenario, float(opts["distance_km"]), int(opts["segments"]))
    if engine in ("exact", "montecarlo"):
        return _chain(scenario, opts, seed)
    raise ConfigError(f"engine = {engine!r}: allowed: {', '.join(ENGINE_OPTIONS['engine'][0])}")


def evaluate_point(base_data: dict, params: dict[str, Any], options: dict, metrics=(), seed=None) -> dict[str, Any]:
    """One sweep point: apply ``params`` (engine options and dotted paths) to the base, evaluate.

    Returns ``{"metrics": {...}, "config": scenario data, "options": effective options}``; ``metrics``
    restricted to the requested names when given.
    """
    opts_point, _ = split_point(params)
    scenario, data = point_scenario(base_data, params)
    opts = dict(options)
    opts.update(opts_point)
    values = evaluate(scenario, opts, seed)
    if metrics:
        values = {k: values.get(k) for k in metrics}
    return {"metrics": values, "config": data, "options": opts}


__all__ = ["chain_spec", "evaluate", "evaluate_point", "point_scenario"]
