"""CLI contract of `qrepeater diqkd rate | simulate | distill`."""

from __future__ import annotations

import json
import os
import stat

import numpy as np
import pytest
from typer.testing import CliRunner

from qrepeater.qkd.keyfile import read_key_file
from qrepeater.qkd.records import read_records, write_records
from qrepeater.qkd.simulate import simulate_records
from qrepeater.qkd.statistics import estimate_chsh
from qrepeater.states import werner

runner = CliRunner()


@pytest.fixture(scope="module")
def app():
    """The real application: the test fails if `diqkd` is not registered in qrepeater.cli.main."""
    from qrepeater.cli.main import app as main_app

    assert any(getattr(g, "name", None) == "diqkd" for g in main_app.registered_groups), "diqkd not registered"
    return main_app


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
    # Pironio et al. NJP 11, 045021 (2009): r = 1 − h((1 + sqrt((S/2)² − 1))/2) − h(Q), evaluated
    # by hand (30-digit decimal arithmetic): (S/2)² = 1.65868641, sqrt(0.65868641) = 0.8115949790,
    # h(0.9057974895) = 0.4503438279, h(0.036) = 0.2236416645  →  r = 0.3260145076
    assert data["asymptotic_rate"] == pytest.approx(0.3260145076, abs=1e-9)
    assert data["asymptotic_rate"] == pytest.approx(0.326, abs=0.002)  # USTC 2026: 0.325 per round [S]
    assert data["method"] == "pironio" and data["finite_key_bits"] is None


def test_default_rate_at_101km_is_pironio_and_positive(app):
    """Issue 13: the default asymptotic rate is Pironio et al. (2009), positive at the 101 km figures."""
    res = runner.invoke(app, ["diqkd", "rate", "--chsh", "2.504", "--qber", "0.069", "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data["method"] == "pironio"
    # 1 - h((1 + sqrt((S/2)^2 - 1))/2) - h(Q) by hand in 40-digit decimal arithmetic: sqrt(0.567504) =
    # 0.7533286136, h(0.8766643068) = 0.5388738053, h(0.069) = 0.3621807173 -> 0.0989454774
    assert data["asymptotic_rate"] == pytest.approx(0.0989454774, abs=1e-9)
    assert data["asymptotic_rate"] > 0  # USTC 2026: "positive" at 101 km [P]
    assert {"min_rounds", "eps_sec", "eps_cor", "eps_pe", "eps_pa", "eps_com", "ec_efficiency"} <= set(data)


def test_methods_json_contract(app):
    res = runner.invoke(app, ["diqkd", "methods", "--json"])
    assert res.exit_code == 0, res.output
    rows = json.loads(res.stdout)
    assert all({"name", "kind", "source"} <= set(r) and r["kind"] in ("asymptotic", "finite") for r in rows)
    names = {r["name"]: r for r in rows}
    assert names["pironio"]["kind"] == "asymptotic" and "045021" in names["pironio"]["source"]
    assert {"eat", "collective-aep", "complementarity-reconstruction"} <= {n for n, r in names.items()
                                                                           if r["kind"] == "finite"}
    # every method the registry lists is accepted by `rate`
    for name in names:
        r = runner.invoke(app, ["diqkd", "rate", "--chsh", "2.7", "--qber", "0.02", "--method", name, "--json"])
        assert r.exit_code == 0 and json.loads(r.stdout)["method"] == name, r.output
    table = runner.invoke(app, ["diqkd", "methods"])
    assert table.exit_code == 0 and "complementarity -> complementarity-reconstruction" in table.stdout


def test_rate_with_rounds_reports_every_method_and_every_eps(app):
    args = ["diqkd", "rate", "--chsh", "2.5758", "--qber", "0.036", "--rounds", "405145"]
    res = runner.invoke(app, args + ["--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data["finite_method"] == "nadlinger2022"
    assert {"asymptotic_rate", "finite_key_bits", "min_rounds", "eps_sec", "eps_cor", "eps_pe", "eps_pa",
            "eps_com", "ec_leakage_bits"} <= set(data)
    rows = data["finite_keys"]
    assert set(rows) == {"eat", "nadlinger2022", "tan2022", "tan2022-collective", "collective-aep",
                         "complementarity-reconstruction"}
    for row in rows.values():
        assert {"key_bits", "eps_sec", "eps_cor", "eps_pe", "eps_pa", "eps_com", "ec_leakage_bits"} <= set(row)
    assert data["finite_key_bits"] == rows["nadlinger2022"]["key_bits"]
    assert rows["collective-aep"]["key_bits"] > 0  # collective attacks: a key at 4e5 rounds
    table = runner.invoke(app, args)
    assert table.exit_code == 0
    for name in rows:
        assert name in table.stdout


def test_rate_eps_cor_below_vhash_marks_nadlinger_not_applicable(app):
    # nadlinger2022's correctness is fixed at 2^-61 (64-bit VHASH tags, SI Eq. 78): below that, its row says
    # why it does not apply and the other methods are still computed at the eps_cor asked for
    args = ["diqkd", "rate", "--chsh", "2.64", "--qber", "0.018", "--rounds", "1500000", "--test-fraction", "0.05",
            "--eps-cor", "1e-20"]
    res = runner.invoke(app, args + ["--json"])
    assert res.exit_code == 0, res.output
    rows = json.loads(res.stdout)["finite_keys"]
    nad = rows.pop("nadlinger2022")
    assert nad["applicable"] is False and nad["key_bits"] is None
    assert "2^-61" in nad["not_applicable_reason"] and "VHASH" in nad["not_applicable_reason"]
    assert set(rows) == {"eat", "tan2022", "tan2022-collective", "collective-aep", "complementarity-reconstruction"}
    for row in rows.values():
        assert row["applicable"] is True and row["not_applicable_reason"] is None
        assert row["eps_cor"] == 1e-20 and isinstance(row["key_bits"], int)
    assert rows["collective-aep"]["key_bits"] > 0 and rows["eat"]["key_bits"] > 0
    at_default = json.loads(runner.invoke(app, args[:-2] + ["--json"]).stdout)["finite_keys"]
    assert at_default["nadlinger2022"]["applicable"] is True and at_default["nadlinger2022"]["key_bits"] > 0
    # log2(1/eps_cor) verification bits: 1e-20 costs log2(1e10) = 33.2 bits more than 1e-10
    assert at_default["collective-aep"]["key_bits"] - rows["collective-aep"]["key_bits"] in (33, 34)
    table = runner.invoke(app, args)
    assert table.exit_code == 0 and "n/a" in table.stdout and "not applicable" in table.stdout
    # asked for by name, the method cannot be shown: one line, exit 2
    assert "2^-61" in one_line_error(runner.invoke(app, args + ["--method", "nadlinger2022"]))


def test_rate_options_reach_the_analysis(app):
    base = ["diqkd", "rate", "--chsh", "2.5758", "--qber", "0.036", "--rounds", "405145", "--method",
            "collective-aep", "--test-fraction", "0.3", "--json"]
    a = json.loads(runner.invoke(app, base).stdout)
    b = json.loads(runner.invoke(app, base + ["--ec-efficiency", "1.2", "--eps-sec", "1e-6"]).stdout)
    # leak = f n_key h(Q), n_key = 0.7 * 405145, h(0.036) = 0.2236416645 (by hand)
    assert a["ec_leakage_bits"] == pytest.approx(1.1 * 0.7 * 405145 * 0.2236416645, rel=1e-9)
    assert b["ec_leakage_bits"] == pytest.approx(1.2 * 0.7 * 405145 * 0.2236416645, rel=1e-9)
    assert b["eps_sec"] == 1e-6 and b["eps_pe"] == pytest.approx(1e-6 / 4)  # eps_pe + eps_pa + 2 eps_s
    # observed counts are used as given
    c = json.loads(runner.invoke(app, base[:-1] + ["--test-rounds", "100000", "--key-rounds", "300000",
                                                   "--json"]).stdout)
    assert c["ec_leakage_bits"] == pytest.approx(1.1 * 300000 * 0.2236416645, rel=1e-9)


def test_plan_json_contract(app):
    res = runner.invoke(app, ["diqkd", "plan", "--chsh", "2.5758", "--qber", "0.036", "--target-bits", "10000",
                              "--method", "collective-aep", "--round-rate-hz", "2.0", "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert {"rounds", "method", "hours", "key_bits", "eps_sec", "eps_pe", "eps_pa", "eps_com"} <= set(data)
    assert data["method"] == "collective-aep" and data["key_bits"] >= 10000
    assert data["hours"] == pytest.approx(data["rounds"] / 2.0 / 3600.0)
    from qrepeater.qkd.finite_size import finite_key

    fewer = finite_key(data["rounds"] - 1, 2.5758, 0.036, method="collective-aep", eps_com=1e-2,
                       compute_min_rounds=False)
    assert fewer.key_bits < 10000  # the smallest such round count
    none = json.loads(runner.invoke(app, ["diqkd", "plan", "--chsh", "2.3", "--qber", "0.2", "--target-bits",
                                          "1", "--json"]).stdout)
    assert none["rounds"] is None and none["reason"]


def test_simulate_user_errors(app, tmp_path):
    msg = one_line_error(runner.invoke(app, ["diqkd", "simulate", "--preset", "ustc2026-qkd", "--rounds", "10",
                                             "--seed", "1", "--out", str(tmp_path / "r.txt")]))
    assert "unknown extension '.txt'" in msg and "*.parquet" in msg
    one_line_error(runner.invoke(app, ["diqkd", "simulate", "--preset", "no-such-preset", "--rounds", "10",
                                       "--seed", "1", "--out", str(tmp_path / "r.parquet")]))
    assert not list(tmp_path.iterdir())


def test_distill_bad_records_names_row(app, tmp_path):
    p = tmp_path / "r.csv"
    p.write_text("round,test,x,y,a,b\n0,true,0,0,0,0\n1,true,0,7,0,1\n")
    msg = one_line_error(runner.invoke(app, ["diqkd", "distill", str(p), "--key-out", str(tmp_path / "k.bin"), "--seed", "1"]))
    assert "row 1" in msg and "'y'" in msg
    assert not (tmp_path / "k.bin").exists()
    one_line_error(runner.invoke(app, ["diqkd", "distill", str(tmp_path / "absent.parquet"), "--key-out", str(tmp_path / "k.bin"),
                                       "--seed", "1"]))


def test_distill_abort_exit_1_no_key_file(app, tmp_path):
    table, _ = simulate_records(werner(0.6), 20_000, 3)
    p = tmp_path / "r.parquet"
    write_records(table, p)
    res = runner.invoke(app, ["diqkd", "distill", str(p), "--key-out", str(tmp_path / "k.bin"), "--json", "--seed", "1"])
    assert res.exit_code == 1
    data = json.loads(res.stdout)
    assert data["aborted"] is True and "no Bell violation" in data["abort_reason"] and data["key_bits"] == 0
    assert "aborted" in res.stderr
    assert not (tmp_path / "k.bin").exists()


def test_distill_methods_match_the_pipeline_and_refuse_all_round_raw_keys(app, tmp_path):
    from qrepeater.cli.diqkd_keys import FINITE_METHODS
    from qrepeater.qkd.distill import SUPPORTED_METHODS

    assert FINITE_METHODS == SUPPORTED_METHODS
    table, _ = simulate_records(werner(0.985), 2000, 3)
    p = tmp_path / "r.parquet"
    write_records(table, p)
    msg = one_line_error(runner.invoke(app, ["diqkd", "distill", str(p), "--key-out", str(tmp_path / "k.bin"),
                                             "--method", "eat", "--seed", "1"]))
    assert "bff" in msg and "collective-aep" in msg


def test_distill_bff_too_few_records_aborts_in_one_line(app, tmp_path):
    # 3,000 rounds of a good state (S ≈ 2.77): 1,500 test rounds cannot certify S > 2 at eps_PE = 2.5e-11,
    # so the run stops before any SDP or error correction: exit 1, one "aborted:" line, no key file
    table, _ = simulate_records(werner(0.985), 3000, 7)
    p = tmp_path / "r.parquet"
    write_records(table, p)
    res = runner.invoke(app, ["diqkd", "distill", str(p), "--key-out", str(tmp_path / "k.bin"), "--method", "bff",
                              "--seed", "1", "--json"])
    assert res.exit_code == 1, res.output
    aborted = [ln for ln in res.stderr.splitlines() if ln.startswith("aborted:")]
    assert len(aborted) == 1 and "lower bound on S" in aborted[0] and "<= 2" in aborted[0]
    assert "Traceback" not in res.stderr + res.stdout
    assert json.loads(res.stdout)["key_bits"] == 0 and not (tmp_path / "k.bin").exists()


@pytest.mark.slow
def test_distill_bff_key_not_below_the_chsh_only_key(app, tmp_path):
    # same records, same collective-attack framework: Pironio's bound on the CHSH score (collective-aep)
    # against the BFF bound on all four correlators' intervals (bff); Werner statistics are symmetric,
    # which rules out Pironio's optimal (asymmetric) attack once the intervals are narrow enough
    table, _ = simulate_records(werner(0.985), 60_000, 7)
    p = tmp_path / "r.parquet"
    write_records(table, p)
    keys = {}
    for method in ("collective-aep", "bff"):
        res = runner.invoke(app, ["diqkd", "distill", str(p), "--key-out", str(tmp_path / f"{method}.bin"), "--method",
                                  method, "--efficiency", "1.3", "--seed", "1", "--json"])
        assert res.exit_code == 0, res.output
        data = json.loads(res.stdout)
        assert data["method"] == method and data["eps_pe"] == pytest.approx(2.5e-11)
        keys[method] = data["key_bits"]
        assert read_key_file(tmp_path / f"{method}.bin", data["key_bits"]).size == data["key_bits"]
    report = json.loads((tmp_path / "bff.bin.json").read_text())["bff"]
    assert report["entropy_rate_bff"] > report["entropy_rate_chsh_only"] + 0.005
    assert keys["bff"] >= keys["collective-aep"] > 0
    # the gain is the entropy difference on the key rounds (same leakage, same other terms), to a bit
    n_key = json.loads((tmp_path / "bff.bin.json").read_text())["key_rounds"]
    gain = n_key * (report["entropy_rate_bff"] - report["entropy_rate_chsh_only"])
    assert keys["bff"] - keys["collective-aep"] == pytest.approx(gain, abs=2.0)


def test_simulate_preset_writes_reproducible_records(app, tmp_path):
    args = ["diqkd", "simulate", "--preset", "ustc2026-qkd", "--rounds", "20000", "--seed", "11", "--json"]
    r1 = runner.invoke(app, args + ["--out", str(tmp_path / "a.parquet")])
    r2 = runner.invoke(app, args + ["--out", str(tmp_path / "b.csv")])
    assert r1.exit_code == 0 and r2.exit_code == 0, r1.output + r2.output
    info = json.loads(r1.stdout)
    assert info["expected_chsh"] == pytest.approx(2.5758, abs=0.006)  # USTC S = 2.5758 ± 0.0059
    assert info["expected_qber"] == pytest.approx(0.036, abs=0.0006)
    # the simulated clock runs at the heralding rate of the preset's link (link layer, computed separately)
    import qrepeater

    link_rate = qrepeater.link_metrics(qrepeater.load_preset("ustc2026-qkd")).rate_hz
    assert info["duration_s"] == pytest.approx(20000 / link_rate, rel=1e-9)
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


@pytest.mark.slow  # solves one BFF point (8 SDPs): ~2-4 s
def test_rate_method_bff_matches_pironio_with_chsh_only(app):
    """The SDP bound with the CHSH value as its only constraint is Pironio's bound (to 1e-3)."""
    res = runner.invoke(app, ["diqkd", "rate", "--method", "bff", "--chsh", "2.504", "--qber", "0.069", "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data["method"] == "bff"
    assert data["asymptotic_rate"] == pytest.approx(data["asymptotic_rate_pironio"], abs=1e-3)
    methods = json.loads(runner.invoke(app, ["diqkd", "methods", "--json"]).stdout)
    assert {"name": "bff", "kind": "asymptotic"}.items() <= next(m for m in methods if m["name"] == "bff").items()
