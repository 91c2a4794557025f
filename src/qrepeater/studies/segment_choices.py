"""Per-segment choices of a chain (protocol, excitation probability α): a bounded coordinate search.

Why per segment. In the single-photon protocol the heralded fidelity falls as ~1 − α while the
success probability grows as ~2 α η (Humphreys et al., Nature 558, 268 (2018); Stockill et al.,
arXiv:2602.08472 for the ion block modelled here). In a chain whose segments differ (lengths, hence η),
a short segment waits for a long one anyway, so it can trade rate for fidelity (small α) while the long
segment, which sets the waiting time, takes a larger α; one α for all segments cannot do both.

Search. Each candidate chain is evaluated on the exact engine (:func:`qrepeater.engines.run_exact`,
per-segment links on one clock by :func:`qrepeater.builders.chain_segments`) and ranked by
(secret-key rate, rate). The search first tries every candidate on all segments alike (the best
uniform choice), then improves one segment at a time over all candidates (coordinate search), sweeping
until no segment improves or the time budget is spent. Every chain is evaluated at most once (cache).
:func:`brute_force` evaluates every combination — the check of the search on small cases.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field

from ..builders import SegmentChoice, chain_segments, swap_model
from ..config.schema import HardwareScenario
from ..engines import ChainSpec, run_exact
from ..errors import ParameterError

#: excitation probabilities tried per segment (with the scenario's own α)
ALPHA_CHOICES = (0.01, 0.02, 0.04, 0.08, 0.16, 0.3)


def candidate_choices(scenario, alphas=ALPHA_CHOICES, protocols=("spep", "two-photon"), multiplex: int = 1) -> list:
    """The per-segment candidates: single-photon at every α (and the scenario's α), two-photon once (its
    success probability and fidelity do not depend on α). Abstract scenarios: the scenario's link only."""
    if not isinstance(scenario, HardwareScenario):
        return [SegmentChoice(multiplex=multiplex)]
    out = []
    if "spep" in protocols:
        for a in sorted(set(alphas) | {float(scenario.link.excitation_probability)}):
            out.append(SegmentChoice("spep", float(a), multiplex))
    if "two-photon" in protocols:
        out.append(SegmentChoice("two-photon", float(scenario.link.excitation_probability), multiplex))
    return out


def chain_for(scenario, lengths_km, choices, *, cutoff_s=None, purification="none", schedule="nested") -> ChainSpec:
    """The :class:`ChainSpec` of per-segment ``choices`` on segments of ``lengths_km``."""
    links, mux = chain_segments(scenario, lengths_km, choices)
    return ChainSpec(link=links, segments=len(links), swap=swap_model(scenario), cutoff_s=cutoff_s, multiplex=mux,
                     purification=purification, purification_rounds=1, schedule=schedule)


def score(result) -> tuple[float, float]:
    """Ranking of a chain: (secret-key rate in bit/s, rate in Hz), larger is better."""
    return (float(result.secret_key_rate_bps or 0.0), float(result.rate_hz or 0.0))


@dataclass
class SegmentSearch:
    """Outcome of :func:`search_segment_choices`.

    Attributes
    ----------
    choices : list of SegmentChoice
        The best per-segment choices found.
    result : ChainResult
        Its exact-engine result.
    uniform_choice : SegmentChoice
        The best choice applied to every segment alike, and ``uniform_result`` its result.
    evaluations : int
        Chains evaluated (distinct).
    seconds : float
        Wall time of the search (s).
    stopped_at_time_limit : bool
        Whether the time budget ended the search before a sweep without improvement.
    skipped : list of str
        Candidates the exact engine could not evaluate (grid too long), with the reason.
    """

    choices: list
    result: object
    uniform_choice: SegmentChoice
    uniform_result: object
    evaluations: int = 0
    seconds: float = 0.0
    stopped_at_time_limit: bool = False
    skipped: list = field(default_factory=list)

    @property
    def improved_over_uniform(self) -> bool:
        return score(self.result) > score(self.uniform_result)


class _Evaluator:
    def __init__(self, scenario, lengths_km, max_grid, progress, **chain_kw):
        self.scenario, self.lengths, self.max_grid, self.progress, self.kw = scenario, list(lengths_km), max_grid, progress, chain_kw
        self.cache: dict = {}
        self.skipped: list = []

    def __call__(self, choices):
        key = tuple(choices)
        if key not in self.cache:
            try:
                spec = chain_for(self.scenario, self.lengths, choices, **self.kw)
                self.cache[key] = run_exact(spec, max_grid=self.max_grid) if self.max_grid else run_exact(spec)
            except ParameterError as exc:
                self.skipped.append(f"{_label(choices)}: {exc}")
                self.cache[key] = None
            if self.progress is not None:
                self.progress.step(f"{len(self.cache)} chains evaluated; last: {_label(choices)}")
        return self.cache[key]


def _label(choices) -> str:
    return ", ".join(f"{c.protocol or '-'}" + ("" if c.protocol == "two-photon" or c.excitation_probability is None
                                                else f" a={c.excitation_probability:g}") for c in choices)


def _better(a, b) -> bool:
    return a is not None and (b is None or score(a) > score(b))


def search_segment_choices(scenario, lengths_km, candidates=None, *, cutoff_s=None, purification="none",
                           schedule="nested", multiplex: int = 1, time_limit_s: float = 30.0, max_grid: int | None = None,
                           progress=None) -> SegmentSearch:
    """Best per-segment choices by uniform scan + coordinate search (module docstring), within
    ``time_limit_s`` (s; the uniform scan always completes)."""
    t0 = time.perf_counter()
    cands = list(candidates) if candidates is not None else candidate_choices(scenario, multiplex=multiplex)
    n = len(list(lengths_km))
    ev = _Evaluator(scenario, lengths_km, max_grid, progress, cutoff_s=cutoff_s, purification=purification,
                    schedule=schedule)
    best_u, best_u_res = None, None
    for c in cands:
        res = ev([c] * n)
        if _better(res, best_u_res):
            best_u, best_u_res = c, res
    if best_u is None:
        raise ParameterError("segment choices", "no candidate", "a chain the exact engine can evaluate: " +
                             "; ".join(ev.skipped[:3]))
    current, current_res = [best_u] * n, best_u_res
    timed_out = False
    improved = n > 1
    while improved and not timed_out:
        improved = False
        for i in range(n):
            for c in cands:
                if time.perf_counter() - t0 > time_limit_s:
                    timed_out = True
                    break
                if c == current[i]:
                    continue
                trial = current[:i] + [c] + current[i + 1:]
                res = ev(trial)
                if _better(res, current_res):
                    current, current_res, improved = trial, res, True
            if timed_out:
                break
    return SegmentSearch(current, current_res, best_u, best_u_res, len(ev.cache), time.perf_counter() - t0, timed_out,
                         ev.skipped)


def brute_force(scenario, lengths_km, candidates, **chain_kw):
    """Every combination of ``candidates`` per segment: (best choices, its result) — the check of the
    search on small cases (cost len(candidates)^segments)."""
    max_grid = chain_kw.pop("max_grid", None)
    ev = _Evaluator(scenario, lengths_km, max_grid, None, **chain_kw)
    best, best_res = None, None
    for combo in itertools.product(candidates, repeat=len(list(lengths_km))):
        res = ev(list(combo))
        if _better(res, best_res):
            best, best_res = list(combo), res
    return best, best_res
