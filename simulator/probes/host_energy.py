"""The host's energy probe: CodeCarbon for CPU and RAM, NVML for each GPU, behind one window.

`begin(key)` opens both; `end(key)` returns one `EnergyReading` whose GPU part is NVML's counter
(or `None` where no GPU can be read) and whose method is the weakest of its present parts.
"""

from __future__ import annotations

import threading
import time

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
        return self.cpu_ram.window_overhead_s + self._gpu_window_s

    @property
    def available_methods(self) -> tuple[str, ...]:
        methods = set(self.cpu_ram.available_methods)
        if self.gpu.available:
            methods.add("measured")
        return tuple(sorted(methods))

    # -- windows ----------------------------------------------------------------------------
    def begin(self, key: str) -> None:
        gpu = self.gpu
        entered = time.perf_counter()
        gpu.begin(key)
        self._gpu_window_s += time.perf_counter() - entered
        self.cpu_ram.begin(key)

    def end(self, key: str) -> EnergyReading:
        host = self.cpu_ram.end(key)
        entered = time.perf_counter()
        gpu = self.gpu.end(key)
        self._gpu_window_s += time.perf_counter() - entered
        return EnergyReading(
            wall_s=host.wall_s,
            energy_cpu_kwh=host.energy_cpu_kwh,
            energy_ram_kwh=host.energy_ram_kwh,
            energy_gpu_kwh=gpu.energy_gpu_kwh,
            method=combined_method(host.method, gpu.method),
        )

    def close(self) -> None:
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
        reading = self.end(IDLE_WINDOW_KEY)

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
