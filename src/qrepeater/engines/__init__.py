"""Repeater-chain engines: an exact (generating-function) engine and a Monte Carlo engine.

Use :class:`ChainSpec` (with :class:`SegmentLink` / :func:`abstract_link` and :class:`SwapModel`) to
describe a chain, then :func:`run_exact` or :func:`run_montecarlo`; both give a :class:`ChainResult`.
"""

from .exact import ExactSolution, run_exact, solve_exact
from .metrics import ChainResult, bb84_key_fraction, binary_entropy
from .model import PURIFICATIONS, SCHEDULES, ChainSpec, SegmentLink, SwapModel, abstract_link
from .montecarlo import MonteCarloRun, run_montecarlo, sample_chain

__all__ = [
    "PURIFICATIONS",
    "SCHEDULES",
    "ChainResult",
    "ChainSpec",
    "ExactSolution",
    "MonteCarloRun",
    "SegmentLink",
    "SwapModel",
    "abstract_link",
    "bb84_key_fraction",
    "binary_entropy",
    "run",
    "run_exact",
    "run_montecarlo",
    "sample_chain",
    "solve_exact",
]


def run(spec: ChainSpec, engine: str = "exact", pairs: int = 10_000, seed=None) -> ChainResult:
    """Run ``engine`` ("exact" or "montecarlo") on ``spec`` and return its :class:`ChainResult`."""
    from ..errors import ParameterError

    if engine == "exact":
        return run_exact(spec)
    if engine == "montecarlo":
        return run_montecarlo(spec, pairs=pairs, seed=seed).result
    raise ParameterError("engine", engine, "one of exact, montecarlo")
