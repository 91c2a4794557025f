"""What a requirements study asks and what an improvement costs: targets and the cost model.

Targets
-------
A target is ``METRIC OP VALUE`` with OP one of ``>=``, ``>``, ``<=``, ``<`` and METRIC a numeric metric
of the chosen engine (:func:`qrepeater.studies.point.metric_names`), e.g. ``rate_hz>=0.1``,
``mean_fidelity>=0.8``, ``secret_key_rate_bps>0``. :meth:`Target.margin` measures by how much a
point meets it — in ln units for a positive threshold (``ln M − ln T``: a margin of −0.1 means "10 %
short"), linearly for a threshold ≤ 0. For ``> 0`` / ``>= 0`` on a key metric (``secret_key_fraction``,
``secret_key_rate_bps``, ``key_bits_per_channel_use``, all clipped at 0) the margin is the *unclipped*
asymptotic BB84 fraction 1 − h(e_z) − h(e_x) of the delivered state (Shor & Preskill, PRL 85, 441
(2000); the convention of :mod:`qrepeater.engines.metrics`), which is positive exactly when the key
metric is (given a positive rate) and keeps the constraint smooth where the metric itself is flat at 0.

Cost model: improvement factors
-------------------------------
Each varied hardware parameter gets an improvement factor k ≥ 1; how k acts depends on the parameter's
*kind* (:data:`KINDS`, with the parameters of each kind in :data:`PARAMETER_KINDS`):

=============  =========================================  ===========================================
kind           improved value                             what it means
=============  =========================================  ===========================================
probability    q → q^(1/k)                                a probability of success / no error
                                                          (efficiency, transmission, fidelity,
                                                          overlap): its −ln q — the loss in dB, the
                                                          error exponent — divided by k
error          p → 1 − (1 − p)^(1/k)                      a probability of error: the same rule on
                                                          its no-error probability 1 − p; ≈ p/k when
                                                          p ≪ 1
lifetime       T → k·T                                    a lifetime or coherence time
duration       t → t/k                                    the time an operation takes
noise          r → r/k                                    a noise rate, amplitude or density, or a
                                                          loss per length (dB/km)
bandwidth      B → k·B                                    a control bandwidth
setting        x → x·s, s free in [1/S, S], cost 0        an operating point (not hardware): chosen
                                                          freely within its range
=============  =========================================  ===========================================

Rationale. The rule for probabilities and times is the convention of the genetic-algorithm
requirement studies of da Silva, Torres-Knoop, Coopmans, Maier and Wehner, "Optimizing entanglement
generation and distribution using genetic algorithms", Quantum Sci. Technol. 6, 035007 (2021)
(arXiv:2010.16373): a probability of no error p_ne improved by k becomes p_ne^(1/k), a coherence time
T becomes k·T. *Their text was not readable here; the convention is taken as we recall it and is
documented as our choice, not as a quotation.* Its virtue: −ln q adds up over independent loss or
error stages, so dividing it by k is "k times less loss (in dB) or error" whatever the stage, and an
efficiency can never exceed 1. We prefer it to η → 1 − (1 − η)/k for efficiencies, which would lift a
9 % collection efficiency to 55 % for k = 2 — the price of halving a gate error — where q^(1/k) gives
30 %. Rates of noise and durations shrink as 1/k and times grow as k (the same ln-k price for a
factor k, whichever direction is better). The cost of a plan is Σ_i w_i ln k_i (``log-factor``,
weights w_i = 1 unless given): "orders of magnitude of improvement", so a factor 10 on one parameter
costs as much as factors √10 on two.

Parameters a node shares (``node_a.x`` and ``node_b.x``) are tied by default — one factor for both,
counted once — and written ``node_{a,b}.x``; each is reported under its own dotted path, as ``--set``
takes it. A parameter whose baseline cannot improve under its rule (a probability at 1 or 0, an error
or noise at 0) is refused with one line.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..config import SCENARIO_TYPES
from ..config.paths import field_bounds, get_path, parse_path
from ..engines.metrics import binary_entropy
from ..errors import ConfigError, ParameterError
from ..states import BellDiagonal
from .point import metric_names

# ------------------------------------------------------------------------------------------------
# targets
# ------------------------------------------------------------------------------------------------

OPS = (">=", "<=", ">", "<")
_TARGET = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(>=|<=|>|<)\s*([^\s<>=]+)\s*$")
#: metrics clipped at 0 through the BB84 key fraction (see the module docstring)
KEY_METRICS = ("secret_key_fraction", "secret_key_rate_bps", "key_bits_per_channel_use")
#: metrics that are not numbers and cannot be targets
NON_NUMERIC = ("beats_plob",)
#: margin of a positive-threshold target when the metric is 0 or undefined (ln units; e^-30 short)
MARGIN_UNDEFINED = -30.0


def unclipped_key_fraction(metrics: dict) -> float | None:
    """1 − h(e_z) − h(e_x) of the delivered mean state (``state_*`` metrics), not clipped at 0."""
    w = [metrics.get(f"state_{k}") for k in ("phi_plus", "phi_minus", "psi_plus", "psi_minus")]
    if any(v is None for v in w):
        return None
    c = np.clip(np.asarray(w, float), 0.0, None)
    t = BellDiagonal(coefficients=c / c.sum()).correlators
    return float(1.0 - binary_entropy((1.0 - t[2]) / 2.0) - binary_entropy((1.0 - t[0]) / 2.0))


@dataclass(frozen=True)
class Target:
    """``metric op value``: one requirement on a metric of :func:`qrepeater.studies.evaluate.evaluate`."""

    metric: str
    op: str
    value: float

    @property
    def text(self) -> str:
        return f"{self.metric}{self.op}{self.value:g}"

    @property
    def wants_more(self) -> bool:
        return self.op in (">=", ">")

    def met(self, metrics: dict) -> bool:
        """True if the metric value of ``metrics`` satisfies the target (strictly for > and <)."""
        m = metrics.get(self.metric) if metrics else None
        if m is None or not math.isfinite(m):
            return False
        return {">=": m >= self.value, ">": m > self.value, "<=": m <= self.value, "<": m < self.value}[self.op]

    def margin(self, metrics: dict | None) -> float:
        """How far ``metrics`` is inside (> 0) or outside (< 0) the target (module docstring)."""
        if not metrics:
            return MARGIN_UNDEFINED
        m = metrics.get(self.metric)
        if self.wants_more and self.value <= 0 and self.metric in KEY_METRICS:
            r = unclipped_key_fraction(metrics)
            if r is not None and (metrics.get("rate_hz") or 0) > 0:
                return r if self.value == 0 else (float(m) - self.value if m is not None else MARGIN_UNDEFINED)
        if m is None or not math.isfinite(m):
            return MARGIN_UNDEFINED
        if self.value > 0:
            if self.wants_more:
                return math.log(m / self.value) if m > 0 else MARGIN_UNDEFINED
            return math.log(self.value / m) if m > 0 else -MARGIN_UNDEFINED
        return (m - self.value) if self.wants_more else (self.value - m)

    def to_dict(self) -> dict[str, Any]:
        return {"target": self.text, "metric": self.metric, "op": self.op, "value": self.value}


def parse_target(text: str, engine: str = "exact") -> Target:
    """``"rate_hz>=0.1"`` → :class:`Target`; a bad expression or metric is one :class:`ConfigError` line."""
    names = [n for n in metric_names(engine) if n not in NON_NUMERIC]
    m = _TARGET.match(str(text))
    if m is None:
        raise ConfigError(f"--target {text!r}: expected METRIC>=VALUE (or >, <=, <), e.g. rate_hz>=0.1")
    metric, op, raw = m.groups()
    if metric not in names:
        raise ConfigError(f"--target {text!r}: {metric!r} is not a metric of engine {engine!r}; allowed: {', '.join(names)}")
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"--target {text!r}: {raw!r} is not a number") from None
    if not math.isfinite(value):
        raise ConfigError(f"--target {text!r}: the value must be a finite number")
    return Target(metric, op, value)


# ------------------------------------------------------------------------------------------------
# cost model
# ------------------------------------------------------------------------------------------------

#: kind → (what improves, the mapping, as written in the module docstring)
KINDS: dict[str, str] = {
    "probability": "q -> q**(1/k) (probability of success / no error)",
    "error": "p -> 1 - (1 - p)**(1/k) (probability of error)",
    "lifetime": "T -> k*T (lifetime, coherence time)",
    "duration": "t -> t/k (duration of an operation)",
    "noise": "r -> r/k (noise rate, amplitude or density; loss per length)",
    "bandwidth": "B -> k*B (control bandwidth)",
    "setting": "x -> x*s, s in [1/S, S], cost 0 (operating point)",
}

#: Which kind each improvable parameter is, by its path with ``node_a``/``node_b`` written ``node`` and
#: filter indices written ``*``. A parameter not listed (a model constant such as a fitted weight, a
#: wavelength, a filter bandwidth, the fibre's group index) cannot be varied. The filter stages'
#: transmissions are not listed either: ``--set`` cannot address an entry of the filter list, and every
#: reported parameter must be one that ``--set`` takes.
PARAMETER_KINDS: dict[str, str] = {
    # hardware scenarios
    "node.memory.storage_level_lifetime_s": "lifetime",  # stands for a longer-lived storage level / encoding
    "node.memory.decoupling_error_per_pulse": "error",
    "node.memory.field_noise_rms_rad_per_s": "noise",
    "node.memory.state_transfer_fidelity": "probability",
    "node.source.collection_efficiency": "probability",
    "node.source.fiber_mode_matching_efficiency": "probability",
    "conversion.external_efficiency": "probability",
    "conversion.noise_spectral_density_per_s_per_nm": "noise",
    "fiber.attenuation_db_per_km": "noise",
    "detectors.efficiency": "probability",
    "detectors.dark_count_rate_hz": "noise",
    "phase.mode_overlap": "probability",
    "phase.local_residual_phase_noise_rad": "noise",
    "phase.fiber_phase_noise_rad2_per_hz_per_km": "noise",
    "phase.stabilisation_bandwidth_hz": "bandwidth",
    "phase.servo_latency_s": "duration",
    "timing.cooling_duration_s": "duration",
    "timing.state_preparation_s": "duration",
    "timing.excitation_s": "duration",
    "link.excitation_probability": "setting",
    # the repeater node as built (hardware, repeater_node.enabled; qrepeater.physics.node): gate and
    # readout times shrink, the transfer gate's fidelity is a success probability, heating per second and
    # crosstalk shrink: the scatter probability per attempt as an error, the fractions (of the light
    # coupled to a memory ion, of a scatter leaking into the stored state, of the intensity reaching
    # the memory ions; 1 by default, which the error rule could not improve) as r → r/k. Not varied:
    # atomic constants (line widths, wavelengths, offsets), cooling settings, integers (ion counts) and
    # the trap geometry (ion distance), which trade against quantities the model does not hold.
    "repeater_node.transfer_gate_fidelity": "probability",
    "repeater_node.transfer_gate_duration_s": "duration",
    "repeater_node.swap_gate_duration_s": "duration",
    "repeater_node.readout_duration_s": "duration",
    "repeater_node.heating_gate_error_per_s": "noise",
    "repeater_node.time_since_recooling_s": "duration",
    "repeater_node.crosstalk_scatter_probability_per_attempt": "error",
    "repeater_node.crosstalk_coupled_fraction": "noise",  # fractions, 1 by default: r → r/k
    "repeater_node.scatter_leak_probability": "noise",
    "repeater_node.crosstalk_intensity_fraction": "noise",
    # abstract scenarios
    "link.success_probability": "probability",
    "link.attempt_duration_s": "duration",
    "link.fresh_fidelity": "probability",
    "memory.coherence_time_s": "lifetime",
    "classical.processing_delay_s": "duration",
    # both
    "swap.success_probability": "probability",
    "swap.gate_fidelity": "probability",
    "swap.readout_error": "error",
    "qkd.readout_error": "error",
    "qkd.measurement_delay_s": "duration",
}

#: Default ``--vary`` sets. Hardware: the operating point α (free) and the qualities that set a long
#: chain's rate and fidelity — photon collection, the memory (storage-level lifetime, decoupling pulse
#: error, magnetic-field noise, transfer fidelity), two-photon interference (mode overlap, local and fibre phase noise) and
#: the swap gate. Abstract: every quality of the abstract link.
DEFAULT_VARY: dict[str, tuple[str, ...]] = {
    "hardware": (
        "link.excitation_probability",
        "node_{a,b}.source.collection_efficiency",
        "node_{a,b}.memory.storage_level_lifetime_s",
        "node_{a,b}.memory.decoupling_error_per_pulse",
        "node_{a,b}.memory.field_noise_rms_rad_per_s",
        "node_{a,b}.memory.state_transfer_fidelity",
        "phase.mode_overlap",
        "phase.local_residual_phase_noise_rad",
        "phase.fiber_phase_noise_rad2_per_hz_per_km",
        "swap.gate_fidelity",
    ),
    "abstract": (
        "link.success_probability",
        "link.attempt_duration_s",
        "link.fresh_fidelity",
        "memory.coherence_time_s",
        "swap.gate_fidelity",
    ),
}

#: span S of a free setting: it is searched over [x/S, x·S] (log-uniformly), within its field's range
SETTING_SPAN = 100.0
_EDGE = 1e-12


def _kind_key(path: tuple) -> str:
    parts = ["node" if (i == 0 and p in ("node_a", "node_b")) else ("*" if isinstance(p, int) else p) for i, p in enumerate(path)]
    return ".".join(parts)


def dotted(path: tuple) -> str:
    """``("swap", "gate_fidelity")`` → ``"swap.gate_fidelity"`` (integer parts as digits)."""
    return ".".join(str(p) for p in path)


def improved_value(kind: str, baseline: float, factor: float) -> float:
    """Value of a parameter of ``kind`` at baseline ``baseline`` improved by ``factor`` (module table)."""
    k = float(factor)
    if kind == "probability":
        return baseline ** (1.0 / k)
    if kind == "error":
        return -math.expm1(math.log1p(-baseline) / k)
    if kind in ("lifetime", "bandwidth", "setting"):
        return baseline * k
    if kind in ("duration", "noise"):
        return baseline / k
    raise ConfigError(f"unknown parameter kind {kind!r}; allowed: {', '.join(KINDS)}")


def factor_of(kind: str, baseline: float, value: float) -> float:
    """Inverse of :func:`improved_value`: the factor that turns ``baseline`` into ``value``."""
    if kind == "probability":
        return math.log(baseline) / math.log(value) if value < 1 else math.inf
    if kind == "error":
        return math.log1p(-baseline) / math.log1p(-value) if value > 0 else math.inf
    if kind in ("lifetime", "bandwidth", "setting"):
        return value / baseline
    return baseline / value if value > 0 else math.inf


@dataclass(frozen=True)
class Variable:
    """One optimisation variable: a (possibly tied) parameter and the range of its ln-factor.

    ``lo``/``hi`` bound x = ln k (ln s for a setting); ``weight`` multiplies ln k in the cost.
    """

    name: str
    paths: tuple[tuple, ...]
    baselines: tuple[float, ...]
    kind: str
    lo: float
    hi: float
    weight: float = 1.0

    def values(self, x: float) -> list[float]:
        k = math.exp(x)
        return [improved_value(self.kind, b, k) for b in self.baselines]

    def cost(self, x: float) -> float:
        return 0.0 if self.kind == "setting" else self.weight * max(x, 0.0)


def _groups(data: dict, scenario_kind: str, name: str, per_node: bool) -> list[tuple[str, tuple[tuple, ...]]]:
    """Resolve one ``--vary`` entry to [(display name, paths)]."""
    text = re.sub(r"\[(\d+)\]", r".\1", name.strip())
    if text.startswith("node_{a,b}."):
        rest = text[len("node_{a,b}."):]
        paths = tuple(parse_path(f"{n}.{rest}") for n in ("node_a", "node_b"))
        return [(text, paths)] if not per_node else [(dotted(p), (p,)) for p in paths]
    return [(dotted(parse_path(text)), (parse_path(text),))]


def _node_prefix(key: str, replacement: str) -> str:
    """``node.x`` → ``{replacement}.x`` (only a leading ``node``: ``repeater_node.x`` stays)."""
    return replacement + key[len("node"):] if key.startswith("node.") else key


def _exists(data: dict, key: str) -> bool:
    try:
        get_path(data, parse_path(_node_prefix(key, "node_a").replace(".*.", ".0.")))
    except ConfigError:
        return False
    return True


def _check_kind(option: str, path: tuple, data: dict, scenario_kind: str) -> str:
    kind = PARAMETER_KINDS.get(_kind_key(path))
    if kind is None or not _exists(data, _kind_key(path)):
        allowed = sorted(_node_prefix(k, "node_{a,b}").replace(".*.", ".N.") for k in PARAMETER_KINDS if _exists(data, k))
        raise ConfigError(f"{option} {dotted(path)}: not an improvable parameter of this {scenario_kind} scenario; allowed: {', '.join(allowed)}")
    return kind


def _range(model, path: tuple, kind: str, baseline: float, max_factor: float) -> tuple[float, float]:
    lo, lo_inc, hi, hi_inc = field_bounds(model, path)
    if kind == "setting":
        s_lo, s_hi = 1.0 / SETTING_SPAN, SETTING_SPAN
        if hi is not None:
            s_hi = min(s_hi, hi / baseline * (1.0 if hi_inc else 1.0 - _EDGE))
        if lo is not None and lo > 0:
            s_lo = max(s_lo, lo / baseline * (1.0 if lo_inc else 1.0 + _EDGE))
        return math.log(s_lo), math.log(s_hi)
    k_hi = max_factor
    if kind in ("lifetime", "bandwidth") and hi is not None:
        k_hi = min(k_hi, hi / baseline)
    return 0.0, math.log(k_hi)


def _improvable(kind: str, baseline: float) -> bool:
    if kind == "probability":
        return 0.0 < baseline < 1.0
    if kind == "error":
        return 0.0 < baseline < 1.0
    return baseline > 0.0


def resolve_variables(scenario, vary=None, *, max_factor: float = 100.0, weights: dict[str, float] | None = None,
                      per_node: bool = False) -> list[Variable]:
    """The optimisation variables of ``vary`` (default :data:`DEFAULT_VARY`) for ``scenario``.

    ``weights`` maps a ``--vary`` name (or one of its dotted paths) to its cost weight (> 0).
    Raises :class:`ConfigError` / :class:`ParameterError` (one line) for an unknown path, a parameter
    that is not improvable, or one whose baseline cannot improve (a default parameter whose baseline
    cannot improve, such as a perfect swap gate, is left out instead).
    """
    if not (max_factor > 1 and math.isfinite(max_factor)):
        raise ParameterError("--max-factor", max_factor, "a finite number > 1")
    data = scenario.model_dump(mode="python")
    model = SCENARIO_TYPES[scenario.kind]
    defaults = not vary
    names = list(vary) if vary else list(DEFAULT_VARY[scenario.kind])
    weights = dict(weights or {})
    used_weights: set[str] = set()
    out: list[Variable] = []
    seen: set[tuple] = set()
    for name in names:
        for display, paths in _groups(data, scenario.kind, name, per_node):
            kinds = {_check_kind("--vary", p, data, scenario.kind) for p in paths}
            kind = kinds.pop()
            if defaults and not all(_improvable(kind, float(get_path(data, p))) for p in paths):
                continue  # a default that this scenario already has at its best (e.g. a perfect gate)
            baselines = []
            for p in paths:
                if p in seen:
                    raise ConfigError(f"--vary {dotted(p)}: given twice")
                seen.add(p)
                v = get_path(data, p)
                if isinstance(v, bool) or not isinstance(v, (int, float)):
                    raise ConfigError(f"--vary {dotted(p)}: not a number in this scenario")
                if not _improvable(kind, float(v)):
                    raise ParameterError(f"--vary {dotted(p)}", float(v), f"a baseline that a {kind} factor can improve ({KINDS[kind]})")
                baselines.append(float(v))
            lo, hi = _range(model, paths[0], kind, baselines[0], max_factor)
            for p, b in zip(paths[1:], baselines[1:]):
                lo2, hi2 = _range(model, p, kind, b, max_factor)
                lo, hi = max(lo, lo2), min(hi, hi2)
            w = 1.0
            for key in (display, name, *(dotted(p) for p in paths)):
                if key in weights:
                    w = float(weights[key])
                    used_weights.add(key)
                    break
            if not (w > 0 and math.isfinite(w)):
                raise ParameterError(f"--weight {display}", w, "a finite number > 0")
            out.append(Variable(display, tuple(paths), tuple(baselines), kind, lo, hi, w))
    unused = sorted(set(weights) - used_weights)
    if unused:
        raise ConfigError(f"--weight {unused[0]}: not a varied parameter; allowed: {', '.join(v.name for v in out)}")
    return out


__all__ = [
    "DEFAULT_VARY",
    "KINDS",
    "PARAMETER_KINDS",
    "Target",
    "Variable",
    "dotted",
    "factor_of",
    "improved_value",
    "parse_target",
    "resolve_variables",
    "unclipped_key_fraction",
]
