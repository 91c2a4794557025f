"""Calibration as a fit: the preset's free parameters fitted to its declared published targets.

Method
------
Weighted least squares (``scipy.optimize.least_squares``, trust-region reflective, bounds from the
scenario schema) of the residuals

    r_i = (m_i(θ) − y_i) / σ_i          for every target figure i (σ_i: its published 1σ),
    r_j = (x_j − 1) / w_j               a weak prior on every scaled parameter x_j = θ_j / θ0_j,

where θ0 is the declared a-priori value (``prior``, chosen without the targets) and
``w_j = prior_relative_uncertainty`` (default 1: weak next to any published figure). The parameter covariance is the Gauss–Newton estimate
(JᵀJ)⁻¹ at the optimum (J: Jacobian of all residuals in x), so a parameter's standard uncertainty is
θ0_j √[(JᵀJ)⁻¹]_jj. χ² is Σ r_i² over the targets only and dof = n_targets − n_parameters (0 when every
target fixes one parameter: then χ² is 0 by construction and says nothing).

A parameter is *fixed by* the targets whose weighted residual moves with it: |J_ij| ≥ 10 % of the largest
|J_kj| over the targets.

Leave-one-out: each target in turn is removed, the fit redone from the priors and the
removed target predicted, with its uncertainty propagated from that fit's covariance and the inputs;
``z = (predicted − paper) / √(σ_pred² + σ_paper²)``. When a target is the only one fixing a parameter,
that parameter falls back on its prior and the prediction's uncertainty shows it: this is the honest
out-of-sample test of every calibration target.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import least_squares

from .figures import ReferenceFigure
from .model import ExperimentModel

#: share of a parameter's largest target sensitivity above which a target counts as fixing it
FIXES_THRESHOLD = 0.1


@dataclass(frozen=True)
class Fit:
    """Result of one weighted least-squares fit."""

    x: np.ndarray
    covariance: np.ndarray  # of x
    targets: tuple[ReferenceFigure, ...]
    target_jacobian: np.ndarray  # d r_i / d x_j over the targets (weighted)
    chi2: float
    dof: int
    success: bool
    message: str


@dataclass(frozen=True)
class CalibrationReport:
    """Everything ``qrepeater calibrate`` reports (see :meth:`to_dict` for the JSON contract)."""

    preset: str
    experiment: str
    parameters: list[dict]
    chi2: float
    dof: int
    leave_one_out: list[dict] = field(default_factory=list)
    fit_message: str = ""

    def to_dict(self) -> dict:
        return {
            "preset": self.preset,
            "experiment": self.experiment,
            "parameters": self.parameters,
            "chi2": self.chi2,
            "dof": self.dof,
            "leave_one_out": self.leave_one_out,
            "fit_message": self.fit_message,
        }


def _sigma(f: ReferenceFigure) -> float:
    s = f.paper_uncertainty
    if not s:
        raise ValueError(f"target {f.key} has no uncertainty to weight a fit with")
    return s


def fit(model: ExperimentModel, targets=None, x_start: np.ndarray | None = None) -> Fit:
    """Fit the free parameters of ``model`` to ``targets`` (default: the preset's declared ones)."""
    targets = tuple(model.targets if targets is None else targets)
    y = np.array([f.paper for f in targets])
    s = np.array([_sigma(f) for f in targets])
    w = np.array([p.prior_relative_uncertainty for p in model.parameters])
    lo = np.array([p.low for p in model.parameters])
    hi = np.array([p.high for p in model.parameters])

    def residuals(x):
        return np.concatenate([(model.values(targets, x) - y) / s, (x - 1.0) / w])

    def jacobian(x):
        return np.vstack([model.parameter_jacobian(targets, x) / s[:, None], np.diag(1.0 / w)])

    x0 = np.clip(model.x0 if x_start is None else x_start, lo, hi)
    res = least_squares(residuals, x0, jac=jacobian, bounds=(lo, hi), method="trf", x_scale=1.0, xtol=1e-10, ftol=1e-12, gtol=1e-12)
    jac = jacobian(res.x)
    cov = np.linalg.pinv(jac.T @ jac)
    r = residuals(res.x)[: len(targets)]
    return Fit(res.x, cov, targets, jac[: len(targets)], float(r @ r), len(targets) - len(model.parameters), bool(res.success), str(res.message))


def covariance_at(model: ExperimentModel, x: np.ndarray) -> Fit:
    """The Gauss–Newton covariance of the declared fit evaluated at ``x`` without refitting (e.g. at the
    shipped preset values, x = 1), as a :class:`Fit`."""
    targets = model.targets
    s = np.array([_sigma(f) for f in targets])
    w = np.array([p.prior_relative_uncertainty for p in model.parameters])
    jt = model.parameter_jacobian(targets, x) / s[:, None]
    jac = np.vstack([jt, np.diag(1.0 / w)])
    r = (model.values(targets, x) - np.array([f.paper for f in targets])) / s
    return Fit(np.asarray(x, float), np.linalg.pinv(jac.T @ jac), tuple(targets), jt, float(r @ r), len(targets) - len(model.parameters), True, "not refitted")


def prediction(model: ExperimentModel, figures, fit_: Fit) -> tuple[np.ndarray, np.ndarray]:
    """Model values of hardware ``figures`` at a fit and their 1σ.

    Two contributions, linearised: the fitted parameters' covariance, g Σ gᵀ; and every input's 1σ
    carried *through the fit* — an input that moves a target moves the fitted parameters with it,
    dx = −(JᵀJ)⁻¹ J_tᵀ δr_t (J: the fit's weighted Jacobian, δr_t: the input's shift of the weighted
    target residuals), so a figure changes by δm + g dx per 1σ of the input.
    """
    values = model.values(figures, fit_.x)
    g = model.parameter_jacobian(figures, fit_.x)
    var = np.einsum("ij,jk,ik->i", g, fit_.covariance, g)
    if model.inputs:
        s = np.array([_sigma(f) for f in fit_.targets])
        dr = model.input_effects(fit_.targets, fit_.x) / s[:, None]  # n_targets × n_inputs
        dx = -fit_.covariance @ fit_.target_jacobian.T @ dr  # n_params × n_inputs
        total = model.input_effects(figures, fit_.x) + g @ dx
        var = var + (total**2).sum(axis=1)
    return values, np.sqrt(np.maximum(var, 0.0))


def _fixed_by(f: Fit, j: int) -> list[str]:
    col = np.abs(f.target_jacobian[:, j])
    if col.size == 0 or col.max() == 0:
        return []
    return [t.key for t, c in zip(f.targets, col) if c >= FIXES_THRESHOLD * col.max()]


def calibrate(preset: str, leave_one_out: bool = True) -> CalibrationReport:
    """Fit ``preset``'s free parameters to its targets; optionally the leave-one-out predictions."""
    model = ExperimentModel(preset)
    full = fit(model)
    params = []
    for j, p in enumerate(model.parameters):
        params.append({
            "path": p.path,
            "tied": list(p.tied),
            "value": float(p.prior * full.x[j]),
            "uncertainty": float(abs(p.prior) * math.sqrt(max(full.covariance[j, j], 0.0))),
            "prior": p.prior,
            "shipped": p.shipped,
            "targets": _fixed_by(full, j),
            "note": p.note,
        })
    loo = []
    if leave_one_out:
        for t in model.targets:
            rest = [f for f in model.targets if f.key != t.key]
            refit = fit(model, rest)
            value, sigma = prediction(model, [t], refit)
            paper_sigma = t.paper_uncertainty
            z = (value[0] - t.paper) / math.hypot(sigma[0], paper_sigma)
            loo.append({
                "figure": t.key,
                "predicted": float(value[0]),
                "uncertainty": float(sigma[0]),
                "paper": t.paper,
                "paper_uncertainty": paper_sigma,
                "z": float(z),
            })
    return CalibrationReport(preset, model.experiment.name, params, full.chi2, full.dof, loo, full.message)
