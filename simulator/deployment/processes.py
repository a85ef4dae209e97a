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
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

from simulator.names import file_in

# Seconds a process gets to end after SIGTERM before SIGKILL. Short: nothing of the run's lives in
# these processes (the ServerApp writes the run folder as it goes), and Flower 1.42's SuperNode
# logs a graceful stop, then lingers until its own 5-s forced exit.
STOP_GRACE_S = 1.0
PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
PR_SET_NAME = 15
WATCHDOG_SCRIPT = Path(__file__).with_name("watchdog.py")


def _libc_prctl():  # type: ignore[no-untyped-def]
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None


_PRCTL = _libc_prctl()  # loaded before any fork: the child only calls it


def die_with_parent(parent_pid: int) -> None:
    """In a freshly forked child: SIGKILL when the parent dies, and exit at once if it already has
    (it may die between the fork and this call)."""
    if _PRCTL is not None:
        _PRCTL(PR_SET_PDEATHSIG, int(signal.SIGKILL))
    if os.getppid() != parent_pid:
        os._exit(1)


def name_process(name: str) -> None:
    """The process's name as `ps` and psutil show it (Linux keeps 15 bytes): a forked child would
    otherwise show its fork server's."""
    if _PRCTL is not None:
        _PRCTL(PR_SET_NAME, ctypes.c_char_p(name.encode()[:15]), 0, 0, 0)


def _die_with(parent_pid: int):  # type: ignore[no-untyped-def]
    """What a child runs between fork and exec (Popen's preexec_fn)."""
    return lambda: die_with_parent(parent_pid)


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
        self._lock = threading.Lock()

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
        with self._lock:  # the fork server's reader thread tells it of forked PIDs
            self._write(line)

    def _write(self, line: str) -> None:
        try:
            self._popen.stdin.write(line.encode() + b"\n")  # type: ignore[union-attr]
            self._popen.stdin.flush()  # type: ignore[union-attr]
        except (OSError, ValueError):  # the watchdog is gone: the runner's own cleanup still runs
            pass


class DeploymentError(RuntimeError):
    """A deployment run that could not finish: one line saying what stopped and where the rows are."""


class ForkedProcess:
    """A child of the fork server, with the part of Popen's interface the supervisor uses."""

    def __init__(self, server: "ForkServer", role: str):
        self._server = server
        self.role = role
        self._pid: int | None = None
        self.returncode: int | None = None
        self._started = threading.Event()
        self._exited = threading.Event()

    @property
    def pid(self) -> int:
        """Known once the fork server has forked it (waits for that, up to the start-up limit)."""
        if not self._started.wait(self._server.start_limit_s):
            raise DeploymentError(f"the fork server did not start {self.role} within {self._server.start_limit_s:.0f} s")
        return self._pid  # type: ignore[return-value]

    @property
    def known_pid(self) -> int | None:
        return self._pid

    def poll(self) -> int | None:
        if self.returncode is None and self._pid is None and self._server.popen.poll() is not None:
            self.returncode = 1  # the fork server ended before forking it
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if not self._exited.wait(timeout) and self.poll() is None:
            raise subprocess.TimeoutExpired(self.role, timeout or 0)
        return self.returncode  # type: ignore[return-value]

    def _set_started(self, pid: int) -> None:
        self._pid = pid
        self._started.set()

    def _set_exited(self, status: int) -> None:
        self.returncode = status
        self._exited.set()


class ForkServer:
    """The runner's side of simulator/deployment/fork_server.py: fork requests out, PIDs and exit
    statuses in (read by a thread)."""

    def __init__(self, popen: subprocess.Popen, watchdog: "Watchdog | None", start_limit_s: float):
        self.popen = popen
        self.start_limit_s = start_limit_s
        self._watchdog = watchdog
        self._lock = threading.Lock()
        self._waiting: dict[str, list[ForkedProcess]] = {}  # role -> requested, not yet started
        self._by_pid: dict[int, ForkedProcess] = {}
        self._early_exits: dict[int, int] = {}
        self.ready = threading.Event()
        threading.Thread(target=self._read, name="fork-server-reader", daemon=True).start()

    def fork(self, role: str, program: str, argv: list[str], log_path: Path) -> ForkedProcess:
        forked = ForkedProcess(self, role)
        with self._lock:
            self._waiting.setdefault(role, []).append(forked)
        request = {"role": role, "program": program, "argv": argv, "log": str(log_path)}
        try:
            self.popen.stdin.write((json.dumps(request) + "\n").encode())  # type: ignore[union-attr]
            self.popen.stdin.flush()  # type: ignore[union-attr]
        except (OSError, ValueError):
            pass  # the fork server is gone: poll() says so
        return forked

    def close(self) -> None:
        """No more requests: the fork server kills what it forked and ends."""
        try:
            self.popen.stdin.close()  # type: ignore[union-attr]
        except OSError:
            pass

    def _read(self) -> None:
        for line in self.popen.stdout:  # type: ignore[union-attr]
            try:
                message = json.loads(line)
            except ValueError:
                continue
            if message.get("ready"):
                self.ready.set()
            elif "started" in message:
                self._started(str(message["started"]), int(message["pid"]))
            elif "exited" in message:
                self._exited(int(message["exited"]), int(message["status"]))

    def _started(self, role: str, pid: int) -> None:
        with self._lock:
            waiting = self._waiting.get(role) or []
            if not waiting:
                return
            forked = waiting.pop(0)
            self._by_pid[pid] = forked
            early = self._early_exits.pop(pid, None)
        if self._watchdog is not None:
            self._watchdog.watch(pid)
        forked._set_started(pid)
        if early is not None:
            forked._set_exited(early)

    def _exited(self, pid: int, status: int) -> None:
        with self._lock:
            forked = self._by_pid.get(pid)
            if forked is None:
                self._early_exits[pid] = status
                return
        forked._set_exited(status)


@dataclass(frozen=True)
class StartedProcess:
    role: str  # "superlink", "supernode paris", "silo worker paris"
    popen: subprocess.Popen | ForkedProcess
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
        self._fork_server: ForkServer | None = None

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
        log_path = self._log_path(role)
        with log_path.open("ab") as log:
            popen = subprocess.Popen(
                argv, env=self._env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                process_group=0, preexec_fn=_die_with(os.getpid()),
            )
        started = StartedProcess(role, popen, log_path)
        self._register(started)
        return started

    def start_fork_server(self, start_limit_s: float, scenario_toml: Path | None = None) -> ForkServer:
        """Start the fork server (simulator/deployment/fork_server.py), preparing the data of the
        scenario in `scenario_toml` if given; `fork` then starts processes from it. Its log is
        `fork-server.log`."""
        self._log_dir.mkdir(parents=True, exist_ok=True)
        log_path = self._log_dir / "fork-server.log"
        with log_path.open("ab") as log:
            popen = subprocess.Popen(
                [sys.executable, "-m", "simulator.deployment.fork_server",
                 *([str(scenario_toml)] if scenario_toml is not None else [])],
                env=self._env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log,
                process_group=0, preexec_fn=_die_with(os.getpid()),
            )
        self._register(StartedProcess("fork server", popen, log_path))
        self._fork_server = ForkServer(popen, self._watchdog, start_limit_s)
        return self._fork_server

    def fork(self, role: str, program: str, argv: list[str]) -> StartedProcess:
        """Start `program` (see fork_server.PROGRAMS) with `argv` as a fork of the fork server."""
        if self._fork_server is None:
            raise RuntimeError("start_fork_server first")
        log_path = self._log_path(role)
        started = StartedProcess(role, self._fork_server.fork(role, program, argv, log_path), log_path)
        self._started.append(started)
        return started

    def _log_path(self, role: str) -> Path:
        # The role holds a silo name: data, never a path (simulator/names.py refuses one that would be).
        log_path = file_in(self._log_dir, role.replace(" ", "-"), ".log")
        self._log_dir.mkdir(parents=True, exist_ok=True)
        return log_path

    def _register(self, started: StartedProcess) -> None:
        self._started.append(started)
        if self._watchdog is not None:
            self._watchdog.watch(started.pid)
        try:
            self._seen[started.pid] = psutil.Process(started.pid)
        except psutil.NoSuchProcess:
            pass

    def note_descendants(self) -> None:
        for started in self._started:
            pid = _known_pid(started)
            if pid is not None and pid not in self._seen:
                try:
                    self._seen[pid] = psutil.Process(pid)
                except psutil.NoSuchProcess:
                    pass
            parent = self._seen.get(pid) if pid is not None else None
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
        `grace_s`. The fork server goes once its children are gone (it reports how they ended), and
        the `last_role` process (with its descendants) last: a SuperNode that stops tells the
        SuperLink, and would retry for seconds if the SuperLink had gone first."""
        self.note_descendants()
        last: set[int] = set()
        for started in self._started:
            if started.role == last_role and started.pid in self._seen:
                last.add(started.pid)
                try:
                    last.update(child.pid for child in self._seen[started.pid].children(recursive=True))
                except psutil.NoSuchProcess:
                    pass
        server = self._fork_server.popen.pid if self._fork_server is not None else None
        running = [process for process in reversed(list(self._seen.values())) if _running(process)]
        _stop([process for process in running if process.pid not in last and process.pid != server], grace_s)
        if self._fork_server is not None:
            self._fork_server.close()  # it reaps and reports its children, then leaves
            _stop([process for process in running if process.pid == server], grace_s, terminate=False)
        _stop([process for process in running if process.pid in last], grace_s)
        for started in self._started:  # reap our own children
            if isinstance(started.popen, subprocess.Popen):
                try:
                    started.popen.wait(timeout=grace_s)
                except subprocess.TimeoutExpired:
                    pass


def _known_pid(started: StartedProcess) -> int | None:
    if isinstance(started.popen, ForkedProcess):
        return started.popen.known_pid
    return started.popen.pid


def _stop(victims: list[psutil.Process], grace_s: float, terminate: bool = True) -> None:
    """SIGTERM each (unless `terminate` is false: it is ending already), SIGKILL what is left after `grace_s`."""
    for process in victims if terminate else ():
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
