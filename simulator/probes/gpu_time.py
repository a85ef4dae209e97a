"""Seconds this process's work ran on a GPU: a process-wide counter that the training loop and the
evaluation advance while they run on a CUDA device, read at window edges like any other counter.

It is what concurrent silos' GPU energy is split by: a silo's GPU seconds over an exchange.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_gpu_seconds = 0.0


@contextmanager
def gpu_busy(device) -> Iterator[None]:
    """Count the enclosed work's wall time as GPU time when `device` (a torch.device) is a GPU."""
    global _gpu_seconds
    if getattr(device, "type", "cpu") != "cuda":
        yield
        return
    import torch

    started = time.perf_counter()
    try:
        yield
    finally:
        torch.cuda.synchronize(device)  # kernels run asynchronously: wait until they are done
        with _lock:
            _gpu_seconds += time.perf_counter() - started


def gpu_seconds() -> float:
    with _lock:
        return _gpu_seconds
