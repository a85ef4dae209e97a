"""The shipped enterprise scenario shows what the lifecycle model is for: training alone costs FL and
CL about the same; CL's data transfer and storage make the difference."""

from __future__ import annotations

from conftest import REPO_ROOT

from simulator.scenario.load import load_scenario
from simulator.lifecycle import evaluate_lifecycle


def test_enterprise_training_is_comparable_and_transfer_plus_storage_is_the_difference():
    scenario = load_scenario(REPO_ROOT / "configs" / "enterprise.toml")
    assert len({silo.country for silo in scenario.silos}) >= 4  # several regions
    assert sum(silo.data_gb for silo in scenario.lifecycle.silos) >= 10_000  # terabytes
    assert scenario.lifecycle.lifetime_months >= 36  # years of life
    result = evaluate_lifecycle(scenario, draws=500, sweeps=False)
    fl_training, cl_training = result.fl.stage("training"), result.cl.stage("training")
    for quantity in ("energy_kwh", "co2_kg"):
        ratio = getattr(cl_training, quantity).central / getattr(fl_training, quantity).central
        assert 0.1 < ratio < 10, (quantity, ratio)  # the same order of magnitude
    difference = result.cl.total.co2_kg.central - result.fl.total.co2_kg.central
    transfer_and_storage = sum(result.cl.stage(s).co2_kg.central for s in ("data_transfer", "data_storage"))
    assert difference > 0
    assert transfer_and_storage > 0.5 * difference
