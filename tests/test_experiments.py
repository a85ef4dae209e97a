"""The experiments: their arithmetic and variants by hand, and each one end to end on a tiny scenario
(real Flower + torch + CodeCarbon training, the real lifecycle model)."""

from __future__ import annotations

import json
from dataclasses import replace

import pandas as pd
import pytest

from conftest import tiny_scenario_dict
from experiments import intensity, paper_findings, scaling
from experiments.variants import total_initial_data_gb, with_data_scale, with_grids, with_retention, with_silo_count
from simulator.scenario.load import validate_scenario
from simulator.lifecycle import default_profile, evaluate_lifecycle


def tiny_enterprise_dict() -> dict:
    raw = tiny_scenario_dict()
    raw["name"] = "tiny-enterprise"
    raw["lifecycle"] = {
        "lifetime_months": 12,
        "retrain_every_months": 6,
        "tuning_trials": 1,
        "draws": 200,
        "central": {"storage": "object", "site_kind": "hyperscale", "retention_months": 12},
        "silos": [
            {"name": "paris", "data_gb": 300.0, "samples_per_gb": 1000.0, "intensity_g_per_kwh": 10.0},
            {"name": "virginia", "data_gb": 200.0, "samples_per_gb": 1000.0},
        ],
    }
    return raw


@pytest.fixture
def tiny_enterprise_file(tmp_path):
    path = tmp_path / "tiny-enterprise.json"
    path.write_text(json.dumps(tiny_enterprise_dict()))
    return path


def test_variants_change_only_what_they_say():
    base = validate_scenario(tiny_enterprise_dict())
    assert total_initial_data_gb(base) == 500.0
    assert total_initial_data_gb(with_data_scale(base, 10.0)) == 5000.0
    assert with_retention(base, 3).lifecycle.central.retention_months == 3
    five = with_silo_count(base, 5)
    assert [s.name for s in five.silos] == ["paris-1", "virginia-2", "paris-3", "virginia-4", "paris-5"]
    assert [s.country for s in five.silos] == ["FRA", "USA", "FRA", "USA", "FRA"]
    assert total_initial_data_gb(five) == 300.0 * 3 + 200.0 * 2  # each new silo brings its template's data
    moved = with_grids(base, ("IND",), "FRA")
    assert [s.country for s in moved.silos] == ["IND", "IND"] and moved.central.country == "FRA"
    assert all(s.intensity_g_per_kwh is None for s in moved.lifecycle.silos)  # the override stayed behind
    assert moved.lifecycle.silos[0].data_gb == 300.0


def test_winner_reads_the_interval():
    assert intensity.winner(1.2, 1.5, 2.0) == "FL (robust)"
    assert intensity.winner(0.2, 0.5, 0.9) == "CL (robust)"
    assert intensity.winner(0.8, 1.1, 1.6) == "open (FL at central factors)"
    assert intensity.winner(0.8, 0.9, 1.6) == "open (CL at central factors)"


def _findings(scenario, profile, draws: int = 400):
    from types import SimpleNamespace

    from simulator.lifecycle import build_plan, load_factors
    from simulator.lifecycle.model import evaluate_draws

    factors = load_factors()
    result = evaluate_lifecycle(scenario, profile, factors, draws=draws, sweeps=False)
    fl, cl = evaluate_draws(build_plan(scenario), profile, factors, draws, scenario.seed)
    return paper_findings.Findings(scenario, profile, SimpleNamespace(seeds=(0,)), result, fl, cl, draws, None)


def test_claim_a1_verdict_follows_the_interval():
    scenario = validate_scenario(tiny_enterprise_dict())
    even = replace(default_profile(), fl_kwh_per_sample_update=1e-9, cl_kwh_per_sample_update=1e-9,
                   fl_wall_s_per_sample_update=1e-4, cl_wall_s_per_sample_update=1e-4)
    claim = paper_findings.claim_a1(_findings(scenario, even))
    assert claim.verdict.value == "SUPPORTED" and all(d.low <= d.central <= d.high for d in claim.decisions)
    costly_fl = replace(even, fl_kwh_per_sample_update=5e-9, fl_wall_s_per_sample_update=5e-4)
    assert paper_findings.claim_a1(_findings(scenario, costly_fl)).verdict.value == "REFUTED"


def test_claim_a2_says_when_a_side_missed_the_target():
    from types import SimpleNamespace

    scenario = paper_findings.with_target(validate_scenario(tiny_enterprise_dict()), 0.99, 4)
    findings = _findings(scenario, default_profile())
    findings = replace(findings, group=SimpleNamespace(seeds=(0, 1), reached={"0": {"fl": False, "cl": True},
                                                                                "1": {"fl": True, "cl": True}},
                                                       quantity=lambda key: None))
    claim = paper_findings.claim_a2(findings)
    assert claim.verdict.value == "INCONCLUSIVE"
    assert all("FL with seed 0" in d.how and "no equal-accuracy figure is invented" in d.how for d in claim.decisions)


def _point(variable, value, missed, gap):
    import numpy as np

    draws = {"CL transfer + storage kg CO2e": np.array(missed, float), "CL - FL kg CO2e": np.array(gap, float)}
    central = {curve: float(np.median(values)) for curve, values in draws.items()}
    return paper_findings.SweepPoint(variable, value, central, draws)


def test_claim_c_verdicts_follow_the_sweeps():
    points = [point for variable in ("data volume", "retention", "silos") for point in (
        _point(variable, 1, [1.0, 1.1, 0.9], [5.0, 5.0, 5.0]),
        _point(variable, 2, [2.0, 2.2, 1.8], [4.0, 4.5, 4.2]),
    )]
    c1, c2 = paper_findings.claim_c(points)
    assert (c1.verdict.value, c2.verdict.value) == ("SUPPORTED", "REFUTED")
    across = [point for variable in ("data volume", "retention", "silos") for point in (
        _point(variable, 1, [1.0, 1.0, 1.0], [5.0, 5.0, 5.0]),
        _point(variable, 2, [2.0, 2.0, 2.0], [4.0, 6.0, 5.5]),  # some draws fall, some rise
    )]
    assert paper_findings.claim_c(across)[1].verdict.value == "INCONCLUSIVE"


def test_paper_findings_end_to_end(tiny_enterprise_file, tmp_path, capsys):
    claims = paper_findings.main(["--scenario", str(tiny_enterprise_file), "--results", str(tmp_path / "results"),
                                  "--seeds", "0,1", "--target-accuracy", "0.8", "--max-rounds", "4"])
    assert [c.key for c in claims] == ["a1", "a2", "b", "c1", "c2", "d1", "d2"]  # (d): experiments/portfolio_claim.py
    folder = tmp_path / "results" / "paper_findings"
    measurements = pd.read_csv(folder / "measurements.csv")
    assert list(measurements["seed"])[:2] == ["0", "1"] and "FL rounds to target" in measurements
    for name in ("findings.md", "claims.csv", "claims.md", "claims.png", "stages.csv", "stages.md", "gap_sweeps.csv",
                 "gap_sweeps.md", "stages.png", "gap_growth.png", "portfolio_costs.csv", "portfolio_plan.csv"):
        assert (folder / name).stat().st_size > 0, name
    printed = capsys.readouterr().out
    assert printed.count("verdict: ") == 7 and "kWh" in printed and "kg CO2e" in printed
    # Every deciding quantity prints its 95 % interval and its band beside the verdict.
    decisions = sum(len(c.decisions) for c in claims)
    assert printed.count("95 % interval [") == decisions and printed.count("holds when") == decisions
    # The measured quantities' intervals hold the host's between-invocation noise (configs/host_noise.toml).
    assert "between-invocation noise" in printed
    table = pd.read_csv(folder / "claims.csv")
    assert len(table) == decisions and {"95 % low", "95 % high", "holds when", "verdict"} <= set(table.columns)
    assert list(table.drop_duplicates("claim")["verdict"]) == [c.verdict.value for c in claims]
    assert set(table["verdict"]) <= {"SUPPORTED", "REFUTED", "INCONCLUSIVE"}
    assert (table["95 % low"] <= table["95 % high"]).all()
    sweeps = pd.read_csv(folder / "gap_sweeps.csv")
    assert set(sweeps["variable"]) == {"data volume", "retention", "silos"}
    assert (sweeps["CL kg CO2e low"] <= sweeps["CL kg CO2e"]).all()
    assert "Took " in printed


def test_intensity_end_to_end(tiny_enterprise_file, tmp_path):
    table = intensity.main(["--scenario", str(tiny_enterprise_file), "--results", str(tmp_path / "results"),
                            "--seeds", "0"])
    assert len(table) == 12  # 4 silo placements x 3 central sites
    # Moving the silos to a dirtier grid never lowers FL's CO2 (same profile, same work).
    for central in intensity.GRIDS:
        fl = table[table["central in"] == central].set_index("silos in")["FL kg CO2e"]
        assert fl["FRA"] < fl["USA"] < fl["IND"]
    folder = tmp_path / "results" / "intensity"
    for name in ("placements.csv", "placements.md", "stage_shares.csv", "ratio_heatmap.png", "totals.png"):
        assert (folder / name).stat().st_size > 0, name
    assert set(table["verdict: FL emits less"]) <= {"SUPPORTED", "REFUTED", "INCONCLUSIVE"}
    assert (table["CL / FL low"] <= table["CL / FL"]).all() and (table["CL / FL"] <= table["CL / FL high"]).all()


def test_scaling_end_to_end(tiny_enterprise_file, tmp_path):
    scaling.main(["--scenario", str(tiny_enterprise_file), "--results", str(tmp_path / "results"), "--max-silos", "4",
                  "--seeds", "0"])
    folder = tmp_path / "results" / "scaling"
    grid = pd.read_csv(folder / "grid.csv")
    assert sorted(set(grid["silos"])) == [2, 4] and len(grid) == 2 * len(scaling.TOTAL_DATA_GB)
    assert list(pd.read_csv(folder / "measured.csv")["silos"]) == [2, 4]
    for name in ("break_even.csv", "ratio_vs_volume.png", "break_even.png", "measured_profile.png"):
        assert (folder / name).stat().st_size > 0, name


EXPERIMENT_MODULES = ("bench_lifecycle", "bench_many_silos", "bench_noise", "bench_overhead", "bench_startup",
                      "compare_strategies", "deployment_overhead", "gpu_check", "intensity", "model_profiles",
                      "paper_findings", "portfolio_claim", "regimes",
                      "report_screenshot", "runner_energy", "scaling")


@pytest.mark.parametrize("name", EXPERIMENT_MODULES)
def test_every_experiment_takes_seeds_or_says_why_not(name, capsys):
    import importlib

    module = importlib.import_module(f"experiments.{name}")
    with pytest.raises(SystemExit) as done:
        module.main(["--help"])
    assert done.value.code == 0
    shown = " ".join(capsys.readouterr().out.split())
    assert "--seeds SEEDS" in shown or "No --seeds: a " in shown


def test_the_list_of_experiments_is_complete():
    from pathlib import Path

    helpers = {"__init__", "claims", "output", "seeds", "variants", "plain_pytorch_yardstick"}
    found = {path.stem for path in Path(paper_findings.__file__).parent.glob("*.py")} - helpers
    assert found == set(EXPERIMENT_MODULES)
