"""`silocarbon run` with no argument: the embedded default, end to end, from any folder."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import pytest
import torch

from simulator.ledger import LEDGER_COLUMNS
from tests.conftest import run_cli


def test_default_run_trains_both_approaches_and_writes_the_run_folder(tmp_path):
    result = run_cli("run", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "federated (FL) vs centralized (CL)" in result.stdout and "kWh" in result.stdout
    runs = list((tmp_path / "runs").iterdir())
    assert len(runs) == 1 and runs[0].name.endswith("-default")
    folder = runs[0]
    for name in ("manifest.json", "ledger.csv", "summary.json", "final_model.pt", "cl_model.pt", "emissions.csv"):
        assert (folder / name).is_file(), name
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["fl"]["accuracy"] >= 0.90 and summary["cl"]["accuracy"] >= 0.90
    for approach in ("fl", "cl"):
        assert summary[approach]["energy_kwh"] > 0 and summary[approach]["co2_kg"] > 0
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["seed"] == 0 and manifest["status"] == "complete"
    assert manifest["versions"]["flwr"].startswith("1.42") and manifest["versions"]["torch"]
    assert "modelled" in manifest["available_energy_methods"] or "measured" in manifest["available_energy_methods"]
    with (folder / "ledger.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == list(LEDGER_COLUMNS)
    silos = {r["silo"] for r in rows if r["approach"] == "fl"}
    assert silos == {"paris", "frankfurt", "virginia", "server"}
    assert {r["country"] for r in rows if r["silo"] == "paris"} == {"FRA"}
    state = torch.load(folder / "final_model.pt", weights_only=True)
    assert set(state) == {"0.weight", "0.bias", "2.weight", "2.bias"}


CONSOLE_SCRIPT = Path(sys.executable).parent / "silocarbon"


@pytest.mark.skipif(not CONSOLE_SCRIPT.exists(), reason="package not installed (running from a source tree)")
def test_console_script_is_installed():
    import subprocess

    result = subprocess.run([str(CONSOLE_SCRIPT), "--help"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and "run" in result.stdout


def test_telemetry_is_off_once_simulator_is_imported():
    import os

    import simulator  # noqa: F401

    assert os.environ["FLWR_TELEMETRY_ENABLED"] == "0"
    assert os.environ["RAY_USAGE_STATS_ENABLED"] == "0"
