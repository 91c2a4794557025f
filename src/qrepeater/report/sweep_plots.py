"""Plots of sweep results and sensitivity rankings (matplotlib, written atomically).

* :func:`plot_sweep` — a metric against a parameter, one line per value of ``hue`` (and per
  combination of the other swept parameters). Axes are logarithmic "where natural": a positive axis
  spanning at least two decades, or a rate / per-channel-use metric. When ``y`` is a per-channel-use
  metric (:data:`qrepeater.studies.point.PER_CHANNEL_USE_METRICS`) against ``distance_km``, the
  repeaterless PLOB bound −log2(1 − η) of the total fibre (:func:`qrepeater.bounds.plob`) is drawn.
* :func:`plot_sensitivity` — horizontal bars of the elasticities d ln M / d ln p.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from ..bounds import fiber_transmissivity, plob  # noqa: E402
from ..errors import ConfigError  # noqa: E402
from ..studies.point import DEFAULT_ATTENUATION_DB_PER_KM, PER_CHANNEL_USE_METRICS  # noqa: E402
from .plots import _save, check_image_path  # noqa: E402

_RATE_SUFFIXES = ("_hz", "_bps", "_per_channel_use")
_NON_DATA = ("point_id", "error", "config", "options", "qrepeater_version")


def sweep_parameters(df) -> list[str]:
    """Swept parameter columns of a results frame (from its stored spec, else guessed: none)."""
    spec = (df.attrs.get("sweep") or {}).get("spec") or {}
    return [p for p in spec.get("parameters", {}) if p in df.columns]


def _positive_span(values) -> float | None:
    v = np.asarray([x for x in values if x is not None and np.isfinite(x)], dtype=float)
    if v.size == 0 or np.any(v <= 0):
        return None
    return float(v.max() / v.min())


def natural_log_axis(name: str, values) -> bool:
    """Log scale if all values are positive and span ≥ 100×, or a positive rate-like quantity spans > 10×."""
    span = _positive_span(values)
    if span is None:
        return False
    return span >= 100 or (name.endswith(_RATE_SUFFIXES) and span > 10)


def _attenuation(df) -> float:
    if "config" in df.columns:
        for raw in df["config"]:
            if isinstance(raw, str):
                cfg = json.loads(raw)
                fib = cfg.get("fiber") or {}
                if "attenuation_db_per_km" in fib:
                    return float(fib["attenuation_db_per_km"])
                break
    return DEFAULT_ATTENUATION_DB_PER_KM


def _fmt(v) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def plot_sweep(df, x: str, y: str, path: str | Path, hue: str | None = None, logx: bool | None = None, logy: bool | None = None, title: str | None = None) -> Path:
    """Plot column ``y`` against ``x`` (see the module docstring); returns ``path`` (.png, .svg or .pdf)."""
    path = check_image_path(path)
    return _save(sweep_figure(df, x, y, hue, logx, logy, title), path)


def sweep_figure(df, x: str, y: str, hue: str | None = None, logx: bool | None = None, logy: bool | None = None, title: str | None = None):
    """The matplotlib figure behind :func:`plot_sweep` (caller closes it)."""
    for col, flag in ((x, "--x"), (y, "--y")) + (((hue, "--hue"),) if hue else ()):
        if col not in df.columns:
            cols = [c for c in df.columns if c not in _NON_DATA]
            raise ConfigError(f"{flag} {col!r}: no such column; available: {', '.join(cols)}")
    data = df[df["error"].isna()] if "error" in df.columns else df
    others = [p for p in sweep_parameters(df) if p not in (x, hue)]
    group_cols = ([hue] if hue else []) + others
    fig, ax = plt.subplots(figsize=(7.0, 4.6))
    hue_values = list(dict.fromkeys(data[hue])) if hue else [None]
    colors = {h: f"C{i % 10}" for i, h in enumerate(hue_values)}
    styles = ["-", "--", ":", "-."]
    groups = data.groupby(group_cols, sort=True, dropna=False) if group_cols else [((), data)]
    other_keys: dict = {}
    n_lines = 0
    for key, g in groups:
        key = key if isinstance(key, tuple) else (key,)
        g = g.sort_values(x)
        yv = g[y].astype(float)
        if yv.isna().all():
            continue
        h = key[0] if hue else None
        rest = key[1:] if hue else key
        style = styles[other_keys.setdefault(rest, len(other_keys)) % len(styles)]
        label = ", ".join(f"{c} = {_fmt(v)}" for c, v in zip(group_cols, key)) or y
        ax.plot(g[x], yv, style, marker="o" if len(g) < 30 else None, ms=3, color=colors.get(h, "C0"), label=label)
        n_lines += 1
    if n_lines == 0:
        plt.close(fig)
        raise ConfigError(f"--y {y}: no finite values to plot")
    lx = natural_log_axis(x, data[x].astype(float)) if logx is None else logx
    ly = natural_log_axis(y, data[y].astype(float)) if logy is None else logy
    if y in PER_CHANNEL_USE_METRICS and x == "distance_km":
        xs = np.asarray(data[x], dtype=float)
        lo, hi = float(np.nanmin(xs)), float(np.nanmax(xs))
        grid = np.geomspace(max(lo, 1e-3), hi, 200) if lx and lo > 0 else np.linspace(lo, hi, 200)
        att = _attenuation(df)
        ax.plot(grid, plob(fiber_transmissivity(grid, att)), "k--", lw=1.2, label=f"PLOB bound (repeaterless, {att:g} dB/km)")
        if logy is None:
            ly = True
    if lx:
        ax.set_xscale("log")
    if ly:
        ax.set_yscale("log")
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    ax.set_title(title or f"{y} vs {x}" + (f" by {hue}" if hue else ""))
    ax.grid(alpha=0.3, which="both")
    if n_lines <= 16:
        ax.legend(fontsize=7)
    return fig


def plot_sensitivity(rows: Sequence, metric: str, path: str | Path, target: float | None = None, top: int = 25) -> Path:
    """Bar chart of elasticities d ln M / d ln p (largest |E| at the top); rows are ``Sensitivity``."""
    path = check_image_path(path)
    ranked = [r for r in rows if r.elasticity is not None and r.elasticity != 0][:top]
    if not ranked:
        raise ConfigError(f"--metric {metric}: no parameter changes it")
    ranked = ranked[::-1]
    names = [r.parameter for r in ranked]
    vals = [r.elasticity for r in ranked]
    fig, ax = plt.subplots(figsize=(7.5, 0.28 * len(ranked) + 1.4))
    colors = ["C2" if v > 0 else "C3" for v in vals]
    ax.barh(range(len(ranked)), vals, color=colors)
    ax.set_yticks(range(len(ranked)))
    ax.set_yticklabels(names, fontsize=7)
    ax.axvline(0, color="k", lw=0.8)
    if target is not None:
        for i, r in enumerate(ranked):
            txt = f"×{r.factor:.3g}" if r.factor is not None else "unreachable"
            ax.text(r.elasticity, i, " " + txt + " ", va="center", ha="left" if r.elasticity > 0 else "right", fontsize=6)
    ax.set_xlabel(f"elasticity d ln({metric}) / d ln(p)")
    ax.set_title(f"What moves {metric}" + (f" (factor to reach {target:g})" if target is not None else ""))
    ax.grid(alpha=0.3, axis="x")
    return _save(fig, path)


def default_plot_choices(df) -> list[tuple[str, str, str | None]]:
    """(x, y, hue) triples a report draws for a sweep: the metrics against the main parameter."""
    params = sweep_parameters(df)
    numeric = [p for p in params if df[p].dtype.kind in "if" and df[p].nunique() > 1]
    if not numeric:
        return []
    x = "distance_km" if "distance_km" in numeric else numeric[0]
    hue = next((p for p in params if p != x and 1 < df[p].nunique() <= 8), None)
    spec = (df.attrs.get("sweep") or {}).get("spec") or {}
    wanted = list(spec.get("metrics") or [])
    if not wanted:
        wanted = [
            m
            for m in ("rate_hz", "heralded_fidelity", "mean_fidelity", "link_efficiency", "secret_key_rate_bps", "key_bits_per_channel_use", "pairs_per_channel_use")
            if m in df.columns
        ]
    out = []
    for y in wanted:
        if y in df.columns and df[y].dtype.kind in "fi" and np.isfinite(df[y].astype(float)).any():
            out.append((x, y, hue))
    return out


__all__ = ["default_plot_choices", "natural_log_axis", "plot_sensitivity", "plot_sweep", "sweep_figure", "sweep_parameters"]
