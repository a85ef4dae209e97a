"""Ctrl-C (SIGINT) during `silocarbon run` and SIGTERM during `silocarbon resume`: each exits with
128 + the signal number and one line on stderr, no traceback, and leaves the run folder marked
`interrupted`, which `resume` then finishes. Likewise on the ray runner (whose Ray start-up installs
SIGTERM handlers of its own), and a second signal during a slow clean-up ends the process at once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import psutil
import pytest

from simulator.results.run_dir import MANIFEST
from tests.conftest import REPO_ROOT, run_cli
from tests.processes import start_cli, stop, straggling_scenario, wait_for_round


def _assert_interrupted(status: int, stderr: str, run_dir, signal_number: int) -> None:
    name = signal.Signals(signal_number).name
    assert status == 128 + signal_number, stderr
    assert len(stderr.strip().splitlines()) == 1 and "Traceback" not in stderr, stderr
    assert f"interrupted by {name}" in stderr and f"silocarbon resume {run_dir}" in stderr
    manifest = json.loads((run_dir / MANIFEST).read_text())
    assert manifest["status"] == "interrupted" and manifest["interruption"]["signal"] == name


def test_sigint_during_run_and_sigterm_during_resume_exit_130_and_143_and_the_folder_resumes(tmp_path):
    scenario = tmp_path / "stopme.toml"
    scenario.write_text(straggling_scenario("stopme", rounds=4))
    running = start_cli("run", str(scenario), "--runs-dir", str(tmp_path / "runs"), "--quiet", cwd=tmp_path)
    run_dir = wait_for_round(tmp_path / "runs", running, at_least=1)
    status, stderr = stop(running, signal.SIGINT)
    _assert_interrupted(status, stderr, run_dir, signal.SIGINT)
    assert status == 130

    resuming = start_cli("resume", str(run_dir), "--quiet", cwd=tmp_path)
    wait_for_round(tmp_path / "runs", resuming, at_least=2)
    status, stderr = stop(resuming, signal.SIGTERM)
    _assert_interrupted(status, stderr, run_dir, signal.SIGTERM)
    assert status == 143

    resumed = run_cli("resume", str(run_dir), "--quiet", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    manifest = json.loads((run_dir / MANIFEST).read_text())
    assert manifest["status"] == "complete"
    assert [(r["stopped_as"], r["interruption"]["signal"]) for r in manifest["resumed"]] == [
        ("interrupted", "SIGINT"), ("interrupted", "SIGTERM")]


def test_a_keyboard_interrupt_typer_catches_still_exits_130(monkeypatch, capsys):
    """typer turns a KeyboardInterrupt into a *returned* 130; the command used to drop it and exit 0."""
    import simulator.terminal
    from simulator.cli import main

    def interrupted() -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(simulator.terminal, "print_strategies", interrupted)
    with pytest.raises(SystemExit) as exit_info:
        main(["strategies"])
    assert exit_info.value.code == 130
    assert capsys.readouterr().err == "silocarbon: error: interrupted\n"


def test_sigterm_during_a_ray_run_exits_143_and_leaves_no_ray_process(tmp_path):
    scenario = tmp_path / "stopray.toml"
    scenario.write_text(straggling_scenario("stopray", rounds=3, extra='runner = "ray"'))
    running = start_cli("run", str(scenario), "--runs-dir", str(tmp_path / "runs"), "--quiet", cwd=tmp_path)
    run_dir = wait_for_round(tmp_path / "runs", running, at_least=1)
    ray_processes = psutil.Process(running.pid).children(recursive=True)
    assert ray_processes

    status, stderr = stop(running, signal.SIGTERM)

    assert status == 143 and "Traceback" not in stderr, stderr
    # Ray and Flower print start-up warnings of their own; ours is the last line.
    assert stderr.strip().splitlines()[-1].startswith(f"silocarbon: error: interrupted by SIGTERM: run folder '{run_dir}'")
    assert json.loads((run_dir / MANIFEST).read_text())["status"] == "interrupted"
    _, alive = psutil.wait_procs(ray_processes, timeout=10)
    assert not alive, [process.cmdline() for process in alive]


SLOW_CLEAN_UP = """
import time
from simulator.stopping import StopRequested, stop_on_signals
with stop_on_signals():
    try:
        print("ready", flush=True)
        time.sleep(60)
    except StopRequested:
        print("cleaning up", flush=True)
        time.sleep(60)  # a clean-up that takes too long for the user
"""


def test_a_second_signal_during_a_slow_clean_up_ends_the_process_at_once():
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    process = subprocess.Popen([sys.executable, "-c", SLOW_CLEAN_UP], env=env, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert process.stdout.readline() == "ready\n"
        os.kill(process.pid, signal.SIGINT)
        assert process.stdout.readline() == "cleaning up\n"
        started = time.monotonic()
        os.kill(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert time.monotonic() - started < 30
    assert process.returncode == 130  # the first signal's status
    assert process.stderr.read() == "silocarbon: error: stopped at once by a second SIGTERM\n"
