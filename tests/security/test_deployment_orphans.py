"""A deployment run leaves nothing behind when the process that started it is killed: every
SuperLink, SuperNode and worker it started is gone, and so is its scratch folder with the TLS and
SuperNode private keys (issue 13, item 6).

Each case starts `silocarbon run` on a small deployment scenario (TLS and SuperNode authentication,
the defaults) as a process of its own, with its own TMPDIR: the scratch folder is made there, and
every process of that run inherits the variable, which is how they are found. Once the run is mid-way
(a round's rows are in the ledger journal) its parent gets the signal; within 10 s no process of the
run may be alive and the scratch folder must be gone.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
import tomli_w
from conftest import REPO_ROOT, tiny_scenario_dict

ROUNDS = 8  # about 4 s each: the run is still going when the signal lands
AFTER_SIGNAL_S = 10.0
RUN_LIMIT_S = 600.0
# The tiny two-silo scenario, on the deployment runner (TLS and SuperNode authentication, the defaults).
SCENARIO = tiny_scenario_dict(name="orphans", runner="deployment", training__rounds=ROUNDS, probes__energy=False)


def _processes_of_run(tmpdir: Path) -> list[psutil.Process]:
    """Every live process whose environment carries this run's TMPDIR (the run's own and its children)."""
    found = []
    for process in psutil.process_iter():
        try:
            if process.pid == os.getpid() or process.status() == psutil.STATUS_ZOMBIE:
                continue
            if process.environ().get("TMPDIR") == str(tmpdir):
                found.append(process)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    return found


def _names(processes: list[psutil.Process]) -> list[str]:
    """Each process's name and the start of its command line (a forked child keeps its parent's)."""
    names = []
    for process in processes:
        try:
            names.append(f"{process.name()}: {' '.join(process.cmdline()[:4])}")
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    return names


def _wait_until_mid_run(process: subprocess.Popen, tmpdir: Path, runs: Path) -> list[Path]:
    """The run's private keys, once a round's rows are in its ledger journal."""
    deadline = time.monotonic() + RUN_LIMIT_S
    while time.monotonic() < deadline:
        assert process.poll() is None, f"the run ended before the signal (status {process.returncode})"
        keys = list(tmpdir.glob("silocarbon-deploy-*/certs/supernodes/*.key"))
        journal = [path for path in runs.glob("*/fl_ledger.csv") if ",paris,1,train," in path.read_text()]
        if keys and journal:
            return keys
        time.sleep(0.1)
    raise AssertionError("the run did not reach its first round in time")


@pytest.mark.deployment
@pytest.mark.timeout(RUN_LIMIT_S + 120)
@pytest.mark.parametrize("signal_number", [signal.SIGKILL, signal.SIGTERM, signal.SIGINT], ids=lambda s: s.name)
def test_a_killed_deployment_run_leaves_no_process_and_no_key(tmp_path, signal_number):
    tmpdir, runs = tmp_path / "tmp", tmp_path / "runs"
    tmpdir.mkdir()
    scenario = tmp_path / "orphans.toml"
    scenario.write_text(tomli_w.dumps(SCENARIO))
    env = dict(os.environ, TMPDIR=str(tmpdir))
    env["PYTHONPATH"] = str(REPO_ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    with (tmp_path / "out.log").open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "simulator", "run", str(scenario), "--runs-dir", str(runs), "--quiet"],
            cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT,
        )
    try:
        keys = _wait_until_mid_run(process, tmpdir, runs)
        started = " | ".join(_names(_processes_of_run(tmpdir)))
        for role in ("superlink", "supernode", "silo"):
            assert role in started, f"no {role} process seen mid-run: {started}"

        process.send_signal(signal_number)
        process.wait(timeout=60)
        deadline = time.monotonic() + AFTER_SIGNAL_S
        while (alive := _processes_of_run(tmpdir)) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not alive, f"alive {AFTER_SIGNAL_S:.0f} s after {signal_number.name}: {_names(alive)}"
        assert not any(key.exists() for key in keys), f"private keys left on disk: {keys}"
        assert not list(tmpdir.glob("silocarbon-deploy-*")), "the scratch folder was left on disk"
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        for orphan in _processes_of_run(tmpdir):  # a failure leaves nothing running for the next test
            try:
                orphan.kill()
            except psutil.NoSuchProcess:
                pass
