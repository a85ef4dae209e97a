"""Energy attributed to this process's own work, so a busy host does not move it.

A machine-mode figure (CodeCarbon's default) charges a window with everything the host did meanwhile:
on a shared host, other jobs' load. The attributed figure follows CodeCarbon's `tracking_mode="process"`:

- CPU, load model (no RAPL: a cloud VM, this project's CI machine): CodeCarbon's process mode gives
  power = TDP x (process CPU s / wall s) / threads, i.e. TDP / threads joules per CPU second of the
  process. silocarbon applies that model, with the TDP and thread count of the process-mode tracker
  CodeCarbon built for this host, to the window's CPU seconds read from the kernel's per-process CPU
  clock (nanoseconds). CodeCarbon's own task windows read the same CPU seconds through psutil in
  10 ms ticks, which quantises windows shorter than about 0.5 s (a 12 ms training window reads 0, 10
  or 20 ms); tests/test_codecarbon_contract.py checks both agree over long windows. Label: `modelled`.
- CPU, measured (RAPL & co.) or any mode that is not the load model: CodeCarbon's process mode then
  reports the whole package, so the host's CPU energy is split by this process's share of the host's
  busy CPU seconds over the window. Label: `apportioned`.
- RAM: the host's RAM power (CodeCarbon's machine-mode model) x this process's share of the host's
  memory (resident set / host memory, mean of the window's edges) x the window's wall time less the
  time the working thread waited in the run queue for a CPU other jobs held (Linux schedstat; the
  whole wall time where the kernel does not say). CodeCarbon 3.3's own process mode feeds the
  process's memory size into its DIMM-count model, whose 2-DIMM floor gives any process under 16 GB
  10 W (half of this 24 GB host's 20 W, for a 0.5 GB process), charged over the whole wall time:
  on a busy host that part grew with other jobs' load more than anything else.
- GPU: NVML's counter for the window, as measured (a GPU is not shared between jobs here).

Where a window covers work in child processes (Ray's workers), their CPU seconds and memory count
too, as CodeCarbon's process mode counts a process with its children.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path

import psutil

from simulator.probes.base import OpenWindows
from simulator.probes.codecarbon_compat import CpuModel
from simulator.probes.energy import EnergyReading, combined_method
from simulator.records.kinds import METHOD_ABSENT, METHOD_APPORTIONED, METHOD_MODELLED
from simulator.units import KWH_PER_JOULE


@dataclass(frozen=True)
class ProcessShare:
    """What this process (with its children, where asked) used of the host over one window."""

    wall_s: float
    cpu_s: float  # CPU seconds of the process (and children), user + system
    host_busy_cpu_s: float  # CPU seconds every process on the host kept the CPUs busy
    memory_share: float  # resident memory / host memory, mean of the window's edges (0..1)
    queue_wait_s: float = 0.0  # seconds the working thread waited for a CPU in the window

    @property
    def memory_held_s(self) -> float:
        """Seconds the process's memory is charged for: the wall time less waiting for other jobs."""
        return max(0.0, self.wall_s - self.queue_wait_s)


def attributed_reading(host: EnergyReading, share: ProcessShare, cpu: CpuModel, host_memory_bytes: float) -> EnergyReading:
    """The window's energy attributed to the process, with the host reading kept as `host`.

    Arithmetic (worked by hand in tests/test_attribution.py):
      load model: cpu_kwh = TDP / threads (W) x cpu_s (s) / 3.6e6
      otherwise:  cpu_kwh = host cpu_kwh x min(1, cpu_s / host_busy_cpu_s)
      ram_kwh = host ram_kwh / wall_s x memory_held_s x memory_share;  gpu_kwh = host gpu_kwh
    """
    if host.method == METHOD_ABSENT:
        return replace(host, host=host)
    if cpu.load_model:
        cpu_kwh: float | None = cpu.watts_per_busy_thread * share.cpu_s * KWH_PER_JOULE
        cpu_method = METHOD_MODELLED
    else:
        busy_share = min(1.0, share.cpu_s / share.host_busy_cpu_s) if share.host_busy_cpu_s > 0 else 0.0
        cpu_kwh = None if host.energy_cpu_kwh is None else host.energy_cpu_kwh * busy_share
        cpu_method = METHOD_APPORTIONED
    held = share.memory_held_s / share.wall_s if share.wall_s > 0 else 0.0
    ram_kwh = None if host.energy_ram_kwh is None else host.energy_ram_kwh * held * share.memory_share
    return EnergyReading(
        wall_s=host.wall_s,
        energy_cpu_kwh=cpu_kwh,
        energy_ram_kwh=ram_kwh,
        energy_gpu_kwh=host.energy_gpu_kwh,
        method=combined_method(cpu_method, host.method),
        host=host,
    )


@lru_cache(maxsize=None)
def _process(pid: int) -> psutil.Process:
    return psutil.Process(pid)


@dataclass(frozen=True)
class _Start:
    wall: float
    cpu_s: float
    children_cpu_s: dict[int, float] | None
    host_busy_s: float
    rss_bytes: int
    thread: int
    queue_wait_s: float | None


class ProcessShareProbe:
    """Windows that read this process's CPU seconds and memory, and the host's busy CPU seconds."""

    name = "process share probe"

    def __init__(self, host_memory_bytes: float):
        self._host_memory = host_memory_bytes
        self._process = _process(os.getpid())
        self._windows: OpenWindows[_Start] = OpenWindows(self.name)

    def begin(self, key: str, *, children: bool = False) -> None:
        # Listing child processes scans /proc (about 1 ms here): only where the window asks for them.
        kids = _children_cpu_s(self._process) if children else None
        self._windows.open(key, _Start(time.perf_counter(), time.process_time(), kids, _host_busy_s(),
                                       self._rss(kids is not None), threading.get_ident(), _queue_wait_s()))

    def end(self, key: str) -> ProcessShare:
        start = self._windows.close(key)
        cpu_s = time.process_time() - start.cpu_s
        if start.children_cpu_s is not None:
            now = _children_cpu_s(self._process)
            # A child started in the window spent all its CPU time in it; one that ended is lost
            # (as in CodeCarbon's process mode).
            cpu_s += sum(max(0.0, total - start.children_cpu_s.get(pid, 0.0)) for pid, total in now.items())
        rss = (start.rss_bytes + self._rss(start.children_cpu_s is not None)) / 2
        wait_now = _queue_wait_s() if threading.get_ident() == start.thread else None
        return ProcessShare(
            wall_s=time.perf_counter() - start.wall,
            cpu_s=cpu_s,
            host_busy_cpu_s=_host_busy_s() - start.host_busy_s,
            memory_share=min(1.0, rss / self._host_memory) if self._host_memory > 0 else 0.0,
            queue_wait_s=0.0 if wait_now is None or start.queue_wait_s is None else wait_now - start.queue_wait_s,
        )

    def _rss(self, children: bool) -> int:
        total = int(self._process.memory_info().rss)
        if children:
            for child in _alive_children(self._process):
                try:
                    total += int(child.memory_info().rss)
                except (psutil.NoSuchProcess, psutil.AccessDenied):
                    continue
        return total

    def close(self) -> None:
        self._windows.clear()


def _alive_children(process: psutil.Process) -> list[psutil.Process]:
    try:
        return process.children(recursive=True)
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return []


def _children_cpu_s(process: psutil.Process) -> dict[int, float]:
    times: dict[int, float] = {}
    for child in _alive_children(process):
        try:
            cpu = child.cpu_times()
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        times[child.pid] = cpu.user + cpu.system
    return times


_SCHEDSTAT = Path("/proc/thread-self/schedstat")
NANOSECONDS_PER_SECOND = 1e9


def _queue_wait_s() -> float | None:
    """Seconds this thread has waited in the run queue for a CPU (Linux: the second field of
    /proc/thread-self/schedstat, ns); None where the kernel does not say."""
    try:
        return int(_SCHEDSTAT.read_text().split()[1]) / NANOSECONDS_PER_SECOND
    except (OSError, IndexError, ValueError):
        return None


def _host_busy_s() -> float:
    """CPU seconds all CPUs of the host have been busy since boot (not idle, not waiting for I/O)."""
    times = psutil.cpu_times()
    total = sum(times) - getattr(times, "guest", 0.0) - getattr(times, "guest_nice", 0.0)  # guest is in user
    return total - times.idle - getattr(times, "iowait", 0.0)
