"""The processes a deployment run starts, and their stop by PID (terminate, then kill).

Flower's SuperLink starts helpers of its own (a SuperExec, then a ServerApp process per run); the
supervisor records those descendants as it sees them, so every PID that the run caused to exist is
known, stopped at the end, and can be checked afterwards.
"""

from __future__ import annotations

import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

from simulator.names import file_in

STOP_GRACE_S = 5.0


class DeploymentError(RuntimeError):
    """A deployment run that could not finish: one line saying what stopped and where the rows are."""


@dataclass(frozen=True)
class StartedProcess:
    role: str  # "superlink", "supernode paris", "silo worker paris"
    popen: subprocess.Popen
    log_path: Path

    @property
    def pid(self) -> int:
        return self.popen.pid


class ProcessSupervisor:
    def __init__(self, env: dict[str, str], log_dir: Path):
        self._env = env
        self._log_dir = log_dir
        self._started: list[StartedProcess] = []
        self._seen: dict[int, psutil.Process] = {}

    @property
    def log_dir(self) -> Path:
        """Where each started process's output goes, one log file per role."""
        return self._log_dir

    @property
    def started(self) -> tuple[StartedProcess, ...]:
        return tuple(self._started)

    @property
    def pids(self) -> frozenset[int]:
        """Every PID started here or seen as a descendant of one."""
        self.note_descendants()
        return frozenset(self._seen)

    def start(self, role: str, argv: list[str], cwd: Path | None = None) -> StartedProcess:
        # The role holds a silo name: data, never a path (simulator/names.py refuses one that would be).
        log_path = file_in(self._log_dir, role.replace(" ", "-"), ".log")
        self._log_dir.mkdir(parents=True, exist_ok=True)
        with log_path.open("ab") as log:
            popen = subprocess.Popen(
                argv, env=self._env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )
        started = StartedProcess(role, popen, log_path)
        self._started.append(started)
        try:
            self._seen[popen.pid] = psutil.Process(popen.pid)
        except psutil.NoSuchProcess:
            pass
        return started

    def note_descendants(self) -> None:
        for started in self._started:
            parent = self._seen.get(started.pid)
            if parent is None:
                continue
            try:
                for child in parent.children(recursive=True):
                    self._seen.setdefault(child.pid, child)
            except psutil.NoSuchProcess:
                continue

    def first_exited(self) -> StartedProcess | None:
        for started in self._started:
            if started.popen.poll() is not None:
                return started
        return None

    def stop_all(self, grace_s: float = STOP_GRACE_S) -> None:
        """Terminate every started process and every descendant seen, newest first; kill the rest."""
        self.note_descendants()
        victims = [process for process in reversed(list(self._seen.values())) if _running(process)]
        for process in victims:
            try:
                process.terminate()  # psutil checks the PID still names the same process
            except psutil.NoSuchProcess:
                pass
        _, alive = psutil.wait_procs(victims, timeout=grace_s)
        for process in alive:
            try:
                process.kill()
            except psutil.NoSuchProcess:
                pass
        psutil.wait_procs(alive, timeout=grace_s)
        for started in self._started:  # reap our own children
            try:
                started.popen.wait(timeout=grace_s)
            except subprocess.TimeoutExpired:
                pass


def running_pids(pids: frozenset[int] | set[int]) -> set[int]:
    """The PIDs among `pids` that still name a live (non-zombie) process."""
    alive = set()
    for pid in pids:
        try:
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                alive.add(pid)
        except psutil.NoSuchProcess:
            continue
    return alive


def _running(process: psutil.Process) -> bool:
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port free right now on `host` (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def wait_for_port(host: str, port: int, timeout_s: float, watched: StartedProcess) -> None:
    """Wait until `host:port` accepts connections; fail early if `watched` exits."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if watched.popen.poll() is not None:
            raise DeploymentError(
                f"{watched.role} (pid {watched.pid}) exited with status {watched.popen.returncode} "
                f"while starting; see {watched.log_path}"
            )
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise DeploymentError(f"{watched.role} did not listen on {host}:{port} within {timeout_s:.0f} s; see {watched.log_path}")
