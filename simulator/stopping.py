"""Stopping on a signal: Ctrl-C (SIGINT) and SIGTERM end a run cleanly and leave it resumable.

The `silocarbon` command installs `stop_on_signals()`. The first SIGINT or SIGTERM sets a process-wide
flag and raises `StopRequested` in the main thread (as Python's own Ctrl-C does, so any wait is cut
short); silo threads and the server's reply polling check the flag between steps
(`raise_if_stopped`), so the work in flight ends within one batch. The pipeline marks the run folder
`interrupted` and the command exits with 128 + the signal number (130 for SIGINT, 143 for SIGTERM),
the shell's convention. A second signal while that clean-up runs ends the process at once.
Inside `stop_deferred()` (the ray runner) the signal only sets the flag, and the stop is raised when
the block ends.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)

_stop = threading.Event()
_first_signal: list[int] = []
_deferring: list[bool] = []  # non-empty inside stop_deferred()
_installed: list[bool] = []  # non-empty inside stop_on_signals()


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
    """A run stopped by a signal after its folder was marked `interrupted`; `resumable` False for a
    measured app of the user's own (`run --app`), whose strategy silocarbon does not hold."""

    def __init__(self, signal_number: int, run_dir: Path, resumable: bool = True):
        super().__init__(signal_number)
        self.run_dir = run_dir
        self.resumable = resumable

    def __str__(self) -> str:
        then = (f"`silocarbon resume {self.run_dir}` goes on from its last finished round" if self.resumable
                else "it measured your own Flower app, which cannot be resumed: run it again with `silocarbon run --app`")
        return f"interrupted by {self.signal_name}: run folder '{self.run_dir}' is marked interrupted; {then}"


@contextmanager
def stop_on_signals() -> Iterator[None]:
    """The handlers, installed for the block (main thread only, as Python requires); the previous
    ones come back after it, so calling the command in-process (tests) leaves the caller's as it was."""
    previous = {number: signal.signal(number, _on_signal) for number in STOP_SIGNALS}
    _installed.append(True)
    try:
        yield
    finally:
        _installed.pop()
        for number, handler in previous.items():
            signal.signal(number, handler)


def take_back_signals() -> None:
    """Re-install our handlers after a library replaced them (ray.init does, for SIGTERM, and a C++
    handler of Ray's aborts the process on it); nothing where they were not installed."""
    if _installed and threading.current_thread() is threading.main_thread():
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
    if _deferring:
        return  # the code running now polls raise_if_stopped and ends itself (see stop_deferred)
    raise StopRequested(number)


@contextmanager
def stop_deferred() -> Iterator[None]:
    """Inside the block a stop signal only sets the flag, and StopRequested is raised when the block
    ends. For library code that must not be interrupted at an arbitrary point: Flower's simulation
    engine, interrupted in its main thread, leaves a worker thread waiting on Ray for ever, and the
    process could not exit; our ServerApp in its thread polls the flag and ends the run instead."""
    _deferring.append(True)
    try:
        yield
    finally:
        _deferring.pop()
    raise_if_stopped()


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


def stop_on_signals_if_main_thread():  # type: ignore[no-untyped-def]
    """`stop_on_signals()` where signals can be handled (the main thread), else nothing."""
    return stop_on_signals() if threading.current_thread() is threading.main_thread() else nullcontext()
