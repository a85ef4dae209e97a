"""One process that imports Flower, torch and silocarbon's apps once, and forks the deployment's
SuperNodes and workers from itself.

Each of those processes would otherwise import the same modules itself: about 2.5 s of CPU for a
SuperNode and 4 s for a worker, which on a small host is most of a deployment's start-up. A forked
child shares what the fork server imported (copy-on-write) and only does its own start: Flower's
SuperNode runs its own command-line entry point (`flower-supernode`'s), a worker its `main`.

The fork server forks only from its one thread, before any of torch's thread pools exist (nothing
is computed in it but torch's one-thread warm-up), so the children start clean. SuperNodes need only
Flower: the ones requested by then are forked as soon as Flower's SuperNode is imported, before the
apps, torch and the data load (about 1.5 s earlier here). A SuperNode polls once as it connects and
then sleeps 3 s (Flower's), before any run can send it a message; connecting earlier, that sleep
passes while the workers and the ServerApp still start, instead of after.

Run: `python -m simulator.deployment.fork_server [SCENARIO_TOML_FILE]` (the run's scenario, as the
run config carries it: its data are then built before any fork).

Protocol, one JSON object per line:
- runner -> fork server (standard input): {"role": ..., "program": "supernode" | "silo-worker" |
  "server-worker", "argv": [...], "log": PATH}: fork a child running that program with those
  arguments, its output appended to PATH;
- fork server -> runner (standard output): {"ready": true} once everything is imported, then
  {"started": ROLE, "pid": PID} per child and {"exited": PID, "status": S} when a child ends (S as
  subprocess gives it: the exit code, or minus the signal that ended it).
Each child leads its own process group and gets SIGKILL when the fork server dies (which gets
SIGKILL when the runner dies, see processes.py); when its standard input ends, the fork server
kills its children and leaves.
"""

from __future__ import annotations

import json
import os
import select
import signal
import sys
import traceback

import simulator  # noqa: F401  (telemetry off before Flower loads)

PROGRAMS = ("supernode", "silo-worker", "server-worker")
POLL_S = 0.05


def preload_supernode() -> None:
    """What a SuperNode child runs: Flower's SuperNode, and what every child does first."""
    import simulator.deployment.processes  # noqa: F401
    from simulator.flower.flwr_internals import load_supernode

    load_supernode()


def preload(scenario_toml_path: str | None) -> None:
    """Everything the workers run, imported (and torch warmed up on one thread) before they are
    forked; with the run's scenario (as the run config carries it), its dataset and split too: the
    silos and the ServerApp then find them built (copy-on-write, cached by the scenario)."""
    import simulator.deployment.server_worker  # noqa: F401
    import simulator.deployment.silo_worker  # noqa: F401
    import simulator.flower.client_app  # noqa: F401
    import simulator.flower.server_app  # noqa: F401
    import simulator.probes.host_energy  # noqa: F401
    from simulator.training import warm_up_torch

    # Flower's ServerApp runtime is left to the one child that needs it (it imports it after the
    # fork, beside the other children's start).
    preload_supernode()
    if scenario_toml_path:
        _prepare_data(scenario_toml_path)
    warm_up_torch(1)  # one thread: no thread pool to inherit; also freezes start-up objects out of the GC


def _prepare_data(scenario_toml_path: str) -> None:
    from simulator.data import build_federated_data
    from simulator.flower.scenario_source import SCENARIO_TOML_KEY, scenario_from_run_config

    try:
        with open(scenario_toml_path, encoding="utf-8") as handle:
            build_federated_data(scenario_from_run_config({SCENARIO_TOML_KEY: handle.read()}))
    except Exception:  # the silos meet the same failure where it is reported: in their own replies
        traceback.print_exc()


def run_program(program: str, argv: list[str]) -> None:
    if program == "supernode":
        from simulator.flower.flwr_internals import run_supernode

        run_supernode(argv)
    elif program == "silo-worker":
        from simulator.deployment.silo_worker import main

        main(argv)
    elif program == "server-worker":
        from simulator.deployment.server_worker import main

        main(argv)
    else:
        raise ValueError(f"unknown program {program!r}; known: {', '.join(PROGRAMS)}")


def _child(request: dict, server_pid: int) -> None:
    """In the forked child: become the requested program; never returns."""
    code = 1
    try:
        os.setpgid(0, 0)
        from simulator.deployment.processes import die_with_parent, name_process

        die_with_parent(server_pid)
        name_process(request["program"])
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGCHLD, signal.SIGPIPE):
            signal.signal(sig, signal.SIG_DFL)
        log = os.open(request["log"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.dup2(log, 1)
        os.dup2(log, 2)
        os.close(log)
        os.close(devnull)
        # The child writes to a log file: timestamps show where a round's time goes; colours are noise there.
        from simulator.flower.flwr_internals import log_with_timestamps

        log_with_timestamps()
        sys.argv = [request["program"], *request["argv"]]
        run_program(request["program"], list(request["argv"]))
        code = 0
    except SystemExit as ended:
        code = ended.code if isinstance(ended.code, int) else (0 if ended.code is None else 1)
    except BaseException:  # the child's own failure, in its own log
        traceback.print_exc()
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


def _status(wait_status: int) -> int:
    return -os.WTERMSIG(wait_status) if os.WIFSIGNALED(wait_status) else os.WEXITSTATUS(wait_status)


class Requests:
    """Fork requests from the runner (standard input, one JSON object per line), read as they come."""

    def __init__(self, fd: int):
        self._fd = fd
        self._buffer = b""
        self._queued: list[dict] = []
        self.ended = False  # the runner closed its end (done, or dead)

    def read(self, timeout_s: float) -> None:
        """Take in what has arrived, waiting up to `timeout_s` for something."""
        readable, _, _ = select.select([self._fd], [], [], timeout_s)
        if not readable:
            return
        chunk = os.read(self._fd, 65536)
        if not chunk:
            self.ended = True
            return
        self._buffer += chunk
        while b"\n" in self._buffer:
            line, self._buffer = self._buffer.split(b"\n", 1)
            self._queued.append(json.loads(line))

    def take(self, program: str | None = None) -> list[dict]:
        """The queued requests for `program` (None: all), in the order they came; the rest stay."""
        taken: list[dict] = []
        kept: list[dict] = []
        for request in self._queued:
            (taken if program is None or request["program"] == program else kept).append(request)
        self._queued = kept
        return taken


def serve(scenario_toml_path: str | None = None) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the runner stops this process, not a terminal
    out = sys.stdout
    children: set[int] = set()
    requests = Requests(sys.stdin.fileno())
    preload_supernode()
    requests.read(0)  # the SuperNodes asked for by now start before the rest loads (see above)
    for request in [] if requests.ended else requests.take("supernode"):
        _fork(request, children, out)
    preload(scenario_toml_path)
    _send(out, {"ready": True})
    while True:
        if requests.ended:  # the runner is done (or dead): end every child, then leave
            for pid in children:
                try:
                    os.killpg(pid, signal.SIGKILL)
                except OSError:
                    pass
            return
        for request in requests.take():
            _fork(request, children, out)
        while children:
            try:
                pid, wait_status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
            children.discard(pid)
            _send(out, {"exited": pid, "status": _status(wait_status)})
        requests.read(POLL_S)


def _fork(request: dict, children: set[int], out) -> None:  # type: ignore[no-untyped-def]
    out.flush()
    pid = os.fork()
    if pid == 0:
        _child(request, os.getppid())
    children.add(pid)
    _send(out, {"started": request["role"], "pid": pid})


def _send(out, message: dict) -> None:  # type: ignore[no-untyped-def]
    out.write(json.dumps(message) + "\n")
    out.flush()


if __name__ == "__main__":
    serve(sys.argv[1] if len(sys.argv) > 1 else None)
