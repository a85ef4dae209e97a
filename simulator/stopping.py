"""Stopping on a signal: Ctrl-C (SIGINT) and SIGTERM end a run cleanly and leave it resumable.

The `silocarbon` command installs `stop_on_signals()`. The first SIGINT or SIGTERM sets a process-wide
flag and raises `StopRequested` in the main thread (as Python's own Ctrl-C does, so any wait is cut
short); silo threads and the server's reply polling check the flag between steps
(`raise_if_stopped`), so the work in flight ends within one batch. The pipeline marks the run folder
`interrupted` and the command exits with 128 + the signal number (130 for SIGINT, 143 for SIGTERM),
the shell's convention. A second signal while that clean-up runs ends the process at once.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from pathlib import Path

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)

_stop = threading.Event()
_first_signal: list[int] = []


class StopRequested(BaseException):
    """A signal asked this process to stop.

    A BaseException, as KeyboardInterrupt is: the `except Exception` blocks that turn a silo's failure
    into a failed reply or a run into a failed one must let it pass.
    """

    def __init__(self, signal_number: int):
        super().__init__(signal_number)
        self.signal_number = signal_number

    @property
    def signal_name(self) -> str:
        return signal.Signals(self.signal_number).name

    @property
    def exit_status(self) -> int:
        return 128 + self.signal_number

    def __str__(self) -> str:
        return f"interrupted by {self.signal_name}"


class RunInterrupted(StopRequested):
    """A run stopped by a signal after its folder was marked `interrupted`."""

    def __init__(self, signal_number: int, run_dir: Path):
        super().__init__(signal_number)
        self.run_dir = run_dir

    def __str__(self) -> str:
        return (f"interrupted by {self.signal_name}: run folder '{self.run_dir}' is marked interrupted; "
                f"`silocarbon resume {self.run_dir}` goes on from its last finished round")


def stop_on_signals() -> None:
    """Install the handlers (main thread only, as Python requires)."""
    for number in STOP_SIGNALS:
        signal.signal(number, _on_signal)


def _on_signal(number: int, _frame) -> None:  # type: ignore[no-untyped-def]
    if _stop.is_set():
        # The clean-up after the first signal is taking too long for the user: stop now. Every run
        # file is written atomically, so the folder holds whole files (the manifest may still say
        # running, which resume accepts as well).
        os.write(sys.stderr.fileno(), f"silocarbon: error: stopped at once by a second {signal.Signals(number).name}\n".encode())
        os._exit(128 + _first_signal[0])
    _first_signal.append(number)
    _stop.set()
    raise StopRequested(number)


def stop_requested() -> bool:
    return _stop.is_set()


def raise_if_stopped() -> None:
    """In a worker thread or a polling loop: end this piece of work if a stop signal came."""
    if _stop.is_set():
        raise StopRequested(_first_signal[0] if _first_signal else signal.SIGINT)


def as_stop(interruption: BaseException) -> StopRequested:
    """A KeyboardInterrupt (Ctrl-C where our handlers are not installed: a script, a notebook) as a stop."""
    if isinstance(interruption, StopRequested):
        return interruption
    return StopRequested(signal.SIGINT)
