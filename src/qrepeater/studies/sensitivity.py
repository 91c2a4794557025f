"""Which hardware improvement buys the most: elasticities and improvement factors of one metric.

For a metric M (any metric of :func:`qrepeater.studies.evaluate.evaluate`: link figures, or chain
figures with ``engine = "exact"``/``"montecarlo"``) and every hardware parameter p — every positive
float leaf of the scenario (names, labels, strings and booleans excluded; filter stages included as
``conversion.filters[i].field``) —

* the **elasticity** E = d ln M / d ln p, by a central finite difference in log space,
  E ≈ [ln M(p e^h) − ln M(p e^−h)] / 2h with h = 1e−3 (one-sided, backward or forward, when p e^±h
  leaves the parameter's allowed range). E = 0.5 means "1 % more p gives 0.5 % more M".
* with a **target** value T, the **improvement factor** s = p_new / p that this parameter *alone*
  would need for M = T: the root of ln M(s p) − ln T, bracketed by scanning s geometrically from 1
  in the direction that moves M towards T (steps in ln s doubling from 0.02), then refined with
  Brent's method. The search stops at the
  parameter's allowed range (e.g. a probability reaches 1) or at a factor of 1000 either way; without
  a sign change before that the target is ``unreachable`` for this parameter.

By default a parameter present in both nodes (``node_a.x`` and ``node_b.x``) is treated as one
("node_{a,b}.x", both scaled by the same factor): an improvement usually applies to both.
"""

from __future__ import annotations

import copy
import math
import re
from dataclasses import dataclass
from typing import Any, Sequence

from scipy.optimize import brentq

from ..config import SCENARIO_TYPES, validate_scenario
from ..config.paths import field_bounds, get_path, set_path
from ..errors import ConfigError, QRepeaterError
from .evaluate import evaluate
from .point import metric_names

STEP = 1e-3
MAX_FACTOR = 1e3
EXCLUDED_KEYS = ("kind", "name", "description", "protocol", "shape", "calibration")
#: Set-up choices rather than hardware qualities, left out unless ``include_setup=True``. Hardware
#: scenarios: the link's geometry and operating point (``link.*``: length, station position,
#: excitation probability, the analysis window) and the optical wavelengths (moving the pump towards
#: the signal only lengthens the converted wavelength — more noise "heralds", not a better device).
#: Abstract scenarios: the length and the analysis window (their other ``link.*`` values *are* the
#: hardware).
SETUP_PREFIXES = {"hardware": ("link.",), "abstract": ("link.length_km", "link.storage_window_s")}
SETUP_SUFFIXES = ("wavelength_m",)


@dataclass(frozen=True)
class Sensitivity:
    """Sensitivity of the metric to one (possibly tied) parameter.

    Attributes
    ----------
    parameter : str
        Display name (``node_{a,b}.source.collection_efficiency`` for a tied node parameter).
    paths : tuple of str
        The scenario paths scaled together.
    value : float
        Current value (of the first path).
    elasticity : float or None
        d ln M / d ln p (None if M is not positive or not defined around p).
    method : str
        "central", "backward" or "forward" finite difference.
    factor : float or None
        With a target: p_new / p that reaches it (None if unreachable or no target).
    status : str
        "" (no target), "reached", "already met" or "unreachable".
    """

    parameter: str
    paths: tuple[str, ...]
    value: float
    elasticity: float | None
    method: str
    factor: float | None = None
    status: str = ""

    @property
    def new_value(self) -> float | None:
        return None if self.factor is None else self.value * self.factor

    def to_dict(self) -> dict[str, Any]:
        return {
            "parameter": self.parameter,
            "paths": list(self.paths),
            "value": self.value,
            "elasticity": self.elasticity,
            "method": self.method,
            "factor": self.factor,
            "new_value": self.new_value,
            "status": self.status,
        }


@dataclass(frozen=True)
class SensitivityReport:
    metric: str
    value: float | None
    target: float | None
    options: dict
    rows: tuple[Sensitivity, ...]

    def ranked(self) -> list[Sensitivity]:
        """Rows by |elasticity| (largest first), undefined elasticities last."""
        return sorted(self.rows, key=lambda r: (r.elasticity is None, -abs(r.elasticity or 0.0), r.parameter))

    def ranked_by_factor(self) -> list[Sensitivity]:
        """With a target: reachable parameters by how little they must change (|ln factor|), then the
        unreachable ones by |elasticity|."""
        return sorted(
            self.rows,
            key=lambda r: (r.factor is None, abs(math.log(r.factor)) if r.factor else -abs(r.elasticity or 0.0), r.parameter),
        )

    def to_dataframe(self):
        """One row per parameter (pandas is imported here): the columns of :meth:`Sensitivity.to_dict`
        with ``paths`` joined by ", ", in the order of :meth:`to_dict` (by factor with a target, else by
        |elasticity|); ``metric``, ``value``, ``target`` and ``options`` in ``df.attrs``. ``value`` and
        ``new_value`` are in each parameter's unit (the suffix of its name); elasticity and factor are
        dimensionless."""
        import pandas as pd

        rows = self.ranked_by_factor() if self.target is not None else self.ranked()
        df = pd.DataFrame([{**r.to_dict(), "paths": ", ".join(r.paths)} for r in rows],
                          columns=["parameter", "paths", "value", "elasticity", "method", "factor", "new_value", "status"])
        df.attrs.update(metric=self.metric, value=self.value, target=self.target, options=dict(self.options))
        return df

    def to_dict(self) -> dict[str, Any]:
        return {
            "metric": self.metric,
            "value": self.value,
            "target": self.target,
            "options": self.options,
            "parameters": [r.to_dict() for r in (self.ranked_by_factor() if self.target is not None else self.ranked())],
        }


Path_ = tuple  # a data path: keys and list indices


def _display(path: Path_) -> str:
    out = ""
    for k in path:
        out += f"[{k}]" if isinstance(k, int) else (("." if out else "") + k)
    return out


def _leaves(data: Any, prefix: Path_ = ()) -> list[tuple[Path_, float]]:
    out = []
    if isinstance(data, dict):
        for k, v in data.items():
            if k in EXCLUDED_KEYS:
                continue
            out += _leaves(v, prefix + (k,))
    elif isinstance(data, (list, tuple)):
        for i, v in enumerate(data):
            out += _leaves(v, prefix + (i,))
    elif isinstance(data, float) and math.isfinite(data) and data > 0:
        out.append((prefix, data))
    return out


def is_setup_parameter(name: str, kind: str = "hardware") -> bool:
    """True for set-up choices (see :data:`SETUP_PREFIXES`, :data:`SETUP_SUFFIXES`)."""
    return name.startswith(SETUP_PREFIXES.get(kind, ())) or name.endswith(SETUP_SUFFIXES)


def hardware_parameters(scenario, tie_nodes: bool = True, include_setup: bool = False) -> list[tuple[str, tuple[Path_, ...], float]]:
    """Every positive float leaf of a scenario: (display name, paths scaled together, value).

    Set-up choices (:func:`is_setup_parameter`) are left out unless ``include_setup``.
    """
    data = scenario.model_dump(mode="python")
    leaves = _leaves(data)
    groups: dict[str, list[tuple[Path_, float]]] = {}
    for path, value in leaves:
        name = _display(path)
        if not include_setup and is_setup_parameter(name, scenario.kind):
            continue
        if tie_nodes and path[0] in ("node_a", "node_b"):
            name = re.sub(r"^node_[ab]", "node_{a,b}", name)
        groups.setdefault(name, []).append((path, value))
    return [(name, tuple(p for p, _ in items), items[0][1]) for name, items in groups.items()]


class _Metric:
    """M(scale) for one parameter group: scales every path by ``scale`` and evaluates."""

    def __init__(self, data: dict, paths: Sequence[Path_], metric: str, options: dict):
        self.data = data
        self.paths = list(paths)
        self.metric = metric
        self.options = options
        self.base = [float(get_path(data, p)) for p in self.paths]
        model = SCENARIO_TYPES[data.get("kind", "hardware")]
        # allowed scale range: every path must stay inside its field's range
        s_lo, s_hi = 0.0, math.inf
        for p, v in zip(self.paths, self.base):
            lo, lo_inc, hi, hi_inc = field_bounds(model, p)
            if hi is not None:
                s_hi = min(s_hi, hi / v * (1.0 if hi_inc else 1.0 - 1e-12))
            if lo is not None and lo > 0:
                s_lo = max(s_lo, lo / v * (1.0 if lo_inc else 1.0 + 1e-12))
        self.s_lo, self.s_hi = s_lo, s_hi

    def __call__(self, scale: float) -> float | None:
        d = copy.deepcopy(self.data)
        for p, v in zip(self.paths, self.base):
            set_path(d, p, v * scale)
        try:
            value = evaluate(validate_scenario(d), self.options).get(self.metric)
        except QRepeaterError:
            return None
        return None if value is None or not math.isfinite(float(value)) else float(value)


def _log(x: float | None) -> float | None:
    return math.log(x) if x is not None and x > 0 else None


def _elasticity(f: _Metric, m0: float | None) -> tuple[float | None, str]:
    up_ok = math.exp(STEP) <= f.s_hi
    down_ok = math.exp(-STEP) >= f.s_lo
    l0 = _log(m0)
    if up_ok and down_ok:
        lp, lm = _log(f(math.exp(STEP))), _log(f(math.exp(-STEP)))
        if lp is not None and lm is not None:
            return (lp - lm) / (2 * STEP), "central"
    if down_ok and l0 is not None:
        lm = _log(f(math.exp(-STEP)))
        if lm is not None:
            return (l0 - lm) / STEP, "backward"
    if up_ok and l0 is not None:
        lp = _log(f(math.exp(STEP)))
        if lp is not None:
            return (lp - l0) / STEP, "forward"
    return None, "n/a"


def _improvement(f: _Metric, m0: float, target: float, elasticity: float | None) -> tuple[float | None, str]:
    """Scale factor s with M(s) = target, or (None, 'unreachable')."""
    want_up = target > m0
    if target == m0:
        return 1.0, "already met"
    if elasticity is None or elasticity == 0 or not math.isfinite(elasticity):
        return None, "unreachable"
    increase_p = (elasticity > 0) == want_up
    lt = math.log(target)

    def g(ln_s: float) -> float | None:
        v = _log(f(math.exp(ln_s)))
        return None if v is None else v - lt

    limit = math.log(min(MAX_FACTOR, f.s_hi)) if increase_p else math.log(max(1.0 / MAX_FACTOR, f.s_lo)) if f.s_lo > 0 else -math.log(MAX_FACTOR)
    if (increase_p and limit <= 0) or (not increase_p and limit >= 0):
        return None, "unreachable"
    # expanding steps in ln s: 0.02, 0.04, ... (doubling), ending exactly at the limit
    grid, step = [], 0.02
    while step < abs(limit):
        grid.append(math.copysign(step, limit))
        step *= 2.0
    grid.append(limit)
    prev_x, prev_g = 0.0, math.log(m0) - lt
    for x in grid:
        gx = g(x)
        if gx is None:
            break
        if (gx >= 0) != (prev_g >= 0):
            def g_or_nan(t: float) -> float:
                v = g(t)
                return math.nan if v is None else v

            root = brentq(g_or_nan, prev_x, x, xtol=1e-10, rtol=1e-10)
            return math.exp(root), "reached"
        prev_x, prev_g = x, gx
    return None, "unreachable"


def sensitivity(
    scenario, metric: str, options: dict | None = None, target: float | None = None, tie_nodes: bool = True, include_setup: bool = False
) -> SensitivityReport:
    """Elasticity (and, with ``target``, improvement factor) of ``metric`` for every hardware parameter.

    Parameters
    ----------
    scenario : Scenario
        Validated scenario (hardware or abstract).
    metric : str
        A metric of the chosen engine (``options["engine"]``, default "link").
    options : dict, optional
        Engine options (see :data:`qrepeater.studies.point.ENGINE_OPTIONS`).
    target : float, optional
        Value of the metric to reach (> 0).
    tie_nodes : bool
        Scale a parameter of node A and node B together (default).
    include_setup : bool
        Also rank the set-up choices (link geometry and operating point, wavelengths).

    Returns
    -------
    SensitivityReport
        ``metric``, its current ``value`` (the metric's unit, e.g. Hz for ``rate_hz``), ``target``,
        ``options`` and ``rows``: one :class:`Sensitivity` per parameter (``parameter``, ``paths``,
        ``value`` in the parameter's own unit, ``elasticity`` = d ln M / d ln p (1), ``factor``
        p_new / p (1) and ``status`` with a target); ``.ranked()`` orders them by |elasticity|,
        ``.to_dataframe()`` is one row per parameter in that order.
    """
    options = dict(options or {})
    engine = options.get("engine", "link")
    if metric not in metric_names(engine):
        raise ConfigError(f"--metric {metric!r}: not a metric of engine {engine!r}; available: {', '.join(metric_names(engine))}")
    if target is not None and not (target > 0 and math.isfinite(target)):
        raise ConfigError(f"--target {target!r}: must be a positive number")
    data = scenario.model_dump(mode="python")
    data = _thaw(data)
    m0 = evaluate(scenario, options).get(metric)
    m0 = None if m0 is None else float(m0)
    if m0 is None or not m0 > 0:
        raise ConfigError(f"--metric {metric}: value {m0!r} at the base point; elasticities need a positive metric")
    rows = []
    for name, paths, value in hardware_parameters(scenario, tie_nodes, include_setup):
        f = _Metric(data, paths, metric, options)
        e, method = _elasticity(f, m0)
        factor, status = (None, "")
        if target is not None:
            factor, status = _improvement(f, m0, target, e)
        rows.append(Sensitivity(name, tuple(_display(p) for p in paths), float(value), e, method, factor, status))
    return SensitivityReport(metric, m0, target, options, tuple(rows))


def _thaw(data: Any) -> Any:
    """Tuples → lists so values can be set in place."""
    if isinstance(data, dict):
        return {k: _thaw(v) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return [_thaw(v) for v in data]
    return data


__all__ = ["Sensitivity", "SensitivityReport", "hardware_parameters", "sensitivity"]
