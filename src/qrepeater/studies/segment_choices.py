"""Per-segment choices of a chain (protocol, excitation probability α, multiplexing, cut-off): a bounded
coordinate search.

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

Cut-off and multiplexing per segment (optional). ``cutoff_choices``: the cut-offs (s; ``math.inf``: none)
a segment's memories may take (a pair spanning segments i … j keeps min(c_i, c_j),
:mod:`qrepeater.builders.segments`); the coordinate step of segment i also tries each of them.
``multiplex_total``: the memories per link side of the whole chain, Σ_i M_i (e.g. segments × --multiplex);
more memories always raise the rate, so the search does not add any: it moves them between segments —
the step of segment i also tries taking one memory, or half of them, from every other segment j (M_j ≥ 2)
to segment i. The uniform scan also tries every cut-off on all segments (within the time budget), and
each sweep tries every cut-off on all segments at once (a pair spans two segments, so
one segment's cut-off alone may not move the key rate off zero). The uniform scan keeps every segment at the starting cut-off and multiplexing.
"""

from __future__ import annotations

import itertools
import math
import time
from dataclasses import dataclass, field, replace

from ..builders import SegmentChoice, chain_segments, swap_model
from ..builders.segments import segment_cutoffs
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
    cutoff_s = segment_cutoffs(choices, cutoff_s)  # a choice's own cut-off, else the chain's
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


def _edits(i, n, cands, cutoff_choices, multiplex_total):
    """The coordinate step of segment ``i`` (module docstring), as edits applied by :func:`_apply`."""
    out = [("choice", cand) for cand in cands]  # protocol and α, keeping the segment's multiplexing and cut-off
    out += [("cutoff", cut) for cut in cutoff_choices or ()]
    if i == 0:  # once per sweep: every segment's cut-off at once (two ends of a pair must both loosen/tighten)
        out += [("all cutoffs", cut) for cut in cutoff_choices or ()]
    if multiplex_total:
        out += [("multiplex", j, part) for j in range(n) if j != i for part in ("one", "half")]
    return out


def _apply(current, i, edit):
    """The choices after ``edit`` of segment ``i``, or None if it changes nothing or is not possible."""
    c, trial = current[i], list(current)
    if edit[0] == "choice":
        trial[i] = replace(edit[1], multiplex=c.multiplex, cutoff_s=c.cutoff_s)
    elif edit[0] == "cutoff":
        trial[i] = replace(c, cutoff_s=edit[1])
    elif edit[0] == "all cutoffs":
        trial = [replace(x, cutoff_s=edit[1]) for x in current]
    else:
        other = current[edit[1]]
        d = 1 if edit[2] == "one" else other.multiplex // 2
        if other.multiplex < 2 or (edit[2] == "half" and d <= 1):
            return None
        trial[i], trial[edit[1]] = replace(c, multiplex=c.multiplex + d), replace(other, multiplex=other.multiplex - d)
    return None if trial == current else trial


def search_segment_choices(scenario, lengths_km, candidates=None, *, cutoff_s=None, purification="none",
                           schedule="nested", multiplex: int = 1, time_limit_s: float = 30.0, max_grid: int | None = None,
                           progress=None, cutoff_choices=None, multiplex_total: int | None = None) -> SegmentSearch:
    """Best per-segment choices by uniform scan + coordinate search (module docstring), within
    ``time_limit_s`` (s; the uniform scan always completes). ``cutoff_choices`` (s, ``math.inf``: none)
    and ``multiplex_total`` (Σ M_i, kept): also search each segment's cut-off and multiplexing, starting
    from the chain's ``cutoff_s`` and ``multiplex`` (``multiplex_total`` must be segments × ``multiplex``)."""
    t0 = time.perf_counter()
    cands = list(candidates) if candidates is not None else candidate_choices(scenario, multiplex=multiplex)
    n = len(list(lengths_km))
    if multiplex_total is not None and multiplex_total != n * int(multiplex):
        raise ParameterError("multiplex_total", multiplex_total, f"segments x multiplex = {n * int(multiplex)} (the "
                             "search starts from multiplex on every segment and moves memories between segments)")
    ev = _Evaluator(scenario, lengths_km, max_grid, progress, cutoff_s=cutoff_s, purification=purification,
                    schedule=schedule)
    best_u, best_u_res = None, None
    uniform = [c for c in cands] + [replace(c, cutoff_s=k) for k in cutoff_choices or () for c in cands]
    for j, c in enumerate(uniform):  # the chain's cut-off always; each other cut-off within the time budget
        if j >= len(cands) and time.perf_counter() - t0 > time_limit_s:
            break
        res = ev([c] * n)
        if _better(res, best_u_res):
            best_u, best_u_res = c, res
    if best_u is None:
        raise ParameterError("segment choices", "no candidate", "a chain the exact engine can evaluate: " +
                             "; ".join(ev.skipped[:3]))
    current, current_res = [best_u] * n, best_u_res
    timed_out = False
    improved = n > 1 or bool(cutoff_choices)
    while improved and not timed_out:
        improved = False
        for i in range(n):
            for edit in _edits(i, n, cands, cutoff_choices, multiplex_total):
                if time.perf_counter() - t0 > time_limit_s:
                    timed_out = True
                    break
                trial = _apply(current, i, edit)
                if trial is None:
                    continue
                res = ev(trial)
                if _better(res, current_res):
                    current, current_res, improved = trial, res, True
            if timed_out:
                break
    return SegmentSearch(current, current_res, best_u, best_u_res, len(ev.cache), time.perf_counter() - t0, timed_out,
                         ev.skipped)


def _allocations(n: int, total: int):
    """Every (M_1, …, M_n) with M_i ≥ 1 and Σ M_i = total."""
    for cut in itertools.combinations(range(1, total), n - 1):
        edges = (0,) + cut + (total,)
        yield tuple(b - a for a, b in zip(edges, edges[1:]))


def brute_force(scenario, lengths_km, candidates, *, cutoff_choices=None, multiplex_total=None, **chain_kw):
    """Every combination of ``candidates`` per segment (and of ``cutoff_choices`` per segment, and of the
    allocations of ``multiplex_total`` memories): (best choices, its result) — the check of the search on
    small cases (cost grows as the product of the choices per segment)."""
    max_grid = chain_kw.pop("max_grid", None)
    ev = _Evaluator(scenario, lengths_km, max_grid, None, **chain_kw)
    n = len(list(lengths_km))
    cuts = [None] if not cutoff_choices else sorted(set(cutoff_choices) | {None}, key=lambda x: (x is None, x))
    allocs = [None] if not multiplex_total else list(_allocations(n, int(multiplex_total)))
    best, best_res = None, None
    for combo in itertools.product(candidates, repeat=n):
        for cut in itertools.product(cuts, repeat=n):
            for alloc in allocs:
                trial = [replace(c, cutoff_s=k, multiplex=c.multiplex if alloc is None else alloc[i])
                         for i, (c, k) in enumerate(zip(combo, cut))]
                res = ev(trial)
                if _better(res, best_res):
                    best, best_res = trial, res
    return best, best_res
