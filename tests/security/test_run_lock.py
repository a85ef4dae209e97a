"""One writer per run folder: `resume` on a folder a live `silocarbon run` is writing is refused with
one line naming the folder and that process's PID (the run is paused with SIGSTOP meanwhile, so it
is surely alive); once the run is killed (SIGKILL, so its lock file
stays behind), the stale lock does not block the resume."""

from __future__ import annotations

import json
import os
import signal

from simulator.results.run_dir import MANIFEST
from tests.conftest import run_cli
from tests.processes import start_cli, stop, straggling_scenario, wait_for_round

LOCK_FILE = "run.lock"  # simulator/results/run_lock.py


def test_resume_of_a_live_run_is_refused_naming_its_pid_and_a_killed_runs_lock_does_not_block(tmp_path):
    scenario = tmp_path / "busy.toml"
    scenario.write_text(straggling_scenario("busy", rounds=3))
    running = start_cli("run", str(scenario), "--runs-dir", str(tmp_path / "runs"), "--quiet", cwd=tmp_path)
    run_dir = wait_for_round(tmp_path / "runs", running, at_least=1)
    os.kill(running.pid, signal.SIGSTOP)  # alive and holding its lock, however slow the next start is

    second = run_cli("resume", str(run_dir), "--quiet", cwd=tmp_path)
    assert running.poll() is None, "the live run must be left alone"
    assert second.returncode == 2, second.stderr
    assert len(second.stderr.strip().splitlines()) == 1
    assert f"run folder '{run_dir}' is in use by process {running.pid}" in second.stderr

    status, _ = stop(running, signal.SIGKILL)
    assert status == -signal.SIGKILL
    assert (run_dir / LOCK_FILE).read_text().strip() == str(running.pid)  # stale: its process is gone

    resumed = run_cli("resume", str(run_dir), "--quiet", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads((run_dir / MANIFEST).read_text())["status"] == "complete"
    assert not (run_dir / LOCK_FILE).exists()  # released when the resume ended
