"""Plots of the link model against the reference figures (matplotlib, written atomically).

Rendering only: the curves come from :mod:`qrepeater.validation.curves`.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt

from .style import IMAGE_SUFFIXES, check_image_path, in_style, legend_outside, new_figure, save

__all__ = ["IMAGE_SUFFIXES", "check_image_path", "plot_delivery", "plot_pulls", "plot_rate_and_fidelity_vs_alpha",
           "plot_stored_fidelity"]


def _save(fig, path: Path) -> Path:
    """Write ``fig`` (see :func:`qrepeater.report.style.save`)."""
    return save(fig, path)


@in_style
def plot_rate_and_fidelity_vs_alpha(curve: dict, path: Path) -> Path:
    """Heralding rate (Hz) and heralded fidelity versus excitation probability α, with paper points.

    ``curve``: :func:`qrepeater.validation.curves.rate_and_fidelity_vs_alpha`. The legend sits under
    the axes (no paper point or legend marker can be mistaken for the other).
    """
    alphas, rates, fids = curve["excitation_probability"], curve["rate_hz"], curve["heralded_fidelity"]
    fig, ax = new_figure(6.4, 4.2)
    ax.plot(100 * alphas, rates, color="C0", label="model: rate (left axis)")
    ax.errorbar([17.0], [2.226], yerr=[0.02 * 2.226], fmt="o", color="C0", zorder=5, label="paper: 2.226 Hz at α = 17 % [P]")
    ax.plot([2.5], [0.327], "s", color="C0", mfc="white", zorder=5, label="paper: 0.1309 Hz/% × 2.5 % [S]")
    ax.set_xlabel("excitation probability α (%)")
    ax.set_ylabel("entanglement rate (Hz)", color="C0")
    ax2 = ax.twinx()
    ax2.spines["right"].set_visible(True)
    ax2.grid(False)
    ax2.plot(100 * alphas, fids, color="C3", label="model: heralded fidelity (right axis)")
    ax2.plot([2.5, 2.5], [0.923, 0.910], "D", color="C3", mfc="none", label="paper: F = 0.923 / 0.910 at α = 2.5 % [S]")
    ax2.set_ylabel("heralded fidelity", color="C3")
    h1, l1 = ax.get_legend_handles_labels()
    h2, l2 = ax2.get_legend_handles_labels()
    legend_outside(ax, h1 + h2, l1 + l2, where="below", ncol=2)
    ax.set_title("SPEP link: rate linear in α, fidelity ≈ (1 − α)·contrast")
    return save(fig, path)


@in_style
def plot_stored_fidelity(curve: dict, path: Path) -> Path:
    """Stored-pair fidelity versus storage time, with the reference figures.

    ``curve``: :func:`qrepeater.validation.curves.stored_fidelity_vs_time`.
    """
    t, f = curve["time_s"], curve["fidelity"]
    fig, ax = new_figure(6.4, 4.2)
    ax.plot(1e3 * t, f, label="model F(t)")
    ax.axhline(0.5, color="k", lw=0.8, ls="--", label="F = 0.5 (no entanglement below)")
    ax.errorbar([450], [0.554], yerr=[0.05], fmt="o", color="C1", label="paper: 0.554 ± 0.050 at 450 ms [S]")
    ax.errorbar([547], [0.5], xerr=[34], fmt="s", color="C2", label="paper: > 0.5 for 547 ± 34 ms [S]")
    ax.axhline(curve["expected_stored_fidelity"], color="C4", lw=0.8, ls=":",
               label=f"model E[F at next success] = {curve['expected_stored_fidelity']:.3f} (paper 0.578 [P])")
    ax.set_xlabel("storage time (ms)")
    ax.set_ylabel("fidelity with the target Bell state")
    ax.set_title(f"Stored pair (α = {curve['excitation_probability']:.0%}), coherence time {1e3 * curve['coherence_time_s']:.0f} ms")
    legend_outside(ax, where="below", ncol=2)
    return save(fig, path)


@in_style
def plot_delivery(curve: dict, link_efficiency: float, fresh_fidelity: float, path: Path) -> Path:
    """Deterministic-delivery fidelity versus quantum link efficiency (Humphreys et al. 2018).

    ``curve``: :func:`qrepeater.validation.curves.delivery_fidelity_vs_link_efficiency`.
    """
    x, ideal, real = curve["link_efficiency"], curve["ideal"], curve["model"]
    fig, ax = new_figure(6.4, 4.2)
    ax.semilogx(x, ideal, label="heralded fidelity 1")
    ax.semilogx(x, real, label=f"heralded fidelity {fresh_fidelity:.3f} (this model)")
    ax.axhline(0.5, color="k", lw=0.8, ls="--", label="F = 0.5")
    ax.axvline(link_efficiency, color="C3", lw=1, label=f"this link: η_link = {link_efficiency:.2f}")
    ax.set_xlabel("quantum link efficiency η_link = r_ent / r_dec")
    ax.set_ylabel("deterministic-delivery fidelity")
    ax.set_title("Deterministic delivery (Humphreys et al., Nature 558, 268 (2018))")
    ax.grid(alpha=0.3, which="both")
    legend_outside(ax, where="below", ncol=2)
    return save(fig, path)


@in_style
def plot_pulls(entries, path: Path, title: str = "Out-of-sample predictions: pulls") -> Path:
    """Pull plot: z = (model − paper)/σ of every figure, one row each, on one axis.

    ``entries``: dicts with ``experiment``, ``name``, ``z``, ``bound`` (the |z| recorded as acceptable
    for that figure; 2 unless the reference data say why it is more) and optionally ``role``. The ±2
    band is shaded; a point outside its own bound is red, one outside ±2 but within its recorded bound
    orange. Predictions are filled markers; fitted, derived and formula rows open ones (a fitted
    figure's pull is small by construction). With one experiment its name is in the title, not on
    every row.
    """
    rows = [e for e in entries if e["z"] is not None]
    experiments = list(dict.fromkeys(e["experiment"] for e in rows))
    single = len(experiments) == 1
    fig, ax = new_figure(7.0, 1.3 + 0.26 * max(len(rows), 1))
    ax.axvspan(-2, 2, color="0.92", zorder=0)
    ax.axvline(0, color="0.4", lw=0.8)
    labels = []
    roles = set()
    for i, e in enumerate(rows):
        z = e["z"]
        color = "C2" if abs(z) <= 2 else ("C1" if abs(z) <= e.get("bound", 2) else "C3")
        prediction = e.get("role", "prediction") == "prediction"
        roles.add(prediction)
        ax.plot([z], [i], "o", color=color, ms=5, mfc=color if prediction else "white", mew=1.2)
        labels.append(e["name"] if single else f"{e['experiment']}: {e['name']}")
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels(labels, fontsize=7)
    ax.invert_yaxis()
    ax.grid(False, axis="y")
    lim = max([4.0] + [abs(e["z"]) + 0.5 for e in rows])
    ax.set_xlim(-lim, lim)
    ax.set_xlabel("pull z = (model − paper) / √(σ_model² + σ_paper²)")
    ax.set_title(title if not single or experiments[0] in title else f"{experiments[0]}: {title}")
    handles = [plt.Line2D([], [], marker="s", ls="", color="0.85", ms=8, label="|z| ≤ 2 band")]
    handles += [plt.Line2D([], [], marker="o", ls="", color=c, label=t)
                for c, t in (("C2", "|z| ≤ 2"), ("C1", "beyond 2, within its recorded bound"), ("C3", "beyond its recorded bound"))]
    if False in roles:
        handles += [plt.Line2D([], [], marker="o", ls="", color="0.3", label="prediction (filled)"),
                    plt.Line2D([], [], marker="o", ls="", color="0.3", mfc="white", label="fitted / derived / formula (open)")]
    legend_outside(ax, handles, [h.get_label() for h in handles], where="below", ncol=2)
    return save(fig, path)
