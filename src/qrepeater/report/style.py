"""One figure style for every plot of the package: axis labels with units, log axes where the data are
log-spaced, legends outside the data, captions that say what is not drawn, vector output by extension.

* :data:`LABELS` — metric / parameter / option name → axis label with its unit (``rate_hz`` →
  "rate (Hz)"); :func:`label` falls back to the unit suffix of a name (``_hz``, ``_s``, ``_km``, ...).
* :func:`log_spaced` and :func:`natural_log_axis` — when an axis is logarithmic.
* :func:`legend_outside` and :func:`add_caption` — a legend to the right of the axes and a caption
  under them, both included in the saved image.
* :func:`new_figure` and :func:`save` — figures in the package style, written atomically in the format
  of the file's extension (``.png``, ``.svg``, ``.pdf``).
"""

from __future__ import annotations

import functools
import re
import textwrap
from pathlib import Path
from typing import Iterable

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker as mticker  # noqa: E402
import matplotlib.transforms as mtransforms  # noqa: E402
import numpy as np  # noqa: E402

from ..errors import ConfigError  # noqa: E402
from ..files import atomic_path  # noqa: E402

#: image formats a figure is written in (from the file extension)
IMAGE_SUFFIXES = (".png", ".svg", ".pdf")
#: raster resolution of PNG output (dots per inch)
DPI = 130

#: the package's matplotlib settings (applied by :func:`in_style` around a plotting function, never globally)
RC = {
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.labelsize": 9,
    "legend.fontsize": 7.5,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "svg.fonttype": "none",  # text stays text in .svg
    "pdf.fonttype": 42,  # TrueType in .pdf (editable, no Type 3 fonts)
}

#: axis label (with unit) of every metric, parameter and engine option the studies produce
LABELS: dict[str, str] = {
    # engine options and sweep axes
    "distance_km": "total distance (km)",
    "segments": "number of segments",
    "segment_length_km": "segment length (km)",
    "multiplex": "memories per node per link side",
    "cutoff_s": "memory cut-off (s)",
    "pairs": "pairs sampled",
    "engine": "engine",
    "purify": "purification",
    # link metrics
    "success_probability": "herald probability per attempt",
    "attempt_duration_s": "attempt duration (s)",
    "rate_hz": "entanglement rate (Hz)",
    "mean_generation_time_s": "mean generation time (s)",
    "heralded_fidelity": "heralded fidelity",
    "decoherence_rate_hz": "decoherence rate (Hz)",
    "coherence_time_s": "coherence time (s)",
    "link_efficiency": "link efficiency (r_ent / r_dec)",
    "deterministic_delivery_fidelity": "deterministic-delivery fidelity",
    "expected_stored_fidelity": "expected stored fidelity",
    "expected_stored_fidelity_window": "expected stored fidelity (window)",
    "storage_window_s": "storage window (s)",
    "time_above_half_s": "time above F = 0.5 (s)",
    "signal_fraction": "signal fraction of heralds",
    "noise_counts_per_s": "noise counts (1/s)",
    "filter_transmission": "filter transmission",
    "interference_contrast": "interference contrast",
    "arm_efficiency": "arm efficiency",
    "detected_noise_rate_hz": "detected noise rate (Hz)",
    "pairs_per_channel_use": "pairs per channel use",
    "transmissivity": "fibre transmissivity η",
    "plob_bound": "PLOB bound (bits per channel use)",
    "tgw_bound": "TGW bound (bits per channel use)",
    # chain metrics
    "rate_ci95_lo": "rate, 95 % CI low (Hz)",
    "rate_ci95_hi": "rate, 95 % CI high (Hz)",
    "mean_fidelity": "mean delivered fidelity",
    "fidelity_ci95_lo": "fidelity, 95 % CI low",
    "fidelity_ci95_hi": "fidelity, 95 % CI high",
    "mean_waiting_time_s": "mean waiting time (s)",
    "waiting_time_ci95_lo": "waiting time, 95 % CI low (s)",
    "waiting_time_ci95_hi": "waiting time, 95 % CI high (s)",
    "state_phi_plus": "Bell weight Φ+",
    "state_phi_minus": "Bell weight Φ−",
    "state_psi_plus": "Bell weight Ψ+",
    "state_psi_minus": "Bell weight Ψ−",
    "secret_key_fraction": "secret-key fraction (bits per pair)",
    "secret_key_rate_bps": "secret-key rate (bit/s)",
    "key_bits_per_channel_use": "key bits per channel use",
    "truncation_error": "truncation error",
    "pairs_sampled": "pairs sampled",
    # scenario paths often swept
    "link.excitation_probability": "excitation probability α",
    "link.length_km": "link length (km)",
    "fiber.attenuation_db_per_km": "fibre loss (dB/km)",
    "swap.gate_fidelity": "swap gate fidelity",
    "memory.coherence_time_s": "memory coherence time (s)",
    "link.success_probability": "link success probability",
    "link.fresh_fidelity": "fresh-pair fidelity",
}

#: unit of a name's suffix, for names not in :data:`LABELS` (longest suffix first)
SUFFIX_UNITS = (
    ("_rad2_per_hz_per_km", "rad²/Hz/km"),
    ("_per_s_per_nm", "1/s/nm"),
    ("_db_per_km", "dB/km"),
    ("_rad_per_s", "rad/s"),
    ("_per_s", "1/s"),
    ("_bps", "bit/s"),
    ("_hz", "Hz"),
    ("_km", "km"),
    ("_m", "m"),
    ("_s", "s"),
    ("_w", "W"),
    ("_rad", "rad"),
    ("_db", "dB"),
)
#: names whose values are rates, per-channel-use figures or probabilities of rare events: a positive
#: axis of these spanning more than 10x is drawn logarithmic
_RATE_SUFFIXES = ("_hz", "_bps", "_per_channel_use", "_bound")


def label(name: str) -> str:
    """Axis label of a metric, parameter or option ``name``, with its unit: :data:`LABELS`, else the
    last dotted component in words with the unit of its suffix (:data:`SUFFIX_UNITS`)."""
    if name in LABELS:
        return LABELS[name]
    stem = name.replace("node_{a,b}.", "").split(".")[-1]
    stem = re.sub(r"\[(\d+)\]", r" \1", stem)
    for suffix, unit in SUFFIX_UNITS:
        if stem.endswith(suffix) and len(stem) > len(suffix):
            words = stem[: -len(suffix)].replace("_", " ")
            return f"{words} ({unit})"
    return stem.replace("_", " ")


def short_label(name: str) -> str:
    """:func:`label` without its unit (for titles and legends)."""
    return re.sub(r"\s*\([^)]*\)$", "", label(name))


def _finite_positive(values) -> np.ndarray | None:
    v = np.asarray([x for x in values if x is not None], dtype=float)
    v = v[np.isfinite(v)]
    if v.size == 0 or np.any(v <= 0):
        return None
    return v


def log_spaced(values, tolerance: float = 0.05) -> bool:
    """True if the distinct values (≥ 3, all positive, spanning more than 3x) are evenly spaced in
    log, not in linear scale — a grid made with ``scale = "log"``."""
    v = _finite_positive(values)
    if v is None:
        return False
    u = np.unique(v)
    if u.size < 3 or u[-1] / u[0] <= 3:
        return False
    dlog, dlin = np.diff(np.log(u)), np.diff(u)
    even_log = np.ptp(dlog) <= tolerance * np.mean(dlog)
    even_lin = np.ptp(dlin) <= tolerance * np.mean(dlin)
    return bool(even_log and not even_lin)


def natural_log_axis(name: str, values) -> bool:
    """Log scale if the values are log-spaced (:func:`log_spaced`), or all positive spanning ≥ 100x, or
    a positive rate-like quantity (``_hz``, ``_bps``, per channel use, bounds) spanning > 10x."""
    v = _finite_positive(values)
    if v is None:
        return False
    span = float(v.max() / v.min())
    return log_spaced(v) or span >= 100 or (name.endswith(_RATE_SUFFIXES) and span > 10)


def plain_log_ticks(axis) -> None:
    """Label a logarithmic ``axis`` (``ax.xaxis``) with plain numbers at 1, 2, 5 × 10^k when it spans
    less than four decades (10, 20, 50, 100 km rather than 10^1, 10^2)."""
    ax = axis.axes
    lo, hi = sorted(ax.get_xlim() if axis is ax.xaxis else ax.get_ylim())
    if not (lo > 0 and hi / lo < 1e4 and 1e-3 <= lo and hi <= 1e6):
        return
    axis.set_major_locator(mticker.LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    axis.set_major_formatter(mticker.FuncFormatter(lambda v, _pos: f"{v:g}"))
    axis.set_minor_formatter(mticker.NullFormatter())


def in_style(func):
    """Decorator of a plotting function: it draws and saves inside ``matplotlib.rc_context(RC)``, so
    the package style never leaks into the caller's matplotlib settings."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        with plt.rc_context(RC):
            return func(*args, **kwargs)

    return wrapper


def new_figure(width: float = 6.4, height: float = 4.2, **subplots):
    """``(fig, ax)`` (or ``(fig, axes)`` with ``nrows``/``ncols``) with constrained layout (labels,
    outside legends and the caption never overlap); call inside :func:`in_style`."""
    subplots.setdefault("layout", "constrained")
    return plt.subplots(figsize=(width, height), **subplots)


def legend_outside(ax, handles=None, labels=None, title: str | None = None, where: str = "right", ncol: int = 1):
    """A legend beside (``where="right"``: a figure legend in the constrained layout's right margin) or
    under (``"below"``: under the axes' tick labels and axis label, placed by :func:`save`) the axes —
    never over the data."""
    if handles is None:
        handles, labels = ax.get_legend_handles_labels()
    kwargs = {"fontsize": RC["legend.fontsize"], "frameon": False, "title": title, "ncol": ncol}
    if title:
        kwargs["title_fontsize"] = RC["legend.fontsize"]
    if where == "below":
        legend = ax.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, 0.0), **kwargs)
        legend._qr_below = True  # noqa: SLF001 - moved under the x axis by save()
        return legend
    return ax.figure.legend(handles, labels, loc="outside right upper", **kwargs)


def _place_below_legends(fig) -> None:
    """Anchor every ``where="below"`` legend just under its axes' x tick labels and label (an offset in
    inches, independent of the axes' final size)."""
    below = [(ax, ax.get_legend()) for ax in fig.axes if getattr(ax.get_legend(), "_qr_below", False)]
    if not below:
        return
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    for ax, legend in below:
        xaxis = ax.xaxis.get_tightbbox(renderer)
        depth_in = 0.0 if xaxis is None else max(0.0, (ax.bbox.y0 - xaxis.y0) / fig.dpi)
        offset = mtransforms.ScaledTranslation(0.0, -(depth_in + 0.04), fig.dpi_scale_trans)
        legend.set_bbox_to_anchor((0.5, 0.0), transform=ax.transAxes + offset)


def add_caption(fig, notes: Iterable[str]) -> str:
    """Set ``notes`` (one sentence each) as the caption under the figure; returns the caption text
    (empty when there are none). Degenerate data — series that are zero everywhere, series identical
    to others, values a log axis cannot show, parameters left out — are said here rather than drawn
    silently. :func:`save` places the caption under everything else drawn (labels, outside legends)."""
    notes = [n for n in notes if n]
    if notes:
        fig._qr_caption = " ".join(notes)  # noqa: SLF001 - read back by save(), tests and the HTML report
        fig._qr_caption_notes = notes  # noqa: SLF001
    return " ".join(notes)


def _place_caption(fig) -> None:
    """The caption as the figure's bottom label: the constrained layout keeps it under everything else."""
    notes = getattr(fig, "_qr_caption_notes", None)
    if not notes:
        return
    size = 7.5
    chars = max(50, int(fig.get_size_inches()[0] * 72 / (0.52 * size)))
    text = "\n".join(textwrap.fill(n, chars) for n in notes)
    fig.supxlabel(text, x=0.01, ha="left", fontsize=size, color="0.25", multialignment="left")


def caption_of(fig) -> str:
    """The caption :func:`add_caption` put under ``fig`` ("" if none)."""
    return getattr(fig, "_qr_caption", "")


def check_image_path(path: str | Path, option: str = "--out") -> Path:
    """``Path(path)`` if its extension is an image format of :data:`IMAGE_SUFFIXES`, else ConfigError."""
    path = Path(path)
    if path.suffix.lower() not in IMAGE_SUFFIXES:
        raise ConfigError(f"{option} = {str(path)!r}: unknown image extension {path.suffix!r}; allowed: a .png, .svg or .pdf file name")
    return path


def save(fig, path: str | Path) -> Path:
    """Write ``fig`` to ``path`` (format from the extension, atomically, tight bounding box that
    includes an outside legend and the caption) and close it."""
    path = Path(path)
    try:
        check_image_path(path)
        _place_caption(fig)
        _place_below_legends(fig)
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format=path.suffix.lower().lstrip("."), dpi=DPI, bbox_inches="tight", pad_inches=0.08)
    finally:
        plt.close(fig)
    return path


__all__ = [
    "IMAGE_SUFFIXES", "LABELS", "add_caption", "caption_of", "check_image_path", "label", "legend_outside",
    "in_style", "log_spaced", "plain_log_ticks", "natural_log_axis", "new_figure", "save", "short_label",
]
