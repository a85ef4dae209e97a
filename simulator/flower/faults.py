"""Fault injection: ClientApp mods that make a silo crash, hang, straggle or drop out, as the
scenario's `[faults.silo.<name>]` says, so a run shows how the federation copes.

Two mods, on either side of the measurement mod:
- `fault_gate_mod` (outside the measurement window): dropout, hang, straggler delay. A hung silo does
  no work and holds no energy window, so the silos after it are measured normally while the server
  has stopped waiting for it.
- `crash_mod` (inside the window): the silo does its work, then raises; the measurement mod turns
  that into a failure reply that still carries the measured energy of the wasted work.

Every draw is a function of (seed, silo, round) alone, so a resumed run sees the same faults.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import numpy as np
from flwr.app import Context, Message

from simulator.flower.flwr_internals import ClientAppCallable, Mod

from simulator.scenario.schema import Scenario, SiloFaults
from simulator.flower.payload import MEASUREMENT_KEY

# A hung silo stays silent (unless `hang_s` says otherwise) for this multiple of the round timeout:
# long enough that the server's deadline passes first, short enough that the stray thread ends soon.
HANG_TIMEOUT_MULTIPLE = 2.0
DROPOUT_STREAM = 7  # keeps the dropout draws apart from the batch-order seeds of the same round


# Hangs and straggler delays wait on this event, so the runner can end them once the federation is
# over (a process must not exit while a stray silo thread still runs torch code: that aborts it).
_release = threading.Event()


def release_waiting_silos() -> None:
    """Wake every silo that is hanging or holding back its reply; later waits start afresh."""
    global _release
    released, _release = _release, threading.Event()
    released.set()


def _wait(seconds: float) -> None:
    _release.wait(seconds)


class InjectedFault(RuntimeError):
    """A failure the scenario asked for; its message says which fault, where and when."""


def dropout_draw(seed: int, silo_index: int, round_number: int) -> float:
    """A uniform draw in [0, 1) for one silo and round, the same in every process and run."""
    sequence = np.random.SeedSequence([seed, silo_index, round_number, DROPOUT_STREAM])
    return float(np.random.default_rng(sequence).random())


def drops_out(faults: SiloFaults, seed: int, silo_index: int, round_number: int) -> bool:
    return faults.dropout > 0.0 and dropout_draw(seed, silo_index, round_number) < faults.dropout


def straggle_delay_s(work_wall_s: float, slowdown: float) -> float:
    """Extra seconds that make the reply leave after `slowdown` x the work's wall time."""
    return max(0.0, (slowdown - 1.0) * work_wall_s)


def message_round(message: Message) -> int:
    for record in message.content.config_records.values():
        if "server-round" in record:
            return int(record["server-round"])
    return 0


FaultsOf = Callable[[Context], tuple[Scenario, int, SiloFaults | None]]


def make_fault_gate_mod(faults_of: FaultsOf) -> Mod:
    """`faults_of(context)` -> (scenario, silo index, that silo's faults or None)."""

    def fault_gate_mod(message: Message, context: Context, call_next: ClientAppCallable) -> Message:
        scenario, index, faults = faults_of(context)
        if faults is None:
            return call_next(message, context)
        round_number = message_round(message)
        name = scenario.silos[index].name
        if drops_out(faults, scenario.seed, index, round_number):
            raise InjectedFault(
                f"silo '{name}' dropped out of round {round_number} (dropout probability {faults.dropout})"
            )
        if round_number in faults.hang_rounds:
            hang_s = faults.hang_s or HANG_TIMEOUT_MULTIPLE * scenario.training.round_timeout_s
            _wait(hang_s)
            raise InjectedFault(f"silo '{name}' hung for {hang_s:g} s in round {round_number}")
        started = time.perf_counter()
        reply = call_next(message, context)
        delay_s = straggle_delay_s(time.perf_counter() - started, faults.slowdown)
        if delay_s > 0.0:
            _wait(delay_s)
            if not reply.has_error() and MEASUREMENT_KEY in reply.content:
                # A number in the measurement's schema; the server words the ledger's detail.
                reply.content[MEASUREMENT_KEY]["held-back-s"] = delay_s
        return reply

    return fault_gate_mod


def make_crash_mod(faults_of: FaultsOf) -> Mod:
    def crash_mod(message: Message, context: Context, call_next: ClientAppCallable) -> Message:
        scenario, index, faults = faults_of(context)
        reply = call_next(message, context)
        round_number = message_round(message)
        if faults is not None and round_number in faults.crash_rounds:
            name = scenario.silos[index].name
            raise InjectedFault(f"silo '{name}' crashed in round {round_number} after its work")
        return reply

    return crash_mod
