"""The processes a deployment run starts, and their stop by PID (terminate, then kill).

No process outlives the run that started it, also when that run is killed:
- each child leads a process group of its own (a terminal's Ctrl-C reaches the runner, which stops
  them in order, not every process at once) and, on Linux, asks the kernel for SIGKILL when the
  runner dies (prctl PR_SET_PDEATHSIG, set between fork and exec; it fires when the runner's
  starting thread ends, so children are started from the runner's own thread);
- a watchdog process (simulator/deployment/watchdog.py) outlives the runner: when the runner dies,
  even by SIGKILL, it ends every group still alive and removes the scratch folder with the keys.
The supervisor also records every descendant it sees, so every PID that the run caused to exist is
known, stopped at the end, and can be checked afterwards.
"""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

# Seconds a process gets to end after SIGTERM before SIGKILL. Short: nothing of the run's lives in
# these processes (the ServerApp writes the run folder as it goes), and Flower 1.42's SuperNode
# logs a graceful stop, then lingers until its own 5-s forced exit.
STOP_GRACE_S = 1.0
PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
WATCHDOG_SCRIPT = Path(__file__).with_name("watchdog.py")


def _libc_prctl():  # type: ignore[no-untyped-def]
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None


_PRCTL = _libc_prctl()  # loaded before any fork: the child only calls it


def _die_with(parent_pid: int):  # type: ignore[no-untyped-def]
    """What a child runs between fork and exec: SIGKILL when the runner dies, and exit at once if it
    already has (the runner may die between the fork and this call)."""

    def in_child() -> None:
        if _PRCTL is not None:
            _PRCTL(PR_SET_PDEATHSIG, int(signal.SIGKILL))
        if os.getppid() != parent_pid:
            os._exit(1)

    return in_child


class Watchdog:
    """The process that cleans up after the runner if it dies (see watchdog.py); tell it each child
    and each scratch folder, and `release` it once the runner has cleaned up itself."""

    def __init__(self) -> None:
        self._popen = subprocess.Popen(
            [sys.executable, "-I", "-S", str(WATCHDOG_SCRIPT)],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # out of the terminal's process group: Ctrl-C does not reach it
        )

    @property
    def pid(self) -> int:
        return self._popen.pid

    def watch(self, pid: int) -> None:
        self._tell(f"pid {pid}")

    def remove_on_exit(self, folder: Path) -> None:
        self._tell(f"folder {folder}")

    def release(self) -> None:
        """The runner stopped everything: the watchdog only removes the folders (again) and ends."""
        self._tell("done")
        try:
            self._popen.stdin.close()  # type: ignore[union-attr]
        except OSError:
            pass
        try:
            self._popen.wait(timeout=STOP_GRACE_S)
        except subprocess.TimeoutExpired:
            self._popen.kill()
            self._popen.wait()

    def _tell(self, line: str) -> None:
        try:
            self._popen.stdin.write(line.encode() + b"\n")  # type: ignore[union-attr]
            self._popen.stdin.flush()  # type: ignore[union-attr]
        except (OSError, ValueError):  # the watchdog is gone: the runner's own cleanup still runs
            pass


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
    def __init__(self, env: dict[str, str], log_dir: Path, watchdog: Watchdog | None = None):
        self._env = env
        self._log_dir = log_dir
        self._watchdog = watchdog
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
        self._log_dir.mkdir(parents=True, exist_ok=True)
        log_path = self._log_dir / (role.replace(" ", "-") + ".log")
        with log_path.open("ab") as log:
            popen = subprocess.Popen(
                argv, env=self._env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                process_group=0, preexec_fn=_die_with(os.getpid()),
            )
        started = StartedProcess(role, popen, log_path)
        self._started.append(started)
        if self._watchdog is not None:
            self._watchdog.watch(popen.pid)
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

    def stop_all(self, grace_s: float = STOP_GRACE_S, last_role: str = "superlink") -> None:
        """Terminate every started process and every descendant seen, kill what is left after
        `grace_s`; the `last_role` process (and its descendants) only once the others are gone: a
        SuperNode that stops tells the SuperLink, and would retry for seconds if it had gone first."""
        self.note_descendants()
        last = {started.pid for started in self._started if started.role == last_role}
        for started in self._started:
            if started.pid in last and started.pid in self._seen:
                try:
                    last.update(child.pid for child in self._seen[started.pid].children(recursive=True))
                except psutil.NoSuchProcess:
                    pass
        running = [process for process in reversed(list(self._seen.values())) if _running(process)]
        _stop([process for process in running if process.pid not in last], grace_s)
        _stop([process for process in running if process.pid in last], grace_s)
        for started in self._started:  # reap our own children
            try:
                started.popen.wait(timeout=grace_s)
            except subprocess.TimeoutExpired:
                pass


def _stop(victims: list[psutil.Process], grace_s: float) -> None:
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


def wait_until_listening(host: str, port: int, timeout_s: float, poll_s: float = 0.05) -> bool:
    """Wait until `host:port` accepts connections (True), or `timeout_s` passes (False). A client
    that dials too early would back off for seconds (Flower's retries double from 1 s)."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return True
        except OSError:
            if time.monotonic() >= deadline:
                return False
            time.sleep(poll_s)


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
