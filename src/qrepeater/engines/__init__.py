"""Repeater-chain engines: an exact (generating-function) engine and a Monte Carlo engine.

Use :class:`ChainSpec` (with :class:`SegmentLink` / :func:`abstract_link` and :class:`SwapModel`) to
describe a chain, then :func:`run_exact` or :func:`run_montecarlo`; both give a :class:`ChainResult`.
"""

import importlib

_EXPORTS = {
    "exact": ("ExactSolution", "exact_means", "run_exact", "solve_exact"),
    "metrics": ("ChainResult", "bb84_key_fraction", "binary_entropy"),
    "model": ("PURIFICATIONS", "SCHEDULES", "ChainSpec", "SegmentLink", "SwapModel", "abstract_link"),
    "montecarlo": ("MonteCarloRun", "run_montecarlo", "sample_chain"),
}
_WHERE = {name: module for module, names in _EXPORTS.items() for name in names}


def __getattr__(name: str):
    """Load a name's module on first use (PEP 562): the chain model does not pay for the engines."""
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
    globals()[name] = value
    return value


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
    "exact_means",
    "run",
    "run_exact",
    "run_montecarlo",
    "sample_chain",
    "solve_exact",
]


def run(spec, engine: str = "exact", pairs: int = 10_000, seed=None):
    """Run ``engine`` ("exact" or "montecarlo") on ``spec`` (a :class:`ChainSpec`) and return its
    :class:`ChainResult`."""
    from ..errors import ParameterError

    if engine == "exact":
        from .exact import run_exact

        return run_exact(spec)
    if engine == "montecarlo":
        from .montecarlo import run_montecarlo

        return run_montecarlo(spec, pairs=pairs, seed=seed).result
    raise ParameterError("engine", engine, "one of exact, montecarlo")
