"""Plots of sweep results (matplotlib, written atomically, package style of :mod:`.style`).

:func:`plot_sweep` draws a metric against a parameter, one line per value of ``hue`` (colour) and per
combination of the other swept parameters (line style). What a referee would otherwise flag is handled:

* axis labels carry units (:func:`qrepeater.report.style.label`: ``rate_hz`` → "entanglement rate (Hz)");
* an axis is logarithmic where the data are: a log-spaced grid (``scale = "log"``), a positive axis
  spanning at least two decades, or a rate / per-channel-use quantity spanning more than a decade;
* the legend sits outside the data, titled by the parameters it distinguishes;
* **degenerate series are said, not drawn**: a series that is zero at every point is left out and
  named in the caption under the figure; series identical to one another are drawn once, with one
  legend entry naming all of them and a caption note; values a log axis cannot show are counted;
* when ``y`` is a per-channel-use metric (:data:`qrepeater.studies.point.PER_CHANNEL_USE_METRICS`)
  against ``distance_km``, the repeaterless PLOB bound −log2(1 − η) of the total fibre
  (:func:`qrepeater.bounds.plob`) is drawn.

The sensitivity chart is :func:`qrepeater.report.sensitivity_plots.plot_sensitivity`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..bounds import fiber_transmissivity, plob
from ..errors import ConfigError
from ..studies.point import DEFAULT_ATTENUATION_DB_PER_KM, PER_CHANNEL_USE_METRICS
from .style import (
    add_caption,
    caption_of,
    check_image_path,
    in_style,
    label,
    legend_outside,
    natural_log_axis,
    new_figure,
    plain_log_ticks,
    save,
    short_label,
)

_NON_DATA = ("point_id", "error", "config", "options", "qrepeater_version")
_STYLES = ("-", "--", ":", "-.")
#: relative tolerance under which two series count as identical
IDENTICAL_RTOL = 1e-9


def sweep_parameters(df) -> list[str]:
    """Swept parameter columns of a results frame (from its stored spec, else guessed: none)."""
    spec = (df.attrs.get("sweep") or {}).get("spec") or {}
    return [p for p in spec.get("parameters", {}) if p in df.columns]


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


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def _fmt(v) -> str:
    if isinstance(v, (float, np.floating)):
        return f"{float(v):.4g}"
    return str(v)


@dataclass
class _Series:
    key: tuple
    x: np.ndarray
    y: np.ndarray
    color: str
    style: str
    names: list[str] = field(default_factory=list)  # legend text of every group drawn as this line


def _same(a: _Series, b: _Series) -> bool:
    return a.x.shape == b.x.shape and np.array_equal(a.x, b.x) and np.allclose(a.y, b.y, rtol=IDENTICAL_RTOL, atol=0.0, equal_nan=True)


def _check_columns(df, x, y, hue) -> None:
    for col, flag in ((x, "--x"), (y, "--y")) + (((hue, "--hue"),) if hue else ()):
        if col not in df.columns:
            cols = [c for c in df.columns if c not in _NON_DATA]
            raise ConfigError(f"{flag} {col!r}: no such column; available: {', '.join(cols)}")


def zero_everywhere(df, y: str) -> bool:
    """True if metric ``y`` is 0 at every point the model evaluated (and finite somewhere)."""
    data = df[df["error"].isna()] if "error" in df.columns else df
    v = np.asarray(data[y], dtype=float)
    v = v[np.isfinite(v)]
    return v.size > 0 and bool(np.all(v == 0))


def plot_sweep(df, x: str, y: str, path: str | Path, hue: str | None = None, logx: bool | None = None,
               logy: bool | None = None, title: str | None = None) -> Path:
    """Plot column ``y`` against ``x`` (see the module docstring); returns ``path`` (.png, .svg or .pdf)."""
    return plot_sweep_captioned(df, x, y, path, hue, logx, logy, title)[0]


def plot_sweep_captioned(df, x: str, y: str, path: str | Path, hue: str | None = None, logx: bool | None = None,
                         logy: bool | None = None, title: str | None = None) -> tuple[Path, str]:
    """:func:`plot_sweep`, also returning the figure's caption (what is not drawn and why; "" if nothing)."""
    path = check_image_path(path)
    return _plot_and_save(df, x, y, path, hue, logx, logy, title)


@in_style
def _plot_and_save(df, x, y, path, hue, logx, logy, title) -> tuple[Path, str]:
    fig = sweep_figure(df, x, y, hue, logx, logy, title)
    caption = caption_of(fig)
    return save(fig, path), caption


def _series(data, x, y, hue, group_cols):
    """The groups of ``data`` as series, with the notes on degenerate ones: (drawn, notes)."""
    hue_values = list(dict.fromkeys(data[hue])) if hue else [None]
    colors = {h: f"C{i % 10}" for i, h in enumerate(hue_values)}
    groups = data.groupby(group_cols, sort=True, dropna=False) if group_cols else [((), data)]
    other_keys: dict = {}
    drawn: list[_Series] = []
    zero: list[str] = []
    empty: list[str] = []
    for key, g in groups:
        key = key if isinstance(key, tuple) else (key,)
        g = g.sort_values(x)
        xs, ys = np.asarray(g[x], dtype=float), np.asarray(g[y], dtype=float)
        name = ", ".join(_fmt(v) for v in key) if key else short_label(y)
        finite = ys[np.isfinite(ys)]
        if finite.size == 0:
            empty.append(name)
            continue
        if np.all(finite == 0):
            zero.append(name)
            continue
        h = key[0] if hue else None
        rest = key[1:] if hue else key
        s = _Series(key, xs, ys, colors.get(h, "C0"), _STYLES[other_keys.setdefault(rest, len(other_keys)) % len(_STYLES)], [name])
        twin = next((d for d in drawn if _same(d, s)), None)
        if twin is not None:
            twin.names.append(name)
        else:
            drawn.append(s)
    legend_title = ", ".join(short_label(c) for c in group_cols)
    notes = []
    if zero:
        notes.append(f"{_sentence(short_label(y))} is 0 at every point for {legend_title or 'the whole sweep'} = "
                     f"{'; '.join(zero)} (not drawn).")
    if empty:
        notes.append(f"No finite {short_label(y)} for {legend_title} = {'; '.join(empty)} (not drawn).")
    for s in drawn:
        if len(s.names) > 1:
            notes.append(f"The series for {legend_title} = {'; '.join(s.names)} are identical "
                         f"({short_label(y)} does not depend on {legend_title}): drawn once.")
    return drawn, notes, legend_title


def sweep_figure(df, x: str, y: str, hue: str | None = None, logx: bool | None = None, logy: bool | None = None,
                 title: str | None = None):
    """The matplotlib figure behind :func:`plot_sweep` (caller closes it; its caption, if any, is
    :func:`qrepeater.report.style.caption_of`)."""
    _check_columns(df, x, y, hue)
    data = df[df["error"].isna()] if "error" in df.columns else df
    others = [p for p in sweep_parameters(df) if p not in (x, hue)]
    group_cols = ([hue] if hue else []) + others
    yall = np.asarray(data[y], dtype=float)
    if not np.isfinite(yall).any():
        raise ConfigError(f"--y {y}: no finite values to plot")
    drawn, notes, legend_title = _series(data, x, y, hue, group_cols)
    fig, ax = new_figure(7.2, 4.2)
    for s in drawn:
        text = s.names[0] if len(s.names) == 1 else f"{', '.join(s.names)} (identical)"
        ax.plot(s.x, s.y, s.style, marker="o" if len(s.x) < 30 else None, ms=3, color=s.color, label=text)
    xs_all = np.asarray(data[x], dtype=float)
    lx = natural_log_axis(x, xs_all) if logx is None else logx
    ly = natural_log_axis(y, yall) if logy is None else logy
    if y in PER_CHANNEL_USE_METRICS and x == "distance_km" and drawn:  # nothing to compare with when all are 0
        lo, hi = float(np.nanmin(xs_all)), float(np.nanmax(xs_all))
        grid = np.geomspace(max(lo, 1e-3), hi, 200) if lx and lo > 0 else np.linspace(lo, hi, 200)
        att = _attenuation(df)
        ax.plot(grid, plob(fiber_transmissivity(grid, att)), "k--", lw=1.2, label=f"PLOB bound (repeaterless, {att:g} dB/km)")
        if logy is None:
            ly = True
    if not drawn:
        ax.text(0.5, 0.5, f"{short_label(y)} is 0 at every point", transform=ax.transAxes, ha="center", va="center",
                fontsize=10, color="0.3")
        ly = False
        lo, hi = float(np.nanmin(xs_all)), float(np.nanmax(xs_all))
        if hi > lo:
            ax.set_xlim(lo, hi)
        ax.set_yticks([])
    if lx:
        ax.set_xscale("log")
        plain_log_ticks(ax.xaxis)
    if ly:
        ax.set_yscale("log")
        hidden = int(sum(np.sum(np.isfinite(s.y) & (s.y <= 0)) for s in drawn))
        if hidden:
            notes.append(f"{hidden} value(s) ≤ 0 cannot be shown on the logarithmic {short_label(y)} axis.")
    ax.set_xlabel(label(x))
    ax.set_ylabel(label(y))
    ax.set_title(title or _sentence(f"{short_label(y)} vs {short_label(x)}"), loc="left")
    ax.grid(alpha=0.3, which="major")
    if ax.get_legend_handles_labels()[0]:
        n = len(ax.get_legend_handles_labels()[0])
        if n <= 16:
            legend_outside(ax, title=legend_title or None)
        else:
            notes.append(f"{n} lines (legend left out: more than 16).")
    add_caption(fig, notes)
    return fig


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


__all__ = ["default_plot_choices", "natural_log_axis", "plot_sweep", "plot_sweep_captioned", "sweep_figure", "sweep_parameters",
           "zero_everywhere"]
