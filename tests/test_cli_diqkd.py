"""CLI contract of `qrepeater diqkd rate | simulate | distill`."""

from __future__ import annotations

import json
import math
import os
import stat

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from qrepeater.cli import diqkd as diqkd_cli
from qrepeater.qkd.keyfile import read_key_file
from qrepeater.qkd.records import read_records, write_records
from qrepeater.qkd.simulate import simulate_records
from qrepeater.qkd.statistics import estimate_chsh
from qrepeater.states import werner

runner = CliRunner()


@pytest.fixture(scope="module")
def app():
    """The real app if the lead's main.py registers us, else a local app we register into."""
    try:
        from qrepeater.cli.main import app as main_app

        if any(getattr(g, "name", None) == "diqkd" for g in main_app.registered_groups):
            return main_app
    except ImportError:  # pragma: no cover
        pass
    local = typer.Typer()

    @local.callback()
    def _cb() -> None:
        pass

    diqkd_cli.register(local)
    return local


def h(p):
    return 0.0 if p <= 0 or p >= 1 else -p * math.log2(p) - (1 - p) * math.log2(1 - p)


def one_line_error(res):
    assert res.exit_code == 2, res.output
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:")
    assert "Traceback" not in res.stderr + res.stdout
    return lines[0]


def test_rate_json_pironio_against_closed_form(app):
    res = runner.invoke(app, ["diqkd", "rate", "--chsh", "2.5758", "--qber", "0.036", "--method", "pironio", "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert {"asymptotic_rate", "finite_key_bits", "method"} <= set(data)
    # Pironio et al. NJP 11, 045021 (2009): r = 1 − h((1 + sqrt((S/2)² − 1))/2) − h(Q)
    s = 2.5758
    expected = 1 - h((1 + math.sqrt((s / 2) ** 2 - 1)) / 2) - h(0.036)
    assert data["asymptotic_rate"] == pytest.approx(expected, rel=1e-6)
    assert data["method"] == "pironio" and data["finite_key_bits"] is None


def test_rate_with_rounds_gives_finite_key(app):
    res = runner.invoke(app, ["diqkd", "rate", "--chsh", "2.5758", "--qber", "0.036", "--rounds", "405145", "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data["method"] == "complementarity" and data["finite_key_bits"] > 0


def test_rate_user_errors(app):
    msg = one_line_error(runner.invoke(app, ["diqkd", "rate", "--chsh", "2.5", "--qber", "0.03", "--method", "bogus"]))
    assert "method" in msg
    one_line_error(runner.invoke(app, ["diqkd", "rate", "--chsh", "2.5", "--qber", "0.03", "--rounds", "0"]))


def test_rate_table_output(app):
    res = runner.invoke(app, ["diqkd", "rate", "--chsh", "2.5", "--qber", "0.05"])
    assert res.exit_code == 0 and "asymptotic_rate" in res.stdout


def test_simulate_user_errors(app, tmp_path):
    msg = one_line_error(runner.invoke(app, ["diqkd", "simulate", "--preset", "ustc2026-qkd", "--rounds", "10",
                                             "--seed", "1", "--out", str(tmp_path / "r.txt")]))
    assert "unknown records format" in msg
    one_line_error(runner.invoke(app, ["diqkd", "simulate", "--preset", "no-such-preset", "--rounds", "10",
                                       "--seed", "1", "--out", str(tmp_path / "r.parquet")]))
    assert not list(tmp_path.iterdir())


def test_distill_bad_records_names_row(app, tmp_path):
    p = tmp_path / "r.csv"
    p.write_text("round,test,x,y,a,b\n0,true,0,0,0,0\n1,true,0,7,0,1\n")
    msg = one_line_error(runner.invoke(app, ["diqkd", "distill", str(p), "--key-out", str(tmp_path / "k.bin")]))
    assert "row 1" in msg and "'y'" in msg
    assert not (tmp_path / "k.bin").exists()
    one_line_error(runner.invoke(app, ["diqkd", "distill", str(tmp_path / "absent.parquet"), "--key-out", str(tmp_path / "k.bin")]))


def test_distill_abort_exit_1_no_key_file(app, tmp_path):
    table, _ = simulate_records(werner(0.6), 20_000, 3)
    p = tmp_path / "r.parquet"
    write_records(table, p)
    res = runner.invoke(app, ["diqkd", "distill", str(p), "--key-out", str(tmp_path / "k.bin"), "--json"])
    assert res.exit_code == 1
    data = json.loads(res.stdout)
    assert data["aborted"] is True and "no Bell violation" in data["abort_reason"] and data["key_bits"] == 0
    assert "aborted" in res.stderr
    assert not (tmp_path / "k.bin").exists()


def test_simulate_preset_writes_reproducible_records(app, tmp_path):
    args = ["diqkd", "simulate", "--preset", "ustc2026-qkd", "--rounds", "20000", "--seed", "11", "--json"]
    r1 = runner.invoke(app, args + ["--out", str(tmp_path / "a.parquet")])
    r2 = runner.invoke(app, args + ["--out", str(tmp_path / "b.csv")])
    assert r1.exit_code == 0 and r2.exit_code == 0, r1.output + r2.output
    info = json.loads(r1.stdout)
    assert info["expected_chsh"] == pytest.approx(2.5758, abs=0.006)  # USTC S = 2.5758 ± 0.0059
    assert info["expected_qber"] == pytest.approx(0.036, abs=0.0006)
    assert info["duration_s"] == pytest.approx(20000 / info["round_rate_hz"])
    assert read_records(tmp_path / "a.parquet").equals(read_records(tmp_path / "b.csv"))


def test_cli_end_to_end_with_ustc_preset(app, tmp_path, caplog):
    """simulate --preset ustc2026-qkd (4e5 rounds) → distill: positive key, 0600 file, no key bits printed."""
    rec = tmp_path / "records.parquet"
    res = runner.invoke(app, ["diqkd", "simulate", "--preset", "ustc2026-qkd", "--rounds", "400000", "--seed", "7",
                              "--out", str(rec), "--json"])
    assert res.exit_code == 0, res.output
    info = json.loads(res.stdout)
    key = tmp_path / "key.bin"
    with caplog.at_level("DEBUG"):
        res = runner.invoke(app, ["diqkd", "distill", str(rec), "--key-out", str(key), "--json", "--seed", "3"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert {"rounds", "chsh", "qber", "ec_leakage_bits", "ec_efficiency", "key_bits", "aborted", "abort_reason"} <= set(data)
    assert data["key_bits"] > 0 and not data["aborted"]
    lo, hi = data["chsh_ci95"]
    assert lo <= info["expected_chsh"] <= hi
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    bits = read_key_file(key, data["key_bits"])
    everything = res.stdout + res.stderr + caplog.text
    assert "".join(map(str, bits[:128])) not in everything
    assert np.packbits(bits).tobytes().hex()[:32] not in everything
    assert estimate_chsh(read_records(rec)).value == pytest.approx(data["chsh"])
