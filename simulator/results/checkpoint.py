"""Round checkpoints: what a killed run needs to go on exactly where its last finished round ended.

One file, `checkpoint.pt`, replaced atomically after every round: the global model, the strategy
object (its state: momentum buffers, control variates, ...), the `random` and torch generator states,
the number of FL ledger rows that belong to finished rounds, and the per-round history.

The strategy travels as a pickle, so a checkpoint is code: resume only run folders you made.
"""

from __future__ import annotations

import io
import pickle
import random
from dataclasses import dataclass
from pathlib import Path

import torch

from simulator.errors import InputError
from simulator.ledger import Ledger, LedgerRow
from simulator.results.atomic import write_bytes_atomic
from simulator.records.run import RoundRecord
from simulator.results.run_dir import FL_LEDGER

CHECKPOINT = "checkpoint.pt"
CHECKPOINT_FORMAT = 1
INTERRUPTED_DETAIL = "interrupted: the process stopped before this round's checkpoint; the round was redone on resume"


@dataclass(frozen=True)
class Checkpoint:
    completed_round: int
    model_state: dict  # the global model after `completed_round`, a torch state_dict
    strategy_pickle: bytes
    random_state: tuple
    torch_rng_state: torch.Tensor
    ledger_rows: int  # FL ledger rows of finished rounds (the ledger's position)
    rounds: tuple[RoundRecord, ...]
    fl_wall_s: float  # FL wall time spent up to the checkpoint, across all processes
    strategy_problem: str = ""  # why the strategy could not be saved (then the run cannot resume)

    def strategy(self):  # type: ignore[no-untyped-def]
        if self.strategy_problem:
            raise InputError(f"the checkpoint holds no strategy state ({self.strategy_problem}); this run cannot resume")
        return pickle.loads(self.strategy_pickle)

    def restore_random_states(self) -> None:
        random.setstate(self.random_state)
        torch.set_rng_state(self.torch_rng_state)


def capture(
    *, completed_round: int, model_state: dict, strategy, ledger_rows: int, rounds: list[RoundRecord], fl_wall_s: float
) -> Checkpoint:
    try:
        strategy_pickle, strategy_problem = pickle.dumps(strategy), ""
    except (pickle.PicklingError, TypeError, AttributeError) as error:
        # The run goes on; only resuming it is impossible, and the checkpoint says why.
        strategy_pickle = b""
        strategy_problem = f"{type(strategy).__name__} cannot be pickled: {type(error).__name__}: {error}"
    return Checkpoint(
        completed_round=completed_round,
        model_state=model_state,
        strategy_pickle=strategy_pickle,
        strategy_problem=strategy_problem,
        random_state=random.getstate(),
        torch_rng_state=torch.get_rng_state(),
        ledger_rows=ledger_rows,
        rounds=tuple(rounds),
        fl_wall_s=fl_wall_s,
    )


def write_checkpoint(run_dir: Path, checkpoint: Checkpoint) -> None:
    payload = {
        "format": CHECKPOINT_FORMAT,
        "completed_round": checkpoint.completed_round,
        "model_state": checkpoint.model_state,
        # As a uint8 tensor: torch's safe loader (weights_only) reads tensors, not every bytes value.
        "strategy_pickle": torch.frombuffer(bytearray(checkpoint.strategy_pickle), dtype=torch.uint8)
        if checkpoint.strategy_pickle else torch.zeros(0, dtype=torch.uint8),
        "random_state": checkpoint.random_state,
        "torch_rng_state": checkpoint.torch_rng_state,
        "ledger_rows": checkpoint.ledger_rows,
        "rounds": [record.to_json() for record in checkpoint.rounds],
        "fl_wall_s": checkpoint.fl_wall_s,
        "strategy_problem": checkpoint.strategy_problem,
    }
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    write_bytes_atomic(run_dir / CHECKPOINT, buffer.getvalue())


def read_checkpoint(run_dir: Path) -> Checkpoint | None:
    """The run folder's checkpoint; None when there is none; InputError naming the file when unreadable."""
    path = run_dir / CHECKPOINT
    if not path.exists():
        return None
    try:
        payload = torch.load(path, weights_only=True)
        if payload.get("format") != CHECKPOINT_FORMAT:
            raise ValueError(f"format {payload.get('format')!r}, expected {CHECKPOINT_FORMAT}")
        return Checkpoint(
            completed_round=int(payload["completed_round"]),
            model_state=dict(payload["model_state"]),
            strategy_pickle=payload["strategy_pickle"].numpy().tobytes(),
            random_state=_as_tuple(payload["random_state"]),
            torch_rng_state=payload["torch_rng_state"],
            ledger_rows=int(payload["ledger_rows"]),
            rounds=tuple(RoundRecord.model_validate(record) for record in payload["rounds"]),
            fl_wall_s=float(payload["fl_wall_s"]),
            strategy_problem=str(payload.get("strategy_problem", "")),
        )
    except Exception as error:  # any damage: name the file, say why, in one line
        raise InputError(f"checkpoint '{path}' is unreadable ({type(error).__name__}: {_first_line(error)})") from None


def earlier_ledger_rows(run_dir: Path, checkpoint: Checkpoint | None) -> list[LedgerRow]:
    """FL rows a stopped process wrote into this folder: those of finished rounds as they were, the
    rest (work of the interrupted round, which is redone) kept as failed rows, since their energy was
    spent. A fresh folder has none."""
    path = run_dir / FL_LEDGER
    if not path.exists():
        return []
    try:
        rows = list(Ledger.from_csv(path).rows)
    except Exception as error:
        raise InputError(f"ledger '{path}' is unreadable ({type(error).__name__}: {_first_line(error)})") from None
    finished_rows = checkpoint.ledger_rows if checkpoint is not None else 0
    if len(rows) < finished_rows:
        raise InputError(
            f"ledger '{path}' has {len(rows)} rows but the checkpoint counts {finished_rows}; the run folder is damaged"
        )
    return rows[:finished_rows] + [_interrupted(row) for row in rows[finished_rows:]]


def _interrupted(row: LedgerRow) -> LedgerRow:
    from dataclasses import replace

    return replace(row, status="failed", detail="; ".join(part for part in (row.detail, INTERRUPTED_DETAIL) if part))


def _as_tuple(value):  # type: ignore[no-untyped-def]
    """random.setstate needs the nested tuples that torch.save may hand back as lists."""
    if isinstance(value, list | tuple):
        return tuple(_as_tuple(item) for item in value)
    return value


def _first_line(error: BaseException) -> str:
    """Libraries' messages can run to a page (torch's unpickling advice); the first line says what."""
    lines = str(error).strip().splitlines()
    return lines[0] if lines else ""
