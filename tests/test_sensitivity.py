"""Sensitivity ranking: elasticities against independent finite differences, improvement factors,
the USTC ranking, and the CLI."""

from __future__ import annotations

import json
import math

import pytest
from typer.testing import CliRunner

from qrepeater.cli.main import app
from qrepeater.engines.exact import run_exact
from qrepeater.config import preset_data
from qrepeater.config.paths import get_path
from qrepeater.builders import link_metrics
from qrepeater.config import build_scenario, load_preset
from qrepeater.studies.evaluate import chain_spec
from qrepeater.studies.sensitivity import hardware_parameters, sensitivity

runner = CliRunner()


@pytest.fixture(scope="module")
def ustc_report():
    return sensitivity(load_preset("ustc2026"), "link_efficiency", target=2.0)


def _link_efficiency(*overrides):
    return link_metrics(build_scenario("ustc2026", overrides=list(overrides))).link_efficiency


def _scaled(paths, values, factor):
    return [f"{p}={v * factor!r}" for p, v in zip(paths, values)]


@pytest.mark.parametrize(
    "name, paths",
    [
        ("node_{a,b}.source.collection_efficiency", ("node_a.source.collection_efficiency", "node_b.source.collection_efficiency")),
        ("node_{a,b}.memory.storage_level_lifetime_s", ("node_a.memory.storage_level_lifetime_s", "node_b.memory.storage_level_lifetime_s")),
        ("node_{a,b}.memory.decoupling_error_per_pulse", ("node_a.memory.decoupling_error_per_pulse", "node_b.memory.decoupling_error_per_pulse")),
        ("timing.cooling_duration_s", ("timing.cooling_duration_s",)),
        ("fiber.attenuation_db_per_km", ("fiber.attenuation_db_per_km",)),
        ("detectors.detection_window_s", ("detectors.detection_window_s",)),
    ],
)
def test_elasticity_agrees_with_an_independent_finite_difference(ustc_report, name, paths):
    row = next(r for r in ustc_report.rows if r.parameter == name)
    scenario = load_preset("ustc2026")
    data = scenario.model_dump()
    values = []
    for p in paths:
        cur = data
        for k in p.split("."):
            cur = cur[k]
        values.append(cur)
    h = 0.01  # an independent, 10x larger step through the public link_metrics
    fd = math.log(_link_efficiency(*_scaled(paths, values, 1 + h)) / _link_efficiency(*_scaled(paths, values, 1 / (1 + h)))) / (2 * math.log(1 + h))
    assert row.method == "central"
    assert abs(fd) > 0.05
    assert row.elasticity == pytest.approx(fd, rel=0.01)


def test_collection_efficiency_ranks_above_dark_counts(ustc_report):
    ranked = [r.parameter for r in ustc_report.ranked()]
    coll = ranked.index("node_{a,b}.source.collection_efficiency")
    dark = ranked.index("detectors.dark_count_rate_hz")
    assert coll < dark
    rows = {r.parameter: r for r in ustc_report.rows}
    # link efficiency = rate / decoherence rate and the SPEP rate is ∝ collection efficiency at small loss
    assert 0.95 < rows["node_{a,b}.source.collection_efficiency"].elasticity <= 1.0 + 1e-6
    assert abs(rows["detectors.dark_count_rate_hz"].elasticity) < 0.01
    # nothing about the phase or the swap changes the link efficiency
    assert rows["phase.mode_overlap"].elasticity == pytest.approx(0.0, abs=1e-9)


def test_improvement_factor_reaches_the_target(ustc_report):
    rows = {r.parameter: r for r in ustc_report.rows}
    r = rows["node_{a,b}.source.collection_efficiency"]
    assert r.status == "reached" and r.factor > 1
    base = preset_data("ustc2026")
    v = get_path(base, "node_a.source.collection_efficiency") * r.factor
    got = _link_efficiency(f"node_a.source.collection_efficiency={v!r}", f"node_b.source.collection_efficiency={v!r}")
    assert got == pytest.approx(2.0, rel=1e-6)
    # a shorter cooling slot (negative elasticity) needs a factor below 1
    c = rows["timing.cooling_duration_s"]
    assert c.status == "reached" and 0 < c.factor < 1
    cooling = get_path(base, "timing.cooling_duration_s") * c.factor
    assert _link_efficiency(f"timing.cooling_duration_s={cooling!r}") == pytest.approx(2.0, rel=1e-6)
    # detector efficiency 0.72 would need ×1.6 > 1/0.72: the probability bound is hit
    assert rows["detectors.efficiency"].status == "unreachable" and rows["detectors.efficiency"].factor is None
    # parameters that do not move the metric cannot reach it
    assert rows["phase.mode_overlap"].status == "unreachable"
    # ranked by how little the parameter must change
    reached = [r for r in ustc_report.ranked_by_factor() if r.factor is not None]
    logs = [abs(math.log(r.factor)) for r in reached]
    assert logs == sorted(logs)


def test_parameters_are_the_positive_float_leaves():
    scenario = load_preset("ustc2026")
    names = [n for n, _, _ in hardware_parameters(scenario)]
    assert "conversion.filters[2].peak_transmission" in names
    assert "detectors.dark_count_rate_hz" in names
    assert not any(n.startswith("link.") or n.endswith("wavelength_m") for n in names)
    assert "classical.processing_delay_s" not in names  # zero: no log scale
    per_node = [n for n, _, _ in hardware_parameters(scenario, tie_nodes=False, include_setup=True)]
    assert "node_a.source.collection_efficiency" in per_node and "node_b.source.collection_efficiency" in per_node
    assert "link.excitation_probability" in per_node


def test_chain_metric_with_the_exact_engine():
    scenario = load_preset("abstract")
    opts = {"engine": "exact", "segments": 2, "distance_km": 100}
    rep = sensitivity(scenario, "rate_hz", opts)
    rows = {r.parameter: r for r in rep.rows}
    assert "link.success_probability" in rows  # the abstract link's success probability is hardware
    base = run_exact(chain_spec(scenario, opts)).rate_hz
    up = run_exact(chain_spec(build_scenario("abstract", overrides=["link.success_probability=0.0101"]), opts)).rate_hz
    down = run_exact(chain_spec(build_scenario("abstract", overrides=[f"link.success_probability={0.01 / 1.01!r}"]), opts)).rate_hz
    fd = math.log(up / down) / (2 * math.log(1.01))
    assert rows["link.success_probability"].elasticity == pytest.approx(fd, rel=0.01)
    assert base == pytest.approx(rep.value)
    # without a cut-off the delivery rate does not depend on the memory
    assert rows["memory.coherence_time_s"].elasticity == pytest.approx(0.0, abs=1e-6)


def test_cli_sensitivity_json_and_chart(tmp_path):
    chart = tmp_path / "chart.png"
    res = runner.invoke(app, ["sensitivity", "--preset", "ustc2026", "--metric", "link_efficiency", "--target", "2", "--out", str(chart), "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data["metric"] == "link_efficiency" and data["target"] == 2.0
    assert data["parameters"][0]["factor"] is not None
    assert chart.read_bytes().startswith(b"\x89PNG") and chart.stat().st_size > 5000
    table = runner.invoke(app, ["sensitivity", "--metric", "link_efficiency"])
    assert table.exit_code == 0 and "collection_efficiency" in table.stdout


def test_cli_sensitivity_bad_metric_is_one_line():
    res = runner.invoke(app, ["sensitivity", "--metric", "speed"])
    assert res.exit_code == 2
    assert res.stderr.strip().startswith("error: --metric 'speed'") and len(res.stderr.strip().splitlines()) == 1
