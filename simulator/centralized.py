"""The centralized baseline: the same model on the pooled union of the silos' training data.

Same initial weights (same seed), same batch size and learning rate, and the same number of sample
updates (`centralized_epochs`), evaluated on the same test set as often as FL evaluates (once per
round's worth of epochs), measured by the same probe: one ledger row per pooled epoch and one per
evaluation, charged to the central site's country. In a run folder the rows are journaled and the
model checkpointed as each epoch ends, so a stopped run keeps its CL energy and continues CL.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from simulator.scenario.schema import Scenario
from simulator.data import FederatedData
from simulator.ledger import APPROACH_CL, CENTRAL_SILO, LedgerRow, make_row
from simulator.models import build_model
from simulator.probes.window import WorkWindow
from simulator.progress import NULL_OBSERVER, RunObserver
from simulator.records.run import CentralizedEvaluation
from simulator.results.cl_checkpoint import (
    CentralCheckpoint,
    earlier_cl_rows,
    journal_cl_rows,
    read_cl_checkpoint,
    write_cl_checkpoint,
)
from simulator.training import centralized_epochs, evaluate, resolve_device, train_epochs


@dataclass(frozen=True)
class CentralizedOutcome:
    model: nn.Module
    accuracy: float  # at the equal-budget epoch (the last one when no target ran CL longer)
    rows: list[LedgerRow]
    wall_s: float
    evaluations: tuple[CentralizedEvaluation, ...] = ()
    equal_budget_epochs: int = 0

    def elapsed_at(self, epoch: int) -> float:
        """CL's clock at the end of the evaluation after `epoch` (the whole CL time where unknown)."""
        return next((e.elapsed_s for e in self.evaluations if e.epoch == epoch), self.wall_s)


def run_centralized(
    scenario: Scenario, data: FederatedData, observer: RunObserver = NULL_OBSERVER, run_dir: Path | None = None
) -> CentralizedOutcome:
    """Train to the equal budget; with a target accuracy, go on (up to the sample updates of
    `max_rounds` FL rounds) until an evaluation reaches it. With `run_dir`, journal each epoch's rows
    and state there and continue from the folder's CL checkpoint when a stopped process left one
    (simulator/results/cl_checkpoint.py)."""
    wall_start = time.perf_counter()
    model = build_model(scenario.model, data.dataset, scenario.seed)
    device = resolve_device(scenario.training.device)
    pooled_x, pooled_y = data.pooled_train
    training = scenario.training
    equal_epochs = centralized_epochs(training.rounds, training.local_epochs)
    epochs = centralized_epochs(training.last_round, training.local_epochs)
    checkpoint = read_cl_checkpoint(run_dir) if run_dir is not None else None
    rows = earlier_cl_rows(run_dir, checkpoint) if run_dir is not None else []
    evaluations: list[CentralizedEvaluation] = []
    first_epoch, earlier_wall_s = 1, 0.0
    if checkpoint is not None:
        model.load_state_dict(checkpoint.model_state)
        torch.set_rng_state(checkpoint.torch_rng_state)
        evaluations = list(checkpoint.evaluations)
        first_epoch, earlier_wall_s = checkpoint.completed_epoch + 1, checkpoint.wall_s
        if _finished(checkpoint.completed_epoch, equal_epochs, evaluations, training.target_accuracy):
            first_epoch = epochs + 1

    def elapsed_s() -> float:  # CL's clock, across every process that worked on this run
        return earlier_wall_s + time.perf_counter() - wall_start

    observer.centralized_started(epochs)
    for epoch in range(first_epoch, epochs + 1):
        with WorkWindow(f"cl-train-{epoch}") as window:
            stats = train_epochs(
                model,
                pooled_x,
                pooled_y,
                epochs=1,
                batch_size=training.batch_size,
                learning_rate=training.learning_rate,
                momentum=training.momentum,
                seed=int(np.random.SeedSequence([scenario.seed, 10_000, epoch]).generate_state(1)[0]),
                device=device,
            )
        rows.append(_row(scenario, epoch, "train", window, stats.num_examples, stats.sample_updates))
        if epoch % training.local_epochs == 0:
            # Evaluate as often as FL does (once per round's worth of epochs), so both approaches'
            # measured energy includes the same number of test-set evaluations.
            with WorkWindow(f"cl-evaluate-{epoch}") as window:
                result = evaluate(model, data.test_x, data.test_y, device)
            rows.append(_row(scenario, epoch, "evaluate", window, result.num_examples))
            evaluations.append(CentralizedEvaluation(epoch=epoch, accuracy=result.accuracy, elapsed_s=elapsed_s()))
        if run_dir is not None:  # as each epoch ends: a kill loses no finished epoch's energy
            journal_cl_rows(run_dir, rows)
            write_cl_checkpoint(run_dir, CentralCheckpoint(
                completed_epoch=epoch,
                model_state={k: v.detach().to("cpu").clone() for k, v in model.state_dict().items()},
                torch_rng_state=torch.get_rng_state(),
                ledger_rows=len(rows),
                wall_s=elapsed_s(),
                evaluations=tuple(evaluations),
            ))
        observer.centralized_epoch_finished(epoch)
        if _finished(epoch, equal_epochs, evaluations, training.target_accuracy):
            break
    observer.centralized_finished()
    at_budget = next(e.accuracy for e in evaluations if e.epoch == equal_epochs)
    return CentralizedOutcome(model.to("cpu"), at_budget, rows, elapsed_s(), tuple(evaluations), equal_epochs)


def _finished(epoch: int, equal_epochs: int, evaluations: list[CentralizedEvaluation], target: float | None) -> bool:
    """Past the equal budget with the target reached (no target: the loop's last epoch ends it)."""
    return epoch >= equal_epochs and target is not None and any(e.accuracy >= target for e in evaluations)


def _row(
    scenario: Scenario, round_number: int, phase: str, window: WorkWindow, num_examples: int, sample_updates: int = 0
) -> LedgerRow:
    return make_row(
        approach=APPROACH_CL,
        silo=CENTRAL_SILO,
        round_number=round_number,
        phase=phase,
        energy=window.reading,
        cpu_s=window.cpu_s,
        country=scenario.central.country,
        num_examples=num_examples,
        sample_updates=sample_updates,
    )
