"""Studies of a scenario: evaluate one point, sweep a grid (locally or on Dask), rank sensitivities.

:mod:`~qrepeater.studies.options` (engine options of a point) → :mod:`~qrepeater.studies.evaluate`
(scenario + options → metrics) → :mod:`~qrepeater.studies.sweep_spec` (a sweep file) →
:mod:`~qrepeater.studies.sweep_runner` (the runner, its resumable parts and results files);
:mod:`~qrepeater.studies.sensitivity` ranks which hardware improvement moves a metric most.
"""

from .evaluate import evaluate, evaluate_point, metric_names
from .options import ENGINE_OPTIONS
from .sensitivity import sensitivity
from .sweep_spec import SweepSpec, load_sweep, parse_sweep_text

__all__ = ["ENGINE_OPTIONS", "SweepSpec", "evaluate", "evaluate_point", "load_sweep", "metric_names", "parse_sweep_text", "sensitivity"]
