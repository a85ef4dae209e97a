"""Every registered strategy runs end to end; our FedAvg equals Flower's FedAvg used directly."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch
from flwr.app import ArrayRecord, ConfigRecord
from flwr.serverapp.strategy import FedAvg

from conftest import run_cli, tiny_scenario
from simulator.scenario.schema import StrategyConfig
from simulator.data.registry import load_dataset
from simulator.errors import InputError
from simulator.flower.client_app import make_client_app
from simulator.flower.inline_grid import InlineGrid
from simulator.flower.runners import run_inline
from simulator.flower.server_app import run_federation
from simulator.models import build_model
from strategies.registry import build_strategy, checked_parameters, registered_strategies

FLOWER_STRATEGIES = ("fedavg", "fedprox", "fedadam", "fedyogi", "fedadagrad", "fedavgm", "fedmedian",
                     "fedtrimmedavg", "krum", "multikrum", "bulyan", "qfedavg", "dp_fixed_clipping",
                     "dp_adaptive_clipping")
OURS = ("carbon_aware", "scaffold")
COUNTRIES = ("FRA", "USA", "DEU", "SWE", "POL", "IND")


def silos(count: int) -> list[dict]:
    return [{"name": f"silo{i}", "country": COUNTRIES[i], "share": 1.0 / count} for i in range(count)]


def test_registry_holds_flowers_strategies_and_ours():
    assert set(registered_strategies()) == set(FLOWER_STRATEGIES) | set(OURS)


@pytest.mark.parametrize("name", sorted(set(FLOWER_STRATEGIES) | set(OURS)))
def test_every_strategy_runs_end_to_end(name, tmp_path):
    spec = registered_strategies()[name]
    count = max(2, spec.min_silos)
    scenario = tiny_scenario(strategy={"name": name}, silos=silos(count))
    outcome = run_inline(scenario, tmp_path)
    assert len(outcome.rounds) == 2
    assert all(r.accuracy is not None and 0.0 <= r.accuracy <= 1.0 for r in outcome.rounds)
    trained = {row.silo for row in outcome.ledger.rows if row.phase == "train" and row.status == "ok"}
    assert trained  # at least one silo trained and its reply was measured
    assert all(row.bytes_up > 0 for row in outcome.ledger.rows if row.phase == "train")
    # The model changed: the strategy aggregated something.
    initial = build_model(scenario.model, load_dataset(scenario.data, scenario.seed), scenario.seed).state_dict()
    assert any(not torch.equal(initial[k], torch.as_tensor(outcome.final_state[k]).to(initial[k].dtype))
               for k in initial)


def test_fedavg_through_registry_equals_flowers_fedavg(tmp_path):
    scenario = tiny_scenario()
    ours = run_federation(InlineGrid(make_client_app(scenario), 2), scenario, tmp_path)

    model = build_model(scenario.model, load_dataset(scenario.data, scenario.seed), scenario.seed)
    random.seed(scenario.seed)
    direct = FedAvg(min_train_nodes=2, min_evaluate_nodes=2, min_available_nodes=2).start(
        grid=InlineGrid(make_client_app(scenario), 2),
        initial_arrays=ArrayRecord(model.state_dict()),
        num_rounds=scenario.training.rounds,
        train_config=ConfigRecord({"local-epochs": scenario.training.local_epochs}),
        evaluate_config=ConfigRecord(),
    )
    theirs = direct.arrays.to_torch_state_dict()
    assert list(ours.final_state) == list(theirs)
    for key in theirs:
        assert torch.equal(torch.as_tensor(ours.final_state[key]), theirs[key]), key


def test_same_seed_same_model_with_compression_and_selection(tmp_path):
    scenario = tiny_scenario(strategy={"name": "carbon_aware", "compression": "topk", "topk_fraction": 0.2},
                             silos=silos(4))
    first = run_inline(scenario, tmp_path / "a")
    second = run_inline(scenario, tmp_path / "b")
    for key in first.final_state:
        assert torch.equal(torch.as_tensor(first.final_state[key]), torch.as_tensor(second.final_state[key]))
    assert first.ledger.totals("fl").bytes_up == second.ledger.totals("fl").bytes_up


@pytest.mark.parametrize(
    ("parameters", "key"),
    [
        ({"name": "fedavg", "compression": "zip"}, "strategy.compression"),
        ({"name": "fedavg", "topk_fraction": 0.0}, "strategy.topk_fraction"),
        ({"name": "fedprox", "proximal_mu": "strong"}, "strategy.proximal_mu"),
        ({"name": "krum", "speed": 3}, "strategy.speed"),
        ({"name": "dp_fixed_clipping", "base": "scaffold"}, "strategy.base"),
        ({"name": "fedtrimmedavg", "beta": 0.7}, "fedtrimmedavg"),
        ({"name": "nosuch"}, "strategy.name"),
    ],
)
def test_bad_strategy_parameters_are_refused_by_name(parameters, key):
    config = StrategyConfig(**parameters)
    with pytest.raises(InputError) as refused:
        checked_parameters(config)
        build_strategy(config, 5, tiny_scenario(silos=silos(5)).silos)
    assert key in str(refused.value) and "\n" not in str(refused.value)


def test_too_few_silos_for_bulyan_is_refused():
    with pytest.raises(InputError, match="bulyan.*at least 3 silos"):
        build_strategy(StrategyConfig(name="bulyan"), 2)


def test_strategies_command_lists_every_strategy_with_parameters(tmp_path):
    done = run_cli("strategies", cwd=tmp_path, env={"COLUMNS": "200"})
    assert done.returncode == 0, done.stderr
    for name in (*FLOWER_STRATEGIES, *OURS):
        assert name in done.stdout
    assert "proximal_mu = 0.1" in done.stdout and "fairness_rounds = 3" in done.stdout
    assert "compression = 'none'" in done.stdout


def test_run_with_unknown_compression_exits_2(tmp_path):
    done = run_cli("run", "--set", "strategy.compression=zip", cwd=tmp_path)
    assert done.returncode == 2
    assert "strategy.compression" in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "runs").exists()


def test_scaffold_keeps_a_control_variate_per_silo(tmp_path):
    scenario = tiny_scenario(strategy={"name": "scaffold"}, data={"dataset": "digits", "partition": "dirichlet",
                                                                  "alpha": 0.3, "test_fraction": 0.2})
    grid = InlineGrid(make_client_app(scenario), 2)
    run_federation(grid, scenario, tmp_path)
    controls = [np.concatenate([a.numpy().ravel() for a in ctx.state["silocarbon.scaffold-control"].values()])
                for ctx in grid._contexts.values()]
    assert len(controls) == 2 and not np.allclose(controls[0], controls[1])
    assert all(np.abs(c).sum() > 0 for c in controls)
