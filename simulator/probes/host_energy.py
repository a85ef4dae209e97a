"""The host's energy probe: CodeCarbon for CPU and RAM, NVML for each GPU, behind one window.

`begin(key)` opens them; `end(key)` returns one `EnergyReading`: the energy attributed to this
process's own work (`simulator.probes.attribution`), with the whole host's figure of the same window
(CodeCarbon machine mode + NVML) as its `host`. Each says how it was obtained; the GPU part is
NVML's counter (or `None` where no GPU can be read), and a reading's method is the weakest of its
present parts. The host figure is measured once per window and the attributed one derived from it,
so the two are never added up.
"""

from __future__ import annotations

import threading
import time

from simulator.probes.attribution import ProcessShareProbe, attributed_reading
from simulator.probes.energy import CodeCarbonHostProbe, EnergyReading, combined_method
from simulator.probes.idle import IdleBaseline, idle_mode_measures, modelled_baseline
from simulator.probes.nvml import NvmlGpuProbe
from simulator.units import KWH_PER_JOULE

IDLE_WINDOW_KEY = "idle-baseline"


class HostEnergyProbe:
    name = "host energy probe"

    def __init__(self, host_country: str):
        self.host_country = host_country
        self.cpu_ram = CodeCarbonHostProbe(host_country, include_gpu=False)  # GPUs: NVML, below
        self._gpu: NvmlGpuProbe | None = None
        self._gpu_thread: threading.Thread | None = None
        self._gpu_startup_s = 0.0
        self._gpu_wait_s = 0.0
        self._gpu_window_s = 0.0
        self._share: ProcessShareProbe | None = None
        self._share_window_s = 0.0

    # -- start-up, overlapped with the run's set-up -----------------------------------------
    def warm_up(self) -> None:
        self.cpu_ram.warm_up()
        if self._gpu_thread is None:
            self._gpu_thread = threading.Thread(target=self._open_gpu, name="nvml-warm-up", daemon=True)
            self._gpu_thread.start()

    def _open_gpu(self) -> None:
        started = time.perf_counter()
        self._gpu = NvmlGpuProbe()
        self._gpu_startup_s = time.perf_counter() - started

    @property
    def gpu(self) -> NvmlGpuProbe:
        if self._gpu_thread is None:
            self.warm_up()
        assert self._gpu_thread is not None
        if self._gpu_thread.is_alive():
            waited = time.perf_counter()
            self._gpu_thread.join()
            self._gpu_wait_s += time.perf_counter() - waited
        assert self._gpu is not None
        return self._gpu

    @property
    def startup_s(self) -> float:
        return max(self.cpu_ram.startup_s, self._gpu_startup_s)

    @property
    def startup_wait_s(self) -> float:
        return self.cpu_ram.startup_wait_s + self._gpu_wait_s

    @property
    def window_overhead_s(self) -> float:
        return self.cpu_ram.window_overhead_s + self._gpu_window_s + self._share_window_s

    @property
    def share(self) -> ProcessShareProbe:
        if self._share is None:
            self.cpu_ram.available_methods  # waits for CodeCarbon's start: the host memory comes from it
            self._share = ProcessShareProbe(self.cpu_ram.host_memory_bytes)
        return self._share

    @property
    def available_methods(self) -> tuple[str, ...]:
        methods = set(self.cpu_ram.available_methods)
        if self.gpu.available:
            methods.add("measured")
        return tuple(sorted(methods))

    # -- windows ----------------------------------------------------------------------------
    # The process's own window sits innermost, tightest around the work; the host's windows
    # (CodeCarbon, NVML) around it.
    def begin(self, key: str, *, children: bool = False) -> None:
        gpu, share = self.gpu, self.share
        entered = time.perf_counter()
        gpu.begin(key)
        self._gpu_window_s += time.perf_counter() - entered
        self.cpu_ram.begin(key)
        entered = time.perf_counter()
        share.begin(key, children=children)
        self._share_window_s += time.perf_counter() - entered

    def end(self, key: str) -> EnergyReading:
        entered = time.perf_counter()
        own = self.share.end(key)
        self._share_window_s += time.perf_counter() - entered
        cpu_ram = self.cpu_ram.end(key)
        entered = time.perf_counter()
        gpu = self.gpu.end(key)
        self._gpu_window_s += time.perf_counter() - entered
        host = EnergyReading(
            wall_s=cpu_ram.wall_s,
            energy_cpu_kwh=cpu_ram.energy_cpu_kwh,
            energy_ram_kwh=cpu_ram.energy_ram_kwh,
            energy_gpu_kwh=gpu.energy_gpu_kwh,
            method=combined_method(cpu_ram.method, gpu.method),
        )
        assert self.cpu_ram.process_cpu is not None  # set by CodeCarbon's start, which end() waited for
        return attributed_reading(host, own, self.cpu_ram.process_cpu, self.cpu_ram.host_memory_bytes)

    def close(self) -> None:
        if self._share is not None:
            self._share.close()
        self.cpu_ram.close()
        if self._gpu_thread is not None:
            self.gpu.close()

    # -- idle baseline ----------------------------------------------------------------------
    def idle_baseline(self, mode: str, seconds: float) -> IdleBaseline:
        """The host's idle power before the run: measured or modelled (see `simulator.probes.idle`)."""
        gpu_w = self.gpu.power_now_w()
        if not idle_mode_measures(mode, self.cpu_ram.cpu_method):
            return modelled_baseline(*self.cpu_ram.modelled_idle_power_w(), gpu_w)
        self.begin(IDLE_WINDOW_KEY)
        time.sleep(seconds)
        reading = self.end(IDLE_WINDOW_KEY).host  # the idle host, not this sleeping process's share
        assert reading is not None

        def watts(energy_kwh: float | None) -> float | None:
            return None if energy_kwh is None else energy_kwh / KWH_PER_JOULE / reading.wall_s

        return IdleBaseline(
            power_w=watts(reading.energy_kwh),
            cpu_w=watts(reading.energy_cpu_kwh),
            ram_w=watts(reading.energy_ram_kwh),
            gpu_w=watts(reading.energy_gpu_kwh),
            method=reading.method,
            how=f"this process asleep for {reading.wall_s:.2f} s before the run, read by the host probe",
        )
