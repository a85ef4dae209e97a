"""The run folder `runs/<UTC time>-<scenario name>/` and what goes into it.

Files: manifest.json, ledger.csv, summary.json, final_model.pt, cl_model.pt, emissions.csv, plus the
FL part written by the ServerApp (fl_history.json) and the journals a stopped run resumes from
(fl_ledger.csv and checkpoint.pt for FL, cl_ledger.csv and cl_checkpoint.pt for CL). Every file is
written atomically.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from simulator.ledger import APPROACH_FL, Ledger
from simulator.names import file_in
from simulator.records.run import FederationHistory, FederationOutcome
from simulator.results.atomic import save_torch_atomic, write_json_atomic, write_text_atomic

MANIFEST = "manifest.json"
LEDGER = "ledger.csv"
SUMMARY = "summary.json"
FL_MODEL = "final_model.pt"
CL_MODEL = "cl_model.pt"
FL_HISTORY = "fl_history.json"
FL_LEDGER = "fl_ledger.csv"
CL_LEDGER = "cl_ledger.csv"  # the centralized twin's rows, journaled as each epoch ends
EMISSIONS = "emissions.csv"


def new_run_dir(runs_root: Path, scenario_name: str) -> Path:
    """A fresh folder named by the UTC time; a suffix keeps two runs in one second apart."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    runs_root.mkdir(parents=True, exist_ok=True)
    for attempt in range(1000):
        suffix = "" if attempt == 0 else f"-{attempt}"
        name = f"{stamp}-{scenario_name}{suffix}"
        file_in(runs_root, name)  # the scenario's name is data: refused if it would leave runs_root
        candidate = runs_root / name
        try:
            candidate.mkdir()
            return candidate
        except FileExistsError:
            continue
    raise RuntimeError(f"could not create a run folder under {runs_root}")


def write_federation_outcome(run_dir: Path, outcome: FederationOutcome) -> None:
    save_torch_atomic(run_dir / FL_MODEL, outcome.final_state)
    write_text_atomic(run_dir / FL_LEDGER, outcome.ledger.to_csv_text())
    write_json_atomic(run_dir / FL_HISTORY, outcome.history.to_json())


def read_federation_outcome(run_dir: Path) -> FederationOutcome:
    import torch

    history = FederationHistory.model_validate_json((run_dir / FL_HISTORY).read_text())
    return FederationOutcome(
        final_state=torch.load(run_dir / FL_MODEL, weights_only=True),
        rounds=list(history.rounds),
        ledger=Ledger.from_csv(run_dir / FL_LEDGER),
        wall_s=history.wall_s,
    )


def write_ledger(run_dir: Path, ledger: Ledger) -> None:
    write_text_atomic(run_dir / LEDGER, ledger.to_csv_text())


def fl_rows_only(ledger: Ledger) -> Ledger:
    return Ledger(ledger.select(approach=APPROACH_FL))
