"""Validation against published experiments: the figures, the model's values beside them, and the
curves ``qrepeater reproduce`` draws.

:mod:`~qrepeater.validation.figures` (a published figure and a comparison) →
:mod:`~qrepeater.validation.link` and :mod:`~qrepeater.validation.qkd` (the reference system's rows) →
:func:`reproduce` (all rows); :mod:`~qrepeater.validation.curves` (model curves for the plots).
"""

from __future__ import annotations

from .figures import Comparison, ReferenceFigure
from .link import compare_link
from .qkd import compare_qkd

__all__ = ["Comparison", "ReferenceFigure", "compare_link", "compare_qkd", "reproduce"]


def reproduce(base: str = "ustc2026") -> list[Comparison]:
    """Every comparison row of the reference reproduction: the link figures, then the DI-QKD figures."""
    return compare_link(base) + compare_qkd(base)
