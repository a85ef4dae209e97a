"""The centralized twin's journal: as each pooled epoch ends, its ledger rows (`cl_ledger.csv`) and a
checkpoint (`cl_checkpoint.pt`), so CL energy measured before a kill stays in the ledger and `resume`
continues CL instead of redoing it.

Continuing is exact: CL's only state between epochs is the model's weights (each epoch builds its
optimizer afresh and draws its batch order from (seed, epoch)) and torch's generator, both saved,
with the evaluations so far (a target accuracy ends CL once one reaches it).
Rows journaled after the last checkpoint (a kill between the two writes) stay in the ledger as failed
rows (their energy was spent) and that epoch is trained again; the rows of an epoch cut short before
it ended are lost, as that window never closed. Written atomically, read with torch's `weights_only` loader (data only).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from simulator.ledger import Ledger, LedgerRow
from simulator.records.run import CentralizedEvaluation
from simulator.results.atomic import save_torch_atomic, write_text_atomic
from simulator.results.checkpoint import journaled_rows, read_data_file
from simulator.results.run_dir import CL_LEDGER

CL_CHECKPOINT = "cl_checkpoint.pt"
CL_CHECKPOINT_FORMAT = 1
CL_INTERRUPTED_DETAIL = "interrupted: the process stopped before this epoch's checkpoint; the epoch was redone on resume"


@dataclass(frozen=True)
class CentralCheckpoint:
    completed_epoch: int
    model_state: dict  # the CL model after `completed_epoch`, a torch state_dict
    torch_rng_state: torch.Tensor
    ledger_rows: int  # CL rows of finished epochs
    wall_s: float  # CL wall time up to the checkpoint, across all processes
    evaluations: tuple[CentralizedEvaluation, ...]  # every evaluation so far


def write_cl_checkpoint(run_dir: Path, checkpoint: CentralCheckpoint) -> None:
    payload = {
        "format": CL_CHECKPOINT_FORMAT,
        "completed_epoch": checkpoint.completed_epoch,
        "model_state": checkpoint.model_state,
        "torch_rng_state": checkpoint.torch_rng_state,
        "ledger_rows": checkpoint.ledger_rows,
        "wall_s": checkpoint.wall_s,
        "evaluations": [evaluation.to_json() for evaluation in checkpoint.evaluations],
    }
    save_torch_atomic(run_dir / CL_CHECKPOINT, payload)


def read_cl_checkpoint(run_dir: Path) -> CentralCheckpoint | None:
    """The folder's CL checkpoint; None when CL has not finished an epoch; InputError naming the file."""
    return read_data_file(run_dir / CL_CHECKPOINT, CL_CHECKPOINT_FORMAT, "CL checkpoint", _cl_checkpoint_from)


def _cl_checkpoint_from(payload: dict) -> CentralCheckpoint:
    return CentralCheckpoint(
        completed_epoch=int(payload["completed_epoch"]),
        model_state=dict(payload["model_state"]),
        torch_rng_state=payload["torch_rng_state"],
        ledger_rows=int(payload["ledger_rows"]),
        wall_s=float(payload["wall_s"]),
        evaluations=tuple(CentralizedEvaluation.model_validate(e) for e in payload["evaluations"]),
    )


def journal_cl_rows(run_dir: Path, rows: list[LedgerRow]) -> None:
    write_text_atomic(run_dir / CL_LEDGER, Ledger(rows).to_csv_text())


def earlier_cl_rows(run_dir: Path, checkpoint: CentralCheckpoint | None) -> list[LedgerRow]:
    """CL rows a stopped process journaled: finished epochs' as they were, the cut-short epoch's as failed."""
    finished = checkpoint.ledger_rows if checkpoint is not None else 0
    return journaled_rows(run_dir / CL_LEDGER, finished, CL_INTERRUPTED_DETAIL)
