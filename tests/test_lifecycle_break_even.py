"""Break-even sweep and sensitivity ranking."""

from __future__ import annotations

from dataclasses import replace

import pytest
from conftest import tiny_scenario
from test_lifecycle_stages import PROFILE

from simulator.lifecycle import build_plan, evaluate_lifecycle, load_factors
from simulator.lifecycle.factors import central
from simulator.lifecycle.model import _crossing, central_totals


def co2_points(pairs):
    """(x, FL CO2, CL CO2) triples -> the swept x values and CL - FL at each."""
    return [x for x, _, _ in pairs], [cl - fl for _, fl, cl in pairs]


def test_crossing_is_interpolated_between_the_swept_points():
    # CL - FL goes from -1 at x = 1 to +3 at x = 3: zero at x = 1.5.
    found = _crossing("co2_kg", "lifetime_months", "months", *co2_points([(1, 2, 1), (3, 2, 5)]), log_scale=False)
    assert found.value == pytest.approx(1.5)
    assert found.cheaper_below == "cl"
    # In log x for volumes: from -1 at 10 GB to +1 at 1000 GB: zero at 100 GB.
    found = _crossing("co2_kg", "data_gb", "GB", *co2_points([(10, 2, 1), (1000, 1, 2)]), log_scale=True)
    assert found.value == pytest.approx(100.0)


def test_no_crossing_names_the_cheaper_approach():
    found = _crossing("co2_kg", "data_gb", "GB", *co2_points([(1, 5, 1), (10, 50, 10)]), log_scale=True)
    assert found.value is None and found.cheaper_below == "cl" and "CL costs less CO2 throughout" in found.note


def clean_silos_heavy_updates():
    """FL trains on the French grid but sends big updates; CL copies the data to the US grid. FL's
    fixed cost (updates) loses at small volumes and wins at large ones."""
    scenario = tiny_scenario(
        silos=[{"name": "paris", "country": "FRA", "share": 0.5}, {"name": "lyon", "country": "FRA", "share": 0.5}],
        central={"country": "USA", "pue": 1.1},
        lifecycle={"silos": [{"name": "paris", "data_gb": 10, "samples_per_gb": 1e5},
                             {"name": "lyon", "data_gb": 10, "samples_per_gb": 1e5}]},
    )
    return scenario, replace(PROFILE, bytes_per_silo_round=5e8)


def test_volume_break_even_is_where_the_co2_totals_cross():
    scenario, profile = clean_silos_heavy_updates()
    result = evaluate_lifecycle(scenario, profile, draws=100)
    point = next(p for p in result.break_even if p.variable == "data_gb" and p.quantity == "co2_kg")
    assert point.value is not None and point.cheaper_below == "cl"
    values = central(load_factors())
    # One sweep step (10^0.2) either side of the interpolated value, the sign of CL - FL differs.
    below = central_totals(build_plan(scenario, volume_scale=point.value / 20 / 10**0.2), profile, values)
    above = central_totals(build_plan(scenario, volume_scale=point.value / 20 * 10**0.2), profile, values)
    assert below[1].co2_kg < below[0].co2_kg and above[1].co2_kg > above[0].co2_kg


def test_sensitivity_ranks_the_network_factor_first_when_transfer_dominates():
    scenario = tiny_scenario(lifecycle={
        "tuning_trials": 0, "retrain_every_months": 0, "exploration_queries_per_month": 0,
        "inference_requests_per_month": 0, "central": {"retention_months": 1},
        "silos": [{"name": "paris", "data_gb": 1e5, "samples_per_gb": 1}, {"name": "virginia", "data_gb": 1e5, "samples_per_gb": 1}],
    })
    result = evaluate_lifecycle(scenario, PROFILE, draws=100)
    assert result.sensitivity[0].factor == "network_kwh_per_gb"
    assert result.sensitivity[0].cl_co2_swing_kg > 0
    swings = [entry.fl_co2_swing_kg + entry.cl_co2_swing_kg for entry in result.sensitivity]
    assert swings == sorted(swings, reverse=True)
