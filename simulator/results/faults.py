"""Which silo failed how, in which round: the failed rows of a run's ledger, for the terminal and the report."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from simulator.ledger import APPROACH_FL, LedgerRow
from simulator.records.kinds import PHASES, Failure

# What each failure kind means, in the words the terminal and the report print.
FAILURE_MEANINGS: dict[Failure, str] = {
    "raised": "raised after its work (the work is measured and counted)",
    "error_reply": "answered with an error instead of a result",
    "no_reply": "no reply within the round timeout (the server stopped waiting)",
    "refused": "reply refused by the server's screening (never reached the strategy)",
    "interrupted": "interrupted: the run was stopped during this round (redone on resume)",
}
# The reasons our own writers put before a failed row's detail; the kind already says it.
_DETAIL_PREFIXES = ("silo failed: ", "error reply: ", "reply refused: ")


@dataclass(frozen=True)
class FaultEvent:
    round: int
    silo: str
    phase: str
    failure: Failure
    reason: str
    wall_s: float
    energy_kwh: float | None  # the measured energy of the failed work; None: absent (nothing came back)
    energy_method: str

    @property
    def meaning(self) -> str:
        return FAILURE_MEANINGS.get(self.failure, self.failure)


def fault_events(rows: Iterable[LedgerRow]) -> list[FaultEvent]:
    """The failed rows of the federation, by round and then silo."""
    events = [
        FaultEvent(
            round=row.round,
            silo=row.silo,
            phase=row.phase,
            failure=row.failure,
            reason=_reason(row.detail),
            wall_s=row.wall_s,
            energy_kwh=row.energy_kwh,
            energy_method=row.energy_method,
        )
        for row in rows
        if row.approach == APPROACH_FL and row.status == "failed"
    ]
    return sorted(events, key=lambda event: (event.round, event.silo, PHASES.index(event.phase)))


def fault_summary(events: list[FaultEvent]) -> str:
    """One line: how many replies failed, of which kinds, and in which rounds."""
    kinds: dict[str, int] = {}
    for event in events:
        kinds[event.failure] = kinds.get(event.failure, 0) + 1
    rounds = sorted({event.round for event in events})
    counted = ", ".join(f"{count} {kind}" for kind, count in sorted(kinds.items()))
    return f"{len(events)} failed silo replies ({counted}) in rounds {', '.join(map(str, rounds))}"


def _reason(detail: str) -> str:
    for prefix in _DETAIL_PREFIXES:
        if detail.startswith(prefix):
            return detail[len(prefix):]
    return detail
