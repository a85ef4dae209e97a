"""Progress hooks: what the pipeline reports as work proceeds, to whoever listens.

The measuring code calls these methods and knows nothing of terminals; the default observer does
nothing, so tests, experiments and non-interactive runs pay nothing. `simulator.progress_bar` draws
them as rich progress bars for `silocarbon run` in a terminal.
"""

from __future__ import annotations

from collections.abc import Sequence


class RunObserver:
    """Every hook is a no-op here; an observer overrides the ones it shows."""

    def repeat_started(self, index: int, count: int, seed: int) -> None:
        """Run `index` of `count` (1-based) of a group of seeds begins, with this seed."""

    def federation_started(self, rounds: int, silos: Sequence[str]) -> None:
        """The federated run begins: at most `rounds` rounds over these silos."""

    def exchange_started(self, round_number: int, phase: str, silos: int) -> None:
        """The server sends one round's `phase` (train | evaluate) messages to `silos` silos."""

    def silo_finished(self, round_number: int, phase: str, silo: str) -> None:
        """One silo's reply for that round and phase is in (or its failure is recorded)."""

    def federation_finished(self) -> None:
        """Every round is done."""

    def centralized_started(self, epochs: int) -> None:
        """The centralized twin begins: `epochs` pooled epochs."""

    def centralized_epoch_finished(self, epoch: int) -> None:
        """One pooled epoch is done."""

    def centralized_finished(self) -> None:
        """The centralized twin is trained and evaluated."""


NULL_OBSERVER = RunObserver()
