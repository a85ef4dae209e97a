"""A work window: host energy (when a probe is installed in this process), wall and process CPU time.

Used as a context manager around a piece of work, or opened and closed explicitly when the work
spans calls (the server's aggregation between two exchanges).
"""

from __future__ import annotations

import time

from simulator.probes.energy import EnergyReading, absent_reading, host_probe


class WorkWindow:
    def __init__(self, key: str, *, measure_energy: bool = True):
        self.key = key
        self._measure_energy = measure_energy
        self._probe = None
        self._cpu_start = 0.0
        self._wall_start = 0.0
        self.reading: EnergyReading | None = None
        self.cpu_s = 0.0

    def begin(self) -> "WorkWindow":
        self._probe = host_probe() if self._measure_energy else None
        if self._probe is not None:
            self._probe.begin(self.key)
        self._cpu_start = time.process_time()
        self._wall_start = time.perf_counter()
        return self

    def end(self) -> EnergyReading:
        wall_s = time.perf_counter() - self._wall_start
        self.cpu_s = time.process_time() - self._cpu_start
        self.reading = self._probe.end(self.key) if self._probe is not None else absent_reading(wall_s)
        return self.reading

    @property
    def wall_s(self) -> float:
        return self.reading.wall_s if self.reading is not None else 0.0

    def __enter__(self) -> "WorkWindow":
        return self.begin()

    def __exit__(self, *exc_info) -> None:
        self.end()
