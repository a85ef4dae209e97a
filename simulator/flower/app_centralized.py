"""The centralized twin of a user's Flower app: their own ClientApp as one silo holding all the data.

The twin is the app's ClientApp with node config `partition-id = 0`, `num-partitions = 1` (an app that
splits its data by `num-partitions`, as Flower's partitioners do, then sees all of it), sent what the
federation's server sent, in order: each round's train content with the twin's current model in
place of the federation's, and the round's evaluate content wherever the federation evaluated. With
every silo training every round the twin does as many sample updates as the federation. Each call is
one measured window charged to the central site (ledger rows `cl`, silo `central`); the cold start
is rehearsed outside the windows, as for the silos.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from flwr.app import ArrayRecord, Message, RecordDict

from simulator.flower.app_loading import FlowerApps
from simulator.flower.inline_grid import InlineGrid
from simulator.flower.measured_app import (
    NUM_EXAMPLES_KEY,
    AppRounds,
    RehearsedClientApp,
    SentRound,
    app_local_epochs,
    weighted_metric,
    with_app_sample_updates,
)
from simulator.ledger import APPROACH_CL, CENTRAL_SILO, LedgerRow, make_row
from simulator.probes.window import WorkWindow
from simulator.progress import NULL_OBSERVER, RunObserver
from simulator.records.kinds import Phase
from simulator.records.run import CentralizedEvaluation
from simulator.scenario.schema import Scenario


class CentralizedTwinFailed(RuntimeError):
    """The app's ClientApp failed as the one silo holding all the data."""

    def __init__(self, problem: str):
        super().__init__(f"centralized twin (the ClientApp as partition 0 of 1, all the data): {problem}")


@dataclass(frozen=True)
class AppCentralizedOutcome:
    final_state: dict
    accuracy: float | None
    rows: list[LedgerRow]
    wall_s: float
    evaluations: tuple[CentralizedEvaluation, ...] = ()


def run_app_centralized(
    apps: FlowerApps,
    scenario: Scenario,
    rounds: AppRounds,
    *,
    warm_up: bool = True,
    observer: RunObserver = NULL_OBSERVER,
) -> AppCentralizedOutcome:
    wall_start = time.perf_counter()
    if not rounds.train or rounds.initial_arrays is None:
        raise CentralizedTwinFailed("the ServerApp sent no train message, so there is no training to repeat centrally")
    grid = InlineGrid(RehearsedClientApp(apps.client, apps.client, warm_up), 1, run_config=apps.run_config)
    (node,) = grid.get_node_ids()
    local_epochs = app_local_epochs(apps.run_config)
    arrays = dict(rounds.initial_arrays)  # the federation's initial model
    evaluate_rounds = {sent.round: sent for sent in rounds.evaluate}
    rows: list[LedgerRow] = []
    accuracy = None
    evaluations: list[CentralizedEvaluation] = []
    observer.centralized_started(len(rounds.train))
    try:
        for step, sent in enumerate(rounds.train, start=1):
            reply, row = _measured_call(grid, node, sent, arrays, "train", scenario)
            rows.append(with_app_sample_updates(row, local_epochs))
            returned = reply.content.array_records
            missing = [key for key in arrays if key not in returned]
            if missing:
                raise CentralizedTwinFailed(f"round {sent.round}: the train reply lacks the array record '{missing[0]}'")
            arrays = {key: returned[key] for key in arrays}
            evaluation = evaluate_rounds.get(sent.round)
            if evaluation is not None:
                reply, row = _measured_call(grid, node, evaluation, arrays, "evaluate", scenario)
                rows.append(row)
                accuracy = weighted_metric([reply], "acc")
                if accuracy is not None:
                    evaluations.append(CentralizedEvaluation(
                        epoch=sent.round, accuracy=accuracy, elapsed_s=time.perf_counter() - wall_start
                    ))
            observer.centralized_epoch_finished(step)
    finally:
        grid.close()
    observer.centralized_finished()
    final: ArrayRecord = next(iter(arrays.values()))
    return AppCentralizedOutcome(
        final.to_torch_state_dict(), accuracy, rows, time.perf_counter() - wall_start, tuple(evaluations)
    )


def _measured_call(
    grid: InlineGrid, node: int, sent: SentRound, arrays: dict[str, ArrayRecord], phase: Phase, scenario: Scenario
) -> tuple[Message, LedgerRow]:
    model = {key: arrays[key] for key in sent.array_keys if key in arrays}
    content = RecordDict({**sent.other_records, **model})
    message = grid.create_message(content, sent.message_type, node, str(sent.round))
    with WorkWindow(f"cl-{phase}-{sent.round}") as window:
        replies = list(grid.send_and_receive([message], timeout=scenario.training.round_timeout_s))
    if not replies:
        raise CentralizedTwinFailed(
            f"round {sent.round} ({phase}): no reply within the round timeout ({scenario.training.round_timeout_s} s)"
        )
    reply = replies[0]
    if reply.has_error():
        raise CentralizedTwinFailed(f"round {sent.round} ({phase}): {reply.error.reason}")
    examples = 0
    for record in reply.content.metric_records.values():
        if NUM_EXAMPLES_KEY in record:
            examples = int(record[NUM_EXAMPLES_KEY])
    row = make_row(
        approach=APPROACH_CL,
        silo=CENTRAL_SILO,
        round_number=sent.round,
        phase=phase,
        energy=window.reading,
        cpu_s=window.cpu_s,
        country=scenario.central.country,
        num_examples=examples,
        sample_updates=window.sample_updates,  # counted where the app trains with silocarbon's loop
    )
    return reply, row
