"""Sweep plots: log axes where natural, PLOB overlay for per-channel-use metrics, CLI errors."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pytest
from typer.testing import CliRunner

from qrepeater.cli.main import app
from qrepeater.report.sweep_plots import natural_log_axis, sweep_figure
from qrepeater.studies.sweep_files import read_results
from qrepeater.studies.sweep_runner import run_sweep
from qrepeater.studies.sweep_spec import parse_sweep_text

runner = CliRunner()


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    out = tmp_path_factory.mktemp("plots") / "r.parquet"
    spec = parse_sweep_text(
        'set = ["fiber.attenuation_db_per_km=0.17"]\n[parameters]\n'
        'distance_km = { start = 5, stop = 500, num = 8, scale = "log" }\nsegments = [1, 4]\n"link.excitation_probability" = [0.05, 0.17]\n'
    )
    run_sweep(spec, out, workers=1)
    return out


def test_plob_overlay_and_log_axes(results):
    df = read_results(results)
    fig = sweep_figure(df, "distance_km", "pairs_per_channel_use", hue="segments")
    ax = fig.axes[0]
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    lines = {ln.get_label(): ln for ln in ax.get_lines()}
    bound = next(ln for label, ln in lines.items() if label.startswith("PLOB"))
    assert "0.17 dB/km" in bound.get_label()  # the sweep's own fibre loss
    x, y = bound.get_data()
    # PLOB −log2(1 − η) with η = 10^(−0.017 x) written out (0.17 dB/km), not through the package
    assert np.allclose(y, -np.log2(1 - 10 ** (-0.017 * np.asarray(x))), rtol=1e-12)
    assert x.min() <= 5 and x.max() >= 500  # spans the swept distances
    # one line per (segments, excitation probability) combination
    assert len([label for label in lines if label.startswith("segments")]) == 4
    plt.close(fig)


def test_no_bound_for_other_metrics_and_linear_fidelity(results):
    df = read_results(results)
    fig = sweep_figure(df, "distance_km", "heralded_fidelity", hue="segments")
    ax = fig.axes[0]
    assert not any(ln.get_label().startswith("PLOB") for ln in ax.get_lines())
    assert ax.get_yscale() == "linear"
    plt.close(fig)
    assert natural_log_axis("rate_hz", [0.1, 5.0]) and not natural_log_axis("heralded_fidelity", [0.5, 0.9])
    assert not natural_log_axis("x", [0.0, 100.0])


def test_cli_plot_png_and_svg(results, tmp_path):
    for name in ("p.png", "p.svg"):
        res = runner.invoke(app, ["plot", str(results), "--x", "distance_km", "--y", "rate_hz", "--hue", "segments", "--out", str(tmp_path / name)])
        assert res.exit_code == 0, res.output
    assert (tmp_path / "p.png").read_bytes().startswith(b"\x89PNG")
    assert b"<svg" in (tmp_path / "p.svg").read_bytes()[:1000]


def test_cli_plot_unknown_column_is_one_line(results, tmp_path):
    res = runner.invoke(app, ["plot", str(results), "--x", "distance", "--y", "rate_hz", "--out", str(tmp_path / "p.png")])
    assert res.exit_code == 2
    assert res.stderr.strip().startswith("error: --x 'distance': no such column") and len(res.stderr.strip().splitlines()) == 1
