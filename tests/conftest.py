"""Shared test helpers: tiny scenarios and a way to run the real `silocarbon` command."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import simulator  # noqa: F401  (telemetry off before Flower or Ray load)
from simulator.progress import RunObserver
from simulator.scenario.schema import Scenario
from simulator.scenario.load import validate_scenario

REPO_ROOT = Path(__file__).resolve().parents[1]


def tiny_scenario_dict(**changes) -> dict:
    """2 silos, 2 rounds, logistic regression on digits: a real federation in well under a second."""
    raw = {
        "name": "tiny",
        "seed": 0,
        "runner": "inline",
        "data": {"dataset": "digits", "partition": "shares", "test_fraction": 0.2},
        "model": {"name": "logreg"},
        "training": {"rounds": 2, "local_epochs": 1, "batch_size": 32, "learning_rate": 0.05},
        "strategy": {"name": "fedavg"},
        "silos": [
            {"name": "paris", "country": "FRA", "share": 0.6},
            {"name": "virginia", "country": "USA", "share": 0.4},
        ],
        "central": {"country": "USA", "pue": 1.1},
        "probes": {"host_country": "USA"},
    }
    for dotted, value in changes.items():
        target = raw
        parts = dotted.split("__")
        for part in parts[:-1]:
            target = target.setdefault(part, {})
        target[parts[-1]] = value
    return raw


def tiny_scenario(**changes) -> Scenario:
    """`tiny_scenario(training__rounds=3, model__name="mlp")`: section__key=value changes."""
    return validate_scenario(tiny_scenario_dict(**changes), "tiny")


def run_cli(*args: str, cwd: Path, timeout: float = 300, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run the real command line (`python -m simulator ...`) in `cwd`."""
    full_env = dict(os.environ)
    full_env["PYTHONPATH"] = str(REPO_ROOT) + os.pathsep + full_env.get("PYTHONPATH", "")
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "simulator", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=full_env,
    )


@pytest.fixture
def tiny() -> Scenario:
    return tiny_scenario()


class RecordingObserver(RunObserver):
    """Every progress hook a run calls, in order, as tuples."""

    def __init__(self):
        self.events: list[tuple] = []

    def federation_started(self, rounds, silos):
        self.events.append(("federation", rounds, tuple(silos)))

    def exchange_started(self, round_number, phase, silos):
        self.events.append(("exchange", round_number, phase, silos))

    def silo_finished(self, round_number, phase, silo):
        self.events.append(("silo", round_number, phase, silo))

    def federation_finished(self):
        self.events.append(("federation done",))

    def centralized_started(self, epochs):
        self.events.append(("cl", epochs))

    def centralized_epoch_finished(self, epoch):
        self.events.append(("cl epoch", epoch))

    def centralized_finished(self):
        self.events.append(("cl done",))
