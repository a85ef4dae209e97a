"""A silo's raw data never leaves it: the server refuses any reply whose arrays are not the model's
(an extra array, a wrong shape or dtype), records the refusal in the ledger, and aggregates the rest."""

from __future__ import annotations

import numpy as np
from flwr.app import Array, ArrayRecord, ConfigRecord, Message, MetricRecord, RecordDict
from flwr.clientapp import ClientApp

from simulator.scenario.schema import Scenario
from simulator.data import build_federated_data
from simulator.flower.client_app import make_client_app
from simulator.flower.inline_grid import InlineGrid
from simulator.flower.reply_check import reply_problem
from simulator.flower.server_app import run_federation
from tests.conftest import tiny_scenario

TAMPERING_PARTITION = 1


def make_tampering_client_app(scenario: Scenario) -> ClientApp:
    """The honest ClientApp, except that silo 1 slips its first training rows out as an extra array."""
    honest = make_client_app(scenario)
    app = ClientApp()

    @app.train()
    def train(message: Message, context) -> Message:
        reply = honest(message, context)
        if int(context.node_config["partition-id"]) == TAMPERING_PARTITION and not reply.has_error():
            raw_rows = build_federated_data(scenario).silos[TAMPERING_PARTITION].train_x[:20]
            reply.content.array_records["arrays"]["smuggled"] = Array(np.ascontiguousarray(raw_rows))
        return reply

    @app.evaluate()
    def evaluate(message: Message, context) -> Message:
        return honest(message, context)

    return app


def test_a_tampering_silo_is_refused_and_recorded(tmp_path):
    scenario = tiny_scenario(probes__energy=False)
    grid = InlineGrid(make_tampering_client_app(scenario), len(scenario.silos))
    node_to_silo = {node: scenario.silos[index].name for node, index in grid.node_to_partition.items()}
    outcome = run_federation(grid, scenario, tmp_path, node_to_silo=node_to_silo)

    tampering = scenario.silos[TAMPERING_PARTITION].name
    train_rows = [r for r in outcome.ledger.rows if r.silo == tampering and r.phase == "train"]
    assert [r.status for r in train_rows] == ["failed", "failed"]
    assert all("reply refused: array record 'arrays' has extra arrays smuggled" in r.detail for r in train_rows)
    assert all(r.bytes_up > 0 for r in train_rows)  # it did send them: the bytes are counted
    honest_rows = [r for r in outcome.ledger.rows if r.silo == scenario.silos[0].name]
    assert all(r.status == "ok" for r in honest_rows)
    # The model went on from the honest silo's updates alone, and has only the model's arrays.
    assert set(outcome.final_state) == {"weight", "bias"}
    assert "reply refused" in (tmp_path / "fl_ledger.csv").read_text()


def _sent() -> RecordDict:
    return RecordDict({
        "arrays": ArrayRecord({"w": Array(np.zeros((3, 2), dtype=np.float32)), "b": Array(np.zeros(2, np.float32))}),
        "config": ConfigRecord({"server-round": 1}),
    })


def _reply(**arrays) -> RecordDict:
    layout = {"w": np.ones((3, 2), np.float32), "b": np.ones(2, np.float32), **arrays}
    return RecordDict({
        "arrays": ArrayRecord({name: Array(value) for name, value in layout.items() if value is not None}),
        "metrics": MetricRecord({"num-examples": 10, "train-loss": 0.5}),
    })


def _train_problem(sent, reply, model_dtypes=None):
    return reply_problem("train", sent, reply, model_dtypes)


def test_reply_problem_names_what_does_not_fit():
    assert _train_problem(_sent(), _reply()) is None
    assert "extra arrays x" in _train_problem(_sent(), _reply(x=np.ones(1, np.float32)))
    assert "shape [4, 2]; the model's is [3, 2]" in _train_problem(_sent(), _reply(w=np.ones((4, 2), np.float32)))
    assert "dtype float64; the model's is float32" in _train_problem(_sent(), _reply(b=np.ones(2, np.float64)))
    # The server may send a widened dtype (FedAdam's float64); the model's own dtype comes back.
    widened = RecordDict({"arrays": ArrayRecord({"w": Array(np.zeros((3, 2))), "b": Array(np.zeros(2))})})
    assert _train_problem(widened, _reply(), {"w": "float32", "b": "float32"}) is None
    assert "dtype int64" in _train_problem(widened, _reply(b=np.ones(2, np.int64)), {"w": "float32", "b": "float32"})
    assert "lacks the model's arrays b" in _train_problem(_sent(), _reply(b=None))
    extra_record = _reply()
    extra_record["more"] = ArrayRecord({"w": Array(np.ones((3, 2), np.float32))})
    assert "unexpected array record 'more'" in _train_problem(_sent(), extra_record)
    config = _reply()
    config["notes"] = ConfigRecord({"rows": b"raw bytes"})
    assert "unexpected config record 'notes'" in _train_problem(_sent(), config)
    listed = _reply()
    listed["metrics"]["train-loss"] = [1.0, 2.0, 3.0]
    assert "metric 'metrics.train-loss' is a list" in _train_problem(_sent(), listed)
    unnamed = _reply()
    unnamed["metrics"]["row-0"] = 0.25
    assert "metric 'metrics.row-0' is not one a train reply may carry" in _train_problem(_sent(), unnamed)
    # Records derived from what the server sent pass only under the scheme that makes them (the
    # codecs' top-k values and indices, int8 ranges) or when their base was sent (SCAFFOLD's delta),
    # name only the model's arrays and are no larger.
    topk = _sent()
    topk["config"]["compression"] = "topk"
    derived = _reply(w=None)
    derived["arrays.topk-values"] = ArrayRecord({"w": Array(np.ones(2, np.float32))})
    derived["arrays.topk-indices"] = ArrayRecord({"w": Array(np.arange(2, dtype=np.int32))})
    assert _train_problem(topk, derived) is None
    assert "unexpected array record 'arrays.topk-values'" in _train_problem(_sent(), derived)
    derived["arrays.topk-values"] = ArrayRecord({"w": Array(np.ones(7, np.float32))})
    assert "at most 6 values" in _train_problem(topk, derived)
    derived["arrays.topk-values"] = ArrayRecord({"w": Array(np.ones(2, np.float32)), "rows": Array(np.ones(2, np.float32))})
    assert "extra arrays rows" in _train_problem(topk, derived)
    invented = _reply()
    invented["arrays.topk-range"] = ConfigRecord({"w": [0.0, 0.1]})
    assert "unexpected config record 'arrays.topk-range'" in _train_problem(topk, invented)
    int8 = _sent()
    int8["config"]["compression"] = "int8"
    ranged = _reply()
    ranged["arrays.int8-range"] = ConfigRecord({"w": [0.0, 0.1]})
    assert _train_problem(int8, ranged) is None
    ranged["arrays.int8-range"] = ConfigRecord({"w": list(range(50))})
    assert "must hold 2 finite numbers" in _train_problem(int8, ranged)
