"""GPU energy per NVIDIA GPU from NVML (the `pynvml` module of `nvidia-ml-py`).

Counters, not samples: NVML's total-energy counter (mJ since the driver loaded) is read at the window
edges and subtracted. A GPU without that counter (older than Volta) gets a synthetic counter instead:
a background thread integrates NVML's power reading (mW) over time, and windows read that counter the
same way. No NVML, no driver or no GPU: the probe reports the GPU as absent (`None`), never as 0.

Every NVML failure is translated to `GpuProbeError` in one place, `_nvml`.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from simulator.probes.base import OpenWindows
from simulator.probes.energy import METHOD_ABSENT, METHOD_MEASURED
from simulator.units import JOULES_PER_MILLIJOULE, KWH_PER_JOULE, WATTS_PER_MILLIWATT

SOURCE_COUNTER = "nvml-energy-counter"
SOURCE_SAMPLED = "nvml-power-sampling"
# 10 Hz: NVML refreshes its power reading about every 20-100 ms depending on the board; faster
# sampling would only repeat values and cost CPU time inside the measured windows.
POWER_SAMPLE_INTERVAL_S = 0.1


class GpuProbeError(RuntimeError):
    """An NVML call failed; the message says which call and why, in words."""


# NVML return codes -> what they mean for a user reading our output.
_NVML_REASONS = {
    "NVML_ERROR_LIBRARY_NOT_FOUND": "the NVIDIA driver library (libnvidia-ml) is not installed",
    "NVML_ERROR_DRIVER_NOT_LOADED": "the NVIDIA driver is not loaded",
    "NVML_ERROR_NO_PERMISSION": "no permission to query the GPU",
    "NVML_ERROR_NOT_SUPPORTED": "not supported by this GPU",
    "NVML_ERROR_GPU_IS_LOST": "the GPU fell off the bus",
    "NVML_ERROR_UNINITIALIZED": "NVML was not initialised",
    "NVML_ERROR_INVALID_ARGUMENT": "invalid GPU index",
}


def _nvml(call: str, *args):
    """Call `pynvml.<call>(*args)`, translating every NVML failure into `GpuProbeError`."""
    try:
        import pynvml
    except ImportError as error:
        raise GpuProbeError(f"{call}: the pynvml module (nvidia-ml-py) is not installed") from error
    try:
        return getattr(pynvml, call)(*args)
    except pynvml.NVMLError as error:
        code = getattr(error, "value", None)
        reason = next(
            (text for name, text in _NVML_REASONS.items() if getattr(pynvml, name, object()) == code),
            str(error),
        )
        raise GpuProbeError(f"{call}: {reason} (NVML code {code})") from error


def _is_not_supported(error: GpuProbeError) -> bool:
    return _NVML_REASONS["NVML_ERROR_NOT_SUPPORTED"] in str(error)


@dataclass(frozen=True)
class GpuDevice:
    index: int
    name: str
    source: str  # SOURCE_COUNTER or SOURCE_SAMPLED


@dataclass(frozen=True)
class GpuReading:
    """GPU energy of one window: the sum over the probed GPUs and each GPU's part, in kWh."""

    wall_s: float
    energy_gpu_kwh: float | None
    energy_per_gpu_kwh: tuple[float, ...]
    method: str  # measured | absent
    source: str  # how it was read, or why it is absent


class NvmlGpuProbe:
    """Energy windows per NVIDIA GPU; absent (with the reason) where NVML cannot read any GPU."""

    name = "NVML GPU probe"

    def __init__(self, gpu_indices: tuple[int, ...] | None = None):
        self.devices: tuple[GpuDevice, ...] = ()
        self.absent_reason = ""
        self._handles: dict[int, object] = {}
        self._windows: OpenWindows[tuple[float, dict[int, float]]] = OpenWindows(self.name)
        self._sampled_mj: dict[int, float] = {}
        self._sampler: threading.Thread | None = None
        self._sampler_error: GpuProbeError | None = None
        self._stop_sampling = threading.Event()
        self._lock = threading.Lock()
        self._initialised = False
        try:
            _nvml("nvmlInit")
            self._initialised = True
            count = int(_nvml("nvmlDeviceGetCount"))
            indices = tuple(range(count)) if gpu_indices is None else gpu_indices
            self.devices = tuple(device for device in (self._open_device(i) for i in indices) if device)
            if not self.devices:
                self.absent_reason = "NVML found no GPU whose energy or power it can read"
        except GpuProbeError as error:
            self.absent_reason = str(error)
            self.devices = ()
        if any(device.source == SOURCE_SAMPLED for device in self.devices):
            self._start_sampler()

    @property
    def available(self) -> bool:
        return bool(self.devices)

    def _open_device(self, index: int) -> GpuDevice | None:
        handle = _nvml("nvmlDeviceGetHandleByIndex", index)
        name = str(_nvml("nvmlDeviceGetName", handle))
        self._handles[index] = handle
        try:
            _nvml("nvmlDeviceGetTotalEnergyConsumption", handle)
            return GpuDevice(index, name, SOURCE_COUNTER)
        except GpuProbeError as error:
            if not _is_not_supported(error):
                raise
        try:
            _nvml("nvmlDeviceGetPowerUsage", handle)
        except GpuProbeError as error:
            if _is_not_supported(error):
                return None  # neither counter nor power reading: this GPU cannot be measured
            raise
        self._sampled_mj[index] = 0.0
        return GpuDevice(index, name, SOURCE_SAMPLED)

    # -- power sampling for GPUs without an energy counter -----------------------------------
    def _start_sampler(self) -> None:
        self._sampler = threading.Thread(target=self._sample_power, name="nvml-power-sampler", daemon=True)
        self._sampler.start()

    def _sample_power(self) -> None:
        last = time.perf_counter()
        while not self._stop_sampling.wait(POWER_SAMPLE_INTERVAL_S):
            now = time.perf_counter()
            try:
                for device in self.devices:
                    if device.source == SOURCE_SAMPLED:
                        power_mw = float(_nvml("nvmlDeviceGetPowerUsage", self._handles[device.index]))
                        with self._lock:
                            self._sampled_mj[device.index] += power_mw * (now - last)  # mW x s = mJ
            except GpuProbeError as error:  # surfaced by the next counter read, not lost in this thread
                self._sampler_error = error
                return
            last = now

    # -- counters ---------------------------------------------------------------------------
    def _counters_mj(self) -> dict[int, float]:
        if self._sampler_error is not None:
            raise self._sampler_error
        counters = {}
        for device in self.devices:
            if device.source == SOURCE_COUNTER:
                counters[device.index] = float(
                    _nvml("nvmlDeviceGetTotalEnergyConsumption", self._handles[device.index])
                )
            else:
                with self._lock:
                    counters[device.index] = self._sampled_mj[device.index]
        return counters

    def power_now_w(self) -> float | None:
        """The probed GPUs' power draw right now, W (for the idle baseline); None when absent."""
        if not self.devices:
            return None
        total_mw = sum(float(_nvml("nvmlDeviceGetPowerUsage", self._handles[d.index])) for d in self.devices)
        return total_mw * WATTS_PER_MILLIWATT

    def begin(self, key: str) -> None:
        self._windows.open(key, (time.perf_counter(), self._counters_mj()))

    def end(self, key: str) -> GpuReading:
        started, start_mj = self._windows.close(key)
        end_mj = self._counters_mj()
        wall_s = time.perf_counter() - started
        if not self.devices:
            return GpuReading(wall_s, None, (), METHOD_ABSENT, self.absent_reason)
        per_gpu = tuple(
            (end_mj[d.index] - start_mj[d.index]) * JOULES_PER_MILLIJOULE * KWH_PER_JOULE for d in self.devices
        )
        sources = sorted({d.source for d in self.devices})
        return GpuReading(wall_s, sum(per_gpu), per_gpu, METHOD_MEASURED, "+".join(sources))

    def close(self) -> None:
        self._stop_sampling.set()
        if self._sampler is not None:
            self._sampler.join()
            self._sampler = None
        self._windows.clear()
        if self._initialised:
            self._initialised = False
            _nvml("nvmlShutdown")
