"""Host energy windows on CodeCarbon's offline tracker: one tracker per host, one window at a time.

Per-silo figures come from windows around each silo's work (never one full-machine tracker per silo,
which would count the machine once per silo). Without RAPL, CodeCarbon's CPU figure is its load model
and RAM a constant, so readings say `modelled`; with RAPL they say `measured`. These are whole-host
(machine mode) figures; `simulator.probes.attribution` derives the process's own share from them.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Protocol

from simulator.probes import codecarbon_compat
from simulator.probes.base import OpenWindows, Probe, UnknownWindowError
from simulator.records.kinds import METHOD_ABSENT, METHOD_APPORTIONED, METHOD_MEASURED, METHOD_MODELLED, EnergyMethod
from simulator.units import WATTS_PER_KILOWATT

# Trust order when one figure combines components obtained differently: the total is only as good
# as its weakest present part.
_METHOD_RANK = {METHOD_MEASURED: 3, METHOD_APPORTIONED: 2, METHOD_MODELLED: 1}


def combined_method(*methods: EnergyMethod) -> EnergyMethod:
    """The method of a sum of components: absent only if every part is absent, else the weakest."""
    present = [m for m in methods if m != METHOD_ABSENT]
    if not present:
        return METHOD_ABSENT
    return min(present, key=lambda m: _METHOD_RANK[m])


@dataclass(frozen=True)
class EnergyReading:
    """Energy of one window, per component, in kWh; `None` where the component could not be read.

    Where the window's energy is attributed to a process (`simulator.probes.attribution`), `host`
    holds the whole host's figure for the same window (machine mode); None where none was taken.
    """

    wall_s: float
    energy_cpu_kwh: float | None
    energy_ram_kwh: float | None
    energy_gpu_kwh: float | None
    method: EnergyMethod
    host: "EnergyReading | None" = None

    @property
    def energy_kwh(self) -> float | None:
        parts = [p for p in (self.energy_cpu_kwh, self.energy_ram_kwh, self.energy_gpu_kwh) if p is not None]
        return sum(parts) if parts else None

    def scaled(self, fraction: float, method: EnergyMethod = METHOD_APPORTIONED) -> "EnergyReading":
        """This reading's share `fraction` (0..1) of every component, relabelled."""

        def part(value: float | None) -> float | None:
            return None if value is None else value * fraction

        return EnergyReading(
            wall_s=self.wall_s,
            energy_cpu_kwh=part(self.energy_cpu_kwh),
            energy_ram_kwh=part(self.energy_ram_kwh),
            energy_gpu_kwh=part(self.energy_gpu_kwh),
            method=method if self.method != METHOD_ABSENT else METHOD_ABSENT,
            host=None if self.host is None else self.host.scaled(fraction, method),
        )


def absent_reading(wall_s: float) -> EnergyReading:
    return EnergyReading(wall_s, None, None, None, METHOD_ABSENT)


class NullEnergyProbe:
    """Energy probes disabled: windows time themselves and report energy as absent."""

    available_methods: tuple[str, ...] = ()
    startup_wait_s = 0.0
    startup_s = 0.0
    window_overhead_s = 0.0

    name = "disabled energy probe"

    def __init__(self) -> None:
        self._windows: OpenWindows[float] = OpenWindows(self.name)

    def warm_up(self) -> None:
        return None

    def begin(self, key: str, *, children: bool = False) -> None:
        self._windows.open(key, time.perf_counter())

    def end(self, key: str) -> EnergyReading:
        return absent_reading(time.perf_counter() - self._windows.close(key))

    def close(self) -> None:
        self._windows.clear()

    def idle_baseline(self, mode: str, seconds: float):
        from simulator.probes.idle import IdleBaseline

        return IdleBaseline(None, None, None, None, METHOD_ABSENT, "energy probes disabled ([probes] energy = false)")


class CodeCarbonHostProbe:
    """CodeCarbon `OfflineEmissionsTracker` task windows on this host: CPU and RAM energy.

    CodeCarbon's first window in a process detects the hardware (about 1.2 s here); `warm_up()` does
    that in a background thread so it overlaps with data loading and model set-up.
    `HostEnergyProbe` builds it with `include_gpu=False` and reads the GPUs from NVML itself; on its own
    it reports CodeCarbon's GPU figure where CodeCarbon found a GPU.
    """

    name = "CodeCarbon host probe"

    def __init__(self, host_country: str, include_gpu: bool = True):
        self._host_country = host_country
        self._include_gpu = include_gpu
        self._tracker = None
        self._ready = threading.Event()
        self._warm_error: BaseException | None = None
        self._warm_thread: threading.Thread | None = None
        self._open_key: str | None = None
        self._open_task: str = ""
        self._windows_opened = 0
        self._open_started: float = 0.0
        self._lock = threading.Lock()
        self.cpu_method = METHOD_MODELLED
        self._has_gpu = False
        self.process_cpu: codecarbon_compat.CpuModel | None = None
        self.host_memory_bytes = 0.0
        # Seconds the probe itself cost the caller: waiting for the warm-up, and inside begin/end.
        self.startup_wait_s = 0.0
        self.startup_s = 0.0
        self.window_overhead_s = 0.0

    def warm_up(self) -> None:
        if self._warm_thread is None:
            self._warm_thread = threading.Thread(target=self._prepare, name="codecarbon-warm-up", daemon=True)
            self._warm_thread.start()

    def _prepare(self) -> None:
        started = time.perf_counter()
        try:
            logging.getLogger("codecarbon").setLevel(logging.ERROR)
            tracker = codecarbon_compat.offline_tracker(self._host_country, "machine")
            # Detecting the hardware is the slow part of a first start; a throw-away window does it.
            tracker.start_task("silocarbon-warm-up")
            tracker.stop_task("silocarbon-warm-up")
            self.cpu_method = METHOD_MEASURED if codecarbon_compat.cpu_model(tracker).measures else METHOD_MODELLED
            self._has_gpu = codecarbon_compat.has_gpu(tracker)
            # CodeCarbon's process-mode model for this host (hardware detection is cached by now):
            # the attributed figures use its TDP and thread count.
            self.process_cpu = codecarbon_compat.cpu_model(
                codecarbon_compat.offline_tracker(self._host_country, "process")
            )
            self.host_memory_bytes = codecarbon_compat.host_memory_bytes(tracker)
            self._tracker = tracker
        except BaseException as error:  # re-raised in the caller's thread by _wait_ready
            self._warm_error = error
        finally:
            self.startup_s = time.perf_counter() - started
            self._ready.set()

    def _wait_ready(self):
        if not self._ready.is_set():
            self.warm_up()
            waited = time.perf_counter()
            self._ready.wait()
            self.startup_wait_s += time.perf_counter() - waited
        if self._warm_error is not None or self._tracker is None:
            raise RuntimeError(f"CodeCarbon tracker could not start: {self._warm_error!r}")
        return self._tracker

    @property
    def available_methods(self) -> tuple[str, ...]:
        self._wait_ready()
        return (self.cpu_method,)

    def begin(self, key: str, *, children: bool = False) -> None:
        # `children` is the EnergyProbe signature; a machine-mode window covers every process anyway.
        tracker = self._wait_ready()
        with self._lock:
            if self._open_key is not None:
                raise RuntimeError(f"energy window '{self._open_key}' is still open; windows do not nest")
            entered = time.perf_counter()
            self._open_key = key
            # CodeCarbon renames a task whose name it has seen before; a unique name keeps
            # `stop_task` pointed at this window.
            self._windows_opened += 1
            self._open_task = f"{key}#{self._windows_opened}"
            tracker.start_task(self._open_task)
            self._open_started = time.perf_counter()
            self.window_overhead_s += self._open_started - entered

    def end(self, key: str) -> EnergyReading:
        tracker = self._wait_ready()
        with self._lock:
            if self._open_key != key:
                raise UnknownWindowError(key, self.name)
            entered = time.perf_counter()
            data = tracker.stop_task(self._open_task)
            wall_s = entered - self._open_started
            self._open_key = None
            self.window_overhead_s += time.perf_counter() - entered
        # CodeCarbon swallows its own failures and may hand back None: say so, do not invent zeros.
        if data is None:
            return absent_reading(wall_s)
        return EnergyReading(
            wall_s=wall_s,
            energy_cpu_kwh=float(data.cpu_energy),
            energy_ram_kwh=float(data.ram_energy),
            energy_gpu_kwh=float(data.gpu_energy) if self._include_gpu and self._has_gpu else None,
            method=self.cpu_method,
        )

    def modelled_idle_power_w(self) -> tuple[float, float]:
        """(CPU, RAM) power in W that CodeCarbon's own model gives this host at zero load
        (CPU TDP x 0.1, RAM its constant of the installed memory; CodeCarbon 3.3)."""
        return codecarbon_compat.idle_power_w(self._wait_ready())

    def close(self) -> None:
        if self._tracker is not None:
            self._tracker.stop()


class EnergyProbe(Probe[EnergyReading], Protocol):
    """What the pipeline installs: energy windows plus the probe's own cost, for the summary.

    `begin(key, children=True)` also counts the work of this process's child processes in the
    attributed figure (Ray's workers); by default only this process's own work.
    """

    startup_s: float
    startup_wait_s: float
    window_overhead_s: float

    def begin(self, key: str, *, children: bool = False) -> None: ...

    @property
    def available_methods(self) -> tuple[str, ...]: ...

    def warm_up(self) -> None: ...


# One energy probe per process. The runner installs it; the instrumentation mod and the measured
# grid use whatever is installed (a Ray worker has none, and its silos' energy is apportioned).
_host_probe: EnergyProbe | None = None


def install_host_probe(probe: EnergyProbe | None) -> None:
    global _host_probe
    _host_probe = probe


def host_probe() -> EnergyProbe | None:
    return _host_probe
