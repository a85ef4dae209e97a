"""Round checkpoints: what a killed run needs to go on exactly where its last finished round ended.

One file, `checkpoint.pt`, replaced atomically after every round: the global model, the strategy's
state as data (named arrays as tensors, other values as JSON text: strategies/state.py), the
`random` and torch generator states, the number of FL ledger rows that belong to finished rounds,
and the per-round history. It is read with torch's `weights_only` loader, which builds tensors and
plain containers only: a file crafted to run code when unpickled is refused, naming the file.
"""

from __future__ import annotations

import json
import random
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import torch
from flwr.serverapp.strategy import Strategy

from simulator.errors import InputError
from simulator.ledger import Ledger, LedgerRow
from simulator.results.atomic import save_torch_atomic
from simulator.records.run import RoundRecord
from simulator.results.run_dir import FL_LEDGER
from strategies.state import StateError, StateNotExportable, StrategyState, export_state, import_state

CHECKPOINT = "checkpoint.pt"
# 2: strategy state as tensors and JSON. Format 1 held a pickled strategy object; it is never loaded.
CHECKPOINT_FORMAT = 2
Read = TypeVar("Read")
INTERRUPTED_DETAIL = "interrupted: the process stopped before this round's checkpoint; the round was redone on resume"


@dataclass(frozen=True)
class Checkpoint:
    completed_round: int
    model_state: dict  # the global model after `completed_round`, a torch state_dict
    strategy_class: str  # the class whose state this is; resume builds the strategy from the scenario
    strategy_state: StrategyState
    random_state: tuple
    torch_rng_state: torch.Tensor
    ledger_rows: int  # FL ledger rows of finished rounds (the ledger's position)
    rounds: tuple[RoundRecord, ...]
    fl_wall_s: float  # FL wall time spent up to the checkpoint, across all processes
    strategy_problem: str = ""  # why the strategy's state could not be saved (then the run cannot resume)

    def restore_strategy(self, strategy: Strategy, run_dir: Path) -> None:
        """Put the saved state into `strategy`, freshly built from the scenario."""
        path = run_dir / CHECKPOINT
        if type(strategy).__name__ != self.strategy_class:
            raise InputError(f"checkpoint '{path}' holds the state of {self.strategy_class}, but the scenario "
                             f"builds {type(strategy).__name__}")
        if self.strategy_problem:
            raise InputError(f"checkpoint '{path}' holds no strategy state ({self.strategy_problem}); this run cannot resume")
        try:
            import_state(strategy, self.strategy_state)
        except StateError as error:
            raise InputError(f"checkpoint '{path}' does not fit {self.strategy_class} ({error})") from None

    def restore_random_states(self) -> None:
        random.setstate(self.random_state)
        torch.set_rng_state(self.torch_rng_state)


def capture(
    *, completed_round: int, model_state: dict, strategy: Strategy, ledger_rows: int, rounds: list[RoundRecord],
    fl_wall_s: float
) -> Checkpoint:
    try:
        state, problem = export_state(strategy), ""
    except StateNotExportable as error:
        # The run goes on; only resuming it is impossible, and the checkpoint says why.
        state, problem = StrategyState(), str(error)
    return Checkpoint(
        completed_round=completed_round,
        model_state=model_state,
        strategy_class=type(strategy).__name__,
        strategy_state=state,
        strategy_problem=problem,
        random_state=random.getstate(),
        torch_rng_state=torch.get_rng_state(),
        ledger_rows=ledger_rows,
        rounds=tuple(rounds),
        fl_wall_s=fl_wall_s,
    )


def write_checkpoint(run_dir: Path, checkpoint: Checkpoint) -> None:
    state = checkpoint.strategy_state
    payload = {
        "format": CHECKPOINT_FORMAT,
        "completed_round": checkpoint.completed_round,
        "model_state": checkpoint.model_state,
        "strategy_class": checkpoint.strategy_class,
        "strategy_arrays": {name: torch.from_numpy(array.copy()) for name, array in state.arrays.items()},
        "strategy_values": json.dumps(state.values),
        "strategy_problem": checkpoint.strategy_problem,
        "random_state": checkpoint.random_state,
        "torch_rng_state": checkpoint.torch_rng_state,
        "ledger_rows": checkpoint.ledger_rows,
        "rounds": [record.to_json() for record in checkpoint.rounds],
        "fl_wall_s": checkpoint.fl_wall_s,
    }
    save_torch_atomic(run_dir / CHECKPOINT, payload)


def read_checkpoint(run_dir: Path) -> Checkpoint | None:
    """The run folder's checkpoint; None when there is none; InputError naming the file when unreadable."""
    return read_data_file(run_dir / CHECKPOINT, CHECKPOINT_FORMAT, "checkpoint", _checkpoint_from)


def _checkpoint_from(payload: dict) -> Checkpoint:
    values = json.loads(payload["strategy_values"])
    arrays = payload["strategy_arrays"]
    if not isinstance(values, dict) or not isinstance(arrays, dict):
        raise ValueError("the strategy state is not a mapping")
    if not all(isinstance(name, str) and isinstance(tensor, torch.Tensor) for name, tensor in arrays.items()):
        raise ValueError("the strategy arrays are not named tensors")
    return Checkpoint(
        completed_round=int(payload["completed_round"]),
        model_state=dict(payload["model_state"]),
        strategy_class=str(payload["strategy_class"]),
        strategy_state=StrategyState({name: tensor.numpy() for name, tensor in arrays.items()}, values),
        random_state=_as_tuple(payload["random_state"]),
        torch_rng_state=payload["torch_rng_state"],
        ledger_rows=int(payload["ledger_rows"]),
        rounds=tuple(RoundRecord.model_validate(record) for record in payload["rounds"]),
        fl_wall_s=float(payload["fl_wall_s"]),
        strategy_problem=str(payload.get("strategy_problem", "")),
    )


def read_data_file(path: Path, expected_format: int, what: str, build: Callable[[dict], Read]) -> Read | None:
    """`build(payload)` of a torch file of tensors and plain values, read without running any code it
    may carry; None when the file does not exist; InputError naming it when it is damaged or foreign."""
    if not path.exists():
        return None
    try:
        # weights_only: torch's restricted unpickler builds tensors and plain containers and refuses
        # every other global, so a __reduce__ hidden in the file is never called. Its warnings (an
        # odd pickle protocol) would be lines of their own: the error below says what matters.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            payload = torch.load(path, weights_only=True)
        if not isinstance(payload, dict):
            raise ValueError("not a mapping")
        if payload.get("format") != expected_format:
            raise ValueError(f"format {payload.get('format')!r}, expected {expected_format}")
        return build(payload)
    except Exception as error:  # any damage: name the file, say why, in one line
        raise InputError(f"{what} '{path}' is unreadable ({type(error).__name__}: {_first_line(error)})") from None


def earlier_ledger_rows(run_dir: Path, checkpoint: Checkpoint | None, local_epochs: int = 1) -> list[LedgerRow]:
    """FL rows a stopped process wrote into this folder (see `journaled_rows`). Rows written before
    sample updates were recorded get them from the scenario's `local_epochs`."""
    finished_rows = checkpoint.ledger_rows if checkpoint is not None else 0
    return journaled_rows(run_dir / FL_LEDGER, finished_rows, INTERRUPTED_DETAIL, local_epochs)


def journaled_rows(path: Path, finished_rows: int, interrupted_detail: str, local_epochs: int = 1) -> list[LedgerRow]:
    """Rows a stopped process journaled: the first `finished_rows` (those its last checkpoint covers)
    as they were, the rest (work that is redone) kept as failed rows, since their energy was spent.
    A fresh folder has none."""
    if not path.exists():
        return []
    try:
        ledger = Ledger.from_csv(path)
        rows = list((ledger if ledger.records_sample_updates else ledger.with_sample_updates(local_epochs)).rows)
    except Exception as error:
        raise InputError(f"ledger '{path}' is unreadable ({type(error).__name__}: {_first_line(error)})") from None
    if len(rows) < finished_rows:
        raise InputError(
            f"ledger '{path}' has {len(rows)} rows but the checkpoint counts {finished_rows}; the run folder is damaged"
        )
    return rows[:finished_rows] + [_interrupted(row, interrupted_detail) for row in rows[finished_rows:]]


def _interrupted(row: LedgerRow, interrupted_detail: str) -> LedgerRow:
    from dataclasses import replace

    return replace(
        row,
        status="failed",
        failure="interrupted" if row.failure == "none" else row.failure,
        detail="; ".join(part for part in (row.detail, interrupted_detail) if part),
    )


def _as_tuple(value):  # type: ignore[no-untyped-def]
    """random.setstate needs the nested tuples that torch.save may hand back as lists."""
    if isinstance(value, list | tuple):
        return tuple(_as_tuple(item) for item in value)
    return value


def _first_line(error: BaseException) -> str:
    """Libraries' messages can run to a page (torch's unpickling advice); the first line says what."""
    lines = str(error).strip().splitlines()
    return lines[0] if lines else ""
