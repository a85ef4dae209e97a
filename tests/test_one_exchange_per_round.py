"""One exchange per round (a round's evaluation travelling with the next round's training, as one
bundle per silo) changes the transport only: the same model, ledger bytes and history as separate
exchanges, for stateful strategies too, also after a stop and resume; and a bundle's reply is read
as strictly as any reply.

Run in-process on the inline grid (the deployment runner's bundling is this code on Flower's grid).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from flwr.app import ArrayRecord, ConfigRecord, Context, Message, MetricRecord, RecordDict
from flwr.clientapp import ClientApp

from conftest import tiny_scenario
from simulator.flower.bundle import BUNDLE_KEY, BundlingGrid, answer_bundle, pack
from simulator.flower.client_app import make_client_app
from simulator.flower.flwr_internals import set_task_identity
from simulator.flower.inline_grid import InlineGrid
from simulator.flower.server_app import run_federation
from simulator.probes.energy import NullEnergyProbe, install_host_probe
from simulator.results.checkpoint import INTERRUPTED_DETAIL, read_checkpoint

ROUNDS = 3
COUNTRIES = ("FRA", "USA", "DEU", "SWE")
STRATEGIES = {
    "fedavg": {"name": "fedavg"},
    # Chooses silos in configure_train (and remembers them), compresses against per-silo replicas.
    "carbon_aware_topk": {"name": "carbon_aware", "fraction_train": 0.5, "compression": "topk", "topk_fraction": 0.2},
    "scaffold": {"name": "scaffold"},
    "fedadam_int8": {"name": "fedadam", "compression": "int8"},
    "dp_fixed_clipping": {"name": "dp_fixed_clipping", "noise_multiplier": 0.1, "clipping_norm": 1.0},
}


@pytest.fixture(autouse=True)
def no_energy_windows():
    install_host_probe(NullEnergyProbe())
    yield
    install_host_probe(None)


class CountingGrid(InlineGrid):
    """The inline grid, counting how many times messages are pushed (one push = one exchange)."""

    def __init__(self, *args, stop_at_push: int | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.pushes = 0
        self._stop_at_push = stop_at_push

    def push_messages(self, messages):
        self.pushes += 1
        if self.pushes == self._stop_at_push:
            raise KeyboardInterrupt("stopped mid-run")
        return super().push_messages(messages)


def _scenario(strategy: dict):
    silos = [{"name": f"silo{i}", "country": COUNTRIES[i], "share": 0.25} for i in range(4)]
    return tiny_scenario(strategy=strategy, silos=silos, training__rounds=ROUNDS)


def _federate(scenario, folder: Path, one_exchange: bool, stop_at_push: int | None = None):
    folder.mkdir(exist_ok=True)
    grid = CountingGrid(make_client_app(scenario), len(scenario.silos), stop_at_push=stop_at_push)
    node_to_silo = {node: scenario.silos[index].name for node, index in grid.node_to_partition.items()}
    try:
        outcome = run_federation(grid, scenario, folder, node_to_silo=node_to_silo, reply_poll_s=0.0,
                                 one_exchange_per_round=one_exchange)
    finally:
        grid.close()
    return outcome, grid.pushes


def _silo_rows(outcome) -> list[tuple]:
    return sorted(
        (row.silo, row.round, row.phase, row.bytes_down, row.bytes_up, row.num_examples, row.status)
        for row in outcome.ledger.rows
        if row.silo != "server"
    )


def _history(outcome) -> list[dict]:
    """The rounds' results, without the time each took."""
    return [record.model_dump(exclude={"elapsed_s"}) for record in outcome.rounds]


def _assert_same_model(first: dict, second: dict) -> None:
    assert list(first) == list(second)
    for key in first:
        assert torch.equal(torch.as_tensor(first[key]), torch.as_tensor(second[key])), key


@pytest.mark.parametrize("strategy", list(STRATEGIES.values()), ids=list(STRATEGIES))
def test_one_exchange_per_round_gives_the_model_bytes_and_history_of_two(tmp_path, strategy):
    scenario = _scenario(strategy)
    separate, separate_pushes = _federate(scenario, tmp_path / "two", one_exchange=False)
    bundled, bundled_pushes = _federate(scenario, tmp_path / "one", one_exchange=True)

    assert (separate_pushes, bundled_pushes) == (2 * ROUNDS, ROUNDS + 1)
    _assert_same_model(separate.final_state, bundled.final_state)
    assert _silo_rows(separate) == _silo_rows(bundled)  # every message's payload bytes, both ways
    assert _history(separate) == _history(bundled)


def test_with_a_target_accuracy_evaluations_past_the_budget_travel_alone(tmp_path):
    # Past the equal-budget rounds the run goes on only while the target is not reached, so round
    # r + 1 may be sent only once round r's evaluation is in: the same rounds, model and rows.
    scenario = tiny_scenario(silos=[{"name": f"silo{i}", "country": COUNTRIES[i], "share": 0.25} for i in range(4)],
                             training__rounds=2, training__target_accuracy=0.6, training__max_rounds=8)
    separate, separate_pushes = _federate(scenario, tmp_path / "two", one_exchange=False)
    bundled, bundled_pushes = _federate(scenario, tmp_path / "one", one_exchange=True)

    reached = len(separate.rounds)
    assert 2 < reached < 8, "the target should be reached past the budget, before max_rounds"
    assert separate_pushes == 2 * reached and bundled_pushes == 2 * reached - 1  # only round 1's rode along
    _assert_same_model(separate.final_state, bundled.final_state)
    assert _silo_rows(separate) == _silo_rows(bundled)
    assert _history(separate) == _history(bundled)


def test_a_stop_mid_run_resumes_to_the_uninterrupted_model(tmp_path):
    # Carbon-aware choice with a fairness floor of 2 rounds: configure_train records whom it chose, so
    # a checkpoint holding the strategy after round 2's configure_train would choose others on resume.
    scenario = _scenario({"name": "carbon_aware", "fraction_train": 0.5, "fairness_rounds": 2, "compression": "int8"})
    straight, _ = _federate(scenario, tmp_path / "straight", one_exchange=True)

    folder = tmp_path / "stopped"
    # Pushes: 1 train(1); 2 evaluate(1)+train(2); 3 evaluate(2)+train(3): stopped there, after round 1.
    with pytest.raises(KeyboardInterrupt):
        _federate(scenario, folder, one_exchange=True, stop_at_push=3)
    assert read_checkpoint(folder).completed_round == 1
    resumed, _ = _federate(scenario, folder, one_exchange=True)

    _assert_same_model(straight.final_state, resumed.final_state)
    assert _history(resumed) == _history(straight)
    # Round 2's training went out with round 1's evaluation before the stop: kept, marked, redone.
    interrupted = [row for row in resumed.ledger.rows if INTERRUPTED_DETAIL in row.detail]
    assert interrupted and {(row.round, row.phase) for row in interrupted if row.silo != "server"} == {(2, "train")}
    ok = {(row.silo, row.round, row.phase) for row in resumed.ledger.rows if row.status == "ok" and row.silo != "server"}
    assert ok == {(row[0], row[1], row[2]) for row in _silo_rows(straight)}


def _hostile_app(extra_key: str) -> ClientApp:
    """A silo whose bundle replies carry one more record than its parts."""

    class Hostile(ClientApp):
        def __call__(self, message: Message, context: Context) -> Message:
            reply = answer_bundle(message, context, lambda part, _: Message(
                RecordDict({"metrics": MetricRecord({"num-examples": 1})}), reply_to=part))
            reply.content[extra_key] = ConfigRecord({"raw-row": "5.1,3.5,1.4,0.2"})
            return reply

    return Hostile()


@pytest.mark.parametrize("extra_key", ["smuggled", "part9.arrays"])
def test_a_bundle_reply_with_a_record_of_no_part_is_refused_for_every_part(extra_key):
    grid = BundlingGrid(InlineGrid(_hostile_app(extra_key), 1))
    node = 101
    messages = [
        Message(RecordDict({"config": ConfigRecord({"server-round": 1})}), dst_node_id=node, message_type=kind)
        for kind in ("evaluate", "train")
    ]
    ids = list(grid.push_messages(messages))
    replies = list(grid.pull_messages(ids))
    assert [reply.metadata.reply_to_message_id for reply in replies] == ids
    assert all(reply.has_error() and "malformed bundle reply" in reply.error.reason for reply in replies)


def test_a_part_that_raises_becomes_an_error_part_and_the_next_part_still_runs():
    set_task_identity(task_id=1, run_id=1, node_id=1)
    contents = [RecordDict({"arrays": ArrayRecord()}), RecordDict({"arrays": ArrayRecord()})]
    bundle = Message(pack(contents, ConfigRecord({"message-types": ["evaluate", "train"]})), dst_node_id=5,
                     message_type="train.silocarbon_bundle")
    answered = []

    def answer(part: Message, context: Context) -> Message:
        answered.append(part.metadata.message_type)
        if part.metadata.message_type == "evaluate":
            raise RuntimeError("evaluation failed")
        return Message(RecordDict({"metrics": MetricRecord({"num-examples": 3})}), reply_to=part)

    context = Context(run_id=1, node_id=5, node_config={}, state=RecordDict(), run_config={})
    reply = answer_bundle(bundle, context, answer)
    assert answered == ["evaluate", "train"]  # in the order sent
    assert reply.content[BUNDLE_KEY]["parts"] == 2
    assert "RuntimeError: evaluation failed" in reply.content["part0.silocarbon.error"]["reason"]
    assert reply.content["part1.metrics"]["num-examples"] == 3


def test_send_and_receive_on_a_bundling_grid_returns_each_part_s_reply():
    grid = BundlingGrid(InlineGrid(_hostile_app("smuggled"), 1))
    messages = [
        Message(RecordDict({"config": ConfigRecord({"server-round": 1})}), dst_node_id=101, message_type=kind)
        for kind in ("evaluate", "train")
    ]
    replies = list(grid.send_and_receive(messages, timeout=30))
    assert sorted(reply.metadata.message_type for reply in replies) == ["evaluate", "train"]
    assert all(reply.has_error() and "malformed bundle reply" in reply.error.reason for reply in replies)
