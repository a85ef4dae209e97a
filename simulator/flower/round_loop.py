"""The round loop, once: configure -> exchange -> aggregate, train then evaluate, for rounds a..b.

It is Flower's `Strategy.start` loop, driven here so a run can start at any round (resume after a
kill), stop when too few silos answer, and hand every finished round to a callback (the checkpoint).
Strategies fill Flower's hooks (`configure_train`, `aggregate_train`, `configure_evaluate`,
`aggregate_evaluate`) and need nothing else.

The randomness of a round (Flower samples silos with the global `random`; DP noise comes from NumPy's
global generator) is seeded from (scenario seed, round) alone, so round r draws the same in a fresh
run and in a resumed one.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
from flwr.app import ArrayRecord, ConfigRecord, Message, MetricRecord
from flwr.serverapp import Grid
from flwr.serverapp.strategy import Strategy

from simulator.records.run import RoundRecord

SAMPLING_STREAM = 11  # keeps the server's sampling seeds apart from the silos' batch-order seeds


class FederationStopped(RuntimeError):
    """Fewer silos answered a round than the scenario's `faults.min_silos`."""


def round_seed(seed: int, round_number: int) -> int:
    """The seed of the server's `random` for one round: a function of the scenario seed and round."""
    return int(np.random.SeedSequence([seed, round_number, SAMPLING_STREAM]).generate_state(1)[0])


def seed_round(seed: int, round_number: int) -> None:
    """Seed the server's global generators for one round: Flower samples silos with `random`, and its
    DP wrappers draw their noise from NumPy's global generator."""
    value = round_seed(seed, round_number)
    random.seed(value)
    np.random.seed(value % 2**32)


@dataclass(frozen=True)
class RoundPlan:
    first_round: int
    last_round: int
    seed: int
    timeout_s: float
    min_silos: int
    train_config: ConfigRecord
    evaluate_config: ConfigRecord


def run_rounds(
    strategy: Strategy,
    grid: Grid,
    arrays: ArrayRecord,
    plan: RoundPlan,
    *,
    after_exchange: Callable[[], None] = lambda: None,
    after_round: Callable[[int, ArrayRecord, RoundRecord], None] = lambda *_: None,
    stop_after: Callable[[RoundRecord], bool] = lambda _: False,
) -> ArrayRecord:
    """Run rounds `plan.first_round..plan.last_round` from `arrays`, ending early after a round for
    which `stop_after` says so (a target accuracy reached); returns the final global arrays."""
    for current in range(plan.first_round, plan.last_round + 1):
        seed_round(plan.seed, current)
        train_replies = _exchange(grid, strategy.configure_train(current, arrays, plan.train_config, grid),
                                  plan, current, "train", after_exchange)
        aggregated, train_metrics = strategy.aggregate_train(current, train_replies)
        if aggregated is not None:
            arrays = aggregated
        evaluate_replies = _exchange(grid, strategy.configure_evaluate(current, arrays, plan.evaluate_config, grid),
                                     plan, current, "evaluate", after_exchange)
        evaluate_metrics = strategy.aggregate_evaluate(current, evaluate_replies)
        record = RoundRecord(
            round=current,
            train_loss=_metric(train_metrics, "train-loss"),
            accuracy=_metric(evaluate_metrics, "eval-acc"),
            eval_loss=_metric(evaluate_metrics, "eval-loss"),
        )
        after_round(current, arrays, record)
        if stop_after(record):
            break
    return arrays


def _exchange(
    grid: Grid, messages: Iterable[Message], plan: RoundPlan, round_number: int, phase: str,
    after_exchange: Callable[[], None],
) -> list[Message]:
    sent = list(messages)
    replies = list(grid.send_and_receive(sent, timeout=plan.timeout_s))
    after_exchange()
    answered = sum(1 for reply in replies if not reply.has_error())
    needed = answering_silos_needed(plan.min_silos, len(sent))
    if answered < needed:
        raise FederationStopped(
            f"round {round_number} ({phase}): {answered} of {len(sent)} silos answered, fewer than "
            f"faults.min_silos = {plan.min_silos}; the run folder's fl_ledger.csv records each failure"
        )
    return replies


def answering_silos_needed(min_silos: int, asked: int) -> int:
    """A round that asks `asked` silos (a strategy may sample fewer than all) needs min(min_silos, asked)."""
    return min(min_silos, asked)


def _metric(record: MetricRecord | None, key: str) -> float | None:
    if record is None or key not in record:
        return None
    return float(record[key])
