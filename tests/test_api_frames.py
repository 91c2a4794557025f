"""Results as tables: every ``to_dataframe`` / ``to_xarray`` holds the result's own values, in the
documented shape, with units in the column names or ``attrs``; pandas/xarray load only when asked."""

from __future__ import annotations

import ast
import math
from pathlib import Path

import numpy as np
import pytest

import qrepeater as q
from qrepeater.errors import ParameterError


@pytest.fixture(scope="module")
def ustc():
    return q.load_preset("ustc2026")


@pytest.fixture(scope="module")
def chain_spec(ustc):
    return q.ChainSpec(link=q.chain_segment(ustc, 25.0), segments=2, swap=q.swap_model(ustc), cutoff_s=1.0)


def test_link_metrics_frame_is_the_dataclass(ustc):
    m = q.link_metrics(ustc)
    df = m.to_dataframe()
    assert df.shape[0] == 1
    for name in m.to_dict():
        if name == "pair_decay_rates_per_s":
            for c, rate in m.pair_decay_rates_per_s.items():
                assert df.at[0, f"pair_decay_rate_{c}_per_s"] == rate
        else:
            assert df.at[0, name] == getattr(m, name), name
    assert df.attrs["units"]["rate_hz"] == "Hz" and df.attrs["units"]["coherence_time_s"] == "s"
    assert set(df.attrs["units"]) <= set(df.columns)


def test_abstract_link_frame_has_nan_hardware_figures():
    df = q.link_metrics(q.load_preset("abstract")).to_dataframe()
    assert math.isnan(df.at[0, "noise_counts_per_s"]) and df["noise_counts_per_s"].dtype == float


def test_chain_result_frame_matches_attributes_and_the_sweep_columns(ustc, chain_spec):
    from qrepeater.studies.evaluate import evaluate

    r = q.run_exact(chain_spec).with_distance(50.0)
    df = r.to_dataframe()
    assert df.shape[0] == 1
    assert df.at[0, "rate_hz"] == r.rate_hz and df.at[0, "mean_fidelity"] == r.mean_fidelity
    assert (df.at[0, "rate_ci95_lo"], df.at[0, "rate_ci95_hi"]) == r.rate_ci95
    assert (df.at[0, "waiting_time_ci95_lo"], df.at[0, "waiting_time_ci95_hi"]) == r.waiting_time_ci95
    weights = df[["state_phi_plus", "state_phi_minus", "state_psi_plus", "state_psi_minus"]].to_numpy()[0]
    np.testing.assert_array_equal(weights, r.mean_state.coefficients)
    assert df.at[0, "plob_bound"] == r.plob_bound and df.at[0, "beats_plob"] == r.beats_plob
    assert math.isnan(df.at[0, "pairs"])
    # the same figures under the same names as a sweep point computed through to_dict (another path)
    point = evaluate(ustc, {"engine": "exact", "distance_km": 50.0, "segments": 2, "cutoff_s": 1.0})
    shared = set(point) & set(df.columns)
    assert {"rate_hz", "rate_ci95_lo", "state_psi_minus", "secret_key_rate_bps", "plob_bound"} <= shared
    for name in shared:
        assert df.at[0, name] == pytest.approx(point[name], rel=1e-12), name
    units = df.attrs["units"]
    assert units["rate_hz"] == "Hz" and units["mean_waiting_time_s"] == "s" and units["secret_key_rate_bps"] == "bit/s"


def test_montecarlo_frame_is_one_row_per_pair(chain_spec):
    run = q.run_montecarlo(chain_spec, pairs=300, seed=5)
    df = run.to_dataframe()
    assert df.shape == (300, 7)
    assert df["waiting_time_s"].mean() == pytest.approx(run.result.mean_waiting_time_s, rel=1e-12)
    assert df["fidelity"].mean() == pytest.approx(run.result.mean_fidelity, rel=1e-12)
    np.testing.assert_allclose(np.cumsum(df["waiting_time_s"]), df["delivery_time_s"], rtol=1e-12)
    np.testing.assert_allclose(df.filter(like="state_").sum(axis=1), 1.0, rtol=1e-12)
    assert df.attrs["units"]["waiting_time_s"] == "s"
    # the summary of the same run as a row
    assert run.result.to_dataframe().at[0, "pairs"] == 300


def test_streamed_montecarlo_run_refuses_a_pair_table(chain_spec, monkeypatch):
    from qrepeater.engines import montecarlo

    monkeypatch.setattr(montecarlo, "BATCH_LINK_SAMPLES", 16)  # 8 pairs per batch: 40 pairs are streamed
    run = q.run_montecarlo(chain_spec, pairs=40, seed=5)
    assert run.waiting_times_s is None
    with pytest.raises(ParameterError, match="run.result.to_dataframe"):
        run.to_dataframe()


def test_event_run_frame_is_one_row_per_route(chain_spec):
    from qrepeater.engines.events.engine import simulate_chain

    run = simulate_chain(chain_spec, 100, 4)
    df = run.to_dataframe()
    assert len(df) == len(run.routes) == 1
    route = run.routes[0]
    assert df.at[0, "pairs"] == route.pairs == 100
    assert df.at[0, "mean_fidelity"] == route.mean_fidelity and df.at[0, "rate_hz"] == route.rate_hz
    assert (df.at[0, "mean_xx"], df.at[0, "mean_yy"], df.at[0, "mean_zz"]) == route.mean_correlators
    assert math.isnan(df.at[0, "mean_chsh"])
    assert df.attrs["events"] == run.events and df.attrs["units"]["simulated_time_s"] == "s"


def test_finite_key_frame():
    fk = q.finite_key(405_145, 2.5758, 0.036, method="complementarity", compute_min_rounds=False)
    df = fk.to_dataframe()
    assert df.shape[0] == 1
    assert df.at[0, "key_bits"] == fk.key_bits > 0
    assert df.at[0, "key_rate_per_round"] == fk.key_rate_per_round == fk.key_bits / 405_145
    assert df.at[0, "eps_sec"] == fk.eps_sec and math.isnan(df.at[0, "min_rounds_for_positive_key"])
    scalar_details = {k for k, v in fk.details.items() if v is None or isinstance(v, (int, float, str, bool))}
    assert {c.removeprefix("details.") for c in df.columns if c.startswith("details.")} == scalar_details
    assert df.attrs["units"]["key_bits"] == "bit"


def test_distill_result_frame_keeps_the_report_scalars():
    from qrepeater.qkd.distill import DistillResult

    res = DistillResult(report={"rounds": 10, "chsh": 2.7, "key_bits": 0, "aborted": True, "abort_reason": "x",
                                "nested": {"a": 1}, "ec_leakage_bits": None})
    df = res.to_dataframe()
    assert list(df.columns) == ["rounds", "chsh", "key_bits", "aborted", "abort_reason", "ec_leakage_bits"]
    assert df.at[0, "chsh"] == 2.7 and bool(df.at[0, "aborted"]) is True
    assert df.attrs["units"] == {"key_bits": "bit", "ec_leakage_bits": "bit"}


def test_sensitivity_frame_is_ranked():
    from qrepeater.studies.sensitivity import Sensitivity, SensitivityReport

    rows = (Sensitivity("a.x_s", ("a.x_s",), 2.0, 0.1, "central"), Sensitivity("b.y", ("b.y", "c.y"), 0.5, -0.9, "central"),
            Sensitivity("c.z", ("c.z",), 1.0, None, "forward"))
    df = SensitivityReport("rate_hz", 2.2, None, {}, rows).to_dataframe()
    assert list(df["parameter"]) == ["b.y", "a.x_s", "c.z"]  # by |elasticity|, undefined last
    assert df.at[0, "paths"] == "b.y, c.y" and df.at[1, "value"] == 2.0
    assert df.attrs["metric"] == "rate_hz" and df.attrs["value"] == 2.2


def test_sweep_outcome_frame_and_cube(tmp_path):
    import xarray as xr

    sweep = tmp_path / "s.toml"
    sweep.write_text('preset = "ustc2026"\nmetrics = ["rate_hz", "heralded_fidelity"]\n[options]\nengine = "link"\n'
                     '[parameters]\ndistance_km = [5, 10, 20]\n"link.excitation_probability" = [0.05, 0.17]\n')
    outcome = q.run_sweep(q.load_sweep(sweep), tmp_path / "s.parquet", workers=1, netcdf=tmp_path / "s.nc")
    df = outcome.to_dataframe()
    assert len(df) == outcome.n_points == 6 and df.attrs["sweep"]["spec"]["parameters"]["distance_km"] == [5, 10, 20]
    ds = outcome.to_xarray()
    assert dict(ds.sizes) == {"distance_km": 3, "link__excitation_probability": 2}
    assert ds["link__excitation_probability"].attrs["parameter"] == "link.excitation_probability"
    for _, row in df.iterrows():  # every cell of the cube is its point's row
        cell = ds["rate_hz"].sel(distance_km=row["distance_km"], link__excitation_probability=row["link.excitation_probability"])
        assert float(cell) == row["rate_hz"]
    # the point at 10 km, alpha = 0.17 is the preset's own link
    assert float(ds["rate_hz"].sel(distance_km=10, link__excitation_probability=0.17)) == pytest.approx(
        q.link_metrics(q.load_preset("ustc2026")).rate_hz, rel=1e-12)
    with xr.open_dataset(tmp_path / "s.nc", engine="scipy") as written:  # the --netcdf cube is the same
        xr.testing.assert_identical(written.load(), ds)
    np.testing.assert_array_equal(q.read_results_dataset(tmp_path / "s.parquet")["rate_hz"], ds["rate_hz"])


def test_result_modules_import_pandas_and_xarray_lazily():
    """No module holding a result class imports pandas or xarray at module level (start-up time of
    ``qrepeater link --json``); they are imported inside ``to_dataframe`` / ``to_xarray``."""
    src = Path(q.__file__).parent
    for rel in ("links/metrics.py", "engines/metrics.py", "engines/montecarlo.py", "engines/events/engine.py",
                "qkd/finite_size.py", "qkd/distill.py", "studies/sensitivity.py", "studies/sweep_files.py",
                "studies/sweep_runner.py", "__init__.py"):
        tree = ast.parse((src / rel).read_text(encoding="utf-8"))
        top = [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
        names = {a.name.split(".")[0] for n in top if isinstance(n, ast.Import) for a in n.names}
        names |= {(n.module or "").split(".")[0] for n in top if isinstance(n, ast.ImportFrom)}
        assert not names & {"pandas", "xarray"}, rel
