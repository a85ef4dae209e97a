"""Strategy state as data (strategies/state.py): everything a round changes in any registered strategy
is carried through a checkpoint written and read as tensors and JSON (or declared as needing no
carrying), and a run with strategy state stopped after round 1 and resumed from its checkpoint ends
with the model of an uninterrupted run. SCAFFOLD is the exception by design: its silos' c_i live in
the silos and restart on resume; its server state is still carried (checked here too)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from flwr.app import ArrayRecord
from flwr.serverapp.strategy import Strategy

import simulator.flower.server_app as server_app
from simulator.flower.runners import run_inline
from simulator.results.checkpoint import read_checkpoint
from strategies.registry import build_strategy, registered_strategies
from strategies.state import export_state, import_state, not_carried
from tests.conftest import tiny_scenario

COUNTRIES = ("FRA", "USA", "DEU", "SWE", "POL")
# Parameters that make round 2 depend on round 1's state (carbon_aware: the fairness floor).
PARAMETERS = {"carbon_aware": {"fairness_rounds": 2}}
CASES = [{"name": name, **PARAMETERS.get(name, {})} for name in registered_strategies()] + [
    {"name": "fedadam", "compression": "int8"},  # a wrapper's inner state travels too
    {"name": "fedavg", "compression": "topk"},  # silo-held replicas and residuals restart on resume
]


def _keeps_silo_state(strategy: dict) -> bool:
    """State the silos keep themselves (SCAFFOLD's c_i, top-k's replicas): a resume is not bit-identical."""
    return strategy["name"] == "scaffold" or strategy.get("compression") == "topk"


def _scenario(strategy: dict, rounds: int):
    count = max(2, registered_strategies()[strategy["name"]].min_silos)
    silos = [{"name": f"silo{i}", "country": COUNTRIES[i], "share": 1.0 / count} for i in range(count)]
    return tiny_scenario(strategy=strategy, silos=silos, training__rounds=rounds)


def _run(scenario, folder):
    return run_inline(scenario, folder)


@pytest.mark.parametrize("strategy", CASES, ids=lambda s: "-".join(str(v) for v in s.values()))
def test_state_is_carried_whole_and_a_resumed_run_ends_as_a_straight_one(strategy, tmp_path, monkeypatch):
    built: list[Strategy] = []

    def spy(*args, **kwargs):  # the real factory; the test keeps the objects it built
        built.append(build_strategy(*args, **kwargs))
        return built[-1]

    monkeypatch.setattr(server_app, "build_strategy", spy)
    straight = _run(_scenario(strategy, 2), tmp_path / "straight")
    after_two_rounds = built[-1]

    exported = export_state(after_two_rounds)
    if exported.arrays or exported.values or _keeps_silo_state(strategy):
        # Round 1, then a fresh strategy object (and fresh silos) continue from the folder's checkpoint.
        _run(_scenario(strategy, 1), tmp_path / "resumed")
        resumed = _run(_scenario(strategy, 2), tmp_path / "resumed")
        assert [r.round for r in resumed.rounds] == [1, 2]
        if not _keeps_silo_state(strategy):
            for name, tensor in straight.final_state.items():
                assert torch.equal(torch.as_tensor(tensor), torch.as_tensor(resumed.final_state[name])), name

    # Whole: everything a round changed is carried, or declared as needing no carrying.
    restored = _scenario(strategy, 2)
    fresh = build_strategy(restored.strategy, len(restored.silos), restored.silos, restored.training.learning_rate)
    untouched = build_strategy(restored.strategy, len(restored.silos), restored.silos, restored.training.learning_rate)
    checkpoint = read_checkpoint(tmp_path / "straight")  # written as tensors + JSON, read back
    assert checkpoint.completed_round == 2 and checkpoint.strategy_problem == ""
    import_state(fresh, checkpoint.strategy_state)
    _assert_carried(after_two_rounds, fresh, untouched)


def _assert_carried(ran: Strategy, restored: Strategy, untouched: Strategy, path: str = "") -> None:
    for attribute, value in vars(ran).items():
        where = f"{path}{type(ran).__name__}.{attribute}"
        if isinstance(value, Strategy):
            _assert_carried(value, getattr(restored, attribute), getattr(untouched, attribute), f"{where}.")
        elif not _same(value, getattr(untouched, attribute)) and attribute not in not_carried(ran):
            assert _same(value, getattr(restored, attribute)), f"{where} changed in a round but was not carried"


def _same(a, b) -> bool:  # type: ignore[no-untyped-def]
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.dtype == b.dtype and np.array_equal(a, b)
    if isinstance(a, ArrayRecord) or isinstance(b, ArrayRecord):
        return (isinstance(a, ArrayRecord) and isinstance(b, ArrayRecord) and list(a) == list(b)
                and all(_same(a[k].numpy(), b[k].numpy()) for k in a))
    if isinstance(a, dict) and isinstance(b, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return a == b


def test_state_export_holds_only_arrays_and_json_values():
    scenario = _scenario({"name": "fedavgm"}, 1)
    strategy = build_strategy(scenario.strategy, 2, scenario.silos)
    strategy.momentum_vector = [np.ones((2, 3), dtype=np.float32), np.zeros(3, dtype=np.float32)]
    state = export_state(strategy)
    assert state.values == {"current_arrays": None, "momentum_vector": ["0", "1"]}
    assert set(state.arrays) == {"momentum_vector/0", "momentum_vector/1"}
    again = build_strategy(scenario.strategy, 2, scenario.silos)
    import_state(again, state)
    assert [a.shape for a in again.momentum_vector] == [(2, 3), (3,)]
