"""Model against paper for every published figure of an experiment, each row with its role.

The model runs at the preset's shipped values. Every model figure carries a 1σ propagated (linearised)
from the covariance of the fitted parameters (:func:`qrepeater.validation.calibration.covariance_at`)
and the declared input uncertainties (hardware figures), or from the published inputs' 1σ (formula
figures). Only ``prediction`` rows are evidence; the headline counts them alone.
"""

from __future__ import annotations

from dataclasses import dataclass

from .calibration import covariance_at, prediction
from .figures import ROLES, Z_WITHIN, Row, list_experiments, load_experiment
from .model import ExperimentModel


@dataclass(frozen=True)
class Reproduction:
    """All rows of one experiment, and the summary counts."""

    experiment: str
    title: str
    source: str
    preset: str
    platform: str
    rows: tuple[Row, ...]

    @property
    def summary(self) -> dict:
        preds = [r for r in self.rows if r.role == "prediction"]
        out = {"predictions": len(preds), "predictions_within": sum(r.within for r in preds)}
        out.update({role: sum(r.role == role for r in self.rows) for role in ROLES if role != "prediction"})
        return out

    @property
    def headline(self) -> str:
        s = self.summary
        return (f"{s['predictions_within']} of {s['predictions']} out-of-sample predictions within 2σ; "
                f"{s['fitted']} figures used for calibration, {s['derived']} derived from others, "
                f"{s['formula']} formula checks at published inputs")

    def to_dict(self) -> dict:
        """The ``qrepeater reproduce --json`` contract: ``{"figures": [...], "summary": {...}}``."""
        return {
            "experiment": self.experiment,
            "title": self.title,
            "platform": self.platform,
            "preset": self.preset,
            "source": self.source,
            "figures": [r.to_dict() for r in self.rows],
            "summary": self.summary,
            "headline": self.headline,
        }


def reproduce(preset: str = "ustc2026") -> Reproduction:
    """Every figure of the preset's experiment beside the model (see module docstring)."""
    model = ExperimentModel(preset)
    fitted = {t.key for t in model.targets}
    hardware = model.hardware_figures()
    values, sigmas = prediction(model, hardware, covariance_at(model, model.x_shipped))
    by_key = {f.key: (v, s) for f, v, s in zip(hardware, values, sigmas)}
    rows = []
    for f in model.experiment.figures:
        if f.role == "formula":
            value, sigma = model.formula_value(f), model.formula_uncertainty(f)
            role = "formula"
        else:
            value, sigma = by_key[f.key]
            role = "fitted" if f.key in fitted else (f.role or "prediction")
        rows.append(Row(f, role, float(value), float(sigma)))
    exp = model.experiment
    return Reproduction(exp.name, exp.title, exp.source, preset, exp.platform, tuple(rows))


def reproduce_all() -> dict:
    """Every experiment with reference data (:func:`~qrepeater.validation.figures.list_experiments`):
    ``{"experiments": [Reproduction.to_dict(), ...], "totals": {...}, "pulls": [...]}`` — the totals sum
    the summaries; ``pulls`` lists every prediction's z with the bound recorded for it."""
    results = [reproduce(load_experiment(name).preset) for name in list_experiments()]
    totals = {k: sum(r.summary[k] for r in results) for k in results[0].summary} if results else {}
    pulls = [
        {"experiment": r.experiment, "name": row.figure.key, "z": row.z, "bound": row.figure.z_bound or Z_WITHIN, "within": row.within}
        for r in results for row in r.rows if row.role == "prediction"
    ]
    return {"experiments": [r.to_dict() for r in results], "totals": totals, "pulls": pulls}
