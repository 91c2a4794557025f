"""The numerical search behind :mod:`qrepeater.studies.requirements`: evaluations (cached, mapped over
worker processes), the penalised energy for differential evolution, and the SLSQP steps (cost polish,
feasibility restoration). The method and its sources are described in that module's docstring.
"""

from __future__ import annotations

import copy
import inspect
import math
import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor
from typing import Sequence

import numpy as np
from scipy.optimize import differential_evolution, minimize

from ..config import validate_scenario
from ..config.paths import set_path
from ..errors import ParameterError, QRepeaterError
from .evaluate import evaluate
from .requirements_model import Target, Variable

PENALTY_WEIGHT = 10.0
FD_STEP = 1e-3
SNAP_X = 1e-5

def seed_sequence(seed) -> np.random.SeedSequence:
    if isinstance(seed, np.random.SeedSequence):
        return seed
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0):
        raise ParameterError("seed", seed, "an integer >= 0 or a numpy SeedSequence")
    return np.random.SeedSequence(seed)


def child_seed(ss: np.random.SeedSequence, i: int) -> np.random.SeedSequence:
    return np.random.SeedSequence(ss.entropy, spawn_key=tuple(ss.spawn_key) + (i,))


class PlanEvaluator:
    """Metrics of the scenario with ln-factors ``x`` applied (picklable: runs on worker processes)."""

    def __init__(self, base_data: dict, variables: Sequence[Variable], options: dict, seed):
        self.base_data = base_data
        self.variables = list(variables)
        self.options = dict(options)
        self.seed = seed

    def assignments(self, x) -> list[tuple[tuple, float]]:
        out = []
        for var, xi in zip(self.variables, x):
            out += list(zip(var.paths, var.values(float(xi))))
        return out

    def __call__(self, x) -> dict | None:
        data = copy.deepcopy(self.base_data)
        try:
            for path, value in self.assignments(x):
                set_path(data, path, value)
            seed = self.seed
            if isinstance(seed, np.random.SeedSequence):  # a fresh copy: the same stream at every call
                seed = np.random.SeedSequence(seed.entropy, spawn_key=seed.spawn_key)
            return evaluate(validate_scenario(data), self.options, seed)
        except QRepeaterError:
            return None


class EvaluationMap:
    """Cache of evaluations and the map-like ``workers`` handed to differential_evolution."""

    def __init__(self, evaluator: PlanEvaluator, workers: int):
        self.evaluator = evaluator
        self.workers = workers
        self.cache: dict[bytes, dict | None] = {}
        self.points: dict[bytes, np.ndarray] = {}
        self.pool = None
        if workers > 1:
            methods = multiprocessing.get_all_start_methods()
            ctx = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
            self.pool = ProcessPoolExecutor(max_workers=workers, mp_context=ctx)

    @staticmethod
    def key(x) -> bytes:
        return np.asarray(x, dtype=float).tobytes()

    def fill(self, xs) -> None:
        todo: dict[bytes, np.ndarray] = {}
        for x in xs:
            k = self.key(x)
            if k not in self.cache and k not in todo:
                todo[k] = np.array(x, dtype=float)
        if not todo:
            return
        pts = list(todo.values())
        if self.pool is None:
            results = [self.evaluator(p) for p in pts]
        else:
            chunk = max(1, math.ceil(len(pts) / (4 * self.workers)))
            results = list(self.pool.map(self.evaluator, pts, chunksize=chunk))
        for k, p, r in zip(todo, pts, results):
            self.cache[k] = r
            self.points[k] = p

    def metrics(self, x) -> dict | None:
        self.fill([x])
        return self.cache[self.key(x)]

    def __call__(self, func, iterable):
        xs = [np.asarray(x, dtype=float) for x in iterable]
        self.fill(xs)
        return [func(x) for x in xs]

    @property
    def evaluations(self) -> int:
        return len(self.cache)

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(cancel_futures=True)
            self.pool = None


class Problem:
    def __init__(self, targets: Sequence[Target], variables: Sequence[Variable], mapper: EvaluationMap):
        self.targets = list(targets)
        self.variables = list(variables)
        self.map = mapper
        self.bounds = [(v.lo, v.hi) for v in self.variables]
        self.max_cost = sum(v.cost(v.hi) for v in self.variables) + 1.0
        self.grad = np.array([0.0 if v.kind == "setting" else v.weight for v in self.variables])
        self.best_energy = math.inf

    def cost(self, x) -> float:
        return float(sum(v.cost(float(xi)) for v, xi in zip(self.variables, x)))

    def margins(self, x) -> np.ndarray:
        m = self.map.metrics(x)
        return np.array([t.margin(m) for t in self.targets])

    def feasible(self, x) -> bool:
        m = self.map.metrics(x)
        return m is not None and all(t.met(m) for t in self.targets)

    def energy(self, x) -> float:
        if self.feasible(x):
            e = self.cost(x)
        else:
            e = self.max_cost + PENALTY_WEIGHT * float(np.sum(np.maximum(0.0, -self.margins(x))))
        self.best_energy = min(self.best_energy, e)
        return e

    def margin_jacobian(self, x) -> np.ndarray:
        x = np.asarray(x, dtype=float)
        steps = []
        for i, (lo, hi) in enumerate(self.bounds):
            h = FD_STEP if x[i] + FD_STEP <= hi else -FD_STEP
            e = x.copy()
            e[i] += h
            steps.append((e, h))
        self.map.fill([x] + [e for e, _ in steps])
        m0 = self.margins(x)
        return np.array([(self.margins(e) - m0) / h for e, h in steps]).T


def polish(problem: Problem, x_start: np.ndarray, max_iter: int) -> np.ndarray:
    cons = {"type": "ineq", "fun": lambda x: problem.margins(x) - 1e-9, "jac": problem.margin_jacobian}
    try:
        res = minimize(problem.cost, x_start, jac=lambda x: problem.grad, bounds=problem.bounds, constraints=[cons],
                       method="SLSQP", options={"maxiter": max_iter, "ftol": 1e-9})
        x = np.clip(res.x, [b[0] for b in problem.bounds], [b[1] for b in problem.bounds])
    except (ValueError, ArithmeticError):
        return x_start
    if problem.feasible(x):
        return x if problem.cost(x) <= problem.cost(x_start) else x_start
    lo, hi = 0.0, 1.0  # bisection on x(t) = x + t (x_start - x): t = 1 is feasible
    for _ in range(14):
        mid = 0.5 * (lo + hi)
        if problem.feasible(x + mid * (x_start - x)):
            hi = mid
        else:
            lo = mid
    return x + hi * (x_start - x)


def closest(problem: Problem) -> np.ndarray:
    """The evaluated plan that misses the targets least (total negative margin), then the cheapest."""
    best, key = None, None
    for k, m in problem.map.cache.items():
        x = problem.map.points[k]
        miss = float(sum(max(0.0, -t.margin(m)) for t in problem.targets))
        cand = (miss, problem.cost(x), tuple(x))
        if key is None or cand < key:
            best, key = x, cand
    return best


def restore(problem: Problem, x_start: np.ndarray, max_iter: int) -> np.ndarray:
    """Maximise the smallest target margin (epigraph form: max τ subject to margin_j(x) ≥ τ) by SLSQP."""
    n = len(x_start)

    def cons(z):
        return problem.margins(z[:n]) - z[n]

    def cons_jac(z):
        return np.hstack([problem.margin_jacobian(z[:n]), -np.ones((len(problem.targets), 1))])

    z0 = np.append(x_start, float(np.min(problem.margins(x_start))))
    grad = np.zeros(n + 1)
    grad[n] = -1.0
    try:
        res = minimize(lambda z: -z[n], z0, jac=lambda z: grad, bounds=list(problem.bounds) + [(None, None)],
                       constraints=[{"type": "ineq", "fun": cons, "jac": cons_jac}], method="SLSQP",
                       options={"maxiter": max_iter, "ftol": 1e-9})
    except (ValueError, ArithmeticError):
        return x_start
    x = np.clip(res.x[:n], [b[0] for b in problem.bounds], [b[1] for b in problem.bounds])
    return x if np.min(problem.margins(x)) > np.min(problem.margins(x_start)) else x_start


def snap(problem: Problem, x: np.ndarray) -> np.ndarray:
    small = [i for i, v in enumerate(problem.variables) if v.kind != "setting" and 0 < x[i] < SNAP_X]
    if not small:
        return x
    y = x.copy()
    y[small] = 0.0
    return y if problem.feasible(y) else x


def search(problem: Problem, ss, max_evaluations: int, popsize: int, progress, t0) -> np.ndarray | None:
    """Global search; the best feasible x, or None."""
    n = len(problem.variables)
    pop = max(5, popsize * n)
    maxiter = max(1, int(max_evaluations) // pop - 1)
    x0 = np.clip(np.zeros(n), [b[0] for b in problem.bounds], [b[1] for b in problem.bounds])
    generation = [0]

    def callback(*_args, **_kwargs):  # scipy's old (xk, convergence) and new (intermediate_result) forms
        generation[0] += 1
        if progress is not None:
            e = problem.best_energy
            state = f"best cost {e:.4g}" if e < problem.max_cost else "no feasible plan yet"
            progress(f"generation {generation[0]}/{maxiter}: {state}, {problem.map.evaluations} evaluations, "
                     f"{time.perf_counter() - t0:.0f} s")

    rng_kw = "rng" if "rng" in inspect.signature(differential_evolution).parameters else "seed"
    kwargs = {rng_kw: np.random.default_rng(child_seed(ss, 0))}
    res = differential_evolution(problem.energy, problem.bounds, popsize=popsize, maxiter=maxiter, tol=1e-3,
                                 polish=False, updating="deferred", workers=problem.map, x0=x0,
                                 init="latinhypercube", callback=callback, **kwargs)
    best, best_cost = None, math.inf
    for k, m in problem.map.cache.items():  # the cheapest feasible plan evaluated, population or not
        x = problem.map.points[k]
        if m is not None and all(t.met(m) for t in problem.targets):
            c = problem.cost(x)
            if c < best_cost or (c == best_cost and best is not None and tuple(x) < tuple(best)):
                best, best_cost = x, c
    if best is None and problem.feasible(res.x):
        best = np.asarray(res.x, dtype=float)
    return best


__all__ = ["PlanEvaluator", "child_seed", "closest", "polish", "restore", "search", "seed_sequence", "snap"]
