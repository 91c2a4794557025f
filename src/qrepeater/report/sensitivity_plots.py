"""The sensitivity chart (``qrepeater sensitivity --out``), rendering only.

A sensitivity study (:func:`qrepeater.studies.sensitivity.sensitivity`) varies every positive number of
a scenario, but not every number is hardware that can get *better*: a detection window, a filter
bandwidth or a decoupling-pulse interval is a set-up choice, an atomic decay time or a fitted weight
is a model constant. The chart is given, per parameter, the direction in which it improves (+1: larger
is better, −1: smaller is better, 0: neither — :func:`qrepeater.cli.improvements.improvement_direction`
decides it) and draws the elasticities of the parameters that have one, largest |E| at the top,
coloured by whether improving the parameter raises the metric or lowers it (a trade-off), with the
factor needed for a target in a column beside the bars. A factor that would make the parameter
*worse* ("×436 more noise") is not offered; parameters left out (no direction, or |E| below
:data:`MIN_ELASTICITY`) are counted in the caption.
"""

from __future__ import annotations

from pathlib import Path
from typing import Mapping, Sequence

import matplotlib.pyplot as plt

from ..errors import ConfigError
from .style import add_caption, check_image_path, in_style, legend_outside, new_figure, save, short_label

#: elasticities smaller than this (in absolute value) are left out of the chart (counted in its caption)
MIN_ELASTICITY = 1e-3
TOP = 25


def factor_offered(row, direction: int) -> bool:
    """True if ``row`` (a ``Sensitivity``) has a factor that improves its parameter, which improves in
    ``direction`` (not one that would make it worse, nor one of a parameter without a direction)."""
    return row.factor is not None and direction != 0 and (row.factor - 1.0) * direction > 0


def factor_text(row, direction: int) -> str:
    """What the chart and the table say about ``row``'s factor."""
    if row.status == "already met":
        return "already met"
    if row.factor is None:
        return "unreachable"
    if direction == 0:
        return "set-up / constant"
    if not factor_offered(row, direction):
        return "needs a worse value"
    return f"×{row.factor:.3g}"


def plot_sensitivity(rows: Sequence, metric: str, path: str | Path, target: float | None = None, top: int = TOP,
                     directions: Mapping[str, int] | None = None) -> Path:
    """Bar chart of elasticities d ln M / d ln p (see the module docstring); ``rows`` are
    ``Sensitivity`` records ranked by |elasticity|, ``directions`` maps each parameter to the way it
    improves (+1, −1, 0; a parameter missing from it counts as 0; None: every parameter is drawn as
    improving upward). Returns ``path`` (.png, .svg or .pdf)."""
    path = check_image_path(path)
    return _draw(list(rows), metric, path, target, top, directions)


@in_style
def _draw(rows, metric, path, target, top, directions) -> Path:
    def d(r) -> int:
        return 1 if directions is None else int(directions.get(r.parameter, 0))

    defined = [r for r in rows if r.elasticity is not None]
    no_direction = [r for r in defined if d(r) == 0]
    small = [r for r in defined if d(r) != 0 and abs(r.elasticity) < MIN_ELASTICITY]
    shown = [r for r in defined if d(r) != 0 and abs(r.elasticity) >= MIN_ELASTICITY]
    if not shown:
        raise ConfigError(f"--metric {metric}: no hardware parameter changes it (|elasticity| >= {MIN_ELASTICITY:g})")
    cut = shown[top:]
    shown = shown[:top][::-1]
    m = short_label(metric)
    fig, ax = new_figure(7.2, 1.5 + 0.24 * len(shown))
    helps = [r.elasticity * d(r) > 0 for r in shown]
    ax.barh(range(len(shown)), [r.elasticity for r in shown], color=["C2" if h else "C3" for h in helps], height=0.7)
    ax.set_yticks(range(len(shown)))
    ax.set_yticklabels([r.parameter for r in shown], fontsize=7)
    ax.grid(False, axis="y")
    ax.axvline(0, color="k", lw=0.8)
    ax.set_ylim(-0.6, len(shown) - 0.4)
    if target is not None:
        for i, r in enumerate(shown):
            ax.annotate(factor_text(r, d(r)), xy=(1.0, i), xycoords=("axes fraction", "data"), xytext=(6, 0),
                        textcoords="offset points", va="center", ha="left", fontsize=7,
                        color="k" if factor_offered(r, d(r)) else "0.45")
        ax.annotate(f"factor to reach {target:g}", xy=(1.0, 1.0), xycoords="axes fraction", xytext=(6, 4),
                    textcoords="offset points", va="bottom", ha="left", fontsize=7, fontweight="bold")
    ax.set_xlabel(f"elasticity d ln({m}) / d ln(parameter)")
    ax.set_title(f"What moves the {m}", loc="left")
    keys = [(True, "C2", f"improving it raises the {m}"), (False, "C3", f"improving it lowers the {m} (trade-off)")]
    keys = [(c, t) for h, c, t in keys if h in helps]  # only the colours drawn
    legend_outside(ax, [plt.Rectangle((0, 0), 1, 1, color=c) for c, _ in keys], [t for _, t in keys], where="below", ncol=2)
    notes = []
    if no_direction:
        names = ", ".join(r.parameter for r in no_direction[:6]) + (", …" if len(no_direction) > 6 else "")
        notes.append(f"Not shown: {len(no_direction)} set-up choice(s) and model constant(s) that have no 'better' "
                     f"value ({names}).")
    if small:
        notes.append(f"Not shown: {len(small)} parameter(s) with |elasticity| < {MIN_ELASTICITY:g}.")
    if cut:
        notes.append(f"Not shown: {len(cut)} further parameter(s) below the top {top}.")
    add_caption(fig, notes)
    return save(fig, path)


__all__ = ["factor_offered", "factor_text", "plot_sensitivity"]
