"""CLI contract of `qrepeater link`, `presets` and `reproduce`."""

import json
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from qrepeater.cli.main import app

runner = CliRunner()

CONTRACT_KEYS = {
    "success_probability",
    "attempt_duration_s",
    "rate_hz",
    "heralded_fidelity",
    "decoherence_rate_hz",
    "coherence_time_s",
    "link_efficiency",
    "deterministic_delivery_fidelity",
    "expected_stored_fidelity",
    "expected_stored_fidelity_window",
    "noise_counts_per_s",
    "filter_transmission",
    "interference_contrast",
}


def test_link_json_contract_and_qkd_point():
    res = runner.invoke(app, ["link", "--preset", "ustc2026", "--set", "link.excitation_probability=0.025", "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert CONTRACT_KEYS <= set(data)
    assert 0.90 <= data["heralded_fidelity"] <= 0.935
    assert data["rate_hz"] == pytest.approx(0.327, rel=0.05)


def test_python_api_matches_cli():
    import qrepeater

    m = qrepeater.link_metrics(qrepeater.load_preset("ustc2026"))
    res = runner.invoke(app, ["link", "--json"])
    assert json.loads(res.stdout)["rate_hz"] == pytest.approx(m.rate_hz)
    assert CONTRACT_KEYS <= set(m.to_dict())
    from qrepeater.links import delivery_threshold, humphreys_delivery_fidelity

    assert humphreys_delivery_fidelity(m.link_efficiency) > 0.5
    assert delivery_threshold() == pytest.approx(0.83, abs=0.005)


@pytest.mark.parametrize(
    "args, expected",
    [
        (["--set", "link.excitation_probability=1.5"], "link.excitation_probability = 1.5 is out of range; allowed: (0.0, 1.0]"),
        (["--set", "link.length_km=-2"], "link.length_km = -2 is out of range"),
        (["--set", "link.bogus=1"], "valid keys at link: protocol, excitation_probability"),
        (["--set", "noequals"], "expected dotted.path=value"),
        (["--preset", "nope"], "unknown preset 'nope'"),
    ],
)
def test_bad_input_one_line_exit_2(args, expected):
    res = runner.invoke(app, ["link", *args])
    assert res.exit_code == 2
    assert expected in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1
    assert "Traceback" not in res.output + res.stderr


def test_malformed_toml_cli(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[link\n")
    res = runner.invoke(app, ["link", "--config", str(bad)])
    assert res.exit_code == 2 and "line 1" in res.stderr and len(res.stderr.strip().splitlines()) == 1


def test_presets_command():
    res = runner.invoke(app, ["presets", "--json"])
    assert res.exit_code == 0 and "ustc2026" in json.loads(res.stdout)


def test_console_script_error_has_no_traceback():
    proc = subprocess.run(
        [sys.executable, "-m", "qrepeater.cli.main", "link", "--set", "link.excitation_probability=1.5"],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().startswith("error: link.excitation_probability")
    assert "Traceback" not in proc.stderr


def test_reproduce_writes_plots_and_results(tmp_path):
    res = runner.invoke(app, ["reproduce", "ustc2026", "--out", str(tmp_path), "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert {r["role"] for r in data["figures"]} <= {"prediction", "fitted", "derived", "formula"}
    for name in ("rate_fidelity_vs_alpha.png", "stored_fidelity_vs_time.png", "results.json"):
        assert (tmp_path / name).stat().st_size > 1000
    assert not list(tmp_path.glob(".*.tmp"))


def test_reproduce_unknown_target():
    res = runner.invoke(app, ["reproduce", "nature2099"])
    assert res.exit_code == 2 and "unknown experiment 'nature2099'" in res.stderr
