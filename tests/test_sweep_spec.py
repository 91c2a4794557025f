"""Sweep specification: grids, ranges, validation messages; evaluation of one point."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest

from qrepeater.builders import link_metrics
from qrepeater.config import build_scenario
from qrepeater.errors import ConfigError
from qrepeater.studies.evaluate import evaluate, evaluate_point
from qrepeater.studies.point import CHAIN_METRICS, LINK_METRICS
from qrepeater.studies.sweep_spec import load_sweep, parse_sweep_text


def test_grid_and_ranges_expand_in_c_order():
    spec = parse_sweep_text(
        """
        seed = 5
        [parameters]
        distance_km = { start = 10, stop = 1000, num = 3, scale = "log" }
        segments = [1, 2]
        "link.excitation_probability" = { start = 0.05, stop = 0.15, step = 0.05 }
        """
    )
    assert spec.shape == (3, 2, 3) and spec.n_points == 18
    assert spec.parameters["distance_km"] == [10.0, 100.0, 1000.0]
    assert np.allclose(spec.parameters["link.excitation_probability"], [0.05, 0.10, 0.15])
    # last axis fastest
    assert spec.point(0) == {"distance_km": 10.0, "segments": 1, "link.excitation_probability": 0.05}
    assert spec.point(4)["segments"] == 2 and spec.point(4)["link.excitation_probability"] == pytest.approx(0.10)
    assert spec.point(17) == {"distance_km": 1000.0, "segments": 2, "link.excitation_probability": spec.parameters["link.excitation_probability"][2]}
    assert spec.seed == 5 and spec.options["engine"] == "link"


def test_digest_changes_with_the_grid():
    a = parse_sweep_text("[parameters]\nsegments = [1, 2]")
    b = parse_sweep_text("[parameters]\nsegments = [1, 2, 4]")
    assert a.digest == parse_sweep_text("[parameters]\nsegments = [1, 2]").digest
    assert a.digest != b.digest


@pytest.mark.parametrize(
    "body, needle",
    [
        ('[parameters]\n"link.excitaton_probability" = [0.1]', "parameters.link.excitaton_probability: unknown key 'excitaton_probability'"),
        ('[parameters]\n"node_a.memory.lifetime" = [1.0]', "parameters.node_a.memory.lifetime: unknown key 'lifetime'"),
        ("[parameters]\nwavelength = [1.0]", "parameters.wavelength: unknown parameter 'wavelength'"),
        ("[parameters]\nsegments = []", "parameters.segments: empty grid"),
        ("[parameters]\ndistance_km = { start = 1, stop = 5, num = 0 }", "parameters.distance_km: empty grid"),
        ('[parameters]\n"link.excitation_probability" = ["high"]', "parameters.link.excitation_probability: 'high': expected a number"),
        ('[parameters]\n"link.protocol" = [3]', "parameters.link.protocol: 3: expected a string"),
        ('[parameters]\n"link.excitation_probability" = [0.1, 1.5]', "link.excitation_probability = 1.5 is out of range"),
        ("[parameters]\nsegments = [1.5]", "parameters.segments: 1.5: expected an integer"),
        ('[parameters]\nengine = ["fast"]', "parameters.engine: 'fast' is not allowed"),
        ("[parameters]\ndistance_km = [10, -1]", "parameters.distance_km: -1 is out of range"),
        # upper bounds, refused before any point runs (a pairs = 1e12 point used to be recorded as failed)
        ("[parameters]\ndistance_km = [10, 1e9]", "parameters.distance_km: 1000000000.0 is out of range; allowed: [0, 40075] km"),
        ('[options]\nengine = "montecarlo"\npairs = 1e12\n[parameters]\nsegments = [1]', "options.pairs: 1000000000000.0 is out of range; allowed: an integer in [1, 1e+09]"),
        ("[parameters]\nsegments = [1, 8192]", "parameters.segments: 8192 is out of range; allowed: an integer in [1, 4096]"),
        ('[options]\nengine = "exact"\n[parameters]\nsegments = [1, 3]', "parameters.segments: 3 segments: the nested schedule needs a power of two"),
        ('metrics = ["rate"]\n[parameters]\nsegments = [1]', "metrics: unknown metric 'rate'"),
        ("[parameters]\nsegments = [1, 1]", "parameters.segments: repeated values"),
        ("[parameters]\n\"link\" = [1]", "parameters.link: "),
        ("seed = -3\n[parameters]\nsegments = [1]", "seed: -3"),
        ("bogus = 1\n[parameters]\nsegments = [1]", "bogus: unknown key"),
        ("preset = 'nope'\n[parameters]\nsegments = [1]", "preset: unknown preset 'nope'"),
        ("[options]\nsegments = 2\n[parameters]\nsegments = [1]", "parameters.segments: also fixed in [options]"),
        ("", "parameters: a sweep needs a [parameters] table"),
    ],
)
def test_bad_specs_give_one_line_naming_the_entry(body, needle):
    with pytest.raises(ConfigError) as info:
        parse_sweep_text(body, "bad.toml")
    msg = str(info.value)
    assert "\n" not in msg
    assert msg.startswith("bad.toml: ")
    assert needle in msg


def test_cli_bad_sweep_file_is_one_line_exit_2(tmp_path):
    f = tmp_path / "bad.toml"
    f.write_text('[parameters]\n"link.excitaton_probability" = [0.1, 0.2]\n')
    proc = subprocess.run([sys.executable, "-m", "qrepeater.cli.main", "sweep", str(f), "--out", str(tmp_path / "r.parquet"), "--workers", "1"], capture_output=True, text=True)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "parameters.link.excitaton_probability" in lines[0] and "Traceback" not in proc.stderr
    assert not (tmp_path / "r.parquet").exists()


def test_config_base_relative_to_the_sweep_file(tmp_path):
    (tmp_path / "base.toml").write_text('extends = "ustc2026"\n[fiber]\nattenuation_db_per_km = 0.16\n')
    (tmp_path / "s.toml").write_text('config = "base.toml"\nset = ["detectors.efficiency=0.9"]\n[parameters]\ndistance_km = [20]\n')
    spec = load_sweep(tmp_path / "s.toml")
    assert spec.base_data["fiber"]["attenuation_db_per_km"] == 0.16
    assert spec.base_data["detectors"]["efficiency"] == 0.9


def test_link_point_equals_link_metrics_of_the_segment():
    spec = parse_sweep_text('[parameters]\ndistance_km = [60]\nsegments = [3]\n"link.excitation_probability" = [0.05]')
    res = evaluate_point(spec.base_data, spec.point(0), spec.options)
    ref = link_metrics(build_scenario("ustc2026", overrides=["link.length_km=20", "link.excitation_probability=0.05"]))
    m = res["metrics"]
    assert set(m) == set(LINK_METRICS)
    assert m["rate_hz"] == pytest.approx(ref.rate_hz, rel=1e-12)
    assert m["heralded_fidelity"] == pytest.approx(ref.heralded_fidelity, rel=1e-12)
    assert m["segment_length_km"] == 20
    eta = 10 ** (-0.2 * 60 / 10)
    assert m["transmissivity"] == pytest.approx(eta)
    assert m["plob_bound"] == pytest.approx(-math.log2(1 - eta))
    assert res["config"]["link"]["excitation_probability"] == 0.05


def test_chain_point_uses_the_exact_engine():
    from qrepeater.engines.exact import run_exact
    from qrepeater.studies.evaluate import chain_spec

    scenario = build_scenario("abstract")
    m = evaluate(scenario, {"engine": "exact", "segments": 4, "distance_km": 100})
    assert set(m) == set(CHAIN_METRICS)
    ref = run_exact(chain_spec(scenario, {"segments": 4, "distance_km": 100}))
    assert m["rate_hz"] == pytest.approx(ref.rate_hz, rel=1e-12)
    assert m["mean_fidelity"] == pytest.approx(ref.mean_fidelity, rel=1e-12)
    assert m["plob_bound"] == pytest.approx(-math.log2(1 - 10 ** (-2.0)))


def test_montecarlo_point_depends_only_on_its_seed():
    scenario = build_scenario("abstract")
    opts = {"engine": "montecarlo", "segments": 2, "distance_km": 50, "pairs": 300}
    a = evaluate(scenario, opts, np.random.SeedSequence(1).spawn(4)[2])
    b = evaluate(scenario, opts, np.random.SeedSequence(1).spawn(4)[2])
    c = evaluate(scenario, opts, np.random.SeedSequence(1).spawn(4)[3])
    assert a == b and a["rate_hz"] != c["rate_hz"]
    assert a["pairs_sampled"] == 300
