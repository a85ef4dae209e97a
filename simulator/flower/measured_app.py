"""A user's own Flower app, measured: their ClientApp and ServerApp, unchanged, on the inline grid.

- Each silo's ClientApp call runs inside the measurement mod's window (silo energy, bytes, CPU time).
- Its cold start stays outside: before a silo's first message of each type, the app answers a copy of
  that message with the random generators saved and restored (a rehearsal whose reply is dropped), so
  data loading, lazy model set-up and torch's first optimizer step are paid before any window opens.
- The ServerApp gets a measured grid: every exchange becomes ledger rows and the server's own work
  between exchanges its rows, whatever the ServerApp does (Flower's strategies, or its own loop over
  `push_messages`/`pull_messages`); the measurement never reaches the app's strategy.
- `AppRounds` notes what the server sent (the rounds' train and evaluate content, the last model) and
  the metrics the silos returned, for the round history and the centralized twin
  (simulator.flower.app_centralized).

Rounds come from the `server-round` value Flower's strategies put in each message's config.
Accuracy and loss come from the silos' metric records: the first metric whose name contains `acc`
(accuracy) or `loss`, weighted by `num-examples`.
"""

from __future__ import annotations

import copy
import random
import time
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
from flwr.app import ArrayRecord, Context, Message, RecordDict
from flwr.serverapp import Grid

from simulator.flower.app_loading import FlowerApps
from simulator.flower.faults import message_round
from simulator.flower.flwr_internals import SUPERLINK_NODE_ID
from simulator.flower.inline_grid import InlineGrid
from simulator.flower.instrumentation import make_measurement_mod
from simulator.flower.measured_grid import MeasuredGrid
from simulator.flower.reply_check import array_layout
from simulator.flower.client_app import PARTITION_ID_KEY
from simulator.ledger import Ledger, LedgerRow
from simulator.progress import NULL_OBSERVER, RunObserver
from simulator.records.run import FederationOutcome, RoundRecord
from simulator.results.atomic import write_text_atomic
from simulator.results.run_dir import FL_LEDGER, write_federation_outcome
from simulator.scenario.schema import Scenario

# Flower's convention for an app's number of rounds (quickstart apps read it); for progress bars only.
ROUNDS_KEY = "num-server-rounds"
NUM_EXAMPLES_KEY = "num-examples"
# Flower's convention for an app's local epochs (quickstart apps read it from the run config).
LOCAL_EPOCHS_KEY = "local-epochs"
# How long the inline runner lets silo calls it stopped waiting for finish (as the scenario runners).
STRAY_CALL_WAIT_S = 300.0

ClientCall = Callable[[Message, Context], Message]


class RehearsedClientApp:
    """`call`, preceded once per (node, message type) by a rehearsal of `rehearse` on a copy of the
    message and context, with Python's, NumPy's and torch's random states restored afterwards, so the
    rehearsal changes nothing the measured call does."""

    def __init__(self, call: ClientCall, rehearse: ClientCall, enabled: bool = True):
        self._call = call
        self._rehearse = rehearse
        self._enabled = enabled
        self._rehearsed: set[tuple[int, str]] = set()

    def __call__(self, message: Message, context: Context) -> Message:
        key = (context.node_id, message.metadata.message_type)
        if self._enabled and key not in self._rehearsed:
            self._rehearsed.add(key)
            with random_states_kept():
                try:
                    self._rehearse(copy.deepcopy(message), copy.deepcopy(context))
                except Exception:  # noqa: BLE001  the measured call meets the same failure and records it
                    pass
        return self._call(message, context)


@contextmanager
def random_states_kept():
    """Python's, NumPy's and torch's global random states as they were on entry, after the block."""
    python_state, numpy_state = random.getstate(), np.random.get_state()
    with torch.random.fork_rng(devices=[]):
        try:
            yield
        finally:
            random.setstate(python_state)
            np.random.set_state(numpy_state)


def measured_client(apps: FlowerApps, silo_of: Callable[[Context], str], warm_up: bool = True) -> RehearsedClientApp:
    """The user's ClientApp inside the measurement mod, its cold start rehearsed outside the window."""
    measure = make_measurement_mod(silo_of)
    return RehearsedClientApp(lambda message, context: measure(message, context, apps.client), apps.client, warm_up)


@dataclass(frozen=True)
class SentRound:
    """What the server sent in one round's exchange of one kind, from its first message (Flower's
    strategies send every silo the same content): the message type, the records other than the model
    (configs, metrics), and the keys of the model's array records (not the arrays: one copy of the
    model per round would add up for large models)."""

    round: int
    message_type: str
    other_records: dict
    array_keys: tuple[str, ...]


class AppRounds(Grid):
    """The grid a user's ServerApp sees: the measured grid, plus notes of what went through it."""

    def __init__(self, measured: MeasuredGrid, timeout_s: float):
        self.measured = measured
        self.timeout_s = timeout_s  # for pushed messages (a strategy passes its own to send_and_receive)
        self.train: list[SentRound] = []
        self.evaluate: list[SentRound] = []
        self.initial_arrays: dict[str, ArrayRecord] | None = None  # the model of the first train message
        self.final_arrays: ArrayRecord | None = None  # the last model the server sent
        self._metrics: dict[int, dict[str, float | None]] = {}
        self._pulled: dict[str, Message] = {}
        self._started = time.perf_counter()

    # -- delegation -------------------------------------------------------------------------
    def set_run(self, run):  # type: ignore[no-untyped-def]
        self.measured.set_run(run)

    @property
    def run(self):  # type: ignore[no-untyped-def]
        return self.measured.run

    def create_message(self, content, message_type, dst_node_id, group_id, ttl=None):  # type: ignore[no-untyped-def]
        return self.measured.create_message(content, message_type, dst_node_id, group_id, ttl)

    def get_node_ids(self) -> Iterable[int]:
        return self.measured.get_node_ids()

    # -- every exchange measured ----------------------------------------------------------
    def send_and_receive(self, messages: Iterable[Message], *, timeout: float | None = None) -> Iterable[Message]:
        messages = list(messages)
        if not messages:
            return []
        self._note_sent(messages)
        replies = list(self.measured.send_and_receive(messages, timeout=timeout))
        self._note_replies(messages[0], replies)
        return replies

    def push_messages(self, messages: Iterable[Message]) -> Iterable[str]:
        # The inline grid answers as it receives, so a push is a whole measured exchange whose replies
        # wait here to be pulled: an app with its own loop is measured like one using a strategy.
        messages = list(messages)
        for reply in self.send_and_receive(messages, timeout=self.timeout_s):
            self._pulled[reply.metadata.reply_to_message_id] = reply
        return [message.metadata.message_id for message in messages]

    def pull_messages(self, message_ids: Iterable[str]) -> Iterable[Message]:
        return [self._pulled.pop(message_id) for message_id in message_ids if message_id in self._pulled]

    # -- notes -------------------------------------------------------------------------------
    def _note_sent(self, messages: list[Message]) -> None:
        first = messages[0]
        for record in first.content.array_records.values():
            if not self.measured.model_dtypes:
                # The reply screening compares returned arrays with the model's own dtypes.
                self.measured.model_dtypes = {name: dtype for name, (_, dtype) in array_layout(record).items()}
            self.final_arrays = record
            break
        phase = first.metadata.message_type.split(".")[0]
        arrays = first.content.array_records
        sent = SentRound(
            message_round(first),
            first.metadata.message_type,
            {key: copy.deepcopy(record) for key, record in first.content.items() if key not in arrays},
            tuple(arrays),
        )
        if phase == "train":
            if self.initial_arrays is None:
                self.initial_arrays = {key: copy.deepcopy(record) for key, record in arrays.items()}
            self.train.append(sent)
        elif phase == "evaluate":
            self.evaluate.append(sent)

    def _note_replies(self, first: Message, replies: list[Message]) -> None:
        phase = first.metadata.message_type.split(".")[0]
        round_number = message_round(first)
        metrics = self._metrics.setdefault(round_number, {})
        if phase == "train":
            metrics["train_loss"] = weighted_metric(replies, "loss")
        elif phase == "evaluate":
            metrics["accuracy"] = weighted_metric(replies, "acc")
            metrics["eval_loss"] = weighted_metric(replies, "loss")
            metrics["elapsed_s"] = time.perf_counter() - self._started

    def round_records(self) -> list[RoundRecord]:
        return [RoundRecord(round=number, **values) for number, values in sorted(self._metrics.items())]


def weighted_metric(replies: Iterable[Message], fragment: str) -> float | None:
    """The mean, weighted by `num-examples`, of the first metric whose name contains `fragment` in
    each answering silo's metric records; None when no silo returned one."""
    total, weight = 0.0, 0.0
    for reply in replies:
        if reply.has_error():
            continue
        for record in reply.content.metric_records.values():
            name = next((key for key in record if fragment in key.lower() and key != NUM_EXAMPLES_KEY), None)
            if name is None:
                continue
            examples = float(record.get(NUM_EXAMPLES_KEY, 1.0))
            total += float(record[name]) * examples
            weight += examples
            break
    return total / weight if weight > 0 else None


def app_local_epochs(run_config: dict) -> int:
    """The local epochs an app states in its run config (`local-epochs`, a whole number >= 1), else 1."""
    value = run_config.get(LOCAL_EPOCHS_KEY, 1)
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 1 else 1


def with_app_sample_updates(row: LedgerRow, local_epochs: int) -> LedgerRow:
    """A train row whose window counted no sample updates (the app trains with its own loop, not
    silocarbon's, which counts them as it goes): the `num-examples` it reported x its local epochs."""
    if row.phase != "train" or row.status != "ok" or row.sample_updates > 0:
        return row
    return replace(row, sample_updates=row.num_examples * local_epochs)


@dataclass(frozen=True)
class AppFederation:
    outcome: FederationOutcome
    rounds: AppRounds


def run_app_federation(
    apps: FlowerApps,
    scenario: Scenario,
    run_dir: Path,
    *,
    warm_up: bool = True,
    observer: RunObserver = NULL_OBSERVER,
) -> AppFederation:
    """Run the user's ServerApp over the scenario's silos on the inline grid; write the FL part of the
    run folder (fl_ledger.csv after every exchange, fl_history.json, final_model.pt)."""
    wall_start = time.perf_counter()
    names = scenario.silo_names
    local_epochs = app_local_epochs(apps.run_config)

    def app_ledger(rows: list[LedgerRow]) -> Ledger:
        return Ledger([with_app_sample_updates(row, local_epochs) for row in rows])

    client = measured_client(apps, lambda context: names[int(context.node_config[PARTITION_ID_KEY])], warm_up)
    grid = InlineGrid(client, len(names), run_config=apps.run_config)
    measured = MeasuredGrid(
        grid,
        node_to_silo={node: names[index] for node, index in grid.node_to_partition.items()},
        silo_countries={silo.name: silo.country for silo in scenario.silos},
        server_country=scenario.aggregator_country,
        apportion_host_energy=False,
        on_rows=lambda rows: write_text_atomic(run_dir / FL_LEDGER, app_ledger(rows).to_csv_text()),
        observer=observer,
        app_metrics=True,
    )
    rounds = AppRounds(measured, scenario.training.round_timeout_s)
    context = Context(
        run_id=1, node_id=SUPERLINK_NODE_ID, node_config={}, state=RecordDict(), run_config=dict(apps.run_config)
    )
    observer.federation_started(int(apps.run_config.get(ROUNDS_KEY, 0) or 0), names)
    try:
        apps.server(rounds, context)
    finally:
        measured.close_server_window()
        write_text_atomic(run_dir / FL_LEDGER, app_ledger(measured.rows).to_csv_text())
        grid.wait_for_stray_calls(STRAY_CALL_WAIT_S)
        grid.close()
    observer.federation_finished()
    if rounds.final_arrays is None:
        from simulator.errors import InputError

        raise InputError(f"--app '{apps.server_ref}': the ServerApp sent no model to the silos; nothing to measure")
    outcome = FederationOutcome(
        final_state=rounds.final_arrays.to_torch_state_dict(),
        rounds=rounds.round_records(),
        ledger=app_ledger(measured.rows),
        wall_s=time.perf_counter() - wall_start,
    )
    write_federation_outcome(run_dir, outcome)
    return AppFederation(outcome, rounds)
