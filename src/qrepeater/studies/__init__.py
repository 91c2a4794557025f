"""Studies of a scenario: evaluate one point, sweep a grid (locally or on Dask), rank sensitivities.

:mod:`~qrepeater.studies.point` (the options a point takes, the metric columns it gives) →
:mod:`~qrepeater.studies.evaluate` (scenario + options → metrics) →
:mod:`~qrepeater.studies.sweep_spec` (a sweep file) → :mod:`~qrepeater.studies.sweep_files` (resumable
parts, Parquet results, netCDF cube) and :mod:`~qrepeater.studies.sweep_runner` (in-process or Dask);
:mod:`~qrepeater.studies.sensitivity` ranks which hardware improvement moves a metric most.

This package file imports nothing, so reading a results file does not load the engines.
"""
