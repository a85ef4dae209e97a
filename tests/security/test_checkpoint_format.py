"""`resume` reads data, never code: a checkpoint crafted to run code when unpickled is refused with one
line naming the file, and the code does not run (a marker folder it would create never appears)."""

from __future__ import annotations

import io
import json
import os
import pickle
import shutil
from pathlib import Path

import pytest
import torch

from simulator.results.checkpoint import CHECKPOINT
from simulator.results.run_dir import MANIFEST
from tests.conftest import run_cli, tiny_scenario

CL_CHECKPOINT = "cl_checkpoint.pt"  # simulator/results/cl_checkpoint.py


class _RunsCode:
    """Unpickling this calls os.mkdir(marker): the stand-in for any code an attacker wants run."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (os.mkdir, (self.marker,))


def _torch_file(payload) -> bytes:  # type: ignore[no-untyped-def]
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    return buffer.getvalue()


def _format_1_checkpoint(marker: Path) -> bytes:
    """The layout this tool wrote before: the strategy as pickle bytes inside a uint8 tensor."""
    evil = pickle.dumps(_RunsCode(marker))
    return _torch_file({
        "format": 1, "completed_round": 1, "model_state": {}, "random_state": (3, (0,) * 625, None),
        "strategy_pickle": torch.frombuffer(bytearray(evil), dtype=torch.uint8),
        "torch_rng_state": torch.get_rng_state(), "ledger_rows": 0, "rounds": [], "fl_wall_s": 0.0,
        "strategy_problem": "",
    })


CRAFTED = {
    "format-1 strategy pickle": (CHECKPOINT, _format_1_checkpoint),
    "object inside a torch file": (CHECKPOINT, lambda marker: _torch_file({"format": 2, "strategy_values": _RunsCode(marker)})),
    "bare pickle": (CHECKPOINT, lambda marker: pickle.dumps(_RunsCode(marker))),
    "CL checkpoint": (CL_CHECKPOINT, lambda marker: _torch_file({"format": 1, "model_state": _RunsCode(marker)})),
}


@pytest.fixture(scope="module")
def stopped_run(tmp_path_factory) -> Path:
    """A real run folder, as a killed run leaves it: resumable."""
    from simulator.pipeline import run_scenario

    run_dir = run_scenario(tiny_scenario(probes__energy=False), tmp_path_factory.mktemp("runs")).run_dir
    manifest = json.loads((run_dir / MANIFEST).read_text())
    (run_dir / MANIFEST).write_text(json.dumps({**manifest, "status": "running"}))
    return run_dir


def _crafted_copy(case: str, stopped_run: Path, tmp_path: Path) -> tuple[Path, Path, str]:
    run_dir = tmp_path / stopped_run.name
    shutil.copytree(stopped_run, run_dir)
    marker = tmp_path / "code-ran"
    file_name, craft = CRAFTED[case]
    (run_dir / file_name).write_bytes(craft(marker))
    return run_dir, marker, file_name


def test_the_old_pickled_strategy_is_refused_by_the_command_and_its_code_never_runs(stopped_run, tmp_path):
    run_dir, marker, file_name = _crafted_copy("format-1 strategy pickle", stopped_run, tmp_path)

    done = run_cli("resume", str(run_dir), "--quiet", cwd=tmp_path)

    assert not marker.exists(), "unpickling the checkpoint ran the attacker's code"
    assert done.returncode == 2, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr
    assert f"'{run_dir / file_name}' is unreadable" in done.stderr


@pytest.mark.parametrize("case", [case for case in CRAFTED if case != "format-1 strategy pickle"])
def test_other_crafted_checkpoints_are_refused_naming_the_file(case, stopped_run, tmp_path, capsys):
    from simulator.cli import main

    run_dir, marker, file_name = _crafted_copy(case, stopped_run, tmp_path)
    with pytest.raises(SystemExit) as exit_info:
        main(["resume", str(run_dir), "--quiet"])

    err = capsys.readouterr().err
    assert not marker.exists(), "unpickling the checkpoint ran the attacker's code"
    assert exit_info.value.code == 2 and err.count("\n") == 1, err
    assert f"'{run_dir / file_name}' is unreadable" in err
