"""`qrepeater chain` and `qrepeater bounds` command-line behaviour."""

from __future__ import annotations

import json
import math

import pytest
from typer.testing import CliRunner

from qrepeater.cli.main import app

runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, list(args))


def test_bounds_json():
    res = invoke("bounds", "--distance-km", "100", "--json")
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data["plob"] == pytest.approx(-math.log2(1 - 0.01))
    assert data["tgw"] == pytest.approx(math.log2(1.01 / 0.99))
    res = invoke("bounds", "--distance-km", "50", "--attenuation-db-per-km", "0.16", "--json")
    assert json.loads(res.stdout)["transmissivity"] == pytest.approx(10 ** (-0.8))


def test_chain_exact_json_keys_and_values():
    res = invoke("chain", "--preset", "abstract", "--distance-km", "100", "--segments", "4", "--cutoff-s", "0.05", "--json")
    assert res.exit_code == 0, res.output
    d = json.loads(res.stdout)
    for key in ("rate_hz", "mean_fidelity", "fidelity_ci95", "mean_waiting_time_s", "secret_key_fraction",
                "plob_bound", "beats_plob", "engine"):
        assert key in d
    assert d["engine"] == "exact" and d["segments"] == 4
    assert d["plob_bound"] == pytest.approx(-math.log2(1 - 0.01))
    # abstract preset: p = 0.01 per 100 µs attempt, deterministic swaps. Without a cut-off the nested
    # chain waits for the last of its 4 links: E[max of 4 geometrics] = Σ_k (−1)^{k+1} C(4,k)/(1 − (1−p)^k)
    # attempts (≈ 207.79); a cut-off can only discard pairs, so it waits longer.
    p, tau = 0.01, 1e-4
    e_max = sum((-1) ** (k + 1) * math.comb(4, k) / (1 - (1 - p) ** k) for k in range(1, 5))
    assert d["mean_waiting_time_s"] > e_max * tau and d["rate_hz"] < 1 / (e_max * tau)
    res = invoke("chain", "--preset", "abstract", "--distance-km", "100", "--segments", "4", "--json")
    assert res.exit_code == 0, res.output
    free = json.loads(res.stdout)
    assert free["mean_waiting_time_s"] == pytest.approx(e_max * tau, rel=1e-6)
    assert free["rate_hz"] == pytest.approx(1 / (e_max * tau), rel=1e-6)


def test_chain_montecarlo_is_seeded():
    args = ("chain", "--preset", "abstract", "--distance-km", "50", "--segments", "4", "--schedule", "swap-asap",
            "--engine", "montecarlo", "--pairs", "500", "--seed", "7", "--json")
    a, b = invoke(*args), invoke(*args)
    assert a.exit_code == 0, a.output
    assert json.loads(a.stdout) == json.loads(b.stdout)
    assert json.loads(a.stdout)["engine"] == "montecarlo"


def test_chain_table_output():
    res = invoke("chain", "--preset", "abstract", "--distance-km", "20", "--segments", "2", "--purify", "dejmps")
    assert res.exit_code == 0, res.output
    assert "mean_fidelity" in res.stdout and "plob_bound" in res.stdout


@pytest.mark.parametrize(
    "args,needle",
    [
        (("--segments", "3"), "power of two"),
        (("--segments", "4", "--schedule", "swap-asap"), "montecarlo"),
        (("--segments", "2", "--cutoff-s", "-1"), "--cutoff-s"),
        (("--segments", "2", "--purify", "magic"), "purification"),
        (("--segments", "2", "--engine", "quantum"), "--engine"),
        (("--segments", "2", "--multiplex", "0"), "multiplex"),
        (("--segments", "2", "--set", "link.success_probability=2"), "success_probability"),
    ],
)
def test_impossible_requests_exit_2_with_one_line(args, needle):
    res = invoke("chain", "--preset", "abstract", "--distance-km", "100", *args)
    assert res.exit_code == 2, res.output
    assert res.exception is None or isinstance(res.exception, SystemExit)
    err = res.stderr.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in res.output
    assert needle in err


def test_bounds_rejects_negative_distance():
    res = invoke("bounds", "--distance-km", "-5", "--json")
    assert res.exit_code == 2
    assert "distance_km" in res.stderr


def test_optimize_picks_best_key_rate():
    res = invoke("chain", "--preset", "abstract", "--set", "memory.coherence_time_s=10", "--set", "link.fresh_fidelity=0.99",
                 "--distance-km", "200", "--optimize", "--json")
    assert res.exit_code == 0, res.output
    d = json.loads(res.stdout)
    best, others = d["best"], d["runners_up"]
    assert others and all(best["secret_key_rate_bps"] >= r["secret_key_rate_bps"] for r in others)
    assert best["segments"] in (1, 2, 4, 8, 16, 32)
