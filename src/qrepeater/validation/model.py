"""An experiment's model as a function of its free parameters and uncertain inputs.

:class:`ExperimentModel` joins a preset (its data and its ``[calibration]`` declaration) with the
experiment's reference data: it evaluates any set of hardware figures for given parameter values,
and differentiates them numerically for the fit and for error propagation.

Parameters are handled in scaled form, θ_j = θ0_j · x_j with θ0 the declared a-priori value, so every x
starts at 1 and steps are relative. Inputs (published or chosen values with a stated 1σ) are varied by ±1σ:
their contribution to a figure's uncertainty is the central secant over that range (linearised
propagation that stays sensible where a figure is not smooth, e.g. an integer key length).
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass

import numpy as np

from ..config import preset_data, validate_scenario
from ..config.paths import field_bounds, get_path, set_path
from ..errors import ConfigError
from .figures import Experiment, ReferenceFigure, load_experiment
from .quantities import Evaluation, formula_quantity, hardware_quantity

#: relative step of the scaled parameters for numerical derivatives
PARAMETER_STEP = 1e-4


@dataclass(frozen=True)
class FreeParameter:
    path: str
    tied: tuple[str, ...]
    prior: float  # θ0: the a-priori value; x = θ / prior
    shipped: float  # the preset's value (the output of the last calibration)
    prior_relative_uncertainty: float
    low: float  # bounds of x = θ/θ0
    high: float
    note: str = ""


@dataclass(frozen=True)
class UncertainInput:
    path: str
    tied: tuple[str, ...]
    value: float
    uncertainty: float
    low: float
    high: float
    note: str = ""


def _scaled_bounds(model: type, path: str, start: float) -> tuple[float, float]:
    lo, lo_inc, hi, hi_inc = field_bounds(model, path)
    lo_x = -np.inf if lo is None else lo / start + (0.0 if lo_inc else 1e-12)
    hi_x = np.inf if hi is None else hi / start - (0.0 if hi_inc else 1e-12)
    return (lo_x, hi_x) if start > 0 else (hi_x, lo_x)


class ExperimentModel:
    """The preset ``preset`` against its experiment's figures (see module docstring)."""

    def __init__(self, preset: str, data: dict | None = None):
        self.preset = preset
        self.data = copy.deepcopy(data) if data is not None else preset_data(preset)
        scenario = validate_scenario(self.data)
        if not scenario.calibration.experiment:
            raise ConfigError(f"preset {preset!r} declares no [calibration] experiment")
        schema = type(scenario)
        cal = scenario.calibration
        self.experiment: Experiment = load_experiment(cal.experiment)
        keys = {f.key for f in self.experiment.figures}
        unknown = [t for t in cal.targets if t not in keys]
        if unknown:
            raise ConfigError(f"preset {preset!r}: calibration targets {unknown} are not figures of {cal.experiment}")
        self.targets: tuple[ReferenceFigure, ...] = tuple(self.experiment.figure(t) for t in cal.targets)
        self.parameters: list[FreeParameter] = []
        for p in cal.parameters:
            if p.prior == 0:
                raise ConfigError(f"calibration parameter {p.path}: prior 0 cannot scale the fit; give a non-zero prior")
            shipped = float(get_path(self.data, p.path))
            self.parameters.append(FreeParameter(p.path, p.tied, p.prior, shipped, p.prior_relative_uncertainty, *_scaled_bounds(schema, p.path, p.prior), p.note))
        self.inputs: list[UncertainInput] = []
        for i in cal.inputs:
            value = float(get_path(self.data, i.path))
            lo, _, hi, _ = field_bounds(schema, i.path)
            self.inputs.append(UncertainInput(i.path, i.tied, value, i.uncertainty, -np.inf if lo is None else lo, np.inf if hi is None else hi, i.note))

    # ------------------------------------------------------------------ evaluation
    @property
    def x0(self) -> np.ndarray:
        """The priors, scaled (all ones): where the fit starts."""
        return np.ones(len(self.parameters))

    @property
    def x_shipped(self) -> np.ndarray:
        """The preset's shipped values, scaled by the priors."""
        return np.array([p.shipped / p.prior for p in self.parameters])

    def data_at(self, x: np.ndarray, inputs: dict[int, float] | None = None) -> dict:
        """Scenario data with scaled parameters ``x`` (and input ``i`` set to ``inputs[i]``)."""
        data = copy.deepcopy(self.data)
        for p, xi in zip(self.parameters, x):
            for path in (p.path, *p.tied):
                set_path(data, path, float(p.prior * xi))
        for i, value in (inputs or {}).items():
            inp = self.inputs[i]
            for path in (inp.path, *inp.tied):
                set_path(data, path, float(value))
        return data

    def values(self, figures, x: np.ndarray, inputs: dict[int, float] | None = None) -> np.ndarray:
        """Model values of the hardware ``figures`` (formula figures are not hardware: see
        :meth:`formula_value`)."""
        ev = Evaluation(self.data_at(x, inputs), self.experiment.points)
        return np.array([hardware_quantity(ev, f.model, f.point or "main", f.args) for f in figures])

    def formula_value(self, figure: ReferenceFigure, shift: dict[str, float] | None = None) -> float:
        """A formula figure at its published inputs (each shifted by ``shift[name]`` if given)."""
        shift = shift or {}
        inputs = {name: self.experiment.figure(key).paper + shift.get(name, 0.0) for name, key in figure.inputs.items()}
        return formula_quantity(figure.model, inputs, figure.args)

    # ------------------------------------------------------------------ derivatives
    def parameter_jacobian(self, figures, x: np.ndarray) -> np.ndarray:
        """d values / d x (n_figures × n_parameters), central differences inside the bounds."""
        jac = np.zeros((len(figures), len(self.parameters)))
        for j, p in enumerate(self.parameters):
            h = PARAMETER_STEP * max(abs(x[j]), 1.0)
            up, down = min(x[j] + h, p.high), max(x[j] - h, p.low)
            xu, xd = x.copy(), x.copy()
            xu[j], xd[j] = up, down
            jac[:, j] = (self.values(figures, xu) - self.values(figures, xd)) / (up - down)
        return jac

    def input_effects(self, figures, x: np.ndarray) -> np.ndarray:
        """Change of each hardware figure per 1σ of each input (n_figures × n_inputs): the central
        secant over ±1σ (clipped to the field's range), parameters held at ``x``."""
        out = np.zeros((len(figures), len(self.inputs)))
        for i, inp in enumerate(self.inputs):
            if inp.uncertainty == 0:
                continue
            up, down = min(inp.value + inp.uncertainty, inp.high), max(inp.value - inp.uncertainty, inp.low)
            diff = self.values(figures, x, {i: up}) - self.values(figures, x, {i: down})
            out[:, i] = diff / (up - down) * inp.uncertainty
        return out

    def formula_uncertainty(self, figure: ReferenceFigure) -> float:
        """Uncertainty of a formula figure from its published inputs' 1σ (central secants, in quadrature)."""
        var = 0.0
        for name, key in figure.inputs.items():
            s = self.experiment.figure(key).paper_uncertainty or 0.0
            if s:
                var += (0.5 * (self.formula_value(figure, {name: s}) - self.formula_value(figure, {name: -s}))) ** 2
        return math.sqrt(var)

    def hardware_figures(self) -> list[ReferenceFigure]:
        return [f for f in self.experiment.figures if f.role != "formula"]
