"""Plots of the link model against the reference figures (matplotlib, written atomically).

Rendering only: the curves come from :mod:`qrepeater.validation.curves`.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from ..errors import ConfigError  # noqa: E402
from ..files import atomic_path  # noqa: E402

#: image formats the plots are written in (from the file extension)
IMAGE_SUFFIXES = (".png", ".svg", ".pdf")


def check_image_path(path: str | Path, option: str = "--out") -> Path:
    """``Path(path)`` if its extension is an image format of :data:`IMAGE_SUFFIXES`, else ConfigError."""
    path = Path(path)
    if path.suffix.lower() not in IMAGE_SUFFIXES:
        raise ConfigError(f"{option} = {str(path)!r}: unknown image extension {path.suffix!r}; allowed: a .png, .svg or .pdf file name")
    return path


def _save(fig, path: Path) -> Path:
    try:
        check_image_path(path)
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format=path.suffix.lower().lstrip("."), dpi=130, bbox_inches="tight")
    finally:
        plt.close(fig)
    return path


def plot_rate_and_fidelity_vs_alpha(curve: dict, path: Path) -> Path:
    """Heralding rate (Hz) and heralded fidelity versus excitation probability α, with paper points.

    ``curve``: :func:`qrepeater.validation.curves.rate_and_fidelity_vs_alpha`.
    """
    alphas, rates, fids = curve["excitation_probability"], curve["rate_hz"], curve["heralded_fidelity"]
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    ax.plot(100 * alphas, rates, color="C0", label="model: rate")
    ax.errorbar([17.0], [2.226], yerr=[0.02 * 2.226], fmt="o", color="C0", label="paper: 2.226 Hz at 17% [P]")
    ax.plot([2.5], [0.327], "s", color="C0", mfc="none", label="paper: 0.1309 Hz/% × 2.5 [S]")
    ax.set_xlabel("excitation probability α (%)")
    ax.set_ylabel("entanglement rate (Hz)", color="C0")
    ax2 = ax.twinx()
    ax2.plot(100 * alphas, fids, color="C3", label="model: heralded fidelity")
    ax2.plot([2.5, 2.5], [0.923, 0.910], "D", color="C3", label="paper: 0.923 / 0.910 at 2.5% [S]")
    ax2.set_ylabel("heralded fidelity", color="C3")
    lines = ax.get_legend_handles_labels()
    lines2 = ax2.get_legend_handles_labels()
    ax.legend(lines[0] + lines2[0], lines[1] + lines2[1], fontsize=7, loc="center right")
    ax.set_title("SPEP link: rate linear in α, fidelity ≈ (1 − α)·contrast")
    ax.grid(alpha=0.3)
    return _save(fig, path)


def plot_stored_fidelity(curve: dict, path: Path) -> Path:
    """Stored-pair fidelity versus storage time, with the reference figures.

    ``curve``: :func:`qrepeater.validation.curves.stored_fidelity_vs_time`.
    """
    t, f = curve["time_s"], curve["fidelity"]
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    ax.plot(1e3 * t, f, label="model F(t)")
    ax.axhline(0.5, color="k", lw=0.8, ls="--", label="F = 0.5")
    ax.errorbar([450], [0.554], yerr=[0.05], fmt="o", color="C1", label="paper: 0.554 ± 0.050 at 450 ms [S]")
    ax.errorbar([547], [0.5], xerr=[34], fmt="s", color="C2", label="paper: > 0.5 for 547 ± 34 ms [S]")
    ax.axhline(curve["expected_stored_fidelity"], color="C4", lw=0.8, ls=":", label=f"model E[F at next success] = {curve['expected_stored_fidelity']:.3f} (paper 0.578 [P])")
    ax.set_xlabel("storage time (ms)")
    ax.set_ylabel("fidelity with the target Bell state")
    ax.set_title(f"Stored pair (α = {curve['excitation_probability']:.0%}), coherence {1e3 * curve['coherence_time_s']:.0f} ms")
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    return _save(fig, path)


def plot_delivery(curve: dict, link_efficiency: float, fresh_fidelity: float, path: Path) -> Path:
    """Deterministic-delivery fidelity versus quantum link efficiency (Humphreys et al. 2018).

    ``curve``: :func:`qrepeater.validation.curves.delivery_fidelity_vs_link_efficiency`.
    """
    x, ideal, real = curve["link_efficiency"], curve["ideal"], curve["model"]
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    ax.semilogx(x, ideal, label="fresh fidelity 1")
    ax.semilogx(x, real, label=f"fresh fidelity {fresh_fidelity:.3f} (model)")
    ax.axhline(0.5, color="k", lw=0.8, ls="--")
    ax.axvline(link_efficiency, color="C3", lw=1, label=f"this link: η_link = {link_efficiency:.2f}")
    ax.set_xlabel("quantum link efficiency r_ent / r_dec")
    ax.set_ylabel("deterministic-delivery fidelity")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3, which="both")
    return _save(fig, path)


def plot_pulls(entries, path: Path, title: str = "Out-of-sample predictions: pulls") -> Path:
    """Pull plot: z = (model − paper)/σ of every prediction, one row each, on one axis.

    ``entries``: dicts with ``experiment``, ``name``, ``z`` and ``bound`` (the |z| recorded as acceptable
    for that figure; 2 unless the reference data say why it is more). The ±2 band is shaded; a point
    outside its own bound is drawn in red, one outside ±2 but within its recorded bound in orange.
    """
    rows = [e for e in entries if e["z"] is not None]
    fig, ax = plt.subplots(figsize=(7.0, 0.9 + 0.28 * max(len(rows), 1)))
    ax.axvspan(-2, 2, color="0.9", zorder=0, label="|z| ≤ 2")
    ax.axvline(0, color="0.4", lw=0.8)
    labels = []
    for i, e in enumerate(rows):
        z = e["z"]
        color = "C2" if abs(z) <= 2 else ("C1" if abs(z) <= e.get("bound", 2) else "C3")
        ax.plot([z], [i], "o", color=color, ms=5)
        labels.append(f"{e['experiment']}: {e['name']}")
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels(labels, fontsize=7)
    ax.invert_yaxis()
    lim = max([4.0] + [abs(e["z"]) + 0.5 for e in rows])
    ax.set_xlim(-lim, lim)
    ax.set_xlabel("pull z = (model − paper) / √(σ_model² + σ_paper²)")
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3, axis="x")
    handles = [plt.Line2D([], [], marker="o", ls="", color=c, label=t) for c, t in (("C2", "|z| ≤ 2"), ("C1", "beyond 2, within its recorded bound"), ("C3", "beyond its recorded bound"))]
    ax.legend(handles=handles, fontsize=7, loc="lower right")
    return _save(fig, path)
