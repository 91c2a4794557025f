"""Sweep plots: labels with units, log axes where the data are log-spaced, legends outside the data,
degenerate series said in the caption instead of drawn, PLOB overlay for per-channel-use metrics, CLI errors."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pytest
from typer.testing import CliRunner

from qrepeater.cli.main import app
from qrepeater.report.style import caption_of, label, log_spaced
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
    # one line per (segments, excitation probability) combination, the legend titled by both
    assert len([label for label in lines if not label.startswith("PLOB")]) == 4
    legend = fig.legends[0]
    assert legend.get_title().get_text() == "number of segments, excitation probability α"
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


def test_axis_labels_carry_units_and_log_spaced_grids_get_log_axes(results):
    df = read_results(results)
    fig = sweep_figure(df, "distance_km", "rate_hz", hue="segments")
    ax = fig.axes[0]
    assert ax.get_xlabel() == "total distance (km)" and ax.get_ylabel() == "entanglement rate (Hz)"
    assert ax.get_xscale() == "log"  # 5..500 km on a log grid
    plt.close(fig)
    # the label table, and the unit read from a name's suffix when a name is not in it
    assert label("secret_key_rate_bps") == "secret-key rate (bit/s)"
    assert label("node_{a,b}.memory.storage_level_lifetime_s") == "storage level lifetime (s)"
    assert label("conversion.noise_spectral_density_per_s_per_nm") == "noise spectral density (1/s/nm)"
    # log spacing is recognised from the values, linear spacing is not taken for it
    assert log_spaced(np.geomspace(5, 300, 12)) and not log_spaced(np.linspace(5, 300, 12))
    assert not log_spaced([10, 20]) and not log_spaced([1.0, 1.5, 2.0])


def _frame(rows, spec_params):
    import pandas as pd

    df = pd.DataFrame(rows)
    df["error"] = None
    df.attrs["sweep"] = {"spec": {"parameters": spec_params}}
    return df


def test_zero_series_are_said_not_drawn_and_identical_series_drawn_once():
    d = [10.0, 20.0, 40.0, 80.0]
    rows = []
    for seg in (1, 2, 4):
        for x in d:
            # key rate: zero for 1 and 2 segments; "bound": the same for every segment count
            rows.append({"distance_km": x, "segments": seg, "secret_key_rate_bps": 0.0 if seg < 4 else 1.0 / x,
                         "plob_bound": 10.0 ** (-0.02 * x)})
    df = _frame(rows, {"distance_km": d, "segments": [1, 2, 4]})
    fig = sweep_figure(df, "distance_km", "secret_key_rate_bps", hue="segments")
    drawn = [ln.get_label() for ln in fig.axes[0].get_lines()]
    assert drawn == ["4"]  # the all-zero series are not drawn as lines on the axis
    assert "0 at every point for number of segments = 1; 2 (not drawn)" in caption_of(fig)
    plt.close(fig)
    fig = sweep_figure(df, "distance_km", "plob_bound", hue="segments")
    drawn = [ln.get_label() for ln in fig.axes[0].get_lines()]
    assert drawn == ["1, 2, 4 (identical)"]
    assert "identical" in caption_of(fig) and "drawn once" in caption_of(fig)
    plt.close(fig)


def test_a_metric_zero_everywhere_gives_an_honest_empty_figure(tmp_path):
    df = _frame([{"distance_km": x, "secret_key_rate_bps": 0.0} for x in (10.0, 20.0, 30.0)], {"distance_km": [10, 20, 30]})
    fig = sweep_figure(df, "distance_km", "secret_key_rate_bps")
    ax = fig.axes[0]
    assert not ax.get_lines() and "is 0 at every point" in " ".join(t.get_text() for t in ax.texts)
    assert ax.get_xlim() == (10.0, 30.0)
    plt.close(fig)


def test_legend_sits_outside_the_axes(results, tmp_path):
    df = read_results(results)
    fig = sweep_figure(df, "distance_km", "pairs_per_channel_use", hue="segments")
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    legend_box = fig.legends[0].get_window_extent(renderer)
    axes_box = fig.axes[0].get_window_extent(renderer)
    assert legend_box.x0 >= axes_box.x1  # to the right of the data, not over it
    plt.close(fig)


# ------------------------------------------------------------------------------------------------
# the sensitivity chart offers hardware improvements only
# ------------------------------------------------------------------------------------------------


def test_improvement_directions():
    from qrepeater.cli.improvements import improvement_direction as d

    assert d("node_{a,b}.source.collection_efficiency") == 1  # probability: larger is better
    assert d("conversion.filters[2].peak_transmission") == 1  # not in the cost model: by its name
    assert d("node_{a,b}.memory.storage_level_lifetime_s") == 1
    assert d("conversion.noise_spectral_density_per_s_per_nm") == -1  # noise: smaller is better
    assert d("node_{a,b}.memory.decoupling_error_per_pulse") == -1
    assert d("timing.cooling_duration_s") == -1
    # set-up choices and model constants have no better value
    for name in ("detectors.detection_window_s", "link.excitation_probability", "conversion.filters[2].bandwidth_hz",
                 "node_{a,b}.source.excited_state_decay_time_s", "fiber.group_index",
                 "node_{a,b}.memory.pulse_error_dephasing_weight", "node_{a,b}.memory.decoupling_pulse_interval_s"):
        assert d(name) == 0, name


def test_sensitivity_chart_drops_setup_choices_and_worsening_factors(tmp_path):
    from qrepeater.cli.improvements import improvement_direction
    from qrepeater.report.sensitivity_plots import factor_text, plot_sensitivity
    from qrepeater.studies.sensitivity import Sensitivity

    rows = [
        Sensitivity("node_{a,b}.source.collection_efficiency", ("node_a.source.collection_efficiency",), 0.09, 0.998, "central", 1.638, "reached"),
        Sensitivity("detectors.detection_window_s", ("detectors.detection_window_s",), 3e-8, 0.0746, "central", 385.0, "reached"),
        Sensitivity("conversion.noise_spectral_density_per_s_per_nm", ("conversion.noise_spectral_density_per_s_per_nm",),
                    1.3e5, 0.0015, "central", 436.0, "reached"),
        Sensitivity("timing.cooling_duration_s", ("timing.cooling_duration_s",), 2.96e-4, -0.81, "central", 0.518, "reached"),
        Sensitivity("detectors.dark_count_rate_hz", ("detectors.dark_count_rate_hz",), 2.0, 1e-5, "central", None, "unreachable"),
    ]
    directions = {r.parameter: improvement_direction(r.parameter) for r in rows}
    texts = {r.parameter: factor_text(r, directions[r.parameter]) for r in rows}
    assert texts["detectors.detection_window_s"] == "set-up / constant"  # not "×385"
    assert texts["conversion.noise_spectral_density_per_s_per_nm"] == "needs a worse value"  # not "×436"
    assert texts["timing.cooling_duration_s"] == "×0.518" and texts["node_{a,b}.source.collection_efficiency"] == "×1.64"

    import matplotlib

    seen = {}
    real_save = matplotlib.figure.Figure.savefig

    def spy(fig, *args, **kwargs):  # look at the figure as it is written
        ax = fig.axes[0]
        seen["labels"] = [t.get_text() for t in ax.get_yticklabels()]
        seen["notes"] = [t.get_text() for t in ax.texts]
        seen["caption"] = fig._supxlabel.get_text() if fig._supxlabel is not None else ""
        return real_save(fig, *args, **kwargs)

    matplotlib.figure.Figure.savefig = spy
    try:
        path = plot_sensitivity(sorted(rows, key=lambda r: -abs(r.elasticity)), "link_efficiency", tmp_path / "s.png", 2.0,
                                directions=directions)
    finally:
        matplotlib.figure.Figure.savefig = real_save
    assert path.read_bytes().startswith(b"\x89PNG")
    assert "detectors.detection_window_s" not in seen["labels"]  # a set-up choice is not ranked
    assert "detectors.dark_count_rate_hz" not in seen["labels"]  # |E| < 0.001
    assert set(seen["labels"]) == {"node_{a,b}.source.collection_efficiency", "timing.cooling_duration_s",
                                   "conversion.noise_spectral_density_per_s_per_nm"}
    assert "needs a worse value" in seen["notes"] and not any(n.startswith("×4") or n.startswith("×3") for n in seen["notes"])
    assert "1 set-up choice(s) and model constant(s)" in seen["caption"] and "|elasticity| < 0.001" in seen["caption"]
