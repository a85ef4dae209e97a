"""The closed vocabularies of the records, as `Literal` types with their allowed values.

A ledger row, a reading or a run folder holds one of these values and nothing else; readers check
them (`check_kind`), so a new value has to be added here, where every writer and reader sees it.
"""

from __future__ import annotations

from typing import Literal, TypeVar, get_args

# How an energy figure was obtained (README, "Energy methods"): read from a hardware counter,
# CodeCarbon's TDP/load model (or a silo's declared hardware), one host measurement split between
# concurrent silos, or not obtained at all (never counted as zero).
EnergyMethod = Literal["measured", "modelled", "apportioned", "absent"]
METHOD_MEASURED: EnergyMethod = "measured"
METHOD_MODELLED: EnergyMethod = "modelled"
METHOD_APPORTIONED: EnergyMethod = "apportioned"
METHOD_ABSENT: EnergyMethod = "absent"
ENERGY_METHODS: tuple[EnergyMethod, ...] = get_args(EnergyMethod)

# Whose hardware a row's energy is of: this host's (its windows), or the hardware a silo declares
# and the host lacks (modelled from the declared powers; not the host's energy, so the host's idle
# baseline does not apply to it).
EnergyHardware = Literal["host", "declared"]
HARDWARE_HOST: EnergyHardware = "host"
HARDWARE_DECLARED: EnergyHardware = "declared"
ENERGY_HARDWARE: tuple[EnergyHardware, ...] = get_args(EnergyHardware)

Approach = Literal["fl", "cl"]
APPROACHES: tuple[Approach, ...] = get_args(Approach)

# What a ledger row's window covered: a silo's training or evaluation, the server's aggregation or
# coordination between exchanges, the server's wait during a concurrent exchange, an analytics query.
Phase = Literal["train", "evaluate", "aggregate", "coordinate", "wait", "query"]
PHASES: tuple[Phase, ...] = get_args(Phase)

RowStatus = Literal["ok", "failed"]
ROW_STATUSES: tuple[RowStatus, ...] = get_args(RowStatus)

# How a failed row failed, as the server saw it: the silo's work ran (and was measured) and then the
# silo raised; the silo answered with an error without measured work (an injected dropout, an app
# that raised outside the window); no reply came within the round timeout (a hang, a dead silo);
# the reply was refused by the server's screening; the round was cut short by a kill, Ctrl-C or
# SIGTERM (`resume` goes on).
Failure = Literal["none", "raised", "error_reply", "no_reply", "refused", "interrupted"]
FAILURE_NONE: Failure = "none"
FAILURES: tuple[Failure, ...] = get_args(Failure)

# A run folder's manifest status: still going (or killed: `resume` continues it), done, failed, or
# stopped by Ctrl-C / SIGTERM (`resume` continues the last three too).
RunStatus = Literal["running", "complete", "failed", "interrupted"]
RUN_STATUSES: tuple[RunStatus, ...] = get_args(RunStatus)

Kind = TypeVar("Kind", bound=str)


def check_kind(value: str, allowed: tuple[Kind, ...], what: str) -> Kind:
    """`value` when it is one of `allowed`; otherwise a ValueError naming `what` and the allowed values."""
    if value not in allowed:
        raise ValueError(f"{what} {value!r} is not one of {' | '.join(allowed)}")
    return value  # type: ignore[return-value]
