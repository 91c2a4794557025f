"""Per-segment links of a chain: segment lengths and choices (protocol, α, multiplexing) on one clock.

The engines (:class:`qrepeater.engines.ChainSpec`) run all links in lock-step: one clock step τ, one
classical delay δ and one pair decay rate for every segment. Segments of different lengths or protocols
have different attempt durations τ_i (the heralding round trip grows with the length; a two-photon
attempt is two excitation rounds), so :func:`chain_segments` puts them on a common clock:

* τ = max_i τ_i (the slowest segment makes one attempt per step); segment i makes k_i = ⌊τ/τ_i⌋ whole
  attempts per step, so it heralds in a step with probability 1 − (1 − p_i)^(k_i) (first success among
  k_i attempts in a row; later attempts of the step are not made);
* a pair heralded by attempt j of the step is stored until the end of the step, τ − j τ_i, so its state
  at the step's end is the average Σ_j p_i (1 − p_i)^(j−1) decay(ρ_i, τ − j τ_i) / (1 − (1 − p_i)^(k_i))
  — exact for the engines, which count a pair from the end of the step in which it heralds (an ensemble
  average is linear in the state, as in :mod:`qrepeater.engines.exact`);
* δ = max_i δ_i and the decay rates Γ = max_i Γ_i (equal for the scenario's memories; they differ only
  when the repeater node's crosstalk depends on the attempt duration): a *conservative* choice — a
  message across a shorter segment, or a memory that decays more slowly, is taken as the slowest one.

For equal lengths and choices every segment is the link of :func:`qrepeater.builders.chain_segment`,
unchanged (k = 1, nothing stored, τ, δ and Γ its own).

Per-segment cut-off (:attr:`SegmentChoice.cutoff_s`, :func:`segment_cutoffs`): a segment's cut-off is the
cut-off of the memories that hold that segment's link pairs — the two memories, one at each end node,
dedicated to that link. A pair spanning segments i … j sits in the left-end memory of segment i and the
right-end memory of segment j, so it is discarded when its age exceeds min(cutoff_i, cutoff_j): the
strictest of its two memories (:class:`qrepeater.engines.ChainSpec`, ``cutoff_s`` as a tuple). With all
segment cut-offs equal this is the chain's single cut-off exactly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..config.schema import HardwareScenario, Scenario
from ..engines.model import SegmentLink
from ..errors import ParameterError, check_range
from ..states import BellDiagonal, decay
from .hardware import chain_segment

PROTOCOLS = ("spep", "two-photon")


@dataclass(frozen=True)
class SegmentChoice:
    """What a chain may choose per segment (None: the scenario's value).

    Parameters
    ----------
    protocol : {"spep", "two-photon"} or None
        Link protocol (hardware scenarios).
    excitation_probability : float or None
        Excitation probability α in (0, 1] (single-photon protocol: the heralded fidelity falls as ~1 − α,
        the success probability grows as ~2 α η).
    multiplex : int
        Memories (modes) per node per link side of this segment (≥ 1).
    cutoff_s : float or None
        Cut-off (s, > 0) of this segment's memories (module docstring); ``math.inf``: no cut-off; None: the
        chain's cut-off (:func:`segment_cutoffs`).
    """

    protocol: str | None = None
    excitation_probability: float | None = None
    multiplex: int = 1
    cutoff_s: float | None = None

    def __post_init__(self):
        if self.protocol is not None and self.protocol not in PROTOCOLS:
            raise ParameterError("protocol", self.protocol, "one of " + ", ".join(PROTOCOLS))
        if self.excitation_probability is not None:
            check_range("excitation_probability", float(self.excitation_probability), 0.0, 1.0, low_inclusive=False)
        if isinstance(self.multiplex, bool) or int(self.multiplex) != self.multiplex or self.multiplex < 1:
            raise ParameterError("multiplex", self.multiplex, "an integer >= 1")
        if self.cutoff_s is not None:
            check_range("cutoff_s", float(self.cutoff_s), 0.0, None, low_inclusive=False)

    def to_dict(self) -> dict:
        return {"protocol": self.protocol, "excitation_probability": self.excitation_probability,
                "multiplex": int(self.multiplex)}


def choose(scenario: Scenario, choice: SegmentChoice) -> Scenario:
    """The scenario with ``choice``'s protocol and excitation probability (validated by the schema)."""
    update = {}
    if choice.protocol is not None:
        update["protocol"] = choice.protocol
    if choice.excitation_probability is not None:
        update["excitation_probability"] = float(choice.excitation_probability)
    if not update:
        return scenario
    if not isinstance(scenario, HardwareScenario):
        raise ParameterError("segment choice", sorted(update), "a hardware scenario (an abstract link has no protocol or α)")
    link = type(scenario.link).model_validate({**scenario.link.model_dump(), **update})
    return scenario.model_copy(update={"link": link})


def segment_cutoffs(choices, cutoff_s=None):
    """``ChainSpec.cutoff_s`` of per-segment ``choices``: each choice's cut-off (``math.inf``: none), or the
    chain's ``cutoff_s`` (s or None) where it has none; a scalar when they are all equal (then the chain is
    the single-cut-off chain exactly), else one value per segment (None: no cut-off)."""
    cuts = [cutoff_s if c.cutoff_s is None else (None if math.isinf(c.cutoff_s) else float(c.cutoff_s))
            for c in choices]
    return cuts[0] if len(set(cuts)) <= 1 else tuple(cuts)


def on_clock(link: SegmentLink, tau_s: float, delay_s: float, transverse_rate_hz: float,
             longitudinal_rate_hz: float) -> SegmentLink:
    """``link`` on a clock of step ``tau_s`` ≥ its attempt duration (module docstring)."""
    same = (tau_s == link.attempt_duration_s and delay_s == link.classical_delay_s
            and transverse_rate_hz == link.transverse_rate_hz and longitudinal_rate_hz == link.longitudinal_rate_hz)
    if same:
        return link
    k = max(1, int(math.floor(tau_s / link.attempt_duration_s + 1e-9)))
    p = float(link.success_probability)
    j = np.arange(1, k + 1, dtype=float)
    weights = p * np.exp((j - 1) * math.log1p(-p)) if p < 1.0 else (j == 1).astype(float)
    stored = tau_s - j * link.attempt_duration_s
    corr = decay(link.fresh_state, stored, link.transverse_rate_hz, link.longitudinal_rate_hz).correlators
    mean = (weights[:, None] * np.asarray(corr).reshape(k, 3)).sum(axis=0) / weights.sum()
    return SegmentLink(
        success_probability=float(-math.expm1(k * math.log1p(-p))) if p < 1.0 else 1.0,
        attempt_duration_s=float(tau_s),
        fresh_state=BellDiagonal.from_correlators(*mean),
        transverse_rate_hz=float(transverse_rate_hz),
        longitudinal_rate_hz=float(longitudinal_rate_hz),
        classical_delay_s=float(delay_s),
    )


def chain_segments(scenario: Scenario, segment_lengths_km, choices=None) -> tuple[tuple, tuple]:
    """Per-segment engine inputs: ``(links, multiplex)`` for :class:`qrepeater.engines.ChainSpec`
    (``link=links, multiplex=multiplex``).

    Parameters
    ----------
    scenario : Scenario
    segment_lengths_km : sequence of float
        Length of every segment (km, > 0).
    choices : sequence of SegmentChoice (or dicts of its fields), optional
        One per segment (default: the scenario's protocol and α, multiplex 1).

    Returns
    -------
    (tuple of SegmentLink, tuple of int)
        The links on one clock (module docstring) and each segment's multiplexing.
    """
    lengths = [float(x) for x in segment_lengths_km]
    if not lengths:
        raise ParameterError("segment_lengths_km", segment_lengths_km, "at least one length")
    if choices is None:
        choices = [SegmentChoice()] * len(lengths)
    choices = [c if isinstance(c, SegmentChoice) else SegmentChoice(**c) for c in choices]
    if len(choices) != len(lengths):
        raise ParameterError("choices", f"{len(choices)} choices", f"one per segment ({len(lengths)})")
    raw = [chain_segment(choose(scenario, c), length) for c, length in zip(choices, lengths)]
    tau = max(lk.attempt_duration_s for lk in raw)
    delay = max(lk.classical_delay_s for lk in raw)
    g_t = max(lk.transverse_rate_hz for lk in raw)
    g_l = max(lk.longitudinal_rate_hz for lk in raw)
    links = tuple(on_clock(lk, tau, delay, g_t, g_l) for lk in raw)
    return links, tuple(int(c.multiplex) for c in choices)
