"""The round loop, once: configure -> exchange -> aggregate, train then evaluate, for rounds a..b.

It is Flower's `Strategy.start` loop, driven here so a run can start at any round (resume after a
kill), stop when too few silos answer, and hand every finished round to a callback (the checkpoint).
Strategies fill Flower's hooks (`configure_train`, `aggregate_train`, `configure_evaluate`,
`aggregate_evaluate`) and need nothing else.

With `RoundPlan.evaluation_rides_with_training`, round r's evaluation messages are held back and sent
in the same exchange as round r+1's training messages (the last round's in an exchange of their own):
one exchange per round, for transports where every exchange costs a fixed wait (Flower's deployed
SuperNode sleeps 3 s whenever it finds no message). The strategy is called with the same arguments
and, for every hook but `aggregate_evaluate`, in the same order; each silo receives the same
messages in the same order; so the aggregated models are those of separate exchanges.
`aggregate_evaluate(r)` then runs after `configure_train(r+1)`: a strategy whose training depends
on its evaluation would differ (none here does).

The randomness of a round (Flower samples silos with the global `random`; DP noise comes from NumPy's
global generator) is seeded from (scenario seed, round) alone, so round r draws the same in a fresh
run and in a resumed one.
"""

from __future__ import annotations

import copy
import random
from collections.abc import Callable
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
    evaluation_rides_with_training: bool = False  # one exchange per round (see the module's notes)
    # The first round after which `stop_after` may end the run (a target accuracy): from it on each
    # evaluation travels alone, since the next round is sent only if the run goes on. None: never.
    stop_decisions_from: int | None = None


# Called once a round is complete (its evaluation in) with the round, its global arrays, its record
# and the strategy as it stood when the round ended (a copy when the next round has already begun).
AfterRound = Callable[[int, ArrayRecord, RoundRecord, Strategy], None]


@dataclass
class _HeldEvaluation:
    """A finished round whose evaluation waits for the next round's exchange."""

    round: int
    arrays: ArrayRecord
    messages: list[Message]
    train_metrics: MetricRecord | None
    strategy: Strategy  # as it stood at the end of the round, before the next round's configure_train


def run_rounds(
    strategy: Strategy,
    grid: Grid,
    arrays: ArrayRecord,
    plan: RoundPlan,
    *,
    after_exchange: Callable[[], None] = lambda: None,
    after_round: AfterRound = lambda *_: None,
    stop_after: Callable[[RoundRecord], bool] = lambda _: False,
) -> ArrayRecord:
    """Run rounds `plan.first_round..plan.last_round` from `arrays`, ending early after a round for
    which `stop_after` says so (a target accuracy reached); returns the final global arrays."""
    held: _HeldEvaluation | None = None
    for current in range(plan.first_round, plan.last_round + 1):
        seed_round(plan.seed, current)
        train_messages = list(strategy.configure_train(current, arrays, plan.train_config, grid))
        if held is None:
            (train_replies,) = _exchange(grid, [train_messages], plan, after_exchange)
        else:
            evaluate_replies, train_replies = _exchange(grid, [held.messages, train_messages], plan, after_exchange)
            _require_answers(plan, held.round, "evaluate", held.messages, evaluate_replies)
            if stop_after(_finish(strategy, held, evaluate_replies, after_round)):
                # Not reached with a plan that lets no evaluation ride past `stop_decisions_from`;
                # were it, the round sent with it is not aggregated: the run ends where it was told.
                return held.arrays
            held = None
        _require_answers(plan, current, "train", train_messages, train_replies)
        aggregated, train_metrics = strategy.aggregate_train(current, train_replies)
        if aggregated is not None:
            arrays = aggregated
        evaluate_messages = list(strategy.configure_evaluate(current, arrays, plan.evaluate_config, grid))
        riding = (
            plan.evaluation_rides_with_training
            and current < plan.last_round
            and (plan.stop_decisions_from is None or current < plan.stop_decisions_from)
        )
        ended = _HeldEvaluation(current, arrays, evaluate_messages, train_metrics,
                                copy.deepcopy(strategy) if riding else strategy)
        if riding:
            held = ended
        else:
            (evaluate_replies,) = _exchange(grid, [evaluate_messages], plan, after_exchange)
            _require_answers(plan, current, "evaluate", evaluate_messages, evaluate_replies)
            if stop_after(_finish(strategy, ended, evaluate_replies, after_round)):
                break
    return arrays


def _finish(
    strategy: Strategy, ended: _HeldEvaluation, evaluate_replies: list[Message], after_round: AfterRound
) -> RoundRecord:
    evaluate_metrics = strategy.aggregate_evaluate(ended.round, evaluate_replies)
    record = RoundRecord(
        round=ended.round,
        train_loss=_metric(ended.train_metrics, "train-loss"),
        accuracy=_metric(evaluate_metrics, "eval-acc"),
        eval_loss=_metric(evaluate_metrics, "eval-loss"),
    )
    after_round(ended.round, ended.arrays, record, ended.strategy)
    return record


def _exchange(
    grid: Grid, batches: list[list[Message]], plan: RoundPlan, after_exchange: Callable[[], None]
) -> list[list[Message]]:
    """Send every batch in one exchange; each batch's replies (those to its own messages), in order.
    Every message has its id once the grid has pushed it."""
    sent = [message for messages in batches for message in messages]
    replies = list(grid.send_and_receive(sent, timeout=plan.timeout_s))
    after_exchange()
    if len(batches) == 1:
        return [replies]
    result = []
    for messages in batches:
        ids = {message.metadata.message_id for message in messages}
        result.append([reply for reply in replies if reply.metadata.reply_to_message_id in ids])
    return result


def _require_answers(plan: RoundPlan, round_number: int, phase: str, sent: list[Message], replies: list[Message]) -> None:
    answered = sum(1 for reply in replies if not reply.has_error())
    needed = answering_silos_needed(plan.min_silos, len(sent))
    if answered < needed:
        raise FederationStopped(
            f"round {round_number} ({phase}): {answered} of {len(sent)} silos answered, fewer than "
            f"faults.min_silos = {plan.min_silos}; the run folder's fl_ledger.csv records each failure"
        )


def answering_silos_needed(min_silos: int, asked: int) -> int:
    """A round that asks `asked` silos (a strategy may sample fewer than all) needs min(min_silos, asked)."""
    return min(min_silos, asked)


def _metric(record: MetricRecord | None, key: str) -> float | None:
    if record is None or key not in record:
        return None
    return float(record[key])
