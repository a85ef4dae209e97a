"""The centralized baseline: the same model on the pooled union of the silos' training data.

Same initial weights (same seed), same batch size and learning rate, and the same number of sample
updates (`centralized_epochs`), evaluated on the same test set as often as FL evaluates (once per
round's worth of epochs), measured by the same probe: one ledger row per pooled epoch and one per
evaluation, charged to the central site's country.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from torch import nn

from simulator.scenario.schema import Scenario
from simulator.data import FederatedData
from simulator.ledger import APPROACH_CL, CENTRAL_SILO, LedgerRow, make_row
from simulator.models import build_model
from simulator.probes.window import WorkWindow
from simulator.progress import NULL_OBSERVER, RunObserver
from simulator.records.run import CentralizedEvaluation
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


def run_centralized(scenario: Scenario, data: FederatedData, observer: RunObserver = NULL_OBSERVER) -> CentralizedOutcome:
    """Train to the equal budget; with a target accuracy, go on (up to the sample updates of
    `max_rounds` FL rounds) until an evaluation reaches it."""
    wall_start = time.perf_counter()
    model = build_model(scenario.model, data.dataset, scenario.seed)
    device = resolve_device(scenario.training.device)
    pooled_x, pooled_y = data.pooled_train
    rows = []
    training = scenario.training
    equal_epochs = centralized_epochs(training.rounds, training.local_epochs)
    epochs = centralized_epochs(training.last_round, training.local_epochs)
    evaluations: list[CentralizedEvaluation] = []
    observer.centralized_started(epochs)
    for epoch in range(1, epochs + 1):
        with WorkWindow(f"cl-train-{epoch}") as window:
            stats = train_epochs(
                model,
                pooled_x,
                pooled_y,
                epochs=1,
                batch_size=scenario.training.batch_size,
                learning_rate=scenario.training.learning_rate,
                momentum=scenario.training.momentum,
                seed=int(np.random.SeedSequence([scenario.seed, 10_000, epoch]).generate_state(1)[0]),
                device=device,
            )
        rows.append(_row(scenario, epoch, "train", window, stats.num_examples))
        if epoch % scenario.training.local_epochs == 0:
            # Evaluate as often as FL does (once per round's worth of epochs), so both approaches'
            # measured energy includes the same number of test-set evaluations.
            with WorkWindow(f"cl-evaluate-{epoch}") as window:
                result = evaluate(model, data.test_x, data.test_y, device)
            rows.append(_row(scenario, epoch, "evaluate", window, result.num_examples))
            evaluations.append(CentralizedEvaluation(epoch=epoch, accuracy=result.accuracy,
                                                     elapsed_s=time.perf_counter() - wall_start))
        observer.centralized_epoch_finished(epoch)
        if epoch >= equal_epochs and _target_reached(evaluations, training.target_accuracy):
            break
    observer.centralized_finished()
    at_budget = next(e.accuracy for e in evaluations if e.epoch == equal_epochs)
    return CentralizedOutcome(model.to("cpu"), at_budget, rows, time.perf_counter() - wall_start,
                              tuple(evaluations), equal_epochs)


def _target_reached(evaluations: list[CentralizedEvaluation], target: float | None) -> bool:
    return target is not None and any(evaluation.accuracy >= target for evaluation in evaluations)


def _row(scenario: Scenario, round_number: int, phase: str, window: WorkWindow, num_examples: int) -> LedgerRow:
    return make_row(
        approach=APPROACH_CL,
        silo=CENTRAL_SILO,
        round_number=round_number,
        phase=phase,
        energy=window.reading,
        cpu_s=window.cpu_s,
        country=scenario.central.country,
        num_examples=num_examples,
    )
