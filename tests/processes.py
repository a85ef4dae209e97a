"""Helpers for tests that start `silocarbon` as a real process and stop it with real signals."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from simulator.results.checkpoint import CHECKPOINT, read_checkpoint
from tests.conftest import REPO_ROOT


def straggling_scenario(name: str, rounds: int, extra: str = "") -> str:
    """Three silos on digits; one straggler makes each round last a fraction of a second, so a signal
    sent after a round's checkpoint lands mid-run. `extra` adds TOML sections (e.g. a [strategy])."""
    return f"""
name = "{name}"
seed = 3
{extra}
[model]
name = "mlp"
hidden_units = 16
[training]
rounds = {rounds}
[probes]
energy = false
[[silos]]
name = "paris"
country = "FRA"
share = 0.4
[[silos]]
name = "berlin"
country = "DEU"
share = 0.3
[[silos]]
name = "virginia"
country = "USA"
share = 0.3
[faults.silo.virginia]
slowdown = 15.0
"""


def start_cli(*args: str, cwd: Path) -> subprocess.Popen:
    """`python -m simulator ARGS` in its own process, output captured as text."""
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.Popen([sys.executable, "-m", "simulator", *args], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_until(found: Callable[[], Path | None], process: subprocess.Popen, what: str, limit_s: float = 240) -> Path:
    """Poll `found` until it returns a path; fail if the process ends first or time runs out."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        assert process.poll() is None, f"the process ended before {what}: {process.communicate()[1]}"
        path = found()
        if path is not None:
            return path
        time.sleep(0.02)
    raise AssertionError(f"no {what} in {limit_s:.0f} s")


def wait_for_round(runs: Path, process: subprocess.Popen, at_least: int, limit_s: float = 240) -> Path:
    """The run folder, once its checkpoint says `at_least` rounds are finished."""

    def checkpointed() -> Path | None:
        for checkpoint in runs.glob(f"*/{CHECKPOINT}"):
            try:
                found = read_checkpoint(checkpoint.parent)
            except Exception:  # replaced while we read it: look again
                continue
            if found is not None and found.completed_round >= at_least:
                return checkpoint.parent
        return None

    return wait_until(checkpointed, process, f"checkpoint of round {at_least}", limit_s)


def stop(process: subprocess.Popen, signal_number: int, timeout_s: float = 120) -> tuple[int, str]:
    """Send the signal, wait for the process to end; its exit status and stderr."""
    try:
        os.kill(process.pid, signal_number)
        _, stderr = process.communicate(timeout=timeout_s)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    return process.returncode, stderr
