"""Energy-, CO2- and time-to-accuracy: what each approach spent until its test accuracy first
reached `[training] target_accuracy` (MLPerf's time-to-train idea, applied to FL and CL alike).

Counted from the ledger: every row (silos, server, CL epochs and evaluations) of the rounds (CL:
epochs) up to and including the one whose evaluation reached the target; time is the run's own
clock at the end of that evaluation. Sample updates are the ledger's `sample_updates` of the
training rows that succeeded: what the silos and the CL epochs trained, counted by the training loop
as it ran (as the energy profile counts them), not examples x local epochs; `num-examples` is the
weight FedAvg gives a reply and says nothing of work cut short. A side that never reached the
target within `max_rounds` gets no figure, only what it ran and the best accuracy it saw.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from simulator.ledger import APPROACH_FL, SERVER_SILO, Ledger
from simulator.records.run import SideToTarget, ToTargetRatio, ToTargetSummary


@dataclass(frozen=True)
class Checkpointed:
    """One evaluation of a side: after FL round `step` or CL epoch `step`."""

    step: int
    accuracy: float | None
    elapsed_s: float | None


def side_to_target(approach: str, evaluations: Sequence[Checkpointed], ledger: Ledger, target: float) -> SideToTarget:
    """The figures of one approach (`fl` or `cl`) up to its first evaluation at or above `target`."""
    word = "rounds" if approach == APPROACH_FL else "epochs"
    accuracies = [e.accuracy for e in evaluations if e.accuracy is not None]
    best = max(accuracies) if accuracies else None
    steps_run = max((e.step for e in evaluations), default=0)
    reaching = next((e for e in evaluations if e.accuracy is not None and e.accuracy >= target), None)
    if reaching is None:
        seen = "no accuracy recorded" if best is None else f"best {best:.4f}"
        return SideToTarget(reached=False, steps_run=steps_run, best_accuracy=best,
                            note=f"did not reach {target:g} in {steps_run} {word} ({seen})")
    totals = ledger.totals(approach, through_round=reaching.step)
    # A failed reply's work used energy (counted above) but trained nothing the model kept.
    sample_updates = sum(row.sample_updates for row in ledger.select(approach=approach, phase="train")
                         if row.silo != SERVER_SILO and row.round <= reaching.step and row.status == "ok")
    return SideToTarget(
        reached=True, round=reaching.step, sample_updates=sample_updates,
        energy_kwh=totals.energy_kwh, co2_kg=totals.co2_kg, wall_s=reaching.elapsed_s, accuracy=reaching.accuracy,
        steps_run=steps_run, best_accuracy=best, note=f"reached {target:g} after {reaching.step} {word}",
    )


def to_target_summary(
    target: float, max_rounds: int, fl: Sequence[Checkpointed], cl: Sequence[Checkpointed], ledger: Ledger
) -> ToTargetSummary:
    """summary.json["to_target"]: each side's figures and, where both reached it, CL / FL."""
    fl_side = side_to_target("fl", fl, ledger, target)
    cl_side = side_to_target("cl", cl, ledger, target)

    def ratio(key: str) -> float | None:
        top, bottom = getattr(cl_side, key), getattr(fl_side, key)
        return None if top is None or bottom is None or bottom <= 0 else top / bottom

    return ToTargetSummary(
        target_accuracy=target, max_rounds=max_rounds, fl=fl_side, cl=cl_side,
        ratio_cl_over_fl=ToTargetRatio(**{key: ratio(key) for key in ("sample_updates", "energy_kwh", "co2_kg",
                                                                          "wall_s")}),
    )
