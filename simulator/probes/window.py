"""A work window: energy (when a probe is installed in this process: the process's attributed figure
with the host's beside it), wall and process CPU time, and the sample updates the window's thread trained.

Used as a context manager around a piece of work, or opened and closed explicitly when the work
spans calls (the server's aggregation between two exchanges).
"""

from __future__ import annotations

from simulator.probes.energy import EnergyReading, absent_reading, host_probe
from simulator.probes.process import ProcessProbe, ProcessReading
from simulator.probes.sample_updates import sample_updates_so_far

class WorkWindow:
    def __init__(self, key: str, *, measure_energy: bool = True, children: bool = False):
        self.key = key
        self._measure_energy = measure_energy
        self._children = children  # the work runs in child processes too (Ray's workers)
        self._probe = None
        # A probe of its own: a window left open by a failed run can never block a later one's key.
        self._process_probe = ProcessProbe()
        self.reading: EnergyReading | None = None
        self.process: ProcessReading | None = None
        self.cpu_s = 0.0
        self.gpu_s = 0.0
        self.sample_updates = 0
        self._updates_at_begin = 0

    def begin(self) -> "WorkWindow":
        self._probe = host_probe() if self._measure_energy else None
        if self._probe is not None:
            self._probe.begin(self.key, children=self._children)
        self._process_probe.begin(self.key)
        self._updates_at_begin = sample_updates_so_far()
        return self

    def end(self) -> EnergyReading:
        self.sample_updates = sample_updates_so_far() - self._updates_at_begin
        self.process = self._process_probe.end(self.key)
        self.cpu_s = self.process.cpu_s
        self.gpu_s = self.process.gpu_s
        if self._probe is not None:
            self.reading = self._probe.end(self.key)
        else:
            self.reading = absent_reading(self.process.wall_s)
        return self.reading

    @property
    def wall_s(self) -> float:
        return self.reading.wall_s if self.reading is not None else 0.0

    def __enter__(self) -> "WorkWindow":
        return self.begin()

    def __exit__(self, *exc_info) -> None:
        self.end()
