"""Self-contained HTML reports: one file, plots embedded as base64 PNG, no external resources.

* :func:`write_reproduce_report` — paper vs model table of a reference reproduction, its plots and
  the scenario used (``qrepeater reproduce ustc2026 --out DIR`` → ``DIR/report.html``).
* :func:`write_sweep_report` — summary, plots of the metrics against the main parameter, the result
  table and the sweep specification (``qrepeater report results.parquet --out DIR``).

A small inline script records, on page load, how many images decoded and whether any resource or
script error happened (``<body data-images data-images-loaded data-errors>``), so a headless browser
can check the page (see ``tests/test_report_html.py``).
"""

from __future__ import annotations

import base64
import datetime as _dt
import html
import json
import math
import os
import shutil
import tempfile
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import tomli_w

from ..errors import ConfigError
from ..files import write_text_atomic
from ..studies.sweep_files import read_results
from ..version import __version__
from .style import short_label
from .sweep_plots import default_plot_choices, plot_sweep_captioned, sweep_parameters

_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2em auto; max-width: 1100px; color: #222; padding: 0 1em; }
h1 { font-size: 1.6em; } h2 { font-size: 1.25em; border-bottom: 1px solid #ccc; padding-bottom: .2em; margin-top: 2em; }
table { border-collapse: collapse; font-size: .85em; margin: .5em 0; }
th, td { border: 1px solid #ddd; padding: .25em .6em; text-align: right; }
th { background: #f3f3f3; } td.l, th.l { text-align: left; }
tr.bad td { background: #fde8e8; } tr.good td.flag { color: #176317; } tr.bad td.flag { color: #a11; font-weight: bold; }
figure { margin: 1em 0; } figure img { max-width: 100%; border: 1px solid #eee; }
figcaption { font-size: .85em; color: #555; }
pre { background: #f7f7f7; padding: .8em; overflow-x: auto; font-size: .8em; border: 1px solid #eee; }
.meta { color: #666; font-size: .85em; }
"""

_SCRIPT = """
window.__qrErrors = [];
window.addEventListener('error', function (e) {
  window.__qrErrors.push(String(e.message || (e.target && (e.target.src || e.target.href)) || 'error'));
}, true);
window.addEventListener('load', function () {
  var imgs = Array.prototype.slice.call(document.images);
  var ok = imgs.filter(function (i) { return i.complete && i.naturalWidth > 0; }).length;
  document.body.setAttribute('data-images', String(imgs.length));
  document.body.setAttribute('data-images-loaded', String(ok));
  document.body.setAttribute('data-errors', String(window.__qrErrors.length));
});
"""


def esc(x) -> str:
    return html.escape(str(x), quote=True)


def data_uri(png_path: str | Path) -> str:
    """``data:image/png;base64,...`` of a PNG file."""
    raw = Path(png_path).read_bytes()
    if not raw.startswith(b"\x89PNG"):
        raise ValueError(f"{png_path}: not a PNG file")
    return "data:image/png;base64," + base64.b64encode(raw).decode("ascii")


def figure(png_path: str | Path, caption: str = "") -> str:
    return f'<figure><img alt="{esc(caption or Path(png_path).stem)}" src="{data_uri(png_path)}"><figcaption>{esc(caption)}</figcaption></figure>'


def fmt(v) -> str:
    if v is None:
        return "–"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return "–" if not math.isfinite(v) else f"{v:.5g}"
    return str(v)


def table(columns: Sequence[str], rows: Iterable[Sequence], left: Sequence[int] = (0,), row_classes: Sequence[str] | None = None) -> str:
    head = "".join(f'<th class="{"l" if i in left else ""}">{esc(c)}</th>' for i, c in enumerate(columns))
    body = []
    for k, row in enumerate(rows):
        cls = f' class="{row_classes[k]}"' if row_classes else ""
        cells = "".join(f'<td class="{"l" if i in left else ""}">{esc(fmt(v))}</td>' for i, v in enumerate(row))
        body.append(f"<tr{cls}>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def page(title: str, sections: Sequence[tuple[str, str]], subtitle: str = "") -> str:
    """A complete HTML document: ``sections`` are (heading, inner HTML)."""
    stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{esc(title)}</title><style>{_CSS}</style><script>{_SCRIPT}</script></head><body>",
        f"<h1>{esc(title)}</h1>",
        f'<p class="meta">{esc(subtitle)}{" · " if subtitle else ""}qrepeater {esc(__version__)} · generated {stamp}</p>',
    ]
    for heading, inner in sections:
        parts.append(f"<section><h2>{esc(heading)}</h2>{inner}</section>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _toml(data: dict) -> str:
    return tomli_w.dumps(_drop_none(data))


def _drop_none(obj):
    if isinstance(obj, dict):
        return {k: _drop_none(v) for k, v in obj.items() if v is not None}
    if isinstance(obj, (list, tuple)):
        return [_drop_none(v) for v in obj]
    return obj


def _pm(value, sigma) -> str:
    if value is None:
        return ""
    return fmt(value) if not sigma else f"{fmt(value)} ± {fmt(sigma)}"


#: what each role of a reproduce row means (shown under the table)
ROLE_TEXT = {
    "prediction": "computed from inputs that were not fitted to it: the evidence",
    "fitted": "a calibration target: unpublished parameters were fitted to it (agreement by construction)",
    "derived": "an identity of other rows (e.g. generation time = 1 / rate)",
    "formula": "a published formula evaluated at the published inputs",
}


def write_reproduce_report(out_dir: str | Path, payload: dict, plots: Sequence[str | Path], config: dict) -> Path:
    """``out_dir/report.html`` for a reproduction (``payload`` as written to results.json: the
    ``figures`` rows with their roles and z-scores, the ``summary`` and the ``headline``)."""
    out_dir = Path(out_dir)
    rows = payload["figures"]
    cols = ("quantity", "unit", "model ± 1σ", "paper ± 1σ", "z", "role", "grade", "source")
    body = [
        (r["quantity"], r["unit"], _pm(r["model"], r["model_uncertainty"]),
         _pm(r["paper"], r["paper_uncertainty"]) if r["paper_uncertainty"] is not None else f"> {fmt(r['paper'])}",
         "" if r["z"] is None else f"{r['z']:+.2f}", r["role"], r["grade"], r["source"] + (f" ({r['note']})" if r["note"] else ""))
        for r in rows
    ]
    classes = [("good" if r["within"] else "bad") if r["role"] == "prediction" else "" for r in rows]
    roles = "".join(f"<li><b>{esc(k)}</b>: {esc(v)}</li>" for k, v in ROLE_TEXT.items())
    summary = (
        f"<p><b>{esc(payload['headline'])}.</b> A prediction agrees when |z| ≤ 2, "
        "z = (model − paper) / √(σ_model² + σ_paper²); model uncertainties are propagated from the fitted "
        "parameters' covariance and the declared input uncertainties (see <code>qrepeater calibrate</code>). "
        "Grades: [P] published, [S] secondary write-up, [D] derived.</p>"
        + table(cols, body, left=(0, 1, 5, 6, 7), row_classes=classes)
        + f"<ul>{roles}</ul>"
    )
    figs = "".join(figure(p, Path(p).stem.replace("_", " ")) for p in plots) or "<p>(no plots: run without --no-plots)</p>"
    sections = [
        ("Paper vs model", summary),
        ("Plots", figs),
        (f"Configuration used (preset {payload.get('preset', '')})", f"<pre>{esc(_toml(config))}</pre>"),
    ]
    text = page(f"qrepeater reproduce {payload.get('experiment', '')}", sections, subtitle=f"{payload.get('source', '')} · preset {payload.get('preset', '')}")
    return write_text_atomic(out_dir / "report.html", text)


def write_suite_report(out_dir: str | Path, suite: dict, pull_plot: str | Path | None) -> Path:
    """``out_dir/index.html`` for ``qrepeater reproduce --all``: per experiment the predictions within
    2σ out of all predictions and the number of fitted figures, the pull plot of every prediction, and
    each experiment's rows."""
    out_dir = Path(out_dir)
    cols = ("experiment", "platform", "predictions within 2σ", "fitted", "derived", "formula", "source")
    body = []
    for e in suite["experiments"]:
        s = e["summary"]
        body.append((e["experiment"], e["platform"], f"{s['predictions_within']} / {s['predictions']}", s["fitted"], s["derived"], s["formula"], e["source"]))
    t = suite["totals"]
    summary = (
        f"<p><b>{t['predictions_within']} of {t['predictions']} out-of-sample predictions within 2σ across "
        f"{len(suite['experiments'])} experiments; {t['fitted']} figures used for calibration.</b> Fitted, derived "
        "and formula rows are not counted as evidence (see each experiment below and docs/validation.md).</p>"
        + table(cols, body, left=(0, 1, 6))
    )
    sections = [("Suite", summary)]
    if pull_plot:
        sections.append(("Pull plot of every prediction", figure(pull_plot, "z of every prediction, all experiments on one axis")))
    for e in suite["experiments"]:
        rows = [(r["quantity"], r["unit"], _pm(r["model"], r["model_uncertainty"]),
                 _pm(r["paper"], r["paper_uncertainty"]) if r["paper_uncertainty"] is not None else f"> {fmt(r['paper'])}",
                 "" if r["z"] is None else f"{r['z']:+.2f}", r["role"], r["source"]) for r in e["figures"]]
        classes = [("good" if r["within"] else "bad") if r["role"] == "prediction" else "" for r in e["figures"]]
        sections.append((f"{e['experiment']}: {e['title']}", f"<p>{esc(e['headline'])}.</p>" + table(("quantity", "unit", "model ± 1σ", "paper ± 1σ", "z", "role", "source"), rows, left=(0, 1, 5, 6), row_classes=classes)))
    text = page("qrepeater reproduce --all", sections, subtitle="published experiments against the model")
    return write_text_atomic(out_dir / "index.html", text)


def write_sweep_report(results: str | Path, out_dir: str | Path, max_rows: int = 500) -> Path:
    """``out_dir/report.html`` (and its plots as PNG files in ``out_dir``) for a sweep's Parquet results.

    The plots are drawn in a temporary folder beside ``out_dir`` and moved in only when the whole
    report succeeded, so a failed or interrupted report leaves no partial set of files.
    """
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise ConfigError(f"--out = {str(out_dir)!r}: exists and is not a folder; allowed: a folder for the report")
    df = read_results(results)
    out_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", suffix=".tmp", dir=out_dir.parent))
    try:
        text, pngs = _sweep_report_text(df, results, staging, max_rows)
        for png in pngs:
            os.replace(png, out_dir / png.name)
        return write_text_atomic(out_dir / "report.html", text)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _sweep_report_text(df, results, staging: Path, max_rows: int) -> tuple[str, list[Path]]:
    meta = df.attrs.get("sweep") or {}
    spec = meta.get("spec") or {}
    params = sweep_parameters(df)
    n_failed = int(df["error"].notna().sum()) if "error" in df.columns else 0
    axis_rows = [(p, len(spec["parameters"][p]), ", ".join(fmt(v) for v in spec["parameters"][p][:12]) + (" …" if len(spec["parameters"][p]) > 12 else "")) for p in params]
    summary = (
        f"<p>{len(df)} points ({n_failed} rejected by the model), root seed {esc(spec.get('seed', '?'))}, "
        f"results file <code>{esc(Path(results).name)}</code>.</p>"
        + table(("parameter", "values", "grid"), axis_rows, left=(0, 2))
        + "<p>Fixed engine options:</p>"
        + table(("option", "value"), sorted((k, v) for k, v in (spec.get("options") or {}).items()), left=(0, 1))
    )
    figs, pngs = [], []
    for x, y, hue in default_plot_choices(df):
        png = staging / f"{y}_vs_{x}.png".replace("/", "_")
        _, notes = plot_sweep_captioned(df, x, y, png, hue=hue)
        pngs.append(png)
        what = f"{short_label(y)} ({y}) vs {short_label(x)} ({x})" + (f", by {short_label(hue)} ({hue})" if hue else "")
        figs.append(figure(png, what + (f". {notes}" if notes else "")))
    metric_cols = [c for c in df.columns if c not in ("point_id", "error", "config", "options", "qrepeater_version", *params)]
    shown = list(spec.get("metrics") or []) or metric_cols[:8]
    cols = ["point_id", *params, *shown] + (["error"] if n_failed else [])
    rows = [[_py(r[c]) for c in cols] for _, r in df.sort_values("point_id").head(max_rows).iterrows()]
    note = f"<p>First {max_rows} of {len(df)} rows.</p>" if len(df) > max_rows else ""
    sections = [
        ("Summary", summary),
        ("Plots", "".join(figs) or "<p>(no numeric parameter with more than one value to plot against)</p>"),
        ("Results", note + table(cols, rows, left=tuple(i for i, c in enumerate(cols) if c == "error"))),
        ("Base scenario", f"<pre>{esc(_toml(spec.get('base_data') or {}))}</pre>"),
        ("Sweep specification", f"<pre>{esc(meta.get('text') or json.dumps(spec, indent=2, default=str))}</pre>"),
    ]
    text = page(f"qrepeater sweep: {spec.get('name', Path(results).stem)}", sections, subtitle=str(results))
    return text, pngs


def _py(v):
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and math.isnan(v):
        return None
    return v


__all__ = ["data_uri", "page", "table", "write_reproduce_report", "write_sweep_report"]
