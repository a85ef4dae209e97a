"""Kill and resume: a `silocarbon run` (with a stateful strategy, FedAdam) killed with SIGKILL mid-run
and then resumed ends with the same final model as an uninterrupted run; damaged or finished run
folders are refused in one line."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest
import torch

from simulator.results.checkpoint import CHECKPOINT, INTERRUPTED_DETAIL, read_checkpoint
from simulator.results.cl_checkpoint import CL_CHECKPOINT
from simulator.results.integrity import check_run_dir
from simulator.results.run_dir import FL_LEDGER, FL_MODEL, MANIFEST
from tests.conftest import run_cli
from tests.processes import start_cli, stop, straggling_scenario, wait_for_round

ROUNDS = 6
# FedAdam: the server's optimizer moments must come back from the checkpoint for the models to match.
SCENARIO = straggling_scenario("killme", ROUNDS, '[strategy]\nname = "fedadam"\neta = 0.01')


def test_sigkill_then_resume_gives_the_uninterrupted_final_model(tmp_path):
    scenario = tmp_path / "killme.toml"
    scenario.write_text(SCENARIO)

    process = start_cli("run", str(scenario), "--runs-dir", str(tmp_path / "killed"), "--quiet", cwd=tmp_path)
    run_dir = wait_for_round(tmp_path / "killed", process, at_least=2)
    status, _ = stop(process, signal.SIGKILL)
    assert status == -signal.SIGKILL
    stopped_after = read_checkpoint(run_dir).completed_round
    assert 2 <= stopped_after < ROUNDS, "the kill should land mid-run"
    assert json.loads((run_dir / MANIFEST).read_text())["status"] == "running"
    assert not (run_dir / FL_MODEL).exists()
    assert check_run_dir(run_dir).status == "running"

    resumed = run_cli("resume", str(run_dir), "--quiet", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert resumed.stdout.strip() == str(run_dir)

    straight = run_cli("run", str(scenario), "--runs-dir", str(tmp_path / "straight"), "--quiet", cwd=tmp_path)
    assert straight.returncode == 0, straight.stderr
    straight_dir = Path(straight.stdout.strip())

    resumed_model = torch.load(run_dir / FL_MODEL, weights_only=True)
    straight_model = torch.load(straight_dir / FL_MODEL, weights_only=True)
    assert resumed_model.keys() == straight_model.keys()
    for name in straight_model:
        assert torch.equal(resumed_model[name], straight_model[name]), name

    manifest = json.loads((run_dir / MANIFEST).read_text())
    assert manifest["status"] == "complete"
    assert [entry["after_round"] for entry in manifest["resumed"]] == [stopped_after]
    assert check_run_dir(run_dir, load_models=True).status == "complete"
    # Every round's silo rows are there; work cut off by the kill stays, marked as interrupted.
    ledger = (run_dir / FL_LEDGER).read_text().splitlines()
    for round_number in range(1, ROUNDS + 1):
        assert any(f",paris,{round_number},train," in line and ",ok," in line for line in ledger)
    interrupted = [line for line in ledger if INTERRUPTED_DETAIL in line]
    assert all(f",{stopped_after + 1}," in line for line in interrupted)
    history = json.loads((run_dir / "fl_history.json").read_text())
    assert [r["round"] for r in history["rounds"]] == list(range(1, ROUNDS + 1))


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory) -> Path:
    from simulator.pipeline import run_scenario
    from tests.conftest import tiny_scenario

    return run_scenario(tiny_scenario(probes__energy=False), tmp_path_factory.mktemp("runs")).run_dir


def _resume_in_process(run_dir: Path, capsys) -> tuple[int, str]:
    from simulator.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(["resume", str(run_dir)])
    return exit_info.value.code, capsys.readouterr().err


def test_resume_refuses_a_finished_run_in_one_line(finished_run, capsys):
    status, err = _resume_in_process(finished_run, capsys)
    assert status == 2 and err.count("\n") == 1
    assert f"run folder '{finished_run}' is complete; this needs a running, interrupted or failed run" in err


@pytest.mark.parametrize(
    "damage, expected",
    [
        (lambda d: (d / MANIFEST).write_text("{not json"), "manifest.json' is not readable JSON"),
        (lambda d: (d / MANIFEST).unlink(), "manifest.json' is missing"),
        (lambda d: (d / MANIFEST).write_text('{"status": "running"}'), "manifest.json' holds no scenario"),
        (lambda d: (d / CHECKPOINT).write_bytes(b"\x80\x02garbage"), "checkpoint.pt' is unreadable"),
        (lambda d: (d / CL_CHECKPOINT).write_bytes(b"PK\x03\x04cut"), "cl_checkpoint.pt' is unreadable"),
        (lambda d: (d / FL_LEDGER).write_text("a,b\n1,2\n"), "fl_ledger.csv' is not a readable ledger"),
    ],
)
def test_resume_names_the_damaged_file_in_one_line(finished_run, tmp_path, capsys, damage, expected):
    import shutil

    copy = tmp_path / finished_run.name
    shutil.copytree(finished_run, copy)
    manifest = json.loads((copy / MANIFEST).read_text())
    (copy / MANIFEST).write_text(json.dumps({**manifest, "status": "running"}))
    damage(copy)
    status, err = _resume_in_process(copy, capsys)
    assert status == 2 and err.count("\n") == 1 and "Traceback" not in err
    assert expected in err


def test_resume_of_a_missing_folder_is_one_line(tmp_path, capsys):
    status, err = _resume_in_process(tmp_path / "nowhere", capsys)
    assert status == 2 and "does not exist" in err and err.count("\n") == 1


def test_a_strategy_without_state_export_still_runs_but_cannot_resume(tmp_path):
    from flwr.serverapp.strategy import FedAvg

    from simulator.errors import InputError
    from simulator.results.checkpoint import capture, write_checkpoint

    class Undeclared(FedAvg):  # a user's strategy that neither exports state nor is described
        pass

    checkpoint = capture(completed_round=1, model_state={"w": torch.zeros(2)}, strategy=Undeclared(),
                         ledger_rows=0, rounds=[], fl_wall_s=0.1)
    write_checkpoint(tmp_path, checkpoint)
    again = read_checkpoint(tmp_path)
    assert again.completed_round == 1 and torch.equal(again.model_state["w"], torch.zeros(2))
    with pytest.raises(InputError, match="Undeclared declares no state export.*this run cannot resume"):
        again.restore_strategy(Undeclared(), tmp_path)
    with pytest.raises(InputError, match="holds the state of Undeclared, but the scenario builds FedAvg"):
        again.restore_strategy(FedAvg(), tmp_path)


def test_rounds_depend_on_seed_and_round_only_so_a_checkpoint_continues_exactly(tmp_path):
    """Round 1 of a 1-round run is round 1 of a 3-round run: resuming its checkpoint for rounds 2..3
    (in a new process state) gives the 3-round run's final model."""
    from simulator.pipeline import resume_run, run_scenario
    from simulator.flower.round_loop import round_seed
    from tests.conftest import tiny_scenario

    assert round_seed(0, 1) == round_seed(0, 1) != round_seed(0, 2) != round_seed(1, 2)
    straight = run_scenario(tiny_scenario(training__rounds=3, probes__energy=False, model__name="mlp"), tmp_path / "a")
    short = run_scenario(tiny_scenario(training__rounds=1, probes__energy=False, model__name="mlp"), tmp_path / "b")
    manifest = json.loads((short.run_dir / MANIFEST).read_text())
    manifest["scenario"]["training"]["rounds"] = 3
    manifest["status"] = "running"
    (short.run_dir / MANIFEST).write_text(json.dumps(manifest))
    continued = resume_run(short.run_dir)
    for name, tensor in straight.fl.final_state.items():
        assert torch.equal(tensor, continued.fl.final_state[name]), name
    assert [r.accuracy for r in continued.fl.rounds] == [r.accuracy for r in straight.fl.rounds]


def test_cl_continued_from_its_checkpoint_ends_as_an_uninterrupted_cl(tmp_path):
    """CL's epoch checkpoint (cl_checkpoint.pt): continuing it gives the uninterrupted CL's model and
    evaluations, also with a target accuracy; a CL that had finished is not trained further."""
    from simulator.centralized import run_centralized
    from simulator.data import build_federated_data
    from tests.conftest import tiny_scenario

    common = {"probes__energy": False, "model__name": "mlp"}
    scenario = tiny_scenario(training__rounds=2, training__target_accuracy=0.75, training__max_rounds=4, **common)
    data = build_federated_data(scenario)
    straight = run_centralized(scenario, data)
    assert [e.epoch for e in straight.evaluations] == [1, 2, 3]  # past the budget of 2, to the target

    run_centralized(tiny_scenario(training__rounds=1, **common), data, run_dir=tmp_path)  # stopped after epoch 1
    continued = run_centralized(scenario, data, run_dir=tmp_path)
    again = run_centralized(scenario, data, run_dir=tmp_path)  # stopped after CL had finished

    for outcome in (continued, again):
        assert [(e.epoch, e.accuracy) for e in outcome.evaluations] == [(e.epoch, e.accuracy) for e in straight.evaluations]
        for name, tensor in straight.model.state_dict().items():
            assert torch.equal(tensor, outcome.model.state_dict()[name]), name
    assert len(again.rows) == len(continued.rows)  # no epoch trained twice
