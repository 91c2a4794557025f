"""Requirements optimiser: targets, the cost model's mappings, and checks against independent numbers —
closed-form optima, the one-parameter root finder of `sensitivity --target`, the Shor–Preskill
threshold, `qrepeater chain --set` re-evaluating the plan — plus the CLI's contract and errors."""

from __future__ import annotations

import json
import math

import pytest
from typer.testing import CliRunner

from qrepeater.cli.main import app
from qrepeater.config import load_preset
from qrepeater.errors import ConfigError, ParameterError
from qrepeater.report.requirements_plots import plot_requirements
from qrepeater.studies.requirements import find_requirements
from qrepeater.studies.requirements_model import factor_of, improved_value, parse_target, resolve_variables

runner = CliRunner()
RATE_VARY = ["link.success_probability", "link.attempt_duration_s"]


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def one_line_error(res, *needles):
    assert res.exit_code == 2, (res.exit_code, res.stdout, res.stderr)
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), res.stderr
    for n in needles:
        assert n in lines[0], (n, lines[0])


def by_parameter(plan: dict) -> dict:
    return {r["parameter"]: r for r in plan["improvements"]}


# ---------------------------------------------------------------- targets and mappings
def test_targets_parse_and_measure_their_margin():
    t = parse_target("rate_hz>=0.1")
    assert (t.metric, t.op, t.value) == ("rate_hz", ">=", 0.1)
    assert t.met({"rate_hz": 0.1}) and not t.met({"rate_hz": 0.0999})
    assert t.margin({"rate_hz": 0.2}) == pytest.approx(math.log(2.0))
    assert not parse_target("secret_key_rate_bps>0").met({"secret_key_rate_bps": 0.0})
    assert parse_target("mean_waiting_time_s<2").margin({"mean_waiting_time_s": 1.0}) == pytest.approx(math.log(2.0))
    for bad, needle in (("rate_hz=>1", "expected METRIC>=VALUE"), ("rate>=1", "not a metric"), ("rate_hz>=abc", "not a number"),
                        ("rate_hz>=inf", "finite"), ("beats_plob>0", "not a metric")):
        with pytest.raises(ConfigError, match=needle):
            parse_target(bad)


@pytest.mark.parametrize(
    "kind, baseline, k, expected",
    [
        ("probability", 0.09, 2.0, 0.3),          # 0.09 ** (1/2)
        ("probability", 0.81, 2.0, 0.9),
        ("error", 0.19, 2.0, 0.1),                # 1 - (1 - 0.19) ** (1/2)
        ("lifetime", 1.16, 100.0, 116.0),
        ("duration", 1e-4, 4.0, 2.5e-5),
        ("noise", 188.5, 10.0, 18.85),
        ("bandwidth", 1e3, 3.0, 3e3),
    ],
)
def test_improvement_mappings_against_hand_values(kind, baseline, k, expected):
    assert improved_value(kind, baseline, k) == pytest.approx(expected, rel=1e-12)
    assert factor_of(kind, baseline, expected) == pytest.approx(k, rel=1e-9)


def test_small_error_probabilities_improve_as_p_over_k():
    assert improved_value("error", 1e-4, 10.0) == pytest.approx(1e-5, rel=1e-4)


def test_default_variables_tie_the_nodes_and_refuse_what_cannot_improve():
    variables = resolve_variables(load_preset("ustc2026"))
    names = [v.name for v in variables]
    assert "node_{a,b}.memory.decoupling_error_per_pulse" in names and "link.excitation_probability" in names
    tied = next(v for v in variables if v.name == "node_{a,b}.memory.decoupling_error_per_pulse")
    assert tied.baselines == (6.1e-4, 5.7e-4) and tied.hi == pytest.approx(math.log(100.0))
    with pytest.raises(ConfigError, match="not an improvable parameter"):
        resolve_variables(load_preset("ustc2026"), ["fiber.group_index"])
    with pytest.raises(ParameterError, match="swap.success_probability"):
        resolve_variables(load_preset("ustc2026"), ["swap.success_probability"])  # already 1


# ---------------------------------------------------------------- closed-form optima
def test_two_parameter_closed_form_optimum():
    """One abstract link: rate = p/τ. With p → p^(1/k1), τ → τ/k2 and the target rate R, the cost
    ln k1 + ln k2 subject to ln k2 − (−ln p)/k1 ≥ ln(Rτ) is minimal at k1 = −ln p, k2 = e·R·τ (set the
    derivative of ln k1 + (−ln p)/k1 to zero)."""
    p, tau, rate = 0.01, 1e-4, 1e4
    plan = find_requirements(load_preset("abstract"), [f"rate_hz>={rate:g}"], distance_km=0, segments=1,
                             vary=RATE_VARY, seed=11, max_evaluations=300).to_dict()
    rows = by_parameter(plan)
    assert plan["feasible"]
    assert rows["link.success_probability"]["factor"] == pytest.approx(-math.log(p), rel=0.02)
    assert rows["link.attempt_duration_s"]["factor"] == pytest.approx(math.e * rate * tau, rel=0.02)
    assert rows["link.success_probability"]["required"] == pytest.approx(math.exp(-1.0), rel=0.02)  # p^(1/k1) = 1/e
    assert plan["cost"] == pytest.approx(math.log(-math.log(p)) + 1.0 + math.log(rate * tau), abs=2e-3)


def test_user_weights_move_the_closed_form_optimum():
    """Weight 2 on the attempt duration: minimise ln k1 + 2 ln k2 with ln k2 = ln(Rτ) + (−ln p)/k1, so
    k1 = −2 ln p and k2 = √e·R·τ."""
    res = invoke("requirements", "--preset", "abstract", "--distance-km", 0, "--segments", 1, "--target", "rate_hz>=1e4",
                 "--vary", "link.success_probability", "--vary", "link.attempt_duration_s",
                 "--weight", "link.attempt_duration_s=2", "--seed", 2, "--max-evaluations", 300, "--json")
    assert res.exit_code == 0, res.output
    rows = by_parameter(json.loads(res.stdout))
    assert rows["link.success_probability"]["factor"] == pytest.approx(-2 * math.log(0.01), rel=0.02)
    assert rows["link.attempt_duration_s"]["factor"] == pytest.approx(math.sqrt(math.e), rel=0.02)


def test_three_parameters_and_two_targets_separate():
    """Adding mean_fidelity ≥ F_T with the fresh fidelity F → F^(1/k3): for one link the delivered
    fidelity is the fresh one, so k3 = ln F / ln F_T, independently of the rate's optimum."""
    plan = find_requirements(load_preset("abstract"), ["rate_hz>=1e4", "mean_fidelity>=0.97"], distance_km=0, segments=1,
                             vary=RATE_VARY + ["link.fresh_fidelity"], seed=5, max_evaluations=400).to_dict()
    rows = by_parameter(plan)
    assert plan["feasible"] and sorted(plan["binding"]) == ["mean_fidelity>=0.97", "rate_hz>=10000"]
    assert rows["link.fresh_fidelity"]["factor"] == pytest.approx(math.log(0.95) / math.log(0.97), rel=0.02)
    assert rows["link.success_probability"]["factor"] == pytest.approx(-math.log(0.01), rel=0.02)
    assert rows["link.attempt_duration_s"]["factor"] == pytest.approx(math.e, rel=0.02)


def test_key_rate_above_zero_needs_the_shor_preskill_threshold():
    """secret_key_rate_bps > 0 on one Werner link: 1 − 2h(e) > 0 with e = 2(1 − F)/3, i.e. e < 11.003 %
    (Shor & Preskill 2000), F > 1 − 1.5 × 0.110028 = 0.834958."""
    from qrepeater.config import build_scenario

    scenario = build_scenario("abstract", overrides=["link.fresh_fidelity=0.8"])
    plan = find_requirements(scenario, ["secret_key_rate_bps>0"], distance_km=0, segments=1,
                             vary=["link.fresh_fidelity"], seed=2, max_evaluations=60).to_dict()
    assert plan["feasible"] and plan["achieved"]["secret_key_rate_bps"] > 0
    assert plan["improvements"][0]["required"] == pytest.approx(1 - 1.5 * 0.110028, abs=2e-4)


# ---------------------------------------------------------------- the one-parameter root finder
def test_only_one_parameter_can_reach_the_target_as_sensitivity_says():
    """Two abstract links: the swapped pair of two F = 0.95 Werner pairs has F = 0.9033 at best (no
    storage), so mean_fidelity ≥ 0.92 is out of reach for the memory and the attempt time and only
    the fresh fidelity can reach it — the optimiser must spend nothing on the others and need the
    value that `sensitivity --target` finds by root finding."""
    res = invoke("sensitivity", "--preset", "abstract", "--engine", "exact", "--distance-km", 0, "--segments", 2,
                 "--metric", "mean_fidelity", "--target", 0.92, "--json")
    assert res.exit_code == 0, res.output
    sens = {r["parameter"]: r for r in json.loads(res.stdout)["parameters"]}
    assert sens["memory.coherence_time_s"]["status"] == "unreachable" and sens["link.attempt_duration_s"]["status"] == "unreachable"
    res = invoke("requirements", "--preset", "abstract", "--distance-km", 0, "--segments", 2, "--target", "mean_fidelity>=0.92",
                 "--vary", "link.fresh_fidelity", "--vary", "memory.coherence_time_s", "--vary", "link.attempt_duration_s",
                 "--seed", 3, "--max-evaluations", 150, "--json")
    assert res.exit_code == 0, res.output
    rows = by_parameter(json.loads(res.stdout))
    scale = rows["link.fresh_fidelity"]["required"] / rows["link.fresh_fidelity"]["baseline"]
    assert math.log(scale) == pytest.approx(math.log(sens["link.fresh_fidelity"]["factor"]), rel=0.02)
    assert rows["memory.coherence_time_s"]["factor"] == 1.0 and rows["link.attempt_duration_s"]["factor"] == 1.0


def test_a_time_parameter_needs_the_factor_sensitivity_finds():
    """A lifetime improves as T → k·T, the same scaling sensitivity applies: the factors must agree.
    Dark counts do not move the memory's coherence time, so only the storage-level lifetime can."""
    res = invoke("sensitivity", "--preset", "ustc2026", "--metric", "coherence_time_s", "--target", 0.8, "--json")
    sens = {r["parameter"]: r for r in json.loads(res.stdout)["parameters"]}
    assert sens["detectors.dark_count_rate_hz"]["status"] == "unreachable"
    plan = find_requirements(load_preset("ustc2026"), ["coherence_time_s>=0.8"], engine="link", distance_km=10, segments=1,
                             vary=["node_{a,b}.memory.storage_level_lifetime_s", "detectors.dark_count_rate_hz"],
                             seed=4, max_evaluations=100).to_dict()
    rows = by_parameter(plan)
    expected = sens["node_{a,b}.memory.storage_level_lifetime_s"]["factor"]
    assert rows["node_a.memory.storage_level_lifetime_s"]["factor"] == pytest.approx(expected, rel=0.02)
    assert rows["node_b.memory.storage_level_lifetime_s"]["required"] == pytest.approx(1.16 * expected, rel=0.02)
    assert rows["detectors.dark_count_rate_hz"]["factor"] == 1.0


# ---------------------------------------------------------------- infeasible targets, workers, CLI contract
def test_infeasible_target_names_what_binds():
    """Only the memory may improve; two F = 0.95 Werner links swapped give at most F = 0.9033."""
    res = invoke("requirements", "--preset", "abstract", "--distance-km", 0, "--segments", 2, "--target", "mean_fidelity>=0.95",
                 "--target", "rate_hz>=1", "--vary", "memory.coherence_time_s", "--seed", 1, "--max-evaluations", 60, "--json")
    assert res.exit_code == 0, res.output
    plan = json.loads(res.stdout)
    assert plan["feasible"] is False and plan["binding"] == ["mean_fidelity>=0.95"]
    assert "mean_fidelity>=0.95 binds" in plan["message"]
    fid = next(t for t in plan["targets"] if t["metric"] == "mean_fidelity")
    assert 0.90 < fid["best_found"] < 0.9034 and not fid["reachable_alone"]
    assert next(t for t in plan["targets"] if t["metric"] == "rate_hz")["met"]


def test_the_plan_does_not_depend_on_the_number_of_workers():
    kwargs = dict(distance_km=0, segments=2, vary=["link.fresh_fidelity", "memory.coherence_time_s", "link.success_probability"],
                  seed=9, max_evaluations=120)
    one = find_requirements(load_preset("abstract"), ["mean_fidelity>=0.93", "rate_hz>=150"], workers=1, **kwargs).to_dict()
    two = find_requirements(load_preset("abstract"), ["mean_fidelity>=0.93", "rate_hz>=150"], workers=2, **kwargs).to_dict()
    assert one["improvements"] == two["improvements"] and one["evaluations"] == two["evaluations"]


def test_targets_the_baseline_meets_cost_nothing():
    plan = find_requirements(load_preset("abstract"), ["rate_hz>=50"], distance_km=0, segments=1, seed=1,
                             max_evaluations=30).to_dict()
    assert plan["feasible"] and plan["cost"] == 0.0 and all(r["factor"] == 1.0 for r in plan["improvements"])


def test_monte_carlo_plans_use_common_random_numbers_and_ignore_the_worker_count():
    kwargs = {"engine": "montecarlo", "options": {"pairs": 300}, "distance_km": 0, "segments": 2,
              "vary": ["link.fresh_fidelity", "memory.coherence_time_s"], "seed": 4, "max_evaluations": 40}
    one = find_requirements(load_preset("abstract"), ["mean_fidelity>=0.91"], workers=1, **kwargs).to_dict()
    two = find_requirements(load_preset("abstract"), ["mean_fidelity>=0.91"], workers=2, **kwargs).to_dict()
    assert one["feasible"] and one["improvements"] == two["improvements"] and one["achieved"] == two["achieved"]


def test_cli_contract_and_the_chain_command_recomputes_the_plan(tmp_path):
    res = invoke("requirements", "--preset", "abstract", "--distance-km", 50, "--segments", 2, "--target", "mean_fidelity>=0.92",
                 "--target", "rate_hz>=80", "--seed", 1, "--max-evaluations", 150, "--out", tmp_path / "req", "--json")
    assert res.exit_code == 0, res.output
    plan = json.loads(res.stdout)
    for key in ("feasible", "cost", "improvements", "achieved", "evaluations"):
        assert key in plan
    assert set(plan["improvements"][0]) >= {"parameter", "baseline", "required", "factor"}
    assert plan["feasible"] and plan["cost"] > 0
    assert json.loads((tmp_path / "req" / "requirements.json").read_text())["cost"] == plan["cost"]
    assert (tmp_path / "req" / "requirements-breakdown.png").stat().st_size > 5000
    sets = []
    for r in plan["improvements"]:
        sets += ["--set", f"{r['parameter']}={r['required']!r}"]
    res = invoke("chain", "--preset", "abstract", "--distance-km", 50, "--segments", 2, *sets, "--json")
    chain = json.loads(res.stdout)
    assert chain["mean_fidelity"] >= 0.92 and chain["rate_hz"] >= 80
    assert chain["mean_fidelity"] == pytest.approx(plan["achieved"]["mean_fidelity"], rel=1e-12)


@pytest.mark.parametrize(
    "args, needles",
    [
        (("--target", "rate_hz=>1"), ("--target", "expected METRIC>=VALUE")),
        (("--target", "speed>=1"), ("--target", "not a metric of engine 'exact'")),
        (("--target", "rate_hz>=1", "--vary", "node_a.memory.nope"), ("node_a.memory.nope",)),
        (("--target", "rate_hz>=1", "--vary", "fiber.group_index"), ("fiber.group_index", "not an improvable parameter")),
        (("--target", "rate_hz>=1", "--cost", "dollars"), ("--cost", "log-factor")),
        (("--target", "rate_hz>=1", "--weight", "swap.gate_fidelity"), ("--weight", "PARAMETER=WEIGHT")),
        (("--target", "rate_hz>=1", "--max-factor", "1"), ("--max-factor",)),
    ],
)
def test_bad_requests_are_one_line(args, needles):
    one_line_error(invoke("requirements", "--preset", "ustc2026", "--distance-km", 100, *args, "--json"), *needles)


def test_charts_render_cost_against_distance_and_its_breakdown(tmp_path):
    def plan(d, cost, feasible=True):
        imp = [
            {"parameter": "a.x", "group": "a.x", "kind": "lifetime", "baseline": 1.0, "required": math.exp(cost * 0.7),
             "factor": math.exp(cost * 0.7), "group_cost": cost * 0.7},
            {"parameter": "b.y", "group": "b.y", "kind": "probability", "baseline": 0.5, "required": 0.5 ** (1 / math.exp(cost * 0.3)),
             "factor": math.exp(cost * 0.3), "group_cost": cost * 0.3},
            {"parameter": "link.excitation_probability", "group": "link.excitation_probability", "kind": "setting",
             "baseline": 0.17, "required": 0.05, "factor": 0.05 / 0.17, "group_cost": 0.0},
        ]
        return {"distance_km": d, "segments": 4, "cost": cost, "feasible": feasible, "improvements": imp,
                "targets": [{"target": "rate_hz>=0.1"}]}

    plans = [plan(d, 0.05 * d, d < 200) for d in (25, 50, 100, 150, 200, 250, 300, 400)]
    paths = plot_requirements(plans, tmp_path)
    assert [p.name for p in paths] == ["requirements-cost.png", "requirements-breakdown.png"]
    assert all(p.stat().st_size > 5000 for p in paths)
    assert [p.name for p in plot_requirements(plans[:1], tmp_path / "one")] == ["requirements-breakdown.png"]


def test_breakdown_lists_slivers_in_the_caption_not_the_legend(tmp_path, monkeypatch):
    """A parameter carrying a negligible cost would be an invisible bar with a legend entry."""
    from qrepeater.report import style

    seen = {}
    save = style.save

    def spy(fig, path):
        if not str(path).endswith("breakdown.png"):
            return save(fig, path)
        seen["legend"] = [t.get_text() for ax in fig.axes if ax.get_legend() for t in ax.get_legend().get_texts()]
        seen["caption"] = style.caption_of(fig)
        return save(fig, path)

    monkeypatch.setattr("qrepeater.report.requirements_plots._save", spy)
    imp = [{"parameter": g, "group": g, "kind": "probability", "baseline": 0.5, "required": 0.4, "factor": math.exp(c),
            "group_cost": c} for g, c in (("big.one", 5.0), ("tiny.one", 1e-4))]
    plans = [{"distance_km": d, "segments": 2, "cost": 5.0001, "feasible": True, "improvements": imp,
              "targets": [{"target": "rate_hz>=1"}]} for d in (50, 100)]
    plot_requirements(plans, tmp_path)
    assert seen["legend"] == ["big.one"]
    assert "tiny.one" in seen["caption"]


@pytest.mark.slow  # ≈ 25-70 s: the ustc2026 question of the issue
def test_ustc2026_at_100_km_has_a_feasible_plan_that_the_chain_command_confirms():
    res = invoke("requirements", "--preset", "ustc2026", "--distance-km", 100, "--segments", 4, "--target", "rate_hz>=0.1",
                 "--target", "mean_fidelity>=0.8", "--seed", 7, "--max-evaluations", 100, "--workers", 2, "--json")
    assert res.exit_code == 0, res.output
    plan = json.loads(res.stdout)
    assert plan["feasible"] and plan["binding"] == ["mean_fidelity>=0.8"]
    assert load_preset("ustc2026").link.excitation_probability == 0.17
    res = invoke("chain", "--preset", "ustc2026", "--distance-km", 100, "--segments", 4,
                 *[a for s in plan["set"] for a in ("--set", s)], "--json")
    chain = json.loads(res.stdout)
    assert chain["rate_hz"] >= 0.1 and chain["mean_fidelity"] >= 0.8
