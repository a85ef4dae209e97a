"""The deployment runner's watchdog: a tiny process that outlives the runner and cleans up after it.

The runner starts it first (in a session of its own, so a terminal's Ctrl-C or hang-up does not reach
it) and writes to its standard input, one line each:

    pid PID          a process the runner started (its process group is the PID: each child leads one)
    folder PATH      a scratch folder to remove (it holds the run's private keys)
    done             the runner stopped everything itself

When its standard input ends (the runner closed it, or died: the kernel closes a dead process's
pipes, also after SIGKILL), the watchdog removes the folders; unless `done` came first, it also ends
every recorded process group still alive (SIGTERM, then SIGKILL after a grace period), checking
each PID still names the process it was told of (its start time), so a reused PID is never hit.

Only the standard library is used, and the runner starts it with `python -I -S FILE`: it costs a
few milliseconds and imports nothing of silocarbon's or Flower's.
"""

from __future__ import annotations

import os
import shutil
import signal
import sys
import time

GRACE_S = 3.0  # seconds a process group gets to end after SIGTERM before SIGKILL
POLL_S = 0.05


def start_time(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (/proc/PID/stat field 22); None if gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            stat = handle.read().decode("ascii", "replace")
    except OSError:
        return None
    # The command name (field 2) is in parentheses and may hold spaces: split after its last ')'.
    fields = stat[stat.rfind(")") + 2 :].split()
    return fields[19] if len(fields) > 19 else None


def alive(pid: int, started: str | None) -> bool:
    current = start_time(pid)
    if current is None or current != started:
        return False
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            state = handle.read().decode("ascii", "replace")
        return state[state.rfind(")") + 2 :].split()[0] != "Z"
    except OSError:
        return False


def end_groups(processes: dict[int, str | None], grace_s: float = GRACE_S) -> None:
    """SIGTERM each live recorded process's group, then SIGKILL what is left after `grace_s`."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        targets = [pid for pid, started in processes.items() if alive(pid, started)]
        for pid in targets:
            try:
                os.killpg(pid, sig)
            except OSError:
                try:
                    os.kill(pid, sig)  # not (or no longer) a group leader: the process alone
                except OSError:
                    pass
        deadline = time.monotonic() + (grace_s if sig == signal.SIGTERM else 1.0)
        while time.monotonic() < deadline and any(alive(pid, processes[pid]) for pid in targets):
            time.sleep(POLL_S)


def main() -> None:
    for name in ("SIGINT", "SIGHUP", "SIGTERM"):
        signal.signal(getattr(signal, name), signal.SIG_IGN)  # only the end of stdin ends the watch
    processes: dict[int, str | None] = {}
    folders: list[str] = []
    done = False
    for line in sys.stdin.buffer:
        word, _, argument = line.decode("utf-8", "replace").rstrip("\n").partition(" ")
        if word == "pid" and argument.isdigit():
            processes[int(argument)] = start_time(int(argument))
        elif word == "folder" and argument:
            folders.append(argument)
        elif word == "done":
            done = True
    if not done:
        end_groups(processes)
    for folder in folders:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
