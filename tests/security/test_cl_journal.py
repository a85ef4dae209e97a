"""CL energy survives a kill: the centralized twin's rows are journaled as each epoch ends, so a run
SIGKILLed during CL keeps the energy measured so far, and `resume` continues CL from its last
finished epoch to the same CL model an uninterrupted run trains (our choice: continue, not redo)."""

from __future__ import annotations

import signal

import torch

from simulator.ledger import APPROACH_CL, Ledger
from simulator.results.run_dir import CL_MODEL, LEDGER
from tests.conftest import run_cli
from tests.processes import start_cli, stop, wait_until

CL_LEDGER = "cl_ledger.csv"  # the journal (simulator/results/run_dir.py)
CL_CHECKPOINT = "cl_checkpoint.pt"  # simulator/results/cl_checkpoint.py
EPOCHS = 4
# Pooled epochs long enough (a few hundred SGD steps) that the kill lands inside CL.
SCENARIO = f"""
name = "cljournal"
seed = 1
[data]
dataset = "synthetic"
partition = "shares"
synthetic_samples = 3000
synthetic_features = 32
[model]
name = "mlp"
hidden_units = 64
[training]
rounds = {EPOCHS}
batch_size = 8
[probes]
idle_baseline = "off"
[[silos]]
name = "paris"
country = "FRA"
share = 0.5
[[silos]]
name = "virginia"
country = "USA"
share = 0.5
"""


def test_cl_rows_measured_before_a_kill_stay_in_the_ledger_and_cl_continues_exactly(tmp_path):
    scenario = tmp_path / "cljournal.toml"
    scenario.write_text(SCENARIO)
    runs = tmp_path / "runs"
    process = start_cli("run", str(scenario), "--runs-dir", str(runs), "--quiet", cwd=tmp_path)

    def first_epoch_journaled():  # type: ignore[no-untyped-def]
        # Epoch 1's train and evaluate rows, then its checkpoint (written after the rows).
        for journal in runs.glob(f"*/{CL_LEDGER}"):
            if len(journal.read_text().splitlines()) >= 1 + 2 and (journal.parent / CL_CHECKPOINT).exists():
                return journal.parent
        return None

    run_dir = wait_until(first_epoch_journaled, process, "CL rows journaled")
    status, _ = stop(process, signal.SIGKILL)
    assert status == -signal.SIGKILL

    from simulator.results.cl_checkpoint import CL_INTERRUPTED_DETAIL, read_cl_checkpoint

    stopped_after = read_cl_checkpoint(run_dir).completed_epoch
    assert 1 <= stopped_after < EPOCHS and not (run_dir / CL_MODEL).exists(), "the kill should land inside CL"
    journaled = Ledger.from_csv(run_dir / CL_LEDGER).rows
    finished = journaled[: read_cl_checkpoint(run_dir).ledger_rows]
    assert finished and all(row.status == "ok" and row.energy_kwh > 0 for row in finished)

    resumed = run_cli("resume", str(run_dir), "--quiet", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr

    cl_rows = [row for row in Ledger.from_csv(run_dir / LEDGER).rows if row.approach == APPROACH_CL]
    assert cl_rows[: len(finished)] == list(finished), "energy measured before the kill must stay as it was"
    cut_short = [row for row in cl_rows if row.status == "failed"]
    assert all(CL_INTERRUPTED_DETAIL in row.detail and row.round == stopped_after + 1 for row in cut_short)
    ok_train = [row.round for row in cl_rows if row.phase == "train" and row.status == "ok"]
    assert ok_train == list(range(1, EPOCHS + 1))

    # Continued exactly: the CL model of an uninterrupted CL on the same scenario.
    from simulator.centralized import run_centralized
    from simulator.scenario.load import load_scenario
    from simulator.data import build_federated_data
    from simulator.training import warm_up_torch

    loaded = load_scenario(scenario, ["probes.energy=false"])
    warm_up_torch(loaded.training.threads)  # the thread count the run used
    straight = run_centralized(loaded, build_federated_data(loaded)).model.state_dict()
    continued = torch.load(run_dir / CL_MODEL, weights_only=True)
    for name, tensor in straight.items():
        assert torch.equal(tensor, continued[name]), name
