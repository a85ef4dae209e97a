"""This process's CPU time and memory over a window, from psutil.

CPU time is user + system seconds of every thread of this process (torch's worker threads
included), read at the window edges from the per-process CPU clock (`time.process_time`: the same
quantity psutil's `cpu_times` reports, at nanosecond rather than 10 ms resolution, which matters for
windows of a few milliseconds); memory is psutil's resident set size at the end of the window; GPU
time is the seconds this process's training and evaluation ran on a CUDA device (`gpu_time`).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from functools import lru_cache

import psutil

from simulator.probes.base import OpenWindows
from simulator.probes.gpu_time import gpu_seconds


@dataclass(frozen=True)
class ProcessReading:
    wall_s: float
    cpu_s: float
    gpu_s: float
    rss_end_bytes: int


@lru_cache(maxsize=None)
def _process(pid: int) -> psutil.Process:
    # One psutil handle per process id (building one reads /proc), shared by every probe.
    return psutil.Process(pid)


class ProcessProbe:
    name = "process probe"

    def __init__(self) -> None:
        self._process = _process(os.getpid())
        self._windows: OpenWindows[tuple[float, float, float]] = OpenWindows(self.name)

    def cpu_seconds(self) -> float:
        return time.process_time()

    def begin(self, key: str) -> None:
        self._windows.open(key, (time.perf_counter(), self.cpu_seconds(), gpu_seconds()))

    def end(self, key: str) -> ProcessReading:
        wall_start, cpu_start, gpu_start = self._windows.close(key)
        cpu_s = self.cpu_seconds() - cpu_start
        gpu_s = gpu_seconds() - gpu_start
        wall_s = time.perf_counter() - wall_start
        return ProcessReading(wall_s, cpu_s, gpu_s, int(self._process.memory_info().rss))

    def close(self) -> None:
        self._windows.clear()
