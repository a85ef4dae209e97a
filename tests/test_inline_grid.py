"""What the inline runner relies on in Flower 1.42, pinned: a real ClientApp driven through our
Grid, error replies for a raising ClientApp, replies that cannot alias the server's arrays."""

from __future__ import annotations

import numpy as np
from flwr.app import Array, ArrayRecord, ConfigRecord, Message, MetricRecord, RecordDict
from flwr.clientapp import ClientApp

from simulator.flower.inline_grid import FIRST_NODE_ID, InlineGrid


def _echo_app() -> ClientApp:
    app = ClientApp()

    @app.train()
    def train(message, context):
        arrays = message.content.array_records["arrays"]
        array = arrays["w"].numpy()
        array += 1.0  # would corrupt the server's copy if messages were shared
        partition = int(context.node_config["partition-id"])
        context.state["calls"] = MetricRecord({"n": int(context.state.get("calls", MetricRecord({"n": 0}))["n"]) + 1})
        if partition == 1 and int(message.content.config_records["config"]["server-round"]) == 2:
            raise RuntimeError("disk full")
        content = RecordDict({"arrays": ArrayRecord({"w": Array(array)}),
                              "metrics": MetricRecord({"partition": partition})})
        return Message(content=content, reply_to=message)

    return app


def _messages(grid: InlineGrid, round_number: int, weights: np.ndarray):
    record = RecordDict({"arrays": ArrayRecord({"w": Array(weights)}),
                         "config": ConfigRecord({"server-round": round_number})})
    return [Message(content=record, dst_node_id=node, message_type="train") for node in grid.get_node_ids()]


def test_inline_grid_delivers_to_each_node_and_keeps_context():
    grid = InlineGrid(_echo_app(), num_silos=3)
    weights = np.zeros(4, dtype=np.float32)
    replies = list(grid.send_and_receive(_messages(grid, 1, weights)))
    assert [r.metadata.src_node_id for r in replies] == [FIRST_NODE_ID, FIRST_NODE_ID + 1, FIRST_NODE_ID + 2]
    assert [int(r.content.metric_records["metrics"]["partition"]) for r in replies] == [0, 1, 2]
    assert np.all(weights == 0.0), "a silo changed the server's array in place"
    assert all(np.all(r.content.array_records["arrays"]["w"].numpy() == 1.0) for r in replies)


def test_a_raising_client_app_gives_an_error_reply():
    grid = InlineGrid(_echo_app(), num_silos=2)
    weights = np.zeros(2, dtype=np.float32)
    list(grid.send_and_receive(_messages(grid, 1, weights)))
    replies = list(grid.send_and_receive(_messages(grid, 2, weights)))
    assert not replies[0].has_error()
    assert replies[1].has_error() and "disk full" in replies[1].error.reason
    assert replies[1].metadata.reply_to_message_id != ""
