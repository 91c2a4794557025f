"""The cheapest set of hardware improvements that meets every target: a requirements optimiser.

Problem. Variables x_i = ln k_i ∈ [0, ln K_i] — the improvement factor of each varied parameter, acting
through the mapping of its kind (:mod:`qrepeater.studies.requirements_model`; K_i = ``max_factor``,
or less where the parameter's physical range ends) — and, for a free *setting* such as the excitation
probability, x_i = ln(value/baseline) ∈ [−ln S, ln S] at no cost. Minimise the cost Σ_i w_i x_i subject
to every target's margin being ≥ 0, each evaluation on the exact engine (or the one chosen) through
:func:`qrepeater.studies.evaluate.evaluate` at the requested distance and segment count.

Method.

1. **Global search**: :func:`scipy.optimize.differential_evolution` (Storn & Price, J. Global Optim. 11,
   341 (1997)) on the penalised energy E(x) = cost(x) if every target is met, else C_max + λ Σ_j
   max(0, −margin_j(x)) with C_max the largest possible cost and λ = 10 — Deb's feasibility rule
   (Comput. Methods Appl. Mech. Eng. 186, 311 (2000)) written as a penalty: every feasible plan beats
   every infeasible one, infeasible plans are ranked by how far they miss. Deferred updating (the
   population is replaced once per generation), the random stream from ``numpy.random.SeedSequence``,
   the baseline (all k = 1) in the first population.
2. **Polish**: SLSQP (Kraft 1988; :func:`scipy.optimize.minimize`) from the best feasible member, the
   margins' gradients by forward differences (step 1e-3 in x, evaluated in parallel), then, if its end
   point misses a target by rounding, bisection back towards the global search's best feasible plan.
   Factors within 1e-5 of 1 are set to 1 when the plan stays feasible.
3. **Report**: the plan is re-evaluated from its ``--set`` strings (the values ``qrepeater chain --set``
   would read), so ``achieved`` is what the chain command computes.

Evaluations are cached by x and run through a map over worker processes (``workers``; a
:class:`concurrent.futures.ProcessPoolExecutor`); each is deterministic (the exact engine; the Monte
Carlo engine gets the *same* child seed for every evaluation — common random numbers), and the search
sees results in population order, so the plan does not depend on the number of workers.

When no plan meets every target, the report names the binding target(s): for each target the best
value found over every evaluated plan (including the one with every factor at its maximum); a target
whose best value misses is unreachable within the allowed factors; if each is reachable alone, they
conflict.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np

from ..config import apply_overrides, validate_scenario
from ..config.loading import toml_literal
from ..errors import ConfigError, ParameterError
from .evaluate import evaluate
from .point import check_option
from .requirements_model import Target, Variable, dotted, parse_target, resolve_variables
from .requirements_search import (
    EvaluationMap,
    PlanEvaluator,
    Problem,
    child_seed,
    closest,
    polish,
    restore,
    search,
    seed_sequence,
    snap,
)

COST_MODELS = ("log-factor",)
#: a target with margin below this at the plan is reported as binding (active)
ACTIVE_MARGIN = 0.01
DEFAULT_MAX_EVALUATIONS = 800


@dataclass
class RequirementsPlan:
    """Result of :func:`find_requirements` (see :meth:`to_dict` for the JSON contract)."""

    feasible: bool
    cost: float
    improvements: list[dict]
    achieved: dict
    evaluations: int
    targets: list[dict]
    binding: list[str]
    message: str
    distance_km: float
    segments: int
    options: dict
    seed: int | None
    overrides: list[str]
    baseline_metrics: dict = field(default_factory=dict)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "feasible": self.feasible,
            "cost": self.cost,
            "improvements": self.improvements,
            "achieved": self.achieved,
            "evaluations": self.evaluations,
            "targets": self.targets,
            "binding": self.binding,
            "message": self.message,
            "distance_km": self.distance_km,
            "segments": self.segments,
            "options": self.options,
            "seed": self.seed,
            "set": self.overrides,
            "baseline_metrics": self.baseline_metrics,
            "seconds": self.seconds,
        }


def _clean(metrics: dict | None) -> dict:
    return {k: v for k, v in (metrics or {}).items() if v is not None}


def _improvements(variables: Sequence[Variable], x) -> list[dict]:
    rows = []
    for var, xi in zip(variables, x):
        for path, base, value in zip(var.paths, var.baselines, var.values(float(xi))):
            rows.append({
                "parameter": dotted(path),
                "baseline": base,
                "required": value,
                "factor": math.exp(float(xi)),
                "kind": var.kind,
                "group": var.name,
                "group_cost": var.cost(float(xi)),
                "at_limit": bool(var.kind != "setting" and xi >= var.hi - 1e-6),
            })
    return sorted(rows, key=lambda r: (-r["group_cost"], r["kind"] == "setting", r["parameter"]))


def _analyse(problem: Problem, x_plan, max_factor: float) -> tuple[list[dict], list[str], str]:
    """Per-target report, binding targets and a one-line message."""
    metrics = problem.map.metrics(x_plan) if x_plan is not None else None
    feasible = x_plan is not None and problem.feasible(x_plan)
    rows, binding = [], []
    for j, t in enumerate(problem.targets):
        best_m, best_val = -math.inf, None
        for m in problem.map.cache.values():
            if m is None:
                continue
            mg = t.margin(m)
            if mg > best_m:
                best_m, best_val = mg, m.get(t.metric)
        row = t.to_dict()
        row["achieved"] = (metrics or {}).get(t.metric)
        row["met"] = bool(metrics is not None and t.met(metrics))
        row["margin"] = t.margin(metrics) if metrics is not None else None
        row["best_found"] = best_val
        row["reachable_alone"] = best_m >= 0
        rows.append(row)
    if feasible:
        binding = [r["target"] for r in rows if r["margin"] is not None and r["margin"] < ACTIVE_MARGIN]
        msg = "feasible: " + (f"binding {', '.join(binding)}" if binding else "every target met with room to spare")
        return rows, binding, msg
    unreachable = [r for r in rows if not r["reachable_alone"]]
    if unreachable:
        binding = [r["target"] for r in unreachable]
        parts = [f"{r['target']} binds: best {r['metric']} found {_fmt(r['best_found'])}" for r in unreachable]
        msg = f"infeasible within factors <= {max_factor:g}: " + "; ".join(parts) + " (the plan shown misses least)"
    else:
        binding = [r["target"] for r in rows]
        msg = (f"infeasible within factors <= {max_factor:g}: each target is reachable alone but not together "
               f"({', '.join(binding)} conflict; the plan shown misses least)")
    return rows, binding, msg


def _fmt(v) -> str:
    return "none" if v is None else f"{v:.4g}"


def find_requirements(
    scenario,
    targets: Sequence[str | Target],
    *,
    distance_km: float,
    segments: int,
    engine: str = "exact",
    options: dict | None = None,
    vary: Sequence[str] | None = None,
    max_factor: float = 100.0,
    weights: dict[str, float] | None = None,
    per_node: bool = False,
    cost: str = "log-factor",
    workers: int = 1,
    seed=None,
    max_evaluations: int = DEFAULT_MAX_EVALUATIONS,
    popsize: int = 6,
    polish_iterations: int = 20,
    progress: Callable[[str], None] | None = None,
) -> RequirementsPlan:
    """Cheapest improvement factors meeting every target (module docstring).

    Parameters
    ----------
    scenario : Scenario
        Base scenario (hardware or abstract).
    targets : sequence of str or Target
        E.g. ``["rate_hz>=0.1", "mean_fidelity>=0.8"]``.
    distance_km, segments : float, int
        Total distance and number of elementary links.
    engine : str
        "exact" (default), "montecarlo" or "link".
    options : dict, optional
        Further engine options (``multiplex``, ``cutoff_s``, ``pairs``, ...).
    vary : sequence of str, optional
        Parameters to improve (dotted paths, ``node_{a,b}.x`` for both nodes); default
        :data:`~qrepeater.studies.requirements_model.DEFAULT_VARY`.
    max_factor : float
        Largest improvement factor of any parameter.
    weights : dict, optional
        Cost weight per varied parameter (default 1).
    workers : int
        Worker processes for the evaluations (1: in-process).
    seed : int or SeedSequence, optional
        Root seed (fresh entropy when None; the one used is reported).
    max_evaluations : int
        Budget of the global search (generations = budget / population − 1).
    popsize : int
        Population per varied parameter (scipy's ``popsize``).
    progress : callable, optional
        Called with a one-line status after each generation.
    """
    t0 = time.perf_counter()
    if cost not in COST_MODELS:
        raise ConfigError(f"--cost {cost!r}: allowed: {', '.join(COST_MODELS)}")
    if not isinstance(workers, int) or workers < 1:
        raise ParameterError("workers", workers, "an integer >= 1")
    opts = dict(options or {})
    opts["engine"] = check_option("engine", engine, "--engine")
    opts["distance_km"] = check_option("distance_km", distance_km, "--distance-km")
    opts["segments"] = check_option("segments", segments, "--segments")
    tlist = [t if isinstance(t, Target) else parse_target(t, opts["engine"]) for t in targets]
    if not tlist:
        raise ConfigError("--target: give at least one target, e.g. rate_hz>=0.1")
    variables = resolve_variables(scenario, vary, max_factor=max_factor, weights=weights, per_node=per_node)
    ss = seed_sequence(seed)
    base_data = scenario.model_dump(mode="python")
    evaluator = PlanEvaluator(base_data, variables, opts, child_seed(ss, 1) if opts["engine"] == "montecarlo" else None)
    mapper = EvaluationMap(evaluator, workers)
    problem = Problem(tlist, variables, mapper)
    try:
        baseline = mapper.metrics(np.zeros(len(variables)))
        if baseline is None:
            raise ConfigError(f"the base scenario cannot be evaluated by engine {opts['engine']!r} at {distance_km:g} km, {segments} segments")
        x_best = search(problem, ss, max_evaluations, popsize, progress, t0)
        if x_best is not None and polish_iterations > 0:
            if progress is not None:
                progress(f"polishing (SLSQP) from cost {problem.cost(x_best):.4g}")
            x_best = snap(problem, polish(problem, x_best, polish_iterations))
        if x_best is None:  # the corner (every factor at its maximum) joins the candidates
            mapper.metrics(np.array([0.0 if v.kind == "setting" else v.hi for v in variables]))
            if polish_iterations > 0:
                if progress is not None:
                    progress("no feasible plan yet: maximising the smallest target margin (SLSQP)")
                x_try = restore(problem, closest(problem), polish_iterations)
                if problem.feasible(x_try):
                    x_best = snap(problem, polish(problem, x_try, polish_iterations))
        if x_best is None:  # report the plan that misses least
            x_best = closest(problem)
        rows, binding, msg = _analyse(problem, x_best, max_factor)
        feasible = problem.feasible(x_best)
        improvements = _improvements(variables, x_best)
        capped = sorted({r["group"] for r in improvements if r["at_limit"]})
        if capped:
            msg += f"; at the factor limit ({max_factor:g}): {', '.join(capped)}"
        sets = [f"{r['parameter']}={toml_literal(float(r['required']))}" for r in improvements]
        achieved = evaluate(validate_scenario(apply_overrides(base_data, sets)), opts, evaluator.seed)
        if feasible and not all(t.met(achieved) for t in tlist):  # cannot happen: repr round-trips floats
            raise RuntimeError("re-evaluated plan misses a target it met in the search")
    finally:
        mapper.close()
    return RequirementsPlan(
        feasible=bool(feasible),
        cost=problem.cost(x_best),
        improvements=improvements,
        achieved=_clean(achieved),
        evaluations=mapper.evaluations + 1,
        targets=rows,
        binding=binding,
        message=msg,
        distance_km=float(distance_km),
        segments=int(segments),
        options={k: v for k, v in opts.items()},
        seed=int(ss.entropy) if not ss.spawn_key else None,
        overrides=sets,
        baseline_metrics=_clean(baseline),
        seconds=time.perf_counter() - t0,
    )


def requirements_vs_distance(scenario, targets, distances_km: Sequence[float], *, seed=None, **kwargs) -> list[RequirementsPlan]:
    """:func:`find_requirements` at each distance; distance i uses child i of the root seed."""
    ss = seed_sequence(seed)
    progress = kwargs.pop("progress", None)
    plans = []
    for i, d in enumerate(distances_km):
        tagged = None if progress is None else (lambda line, d=d: progress(f"{d:g} km: {line}"))
        plan = find_requirements(scenario, targets, distance_km=d, seed=child_seed(ss, 100 + i), progress=tagged, **kwargs)
        plan.seed = int(ss.entropy)
        plans.append(plan)
    return plans


__all__ = ["COST_MODELS", "PlanEvaluator", "RequirementsPlan", "find_requirements", "requirements_vs_distance"]
