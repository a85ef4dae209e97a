"""Property tests of the lifecycle model (hypothesis): directions every result must respect."""

from __future__ import annotations

from dataclasses import replace

from conftest import tiny_scenario
from hypothesis import given, settings
from hypothesis import strategies as st
from test_lifecycle_stages import PROFILE

from simulator.lifecycle import build_plan, evaluate_lifecycle, load_factors
from simulator.lifecycle.factors import central
from simulator.lifecycle.stages import STAGES, cl_stages, fl_stages

FACTORS = load_factors()
CENTRAL = central(FACTORS)

volumes = st.floats(min_value=0.5, max_value=5e4, allow_nan=False)
growths = st.floats(min_value=0.0, max_value=0.2)
lifetimes = st.integers(min_value=1, max_value=60)


def scenario_with(
    paris_gb=100.0,
    virginia_gb=50.0,
    growth=0.02,
    lifetime=24,
    retention=None,
    rounds=2,
    paris_pue=None,
    paris_intensity=None,
    central_pue=1.1,
    central_intensity=None,
):
    central_site = {"retention_months": retention}
    if central_intensity is not None:
        central_site["intensity_g_per_kwh"] = central_intensity
    return tiny_scenario(
        training__rounds=rounds,
        central={"country": "USA", "pue": central_pue},
        lifecycle={
            "lifetime_months": lifetime,
            "retrain_every_months": 3,
            "tuning_trials": 2,
            "exploration_queries_per_month": 20,
            "exploration_gb_per_query": 5,
            "inference_requests_per_month": 1e5,
            "central": central_site,
            "silos": [
                {"name": "paris", "data_gb": paris_gb, "monthly_growth": growth, "samples_per_gb": 1e5,
                 "pue": paris_pue, "intensity_g_per_kwh": paris_intensity},
                {"name": "virginia", "data_gb": virginia_gb, "monthly_growth": growth, "samples_per_gb": 1e5},
            ],
        },
    )


def stages_of(scenario, profile=PROFILE):
    plan = build_plan(scenario)
    return fl_stages(plan, profile, CENTRAL), cl_stages(plan, profile, CENTRAL)


def transfer_plus_storage(stages):
    return stages.data_transfer + stages.data_storage


@settings(max_examples=40, deadline=None)
@given(volumes, st.floats(min_value=1.01, max_value=100), growths, lifetimes)
def test_more_data_raises_cl_transfer_and_storage_and_leaves_fl_unchanged(gb, factor, growth, lifetime):
    fl_small, cl_small = stages_of(scenario_with(paris_gb=gb, growth=growth, lifetime=lifetime))
    fl_big, cl_big = stages_of(scenario_with(paris_gb=gb * factor, growth=growth, lifetime=lifetime))
    for quantity in ("energy_kwh", "co2_kg", "cost_usd"):
        assert getattr(cl_big.data_transfer, quantity) > getattr(cl_small.data_transfer, quantity)
        assert getattr(cl_big.data_storage, quantity) > getattr(cl_small.data_storage, quantity)
        for stage in ("data_transfer", "data_storage", "communication"):
            assert getattr(getattr(fl_big, stage), quantity) == getattr(getattr(fl_small, stage), quantity)


@settings(max_examples=40, deadline=None)
@given(volumes, growths, st.integers(min_value=2, max_value=60), st.data())
def test_longer_retention_raises_cl_storage_and_leaves_fl_unchanged(gb, growth, lifetime, data):
    short = data.draw(st.integers(min_value=1, max_value=lifetime - 1))
    longer = data.draw(st.one_of(st.integers(min_value=short + 1, max_value=lifetime + 12), st.none()))
    fl_short, cl_short = stages_of(scenario_with(paris_gb=gb, growth=growth, lifetime=lifetime, retention=short))
    fl_long, cl_long = stages_of(scenario_with(paris_gb=gb, growth=growth, lifetime=lifetime, retention=longer))
    for quantity in ("energy_kwh", "co2_kg", "cost_usd"):
        assert getattr(cl_long.data_storage, quantity) > getattr(cl_short.data_storage, quantity)
        assert getattr(transfer_plus_storage(cl_long), quantity) > getattr(transfer_plus_storage(cl_short), quantity)
        for stage in ("data_transfer", "data_storage", "communication"):
            assert getattr(getattr(fl_long, stage), quantity) == getattr(getattr(fl_short, stage), quantity)


@settings(max_examples=40, deadline=None)
@given(st.integers(min_value=1, max_value=200), st.integers(min_value=1, max_value=50), lifetimes)
def test_more_rounds_raise_fl_communication(rounds, extra, lifetime):
    fl_few, _ = stages_of(scenario_with(rounds=rounds, lifetime=lifetime))
    fl_more, _ = stages_of(scenario_with(rounds=rounds + extra, lifetime=lifetime))
    for quantity in ("energy_kwh", "co2_kg", "cost_usd"):
        assert getattr(fl_more.communication, quantity) > getattr(fl_few.communication, quantity)


@settings(max_examples=40, deadline=None)
@given(st.floats(min_value=1.0, max_value=1e9), st.floats(min_value=1.001, max_value=1e3), lifetimes)
def test_a_bigger_model_raises_fl_communication(bytes_per_round, factor, lifetime):
    small = replace(PROFILE, bytes_per_silo_round=bytes_per_round)
    big = replace(PROFILE, bytes_per_silo_round=bytes_per_round * factor)
    scenario = scenario_with(lifetime=lifetime)
    fl_small, _ = stages_of(scenario, small)
    fl_big, _ = stages_of(scenario, big)
    for quantity in ("energy_kwh", "co2_kg", "cost_usd"):
        assert getattr(fl_big.communication, quantity) > getattr(fl_small.communication, quantity)


@settings(max_examples=40, deadline=None)
@given(
    st.floats(min_value=1.0, max_value=3.0),
    st.floats(min_value=0.0, max_value=2.0),
    st.floats(min_value=1.0, max_value=3.0),
    st.floats(min_value=0.0, max_value=2.0),
)
def test_higher_pue_never_lowers_co2(paris_pue, paris_step, central_pue, central_step):
    before = stages_of(scenario_with(paris_pue=paris_pue, central_pue=central_pue))
    after = stages_of(scenario_with(paris_pue=paris_pue + paris_step, central_pue=central_pue + central_step))
    for low_side, high_side in zip(before, after):
        for stage in STAGES:
            assert getattr(high_side, stage).co2_kg >= getattr(low_side, stage).co2_kg * (1 - 1e-12)


@settings(max_examples=40, deadline=None)
@given(
    st.floats(min_value=0.0, max_value=1500.0),
    st.floats(min_value=0.0, max_value=1500.0),
    st.floats(min_value=0.0, max_value=1500.0),
    st.floats(min_value=0.0, max_value=1500.0),
)
def test_higher_intensity_never_lowers_co2(paris, paris_step, centre, centre_step):
    before = stages_of(scenario_with(paris_intensity=paris, central_intensity=centre))
    after = stages_of(scenario_with(paris_intensity=paris + paris_step, central_intensity=centre + centre_step))
    for low_side, high_side in zip(before, after):
        for stage in STAGES:
            assert getattr(high_side, stage).co2_kg >= getattr(low_side, stage).co2_kg * (1 - 1e-12)


def _intervals(result):
    for approach in (result.fl, result.cl):
        for stage in (*approach.stages, approach.total):
            yield f"{approach.approach}.{stage.stage}", stage.energy_kwh
            yield f"{approach.approach}.{stage.stage}", stage.co2_kg
            yield f"{approach.approach}.{stage.stage}", stage.cost_usd
    for name in ("energy_kwh", "co2_kg", "cost_usd"):
        ratio = getattr(result.ratio_cl_over_fl, name)
        if ratio is not None:
            yield f"ratio.{name}", ratio
    yield "silo_primary_storage", result.silo_primary_storage.co2_kg


@settings(max_examples=15, deadline=None)
@given(volumes, volumes, growths, lifetimes, st.one_of(st.none(), st.integers(min_value=1, max_value=24)),
       st.integers(min_value=0, max_value=2**31 - 1))
def test_low_le_central_le_high_everywhere(paris_gb, virginia_gb, growth, lifetime, retention, seed):
    scenario = scenario_with(paris_gb=paris_gb, virginia_gb=virginia_gb, growth=growth, lifetime=lifetime,
                             retention=retention, central_pue=1.1)
    scenario = scenario.model_copy(update={"seed": seed})
    result = evaluate_lifecycle(scenario, PROFILE, FACTORS, draws=500, sweeps=False)
    for label, interval in _intervals(result):
        assert interval.low <= interval.central <= interval.high, label


def test_intervals_are_wide_where_the_factors_disagree():
    """The network factor spans 60x: CL's data transfer interval must show it (not collapse)."""
    result = evaluate_lifecycle(scenario_with(paris_gb=1e4), PROFILE, FACTORS, draws=2000, sweeps=False)
    transfer = result.cl.stage("data_transfer").energy_kwh
    assert transfer.high / transfer.low > 5
