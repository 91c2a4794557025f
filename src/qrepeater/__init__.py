"""qrepeater: from the hardware numbers of a memory-based quantum network to what it delivers.

Main entry points (each also importable from here, loaded on first use)::

    load_preset(name)                 a validated built-in scenario            (qrepeater.config)
    build_scenario(preset, config, overrides)  preset or TOML file + --set overrides
    link_metrics(scenario)            rate, heralded fidelity, coherence, link efficiency, ...
                                                                               (qrepeater.builders)
    chain_segment(scenario, km), swap_model(scenario)   engine inputs of a scenario
    chain_segments(scenario, lengths_km, choices), SegmentChoice   a chain whose segments differ
                                      (length, protocol, excitation probability, multiplexing)
    ChainSpec, run_exact, run_montecarlo   repeater chains: exact and Monte Carlo engines
                                                                               (qrepeater.engines)
    run_chain_events, simulate        discrete-event engine (chains and networks)
    evaluate(scenario, options)       one study point: link or chain metrics   (qrepeater.studies)
    load_sweep, run_sweep, sensitivity     parameter sweeps (local or Dask) and sensitivities
    read_results, read_results_dataset     a sweep's results file as pandas / xarray
    asymptotic_rate, finite_key, simulate_records, distill_file   DI-QKD       (qrepeater.qkd)
    reproduce(preset), calibrate(preset)   the model against published figures (qrepeater.validation)

Each function's docstring lists what it returns, with units (``help(qrepeater.link_metrics)``). Results
convert for notebooks (pandas and xarray are imported on first use): ``.to_dataframe()`` on
``LinkMetrics`` and ``ChainResult`` (one row), ``MonteCarloRun`` (one row per delivered pair),
``EventRun`` (one row per consumer), ``FiniteKeyResult``, ``DistillResult`` (one row),
``SensitivityReport`` (one row per parameter) and ``SweepOutcome`` (one row per point), whose
``.to_xarray()`` is the metrics over the swept parameters; units are in the column names and in
``df.attrs["units"]``. A worked notebook-style example: ``docs/api.md``.

The package is layered; each layer imports only the layers listed before it (the table is in
``docs/CONVENTIONS.md`` and is what ``tests/test_architecture.py`` checks):
``errors``/``files``/``version`` → ``physics`` (+ ``bounds``) → ``states`` → ``links`` → ``engines`` →
``qkd`` → ``config`` → ``builders`` → ``studies`` → ``validation`` → ``report`` → ``cli`` → this module.
"""

from __future__ import annotations

import importlib

from .version import __version__

#: name → module it lives in (loaded lazily, PEP 562, so ``import qrepeater`` stays instant)
_EXPORTS = {
    "load_preset": "config",
    "build_scenario": "config",
    "link_metrics": "builders",
    "chain_segment": "builders",
    "chain_segments": "builders",
    "SegmentChoice": "builders",
    "swap_model": "builders",
    "ChainSpec": "engines.model",
    "run_exact": "engines.exact",
    "run_montecarlo": "engines.montecarlo",
    "run_chain_events": "engines.events",
    "simulate": "engines.events",
    "evaluate": "studies.evaluate",
    "load_sweep": "studies.sweep_spec",
    "run_sweep": "studies.sweep_runner",
    "sensitivity": "studies.sensitivity",
    "read_results": "studies.sweep_files",
    "read_results_dataset": "studies.sweep_files",
    "asymptotic_rate": "qkd.rates",
    "finite_key": "qkd.finite_size",
    "simulate_records": "qkd.simulate",
    "distill_file": "qkd.distill",
    "reproduce": "validation",
    "calibrate": "validation",
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(__all__)
