"""The vectorised sweeps equal the point-by-point ones, and the decision sensitivity's flip values are
where the decision really flips (checked by evaluating the model there, one input at a time)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from conftest import tiny_scenario
from test_lifecycle_break_even import clean_silos_heavy_updates
from test_lifecycle_stages import PROFILE, worked_scenario

from experiments.bench_lifecycle import point_by_point_break_even, point_by_point_sensitivity, same_results
from simulator.data.registry import dataset_features_for_lifecycle
from simulator.lifecycle import build_plan, evaluate_lifecycle, load_factors
from simulator.lifecycle.decision import ENERGY_SCALE, PAYLOAD
from simulator.lifecycle.factors import central, with_value
from simulator.lifecycle.model import break_even_points, central_totals, sensitivity_ranking


def scenarios():
    heavy, heavy_profile = clean_silos_heavy_updates()
    return [(worked_scenario(), PROFILE), (heavy, heavy_profile), (tiny_scenario(), PROFILE)]


@pytest.mark.parametrize("index", range(3))
def test_vectorised_sweeps_equal_the_point_by_point_ones(index):
    scenario, profile = scenarios()[index]
    factors, features = load_factors(), dataset_features_for_lifecycle(scenario)
    plan = build_plan(scenario, dataset_features=features)
    assert same_results(
        break_even_points(scenario, profile, factors, features, plan), point_by_point_break_even(scenario, profile, factors, features),
        sensitivity_ranking(plan, profile, factors), point_by_point_sensitivity(plan, profile, factors),
    )


def margin_at(scenario, profile, flip, value) -> float:
    """CL - FL of the flip's quantity with its input at `value`, everything else central."""
    values = central(load_factors())
    if flip.input == PAYLOAD:
        profile = replace(profile, bytes_per_silo_round=value)
    elif flip.input == ENERGY_SCALE:
        profile = replace(profile, fl_kwh_per_sample_update=profile.fl_kwh_per_sample_update * value,
                          cl_kwh_per_sample_update=profile.cl_kwh_per_sample_update * value)
    else:
        values = with_value(values, flip.input, value)
    fl, cl = central_totals(build_plan(scenario, dataset_features=dataset_features_for_lifecycle(scenario)), profile, values)
    return float(getattr(cl, flip.quantity)) - float(getattr(fl, flip.quantity))


@pytest.mark.parametrize("index", range(3))
def test_every_flip_value_is_where_the_decision_flips(index):
    scenario, profile = scenarios()[index]
    result = evaluate_lifecycle(scenario, profile, draws=100, dataset_features=dataset_features_for_lifecycle(scenario))
    flips = [flip for flip in result.decision if flip.flip_value is not None]
    assert flips, "each of these scenarios has inputs that could flip a decision"
    for flip in flips:
        size = max(abs(flip.margin_central), 1e-12)
        assert abs(margin_at(scenario, profile, flip, flip.flip_value)) <= 1e-6 * size, flip
        below = margin_at(scenario, profile, flip, flip.flip_value * 0.9)
        above = margin_at(scenario, profile, flip, flip.flip_value * 1.1)
        assert below * above < 0, flip  # the decision differs either side of the flip value
        if flip.low is not None and flip.high is not None and flip.low < flip.high:
            assert flip.flips_within_range == (flip.low <= flip.flip_value <= flip.high)
            assert flip.margin_low == pytest.approx(margin_at(scenario, profile, flip, flip.low), rel=1e-9, abs=1e-12)


def test_the_network_factor_flips_the_co2_decision_within_its_range_when_updates_are_heavy():
    """Heavy model updates between French silos and a US centre: at the low network factor FL's
    cleaner training wins, at the high one its 500 MB per silo-round of update traffic loses."""
    scenario, profile = clean_silos_heavy_updates()
    result = evaluate_lifecycle(scenario, profile, draws=100)
    network = next(f for f in result.decision if f.quantity == "co2_kg" and f.input == "network_kwh_per_gb")
    assert network.margin_low is not None and network.margin_high is not None
    assert network.margin_low * network.margin_high < 0
    assert network.flips_within_range and network.low < network.flip_value < network.high


def test_inputs_that_do_not_move_a_quantity_are_left_out():
    scenario = tiny_scenario()
    result = evaluate_lifecycle(scenario, PROFILE, draws=100, dataset_features=dataset_features_for_lifecycle(scenario))
    inputs = {(flip.quantity, flip.input) for flip in result.decision}
    assert ("co2_kg", "price_storage_object_usd_per_gb_month") not in inputs  # a price moves money only
    assert ("cost_usd", "price_storage_object_usd_per_gb_month") in inputs
    assert ("co2_kg", "network_access_kwh_per_gb") not in inputs  # the scenario's links are core links
