"""A published figure and the comparison of the model's value with it.

Grades: [P] published, [S] secondary write-up, [D] derived. A figure has either a symmetric error bar or an allowed range; ``within`` says
whether the model lands inside it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class ReferenceFigure:
    """One published figure: value, grade and tolerance (absolute ``error`` or ``low``–``high``)."""

    key: str
    quantity: str
    unit: str
    paper: float
    grade: str
    error: float | None = None
    low: float | None = None
    high: float | None = None
    note: str = ""
    paper_text: str | None = None

    def paper_display(self) -> str:
        return self.paper_text if self.paper_text is not None else f"{self.paper:.4g}"

    @property
    def bounds(self) -> tuple[float, float]:
        if self.error is not None:
            return self.paper - self.error, self.paper + self.error
        return self.low, self.high

    def error_text(self) -> str:
        if self.error is not None:
            return f"± {self.error:.3g}"
        return f"[{self.low:.4g}, {self.high:.4g}]"


@dataclass(frozen=True)
class Comparison:
    figure: ReferenceFigure
    model: float

    @property
    def within(self) -> bool:
        lo, hi = self.figure.bounds
        return math.isfinite(self.model) and lo <= self.model <= hi

    def to_dict(self) -> dict:
        f = self.figure
        lo, hi = f.bounds
        return {
            "key": f.key,
            "quantity": f.quantity,
            "unit": f.unit,
            "grade": f.grade,
            "paper": f.paper if f.paper_text is None else f.paper_text,
            "low": lo,
            "high": hi,
            "model": self.model,
            "within": self.within,
            "note": f.note,
        }
