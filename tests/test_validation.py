"""Validation: reference data in the package, calibration as a fit, predictions with error bars."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from typer.testing import CliRunner

from qrepeater.cli.main import app
from qrepeater.config import preset_data
from qrepeater.config.paths import get_path
from qrepeater.validation import calibrate, list_experiments, load_experiment, reproduce
from qrepeater.validation.calibration import covariance_at, fit, prediction
from qrepeater.validation.figures import ReferenceFigure, Row
from qrepeater.validation.model import ExperimentModel

runner = CliRunner()

#: the rows the validation issue names as fitted to, or identities of, tuned numbers: never predictions
NOT_PREDICTIONS = {
    "rate_hz", "mean_generation_time_s", "coherence_time_s", "decoherence_rate_hz", "link_efficiency",
    "interference_contrast", "noise_counts_per_s", "filter_transmission", "module_to_detector_efficiency",
    "rate_slope_hz_per_percent", "rate_hz_alpha_2.5", "chsh_10km", "qber_10km",
}


@pytest.fixture(scope="module")
def reproduction():
    return reproduce("ustc2026")


@pytest.fixture(scope="module")
def calibration():
    return calibrate("ustc2026", leave_one_out=True).to_dict()


# ---------------------------------------------------------------- reference data
@pytest.mark.parametrize("name", list_experiments())
def test_reference_data_is_complete_and_self_consistent(name):
    exp = load_experiment(name)
    keys = [f.key for f in exp.figures]
    assert len(keys) == len(set(keys))
    for f in exp.figures:
        assert f.grade in ("P", "S", "D") and f.source and f.unit is not None
        assert f.paper_uncertainty is not None or f.is_bound
        if f.role == "derived":
            assert f.derived_from and set(f.derived_from) <= set(keys)
        if f.role == "formula":
            assert set(f.inputs.values()) <= set(keys)
        else:
            assert f.point in exp.points


def test_no_file_outside_the_package_is_referenced():
    """Reference data and presets are the project's own: nothing points at ../shared or elsewhere."""
    from importlib import resources

    for pkg in ("qrepeater.validation.data", "qrepeater.config.presets"):
        for p in resources.files(pkg).iterdir():
            if p.name.endswith(".toml"):
                assert "shared/" not in p.read_text(encoding="utf-8"), p.name


# ---------------------------------------------------------------- rows, roles, z-scores
def test_row_z_and_within_follow_their_definitions():
    fig = ReferenceFigure("x", "x", "", "P", "s", "m", value=1.0, uncertainty=0.3)
    row = Row(fig, "prediction", 1.8, 0.4)
    assert row.z == pytest.approx(0.8 / 0.5)
    assert row.within
    assert not Row(fig, "prediction", 2.1, 0.4).within  # z = 2.2
    rng = ReferenceFigure("r", "r", "", "S", "s", "m", low=0.9, high=0.92)
    assert (rng.paper, rng.paper_uncertainty) == pytest.approx((0.91, 0.01))
    bound = ReferenceFigure("b", "b", "", "P", "s", "m", low=0.0)
    assert Row(bound, "formula", 0.1, 0.0).within and Row(bound, "formula", 0.1, 0.0).z is None
    assert not Row(bound, "formula", -0.1, 0.0).within


def test_rows_named_as_tuned_are_never_predictions(reproduction):
    roles = {r.figure.key: r.role for r in reproduction.rows}
    assert {k for k in NOT_PREDICTIONS if roles[k] == "prediction"} == set()
    fitted = {k for k, r in roles.items() if r == "fitted"}
    assert fitted == set(ExperimentModel("ustc2026").experiment.figure(t).key for t in preset_data("ustc2026")["calibration"]["targets"])


def test_every_row_has_a_finite_uncertainty_and_the_headline_counts_predictions_only(reproduction):
    for r in reproduction.rows:
        assert math.isfinite(r.model) and math.isfinite(r.model_uncertainty) and r.model_uncertainty >= 0
    s = reproduction.summary
    preds = [r for r in reproduction.rows if r.role == "prediction"]
    assert s["predictions"] == len(preds) >= 5
    assert s["predictions_within"] == sum(r.within for r in preds)
    assert s["predictions"] + s["fitted"] + s["derived"] + s["formula"] == len(reproduction.rows)
    assert reproduction.headline.startswith(f"{s['predictions_within']} of {s['predictions']} out-of-sample predictions")


@pytest.mark.parametrize("name", list_experiments())
def test_every_prediction_within_its_recorded_bound(name):
    """The suite's honesty check: a prediction may miss only by the |z| recorded for it in the reference
    data, with the reason written beside it (default bound 2)."""
    from qrepeater.validation.figures import Z_WITHIN

    rep = reproduce(load_experiment(name).preset)
    preds = [r for r in rep.rows if r.role == "prediction"]
    assert len(preds) >= 3
    over = [(r.figure.key, r.z) for r in preds if r.z is not None and abs(r.z) > (r.figure.z_bound or Z_WITHIN)]
    assert over == []
    assert all(r.within for r in preds if r.z is None)


def test_propagated_uncertainty_of_an_identity_follows_the_delta_method(reproduction):
    """generation time = 1/rate, so σ_T = σ_rate / rate² — an identity the propagation must respect."""
    rows = {r.figure.key: r for r in reproduction.rows}
    rate, gen = rows["rate_hz"], rows["mean_generation_time_s"]
    assert gen.model == pytest.approx(1 / rate.model, rel=1e-9)
    assert gen.model_uncertainty == pytest.approx(rate.model_uncertainty / rate.model**2, rel=0.02)


# ---------------------------------------------------------------- the fit itself
class _LinearModel:
    """m(x) = A x: the weighted least-squares answer and covariance are known in closed form."""

    def __init__(self, a, targets, prior_w):
        self.a = np.asarray(a, float)
        self.targets = targets
        self.inputs = []
        self.parameters = [type("P", (), {"prior_relative_uncertainty": w, "low": -np.inf, "high": np.inf})() for w in prior_w]
        self.x0 = np.ones(self.a.shape[1])

    def values(self, figures, x, inputs=None):
        idx = [self.targets.index(f) for f in figures]
        return self.a[idx] @ x

    def parameter_jacobian(self, figures, x):
        return self.a[[self.targets.index(f) for f in figures]]


def test_fit_and_covariance_against_the_closed_form_of_a_linear_model():
    targets = [ReferenceFigure(f"t{i}", "t", "", "P", "s", "m", value=v, uncertainty=s) for i, (v, s) in enumerate([(2.0, 0.1), (1.0, 0.2), (3.5, 0.3)])]
    a = [[1.0, 0.5], [0.2, 1.0], [1.0, 1.0]]
    w = [10.0, 10.0]
    model = _LinearModel(a, targets, w)
    f = fit(model)
    # closed form: minimise |W (A x − y)|² + |(x − 1)/w|²
    sw = np.diag([1 / t.paper_uncertainty for t in targets])
    big = np.vstack([sw @ np.array(a), np.diag(1 / np.array(w))])
    rhs = np.concatenate([sw @ np.array([t.paper for t in targets]), 1 / np.array(w)])
    x, *_ = np.linalg.lstsq(big, rhs, rcond=None)
    assert f.x == pytest.approx(x, rel=1e-6)
    assert f.covariance == pytest.approx(np.linalg.inv(big.T @ big), rel=1e-6)
    assert f.dof == 1


# ---------------------------------------------------------------- calibrate on the shipped preset
@pytest.mark.parametrize("name", list_experiments())
def test_calibrate_recreates_the_shipped_values_within_their_uncertainties(name):
    """Every preset ships the output of its calibration: a refit lands within 1σ of each shipped value."""
    preset = load_experiment(name).preset
    report = calibrate(preset, leave_one_out=False).to_dict()
    data = preset_data(preset)
    for p in report["parameters"]:
        shipped = get_path(data, p["path"])
        assert abs(p["value"] - shipped) <= p["uncertainty"], p["path"]
        assert p["targets"], f"{p['path']} is fixed by no target"


def test_leave_one_out_is_reported_for_every_target(calibration):
    targets = preset_data("ustc2026")["calibration"]["targets"]
    assert [r["figure"] for r in calibration["leave_one_out"]] == targets
    for r in calibration["leave_one_out"]:
        assert math.isfinite(r["predicted"]) and r["uncertainty"] > 0
        assert r["z"] == pytest.approx((r["predicted"] - r["paper"]) / math.hypot(r["uncertainty"], r["paper_uncertainty"]))


def test_prediction_uncertainty_is_larger_without_the_target(calibration):
    """Leaving a target out can only widen its prediction's error bar (the fit loses information)."""
    model = ExperimentModel("ustc2026")
    _, sigma_with = prediction(model, model.targets, covariance_at(model, model.x_shipped))
    for r, s in zip(calibration["leave_one_out"], sigma_with):
        assert r["uncertainty"] >= s * 0.999


# ---------------------------------------------------------------- CLI contracts
def test_reproduce_json_contract(tmp_path):
    res = runner.invoke(app, ["reproduce", "ustc2026", "--out", str(tmp_path), "--no-plots", "--no-html", "--json"])
    assert res.exit_code == 0, res.output
    payload = json.loads(res.stdout)
    for row in payload["figures"]:
        assert set(row) >= {"name", "unit", "model", "model_uncertainty", "paper", "paper_uncertainty", "role", "z", "within"}
    assert set(payload["summary"]) == {"predictions", "predictions_within", "fitted", "derived", "formula"}
    assert json.loads((tmp_path / "results.json").read_text())["summary"] == payload["summary"]


@pytest.mark.slow
def test_calibrate_json_contract():
    res = runner.invoke(app, ["calibrate", "ustc2026", "--json"])
    assert res.exit_code == 0, res.output
    payload = json.loads(res.stdout)
    assert {"parameters", "chi2", "dof", "leave_one_out"} <= set(payload)
    assert set(payload["parameters"][0]) >= {"path", "value", "uncertainty", "targets"}
    assert set(payload["leave_one_out"][0]) >= {"figure", "predicted", "uncertainty", "paper", "paper_uncertainty", "z"}


def test_calibrate_a_preset_without_a_declaration_is_one_line():
    res = runner.invoke(app, ["calibrate", "abstract"])
    assert res.exit_code == 2 and "calibration" in res.output and "Traceback" not in res.output


def test_reproduce_list_and_all(tmp_path):
    listed = json.loads(runner.invoke(app, ["reproduce", "--list", "--json"]).stdout)
    assert {"name", "title", "platform", "source"} <= set(listed[0])
    assert "ustc2026" in {e["name"] for e in listed}
    res = runner.invoke(app, ["reproduce", "--all", "--out", str(tmp_path), "--json"])
    assert res.exit_code == 0, res.output
    suite = json.loads(res.stdout)
    assert [e["experiment"] for e in suite["experiments"]] == [e["name"] for e in listed]
    assert suite["totals"]["predictions"] == sum(e["summary"]["predictions"] for e in suite["experiments"]) == len(suite["pulls"])
    text = (tmp_path / "index.html").read_text(encoding="utf-8")
    assert "Pull plot of every prediction" in text and 'src="data:image/png;base64,' in text
    assert (tmp_path / "pulls.png").stat().st_size > 1000


def test_reproduce_needs_an_experiment_or_a_suite_flag():
    res = runner.invoke(app, ["reproduce"])
    assert res.exit_code == 2 and "--list" in res.output and "Traceback" not in res.output
