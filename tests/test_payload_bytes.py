"""The byte ledger is exact: a round's bytes follow from the model's parameters and the silos.

Documented payload (simulator/flower/payload.py): per array, NumPy's .npy serialization (a 128-byte
header for these arrays, then the raw data) plus the array's key; per config/metric value, 8 bytes
(numbers) plus the key. Worked out here without asking Flower.
"""

from __future__ import annotations

from simulator.ledger import APPROACH_FL, SERVER_SILO
from simulator.pipeline import run_scenario
from tests.conftest import tiny_scenario

NPY_HEADER_BYTES = 128  # .npy format 1.0 header, padded to 64-byte alignment: 128 for small shapes
FLOAT32_BYTES = 4
NUMBER_BYTES = 8


def expected_array_bytes(named_shapes: dict[str, tuple[int, ...]]) -> int:
    total = 0
    for name, shape in named_shapes.items():
        count = 1
        for dim in shape:
            count *= dim
        total += NPY_HEADER_BYTES + FLOAT32_BYTES * count + len(name)
    return total


def record_bytes(keys: list[str]) -> int:
    return sum(NUMBER_BYTES + len(key) for key in keys)


def test_round_bytes_follow_from_parameter_count(tmp_path):
    scenario = tiny_scenario(model__name="mlp", model__hidden_units=16)
    result = run_scenario(scenario, tmp_path / "runs")
    # digits: 64 features, 10 classes; MLP keys as torch names them in nn.Sequential.
    arrays = expected_array_bytes({"0.weight": (16, 64), "0.bias": (16,), "2.weight": (10, 16), "2.bias": (10,)})
    silos = len(scenario.silos)
    train_down = arrays + record_bytes(["local-epochs", "server-round"])
    train_up = arrays + record_bytes(["num-examples", "train-loss"])
    eval_down = arrays + record_bytes(["server-round"])
    eval_up = record_bytes(["num-examples", "eval-loss", "eval-acc"])
    for round_number in (1, 2):
        rows = [r for r in result.ledger.select(approach=APPROACH_FL) if r.round == round_number and r.silo != SERVER_SILO]
        train = [r for r in rows if r.phase == "train"]
        evaluate = [r for r in rows if r.phase == "evaluate"]
        assert len(train) == len(evaluate) == silos
        assert sum(r.bytes_down for r in train) == silos * train_down
        assert sum(r.bytes_up for r in train) == silos * train_up
        assert sum(r.bytes_down for r in evaluate) == silos * eval_down
        assert sum(r.bytes_up for r in evaluate) == silos * eval_up
    totals = result.ledger.totals(APPROACH_FL)
    assert totals.bytes_down == 2 * silos * (train_down + eval_down)
    assert totals.bytes_up == 2 * silos * (train_up + eval_up)
    assert result.summary.fl.bytes_down == totals.bytes_down
    assert result.summary.cl.bytes_down == 0 and result.summary.cl.bytes_up == 0
