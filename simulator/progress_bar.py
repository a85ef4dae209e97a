"""Rich progress bars for `silocarbon run`: one for the rounds, one for the silos of the current
exchange, one for the centralized twin's epochs. Shown only in a terminal and without --quiet."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from simulator.progress import NULL_OBSERVER, RunObserver


class ProgressBars(RunObserver):
    def __init__(self, console: Console | None = None):
        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=False,
        )
        self._rounds_task = None
        self._rounds_total = 0
        self._silos_task = None
        self._epochs_task = None
        self._epochs_total = 0
        self._seeds_task = None

    def __enter__(self) -> "ProgressBars":
        self._progress.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._progress.stop()

    def repeat_started(self, index: int, count: int, seed: int) -> None:
        if self._seeds_task is None:
            self._seeds_task = self._progress.add_task("seeds", total=count)
        self._progress.update(self._seeds_task, completed=index - 1, description=f"seeds (now seed {seed})")

    def federation_started(self, rounds: int, silos: Sequence[str]) -> None:
        # A group of seeds reuses the bars of its first run.
        self._rounds_total = rounds
        if self._rounds_task is None or self._silos_task is None:
            self._rounds_task = self._progress.add_task("FL rounds", total=rounds)
            self._silos_task = self._progress.add_task("silos", total=len(silos))
        else:
            self._progress.reset(self._rounds_task, total=rounds)
            self._progress.reset(self._silos_task, total=len(silos), description="silos")

    def exchange_started(self, round_number: int, phase: str, silos: int) -> None:
        if self._rounds_task is None or self._silos_task is None:
            return
        # A round is complete once the next one starts sending.
        self._progress.update(self._rounds_task, completed=max(0, round_number - 1))
        self._progress.reset(self._silos_task, total=silos, description=f"silos, round {round_number} {phase}")

    def silo_finished(self, round_number: int, phase: str, silo: str) -> None:
        if self._silos_task is not None:
            self._progress.advance(self._silos_task)

    def federation_finished(self) -> None:
        if self._rounds_task is not None:
            self._progress.update(self._rounds_task, completed=self._rounds_total)

    def centralized_started(self, epochs: int) -> None:
        self._epochs_total = epochs
        if self._epochs_task is None:
            self._epochs_task = self._progress.add_task("CL epochs", total=epochs)
        else:
            self._progress.reset(self._epochs_task, total=epochs)

    def centralized_finished(self) -> None:
        if self._epochs_task is not None:  # a target may end CL before its last possible epoch
            self._progress.update(self._epochs_task, completed=self._epochs_total)
        if self._seeds_task is not None:
            self._progress.advance(self._seeds_task)

    def centralized_epoch_finished(self, epoch: int) -> None:
        if self._epochs_task is not None:
            self._progress.update(self._epochs_task, completed=epoch)


def progress_for(quiet: bool, stream=None) -> ProgressBars | None:
    """Bars only for an interactive terminal without --quiet; None means: report nothing."""
    stream = stream if stream is not None else sys.stdout
    if quiet or not stream.isatty():
        return None
    return ProgressBars(Console(file=stream))


__all__ = ["NULL_OBSERVER", "ProgressBars", "progress_for"]
