"""Charts of a requirements study (rendering only; the plans come from
:func:`qrepeater.studies.requirements.find_requirements`, as dictionaries of ``RequirementsPlan.to_dict``).

* :func:`plot_cost_vs_distance` — the cost Σ w·ln k of the cheapest plan against the total distance,
  each point labelled with the product of the factors Π k (= e^cost for unit weights); distances
  without a feasible plan are marked.
* :func:`plot_cost_breakdown` — for a few distances, stacked bars of the cost each improved parameter
  carries; with one distance, also the factor each parameter needs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from .style import add_caption, check_image_path, in_style  # noqa: E402
from .style import save as _save  # noqa: E402

#: at most this many distances get a bar in the breakdown chart (evenly picked)
MAX_BARS = 6
COST_LABEL = "cost Σ w·ln k (ln units)"
#: a parameter whose cost is below this share of the tallest bar is listed in the caption, not drawn
VISIBLE_SHARE = 0.01


def _groups(plan: dict) -> dict[str, dict]:
    """Improved parameter groups of a plan (tied node_a/node_b paths once), settings left out."""
    out: dict[str, dict] = {}
    for r in plan["improvements"]:
        if r["kind"] == "setting":
            continue
        out.setdefault(r["group"], r)
    return out


def _title(plans: Sequence[dict]) -> str:
    targets = ", ".join(t["target"] for t in plans[0].get("targets", []))
    return f"{plans[0]['segments']} segments; targets {targets}"


@in_style
def plot_cost_vs_distance(plans: Sequence[dict], path: str | Path) -> Path:
    """Cost of the cheapest plan against distance (km), points labelled with e^cost (Π k for unit
    weights); infeasible distances marked ×."""
    path = check_image_path(path)
    d = np.array([p["distance_km"] for p in plans], float)
    c = np.array([p["cost"] for p in plans], float)
    ok = np.array([bool(p["feasible"]) for p in plans])
    order = np.argsort(d)
    d, c, ok = d[order], c[order], ok[order]
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    ax.plot(d[ok], c[ok], "o-", color="C0", label="cheapest plan meeting every target")
    if (~ok).any():
        ax.plot(d[~ok], c[~ok], "x", color="C3", ms=9, mew=2, label="no plan within the allowed factors (closest shown)")
    ax.set_xlabel("total distance (km)")
    ax.set_ylabel(COST_LABEL)
    for xi, ci in zip(d, c):
        ax.annotate(f"e^cost = {np.exp(ci):.2g}", (xi, ci), textcoords="offset points", xytext=(0, 7), ha="center", fontsize=7)
    ax.set_ylim(0, max(c.max() * 1.15, 1.0) if c.size else 1.0)
    ax.margins(x=0.15)  # room for the first and last labels inside the frame
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper left")
    ax.set_title(f"What it takes: cost against distance ({_title(plans)})", fontsize=9)
    return _save(fig, path)


def _pick(plans: Sequence[dict]) -> list[dict]:
    plans = sorted(plans, key=lambda p: p["distance_km"])
    if len(plans) <= MAX_BARS:
        return list(plans)
    idx = sorted({int(round(i)) for i in np.linspace(0, len(plans) - 1, MAX_BARS)})
    return [plans[i] for i in idx]


@in_style
def plot_cost_breakdown(plans: Sequence[dict], path: str | Path) -> Path:
    """Stacked bars: the cost w·ln k each parameter carries, for up to :data:`MAX_BARS` distances.

    With a single plan a second panel shows each parameter's improvement factor k (log axis) and the
    required value.
    """
    path = check_image_path(path)
    chosen = _pick(plans)
    names: list[str] = []
    hidden: list[str] = []
    # a share below VISIBLE_SHARE of the tallest bar would be an invisible sliver with a legend entry
    tallest = max((sum(r["group_cost"] for r in _groups(p).values()) for p in chosen), default=0.0)
    for p in chosen:
        for g, r in sorted(_groups(p).items(), key=lambda kv: -kv[1]["group_cost"]):
            if r["group_cost"] > VISIBLE_SHARE * tallest and g not in names:
                names.append(g)
    for p in chosen:
        for g, r in _groups(p).items():
            if r["group_cost"] > 0 and g not in names and g not in hidden:
                hidden.append(g)
    single = len(chosen) == 1
    fig, axes = plt.subplots(1, 2 if single else 1, figsize=(13.0 if single else 8.0, 4.8), layout="constrained",
                             gridspec_kw={"width_ratios": [1, 1.6]} if single else None)
    ax = axes[0] if single else axes
    x = np.arange(len(chosen))
    bottom = np.zeros(len(chosen))
    cmap = plt.get_cmap("tab20")
    for i, g in enumerate(names):
        h = np.array([_groups(p).get(g, {}).get("group_cost", 0.0) for p in chosen])
        ax.bar(x, h, bottom=bottom, color=cmap(i % 20), label=g, width=0.6)
        bottom += h
    for xi, p, b in zip(x, chosen, bottom):
        ax.text(xi, b, "" if p["feasible"] else "infeasible", ha="center", va="bottom", color="C3", fontsize=8)
    ax.set_xticks(x)
    ax.set_xticklabels([f"{p['distance_km']:g}" for p in chosen])
    ax.set_xlabel("total distance (km)")
    ax.set_ylabel(f"{COST_LABEL}, by parameter")
    ax.grid(alpha=0.3, axis="y")
    if names:
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1.0))
    else:  # nothing to improve: say so instead of an empty frame
        ax.text(0.5, 0.5, "no improvement needed: the baseline hardware meets every target"
                if all(p["feasible"] for p in chosen) else "no plan within the allowed factors",
                transform=ax.transAxes, ha="center", va="center", fontsize=9, color="0.3")
        ax.set_yticks([])
    if hidden:
        add_caption(fig, [f"Not drawn (each < {VISIBLE_SHARE:.0%} of the tallest bar): " + ", ".join(hidden) + "."])
    if single:
        _factor_panel(axes[1], chosen[0])
    ax.set_title(f"Which improvements carry the cost ({_title(chosen)})", fontsize=9)
    return _save(fig, path)


def _value(v: float) -> str:
    """A parameter value; one just below 1 (a fidelity, an efficiency) as 1 − its complement."""
    return f"1−{1.0 - v:.3g}" if 0.99 <= v < 1.0 else f"{v:.3g}"


def _factor_panel(ax, plan: dict) -> None:
    rows = sorted(_groups(plan).values(), key=lambda r: r["factor"])
    labels = [r["group"] for r in rows]
    factors = [r["factor"] for r in rows]
    y = np.arange(len(rows))
    ax.barh(y, [max(f, 1.0) - 1.0 for f in factors], left=1.0, color="C0")
    ax.set_xscale("log")
    for yi, r in zip(y, rows):
        ax.text(max(r["factor"], 1.0), yi, f"  ×{r['factor']:.3g}: {_value(r['baseline'])} → {_value(r['required'])}",
                va="center", fontsize=7)
    settings = [r for r in plan["improvements"] if r["kind"] == "setting"]
    note = "; ".join(f"{r['parameter']}: {_value(r['baseline'])} → {_value(r['required'])} (free setting)" for r in settings)
    ax.set_yticks(y)
    ax.set_yticklabels(labels, fontsize=7)
    top = max(factors + [3.0])
    ax.set_xlim(1.0, top ** 1.8)
    ax.set_xlabel("improvement factor k (dimensionless, log scale)" + (f"\n{note}" if note else ""), fontsize=8)
    ax.set_title(f"Required factors at {plan['distance_km']:g} km (cost {plan['cost']:.3g}, "
                 f"{'feasible' if plan['feasible'] else 'infeasible'})", fontsize=9)
    ax.grid(alpha=0.3, axis="x")


def plot_requirements(plans: Sequence[dict], folder: str | Path) -> list[Path]:
    """Write the charts of a study into ``folder``: the breakdown (always) and, with two or more
    distances, the cost-vs-distance curve. Returns the paths."""
    folder = Path(folder)
    out = [plot_cost_breakdown(plans, folder / "requirements-breakdown.png")]
    if len({p["distance_km"] for p in plans}) > 1:
        out.insert(0, plot_cost_vs_distance(plans, folder / "requirements-cost.png"))
    return out


__all__ = ["plot_cost_breakdown", "plot_cost_vs_distance", "plot_requirements"]
