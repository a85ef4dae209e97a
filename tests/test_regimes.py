"""The regime map and claim (d): the map's vectorised cells equal the lifecycle model evaluated cell
by cell, the claims carry three-valued verdicts, and the portfolio's cost breakdown adds up to the
planner's own totals."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from experiments import portfolio_claim, regimes
from experiments.claims import Verdict
from experiments.output import ExperimentOutput
from simulator.scenario.load import bundled_config_path, load_scenario
from simulator.lifecycle import evaluate_lifecycle, load_factors
from simulator.lifecycle.profile import default_profile
from simulator.lifecycle.profile_noise import ProfileSamples


def test_energy_per_sample_passes_through_every_measured_profile():
    points = regimes.anchors()
    payloads = np.array([a.bytes_per_silo_round for a in points])
    profile = regimes.profile_for_payload(payloads, points)
    assert np.allclose(profile.fl_kwh_per_sample_update, [a.kwh_per_sample_update for a in points], rtol=1e-12)
    # Beyond the anchors it continues along the end segments (positive, finite).
    outside = regimes.profile_for_payload(np.array([1e3, 1e10]), points)
    assert np.all(np.isfinite(outside.fl_kwh_per_sample_update)) and np.all(outside.fl_kwh_per_sample_update > 0)


@pytest.mark.parametrize(("row", "column", "i", "j"), [(1, 0, 12, 1), (2, 2, 0, 14), (0, 3, 6, 7)])
def test_a_map_cell_equals_the_lifecycle_model_of_that_cell(row, column, i, j):
    base = load_scenario(bundled_config_path(regimes.SCENARIO_FILE))
    factors, points = load_factors(), regimes.anchors()
    schedule, network = regimes.SCHEDULES[row], regimes.NETWORK_KWH_PER_GB[column]
    item = regimes.panel(base, schedule, network, factors, points, draws=100, seed=0)
    scenario = regimes.variant(base, schedule[0], schedule[1], data_gb=float(regimes.DATA_GB_PER_SILO[i]))
    profile = regimes.profile_for_payload(float(regimes.PAYLOAD_BYTES[j]), points)
    profile = replace(profile, fl_kwh_per_sample_update=float(profile.fl_kwh_per_sample_update),
                      cl_kwh_per_sample_update=float(profile.cl_kwh_per_sample_update),
                      fl_wall_s_per_sample_update=float(profile.fl_wall_s_per_sample_update),
                      cl_wall_s_per_sample_update=float(profile.cl_wall_s_per_sample_update),
                      server_kwh_per_silo_round=float(profile.server_kwh_per_silo_round))
    result = evaluate_lifecycle(scenario, profile, regimes.with_network(factors, network[0]), draws=100, sweeps=False)
    assert item.ratio[i, j] == pytest.approx(result.fl.total.co2_kg.central / result.cl.total.co2_kg.central, rel=1e-9)
    assert item.low[i, j] <= item.ratio[i, j] <= item.high[i, j]


def test_regimes_end_to_end(tmp_path, capsys):
    claims = regimes.main(["--results", str(tmp_path), "--draws", "100", "--readme-figure", str(tmp_path / "map.png")])
    assert [claim.key for claim in claims] == ["Q", "E"]
    assert all(isinstance(claim.verdict, Verdict) for claim in claims)
    folder = tmp_path / "regimes"
    grid = pd.read_csv(folder / "grid.csv")
    assert len(grid) == len(regimes.SCHEDULES) * len(regimes.NETWORK_KWH_PER_GB) * 13 * 16
    assert grid["payload bytes per silo-round"].min() <= 2e4 * (1 + 1e-9) and grid["payload bytes per silo-round"].max() >= 1e9
    assert grid["network kWh/GB"].max() >= 0.4  # access-network figures are on the map
    assert (grid["FL / CL low"] <= grid["FL / CL"]).all() and (grid["FL / CL"] <= grid["FL / CL high"]).all()
    for name in ("regime_map.png", "grid.md", "break_even.csv", "claims.csv", "findings.md"):
        assert (folder / name).stat().st_size > 0, name
    assert (tmp_path / "map.png").stat().st_size > 0
    printed = capsys.readouterr().out
    assert printed.count("verdict: ") == 2 and "FL / CL lifecycle CO2" in printed


def test_portfolio_breakdown_adds_up_to_the_planners_totals(tmp_path):
    findings = portfolio_claim.portfolio_findings(ExperimentOutput("portfolio", tmp_path))
    assert [claim.key for claim in findings.claims] == ["d1", "d2"]
    for application in findings.plan.applications:
        lines = findings.costs[findings.costs["application"] == application.application]
        assert lines["FL USD per year"].sum() == pytest.approx(application.federated.total.cost_usd.central, rel=1e-9)
        assert lines["CL USD per year"].sum() == pytest.approx(application.centralized.total.cost_usd.central, rel=1e-9)
    d1, d2 = (claim.decisions[0] for claim in findings.claims)
    assert d1.low <= d1.central <= d1.high and d2.low <= d2.central <= d2.high
    assert "95 % interval" in findings.claims[0].text()
    # Where the money half does not hold, the claim names the lines that decide it, each favouring CL.
    if d2.verdict != Verdict.SUPPORTED:
        assert findings.deciding and all(row["CL - FL USD per year"] < 0 for row in findings.deciding)
        assert "deciding line" in findings.claims[1].text()


def test_the_portfolio_interval_carries_measured_runs_noise(tmp_path):
    """Given several measured profiles (seeds), the planner draws their mean as the lifecycle model does:
    the claim's interval widens beyond the factor ranges alone."""
    # FL's sample updates as cheap as CL's and ten times the default's energy (a heavier model), so the
    # planner federates an ML application and its training energy enters the saving (with the default
    # profile, whose FL sample update costs more than CL's, it centralizes them all).
    measured = default_profile()
    kwh = 10 * measured.cl_kwh_per_sample_update
    one = replace(measured, fl_kwh_per_sample_update=kwh, cl_kwh_per_sample_update=kwh,
                  fl_wall_s_per_sample_update=measured.cl_wall_s_per_sample_update)
    runs = ProfileSamples(tuple(
        replace(one, fl_kwh_per_sample_update=one.fl_kwh_per_sample_update * scale,
                cl_kwh_per_sample_update=one.cl_kwh_per_sample_update * scale,
                fl_wall_s_per_sample_update=one.fl_wall_s_per_sample_update * scale,
                cl_wall_s_per_sample_update=one.cl_wall_s_per_sample_update * scale)
        for scale in (0.6, 1.0, 1.7)
    ))
    alone = portfolio_claim.portfolio_findings(ExperimentOutput("alone", tmp_path), one).claims[0].decisions[0]
    noisy = portfolio_claim.portfolio_findings(ExperimentOutput("noisy", tmp_path), runs).claims[0].decisions[0]
    assert noisy.high - noisy.low > alone.high - alone.low
    assert "drawn from 3 measured runs" in noisy.how and "factor ranges only" in alone.how
