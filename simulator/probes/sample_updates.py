"""Sample updates made by this thread's training: a counter the training loop advances by every
example it trains on (one per example per epoch), read at window edges like CPU or GPU seconds.

Per thread, not per process: the inline runner serves each silo on its own thread, and a silo call
the server stopped waiting for may still be training on its thread while the next silo trains on
another; each window counts only the work of the thread it measures.
"""

from __future__ import annotations

import threading

_local = threading.local()


def count_sample_updates(count: int) -> None:
    _local.updates = sample_updates_so_far() + int(count)


def sample_updates_so_far() -> int:
    return int(getattr(_local, "updates", 0))
