"""Published figures (read from ``validation/data/<experiment>.toml``) and the model beside them.

A :class:`ReferenceFigure` is one published number with its uncertainty, grade and source, and the
name of the model quantity that corresponds to it. A :class:`Row` is the comparison: the model value
with its propagated uncertainty, the figure's role, and the z-score on the combined uncertainty.

Roles
-----
``fitted``      a calibration target: unpublished parameters were fitted to it, so agreement is
                by construction (its honest test is the leave-one-out prediction of ``calibrate``);
``derived``     an identity of other rows (e.g. generation time = 1/rate);
``formula``     a published formula evaluated at published inputs (checks the implementation);
``prediction``  computed from inputs that were not fitted to it: the evidence.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from ..errors import ConfigError

ROLES = ("prediction", "fitted", "derived", "formula")
#: |z| at or below which a model figure counts as agreeing with the paper.
Z_WITHIN = 2.0
DATA_PACKAGE = "qrepeater.validation.data"


@dataclass(frozen=True)
class ReferenceFigure:
    """One published figure.

    ``value`` ± ``uncertainty`` (1σ), or a range ``low``..``high`` (midpoint ± half-width), or only
    ``low`` (a lower bound: no uncertainty, ``within`` means above it).
    """

    key: str
    quantity: str
    unit: str
    grade: str
    source: str
    model: str
    value: float | None = None
    uncertainty: float | None = None
    low: float | None = None
    high: float | None = None
    point: str | None = None
    role: str | None = None  # "derived" / "formula" as declared; fitted / prediction decided later
    derived_from: tuple[str, ...] = ()
    inputs: dict[str, str] = field(default_factory=dict)
    args: dict[str, Any] = field(default_factory=dict)
    note: str = ""
    #: largest |z| the suite accepts for this figure when it is a prediction (default :data:`Z_WITHIN`),
    #: raised only with ``z_bound_reason`` saying why the model misses it
    z_bound: float | None = None
    z_bound_reason: str = ""

    @property
    def is_bound(self) -> bool:
        return self.value is None and self.high is None

    @property
    def paper(self) -> float:
        """Central value (the midpoint of a range; the bound itself for a bound)."""
        if self.value is not None:
            return float(self.value)
        if self.high is not None:
            return 0.5 * (self.low + self.high)
        return float(self.low)

    @property
    def paper_uncertainty(self) -> float | None:
        """1σ of the paper value (half-width of a range; None for a bound)."""
        if self.uncertainty is not None:
            return float(self.uncertainty)
        if self.high is not None:
            return 0.5 * (self.high - self.low)
        return None

    def paper_text(self) -> str:
        if self.is_bound:
            return f"> {self.low:.4g}"
        if self.value is None:
            return f"{self.low:.4g} – {self.high:.4g}"
        return f"{self.value:.4g} ± {self.uncertainty:.2g}"


@dataclass(frozen=True)
class Row:
    """The model beside one published figure."""

    figure: ReferenceFigure
    role: str
    model: float
    model_uncertainty: float

    @property
    def z(self) -> float | None:
        """(model − paper) / √(σ_model² + σ_paper²); None for a bound or a zero combined σ."""
        f = self.figure
        if f.is_bound or not math.isfinite(self.model):
            return None
        s = math.hypot(self.model_uncertainty, f.paper_uncertainty)
        return (self.model - f.paper) / s if s > 0 else None

    @property
    def within(self) -> bool:
        """|z| ≤ 2 (a bound: the model lies beyond it)."""
        f = self.figure
        if not math.isfinite(self.model):
            return False
        if f.is_bound:
            return self.model > f.low
        z = self.z
        return self.model == f.paper if z is None else abs(z) <= Z_WITHIN

    def to_dict(self) -> dict:
        """The ``qrepeater reproduce --json`` record of this row (contract names)."""
        f = self.figure
        return {
            "name": f.key,
            "quantity": f.quantity,
            "unit": f.unit,
            "model": self.model,
            "model_uncertainty": self.model_uncertainty,
            "paper": f.paper,
            "paper_uncertainty": f.paper_uncertainty,
            "role": self.role,
            "z": self.z,
            "within": self.within,
            "grade": f.grade,
            "source": f.source,
            "note": f.note,
        }


@dataclass(frozen=True)
class Experiment:
    """A published experiment: its preset, operating points and figures."""

    name: str
    title: str
    source: str
    preset: str
    platform: str
    points: dict[str, tuple[str, ...]]
    figures: tuple[ReferenceFigure, ...]

    def figure(self, key: str) -> ReferenceFigure:
        for f in self.figures:
            if f.key == key:
                return f
        raise ConfigError(f"{self.name}: no figure {key!r}; figures: {', '.join(f.key for f in self.figures)}")


def list_experiments() -> list[str]:
    """Names of the experiments with reference data in the package."""
    return sorted(p.name[:-5] for p in resources.files(DATA_PACKAGE).iterdir() if p.name.endswith(".toml"))


def load_experiment(name: str) -> Experiment:
    """The reference data of experiment ``name`` (see ``validation/data/``)."""
    if name not in list_experiments():
        raise ConfigError(f"unknown experiment {name!r}; available: {', '.join(list_experiments())}")
    data = tomllib.loads(resources.files(DATA_PACKAGE).joinpath(f"{name}.toml").read_text(encoding="utf-8"))
    exp = data["experiment"]
    figures = []
    for raw in data["figures"]:
        raw = dict(raw)
        raw["derived_from"] = tuple(raw.get("derived_from", ()))
        fig = ReferenceFigure(**raw)
        if fig.role not in (None, "derived", "formula"):
            raise ConfigError(f"{name}: figure {fig.key}: role {fig.role!r}; allowed in data: derived, formula")
        if fig.value is None and fig.low is None:
            raise ConfigError(f"{name}: figure {fig.key}: needs value or low")
        if fig.z_bound is not None and not fig.z_bound_reason:
            raise ConfigError(f"{name}: figure {fig.key}: a z_bound needs a z_bound_reason")
        figures.append(fig)
    points = {k: tuple(v) for k, v in data.get("points", {}).items()}
    return Experiment(exp["name"], exp["title"], exp["source"], exp["preset"], exp["platform"], points, tuple(figures))
