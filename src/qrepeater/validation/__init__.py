"""Validation against published experiments: reference data, calibration as a fit, and the model
beside every published figure with its uncertainty and role.

:mod:`~qrepeater.validation.figures` (published figures, read from ``validation/data/*.toml``, and
comparison rows) → :mod:`~qrepeater.validation.quantities` (the model quantities figures name) →
:mod:`~qrepeater.validation.model` (a preset as a function of its free parameters and inputs) →
:mod:`~qrepeater.validation.calibration` (``qrepeater calibrate``: fit, uncertainties, leave-one-out) →
:mod:`~qrepeater.validation.reproduce` (``qrepeater reproduce``); :mod:`~qrepeater.validation.curves`
(model curves for the plots).
"""

from .calibration import calibrate
from .figures import ReferenceFigure, Row, list_experiments, load_experiment
from .reproduce import Reproduction, reproduce, reproduce_all

__all__ = ["ReferenceFigure", "Reproduction", "Row", "calibrate", "list_experiments", "load_experiment", "reproduce", "reproduce_all"]
