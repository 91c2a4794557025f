"""Per-segment protocol and α (issue 14 item 2): the search against a brute-force grid, and chain --optimize.

The scenario is ustc2026 with quiet memories, ideal swaps and a tight phase lock, so a 5 km + 45 km
chain has a positive key and the best excitation probability differs between the short and the long
segment (the short one waits for the long one anyway and trades rate for fidelity).
"""

import json

import pytest
from typer.testing import CliRunner

from qrepeater import build_scenario
from qrepeater.builders import SegmentChoice
from qrepeater.cli.main import app
from qrepeater.studies.segment_choices import (
    brute_force,
    candidate_choices,
    score,
    search_segment_choices,
)

SETS = [f"{n}.memory.{k}={v}" for n in ("node_a", "node_b")
        for k, v in (("field_noise_rms_rad_per_s", 1.0), ("decoupling_error_per_pulse", 1e-6),
                     ("storage_level_lifetime_s", 100.0))] + [
    "swap.gate_fidelity=1.0", "swap.readout_error=0.0", "phase.local_residual_phase_noise_rad=0.02",
    "phase.fiber_phase_noise_rad2_per_hz_per_km=0.001", "phase.mode_overlap=1.0"]
LENGTHS = [5.0, 45.0]


@pytest.mark.slow
def test_search_finds_the_brute_force_optimum_and_it_differs_per_segment():
    scenario = build_scenario("ustc2026", None, SETS)
    cands = [SegmentChoice("spep", a) for a in (0.02, 0.04, 0.08)]
    found = search_segment_choices(scenario, LENGTHS, cands, max_grid=2**20)
    best, best_res = brute_force(scenario, LENGTHS, cands, max_grid=2**20)
    assert found.choices == best
    assert score(found.result) == score(best_res)
    assert best[0].excitation_probability != best[1].excitation_probability  # per-segment α pays here
    assert found.improved_over_uniform and score(found.result)[0] > score(found.uniform_result)[0] > 0


@pytest.mark.slow
def test_chain_optimize_reports_per_segment_choices_that_match_brute_force():
    args = ["chain", "--preset", "ustc2026", "--distance-km", "50", "--segment-lengths-km", "5,45", "--optimize",
            "--json"]
    for s in SETS:
        args += ["--set", s]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    best = out["best"]
    for key in ("rate_hz", "mean_fidelity", "secret_key_rate_bps", "segments", "cutoff_s", "purification"):
        assert key in best  # the keys of --optimize before per-segment choices
    assert [c["length_km"] for c in best["per_segment"]] == LENGTHS
    assert set(best["per_segment"][0]) >= {"protocol", "excitation_probability", "multiplex", "cutoff_s"}
    search = out["per_segment_search"]
    assert search["improved_over_uniform"] and not search["stopped_at_time_limit"]
    scenario = build_scenario("ustc2026", None, SETS)
    choices, res_bf = brute_force(scenario, LENGTHS, candidate_choices(scenario), cutoff_s=best["cutoff_s"],
                                  purification=best["purification"], max_grid=2**20)
    assert [c.to_dict() for c in choices] == [{k: c[k] for k in ("protocol", "excitation_probability", "multiplex")}
                                              for c in best["per_segment"]]
    assert best["secret_key_rate_bps"] == pytest.approx(res_bf.secret_key_rate_bps, rel=1e-12)
    # the printed options re-run the plan
    rerun = ["chain", "--preset", "ustc2026", "--distance-km", "50", *search["rerun_options"].split(), "--json"]
    for s in SETS:
        rerun += ["--set", s]
    again = CliRunner().invoke(app, rerun)
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout)["secret_key_rate_bps"] == pytest.approx(best["secret_key_rate_bps"], rel=1e-12)


def test_segment_choices_of_the_scenario_give_the_plain_chain():
    base = ["chain", "--preset", "ustc2026", "--distance-km", "20", "--json"]
    plain = json.loads(CliRunner().invoke(app, [*base, "--segments", "2"]).stdout)
    per = json.loads(CliRunner().invoke(app, [*base, "--segment-choices", "spep,spep:0.17"]).stdout)
    assert per["rate_hz"] == plain["rate_hz"] and per["mean_fidelity"] == plain["mean_fidelity"]
    assert per["per_segment"][1] == {"protocol": "spep", "excitation_probability": 0.17, "multiplex": 1}
    bad = CliRunner().invoke(app, [*base, "--segment-choices", "spep:2"])
    assert bad.exit_code == 2 and "--segment-choices" in bad.output


def test_segment_lengths_must_sum_to_the_distance():
    res = CliRunner().invoke(app, ["chain", "--preset", "ustc2026", "--distance-km", "50", "--segment-lengths-km",
                                   "5,40", "--json"])
    assert res.exit_code == 2 and "summing to --distance-km" in res.output
