"""The experiments: their arithmetic and variants by hand, and each one end to end on a tiny scenario
(real Flower + torch + CodeCarbon training, the real lifecycle model)."""

from __future__ import annotations

import json
from dataclasses import replace

import pandas as pd
import pytest

from conftest import tiny_scenario, tiny_scenario_dict
from experiments import intensity, paper_findings, scaling
from experiments.variants import median_profile, total_initial_data_gb, with_data_scale, with_grids, with_retention, with_silo_count
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


def test_median_profile_is_field_by_field():
    first = default_profile()
    second = replace(first, fl_kwh_per_sample_update=3.0, bytes_per_silo_round=10.0, source="b")
    third = replace(first, fl_kwh_per_sample_update=1.0, bytes_per_silo_round=30.0, source="c")
    pooled = median_profile([first, second, third])
    assert pooled.fl_kwh_per_sample_update == sorted([first.fl_kwh_per_sample_update, 3.0, 1.0])[1]
    assert pooled.bytes_per_silo_round == sorted([first.bytes_per_silo_round, 10.0, 30.0])[1]
    assert pooled.source.startswith("median of 3 measured runs")


def test_claim_a_verdict_follows_the_numbers():
    scenario = validate_scenario(tiny_enterprise_dict())
    even = replace(default_profile(), fl_kwh_per_sample_update=1e-9, cl_kwh_per_sample_update=1e-9,
                   fl_wall_s_per_sample_update=1e-4, cl_wall_s_per_sample_update=1e-4)
    assert paper_findings.claim_a(evaluate_lifecycle(scenario, even, draws=200)).verdict == "SUPPORTED"
    costly_fl = replace(even, fl_kwh_per_sample_update=5e-9, fl_wall_s_per_sample_update=5e-4)
    assert paper_findings.claim_a(evaluate_lifecycle(scenario, costly_fl, draws=200)).verdict == "REFUTED"


def test_claim_c_verdicts_follow_the_sweeps():
    rows = [{"variable": v, "value": x, "CL transfer + storage kg CO2e": up, "CL - FL kg CO2e": gap}
            for v in ("data volume", "retention", "silos") for x, up, gap in ((1, 1.0, 5.0), (2, 2.0, 4.0))]
    c1, c2 = paper_findings.claim_c(pd.DataFrame(rows))
    assert (c1.verdict, c2.verdict) == ("SUPPORTED", "REFUTED")


def test_paper_findings_end_to_end(tiny_enterprise_file, tmp_path, capsys):
    claims = paper_findings.main(["--scenario", str(tiny_enterprise_file), "--results", str(tmp_path / "results"),
                                  "--repeats", "2"])
    assert [c.key for c in claims] == ["a", "b", "c1", "c2", "d1", "d2"]
    assert {str(getattr(c.verdict, "value", c.verdict)) for c in claims[4:]} <= {"SUPPORTED", "REFUTED", "INCONCLUSIVE"}
    folder = tmp_path / "results" / "paper_findings"
    assert len(pd.read_csv(tmp_path / "results" / "paper_findings" / "measurements.csv")) == 2
    for name in ("findings.md", "claims.csv", "claims.md", "stages.csv", "stages.md", "gap_sweeps.csv",
                 "gap_sweeps.md", "stages.png", "gap_growth.png", "portfolio_costs.csv", "portfolio_plan.csv"):
        assert (folder / name).stat().st_size > 0, name
    printed = capsys.readouterr().out
    assert printed.count("verdict: ") == 6 and "kWh" in printed and "kg CO2e" in printed
    verdicts = pd.read_csv(folder / "claims.csv")
    assert list(verdicts["verdict"]) == [getattr(c.verdict, "value", c.verdict) for c in claims]
    sweeps = pd.read_csv(folder / "gap_sweeps.csv")
    assert set(sweeps["variable"]) == {"data volume", "retention", "silos"}


def test_intensity_end_to_end(tiny_enterprise_file, tmp_path):
    table = intensity.main(["--scenario", str(tiny_enterprise_file), "--results", str(tmp_path / "results"),
                            "--repeats", "1"])
    assert len(table) == 12  # 4 silo placements x 3 central sites
    # Moving the silos to a dirtier grid never lowers FL's CO2 (same profile, same work).
    for central in intensity.GRIDS:
        fl = table[table["central in"] == central].set_index("silos in")["FL kg CO2e"]
        assert fl["FRA"] < fl["USA"] < fl["IND"]
    folder = tmp_path / "results" / "intensity"
    for name in ("placements.csv", "placements.md", "stage_shares.csv", "ratio_heatmap.png", "totals.png"):
        assert (folder / name).stat().st_size > 0, name


def test_scaling_end_to_end(tiny_enterprise_file, tmp_path):
    scaling.main(["--scenario", str(tiny_enterprise_file), "--results", str(tmp_path / "results"), "--max-silos", "4"])
    folder = tmp_path / "results" / "scaling"
    grid = pd.read_csv(folder / "grid.csv")
    assert sorted(set(grid["silos"])) == [2, 4] and len(grid) == 2 * len(scaling.TOTAL_DATA_GB)
    assert list(pd.read_csv(folder / "measured.csv")["silos"]) == [2, 4]
    for name in ("break_even.csv", "ratio_vs_volume.png", "break_even.png", "measured_profile.png"):
        assert (folder / name).stat().st_size > 0, name
