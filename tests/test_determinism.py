"""Same scenario and seed: identical final weights and an identical ledger apart from time and
energy; the inline and ray runners agree on the final weights."""

from __future__ import annotations

import torch

from simulator.pipeline import run_scenario
from tests.conftest import tiny_scenario

MEASURED_COLUMNS = {"wall_s", "cpu_s", "energy_kwh", "energy_cpu_kwh", "energy_ram_kwh", "energy_gpu_kwh",
                    "co2_kg", "energy_method", "detail", "host_energy_kwh", "host_energy_cpu_kwh",
                    "host_energy_ram_kwh", "host_energy_gpu_kwh", "host_energy_method"}  # sample_updates: compared


def _without_measured(rows):
    return [{k: v for k, v in vars(row).items() if k not in MEASURED_COLUMNS} for row in rows]


def test_same_seed_gives_same_weights_and_ledger(tmp_path):
    scenario = tiny_scenario(model__name="mlp", training__rounds=3, data__partition="dirichlet", data__alpha=0.5)
    first = run_scenario(scenario, tmp_path / "a")
    second = run_scenario(scenario, tmp_path / "b")
    for name, tensor in first.fl.final_state.items():
        assert torch.equal(tensor, second.fl.final_state[name]), name
    for name, tensor in first.cl.model.state_dict().items():
        assert torch.equal(tensor, second.cl.model.state_dict()[name]), name
    assert _without_measured(first.ledger.rows) == _without_measured(second.ledger.rows)
    assert first.summary.fl.accuracy == second.summary.fl.accuracy
    assert first.summary.cl.accuracy == second.summary.cl.accuracy


def test_another_seed_gives_other_weights(tmp_path):
    first = run_scenario(tiny_scenario(), tmp_path / "a")
    other = run_scenario(tiny_scenario(seed=1), tmp_path / "b")
    assert not torch.equal(first.fl.final_state["weight"], other.fl.final_state["weight"])


def test_inline_and_ray_runners_agree(tmp_path, capfd):
    inline = run_scenario(tiny_scenario(), tmp_path / "inline")
    capfd.readouterr()
    ray = run_scenario(tiny_scenario(runner="ray"), tmp_path / "ray")
    # Neither Flower's run_simulation deprecation nor Ray's GPU tip is printed (tests/test_ray_quiet.py).
    printed = "".join(capfd.readouterr())
    assert "DEPRECATED FEATURE" not in printed and "RAY_ACCEL_ENV_VAR_OVERRIDE_ON_ZERO" not in printed
    for name, tensor in inline.fl.final_state.items():
        assert torch.allclose(tensor, ray.fl.final_state[name], atol=1e-5, rtol=0), name
    ray_silo_rows = [r for r in ray.ledger.rows if r.approach == "fl" and r.silo != "server"]
    assert ray_silo_rows and all(r.energy_method == "apportioned" for r in ray_silo_rows)
