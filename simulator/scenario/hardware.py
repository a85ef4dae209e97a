"""Hardware a silo stands for (`[silos.hardware]`), resolved into powers with their sources.

A silo may declare a profile: CPU power (or vCPUs), GPU model and power, RAM power, relative speed.
`simulator.probes.silo_hardware` then models the silo's energy from the resolved profile and the work
measured on this host.

Default powers, each with its source (see the project's factors reference):
- GPU, power at full load: Cloud Carbon Footprint's GPU coefficients (from Teads), max W per GPU.
- CPU, when given as vCPUs: Cloud Carbon Footprint's AWS max 3.5 W per vCPU (training keeps the CPU
  busy, so the max of its min..max range applies).
"""

from __future__ import annotations

from dataclasses import dataclass

GPU_MAX_POWER_W: dict[str, float] = {
    # Cloud Carbon Footprint coefficients (from Teads), max W per GPU
    "T4": 71.0,
    "V100": 306.0,
    "A100": 407.0,
    "A10G": 153.0,
}
GPU_POWER_SOURCE = "Cloud Carbon Footprint GPU coefficients (from Teads), max W"
WATTS_PER_VCPU_BUSY = 3.5  # Cloud Carbon Footprint, AWS, max W per vCPU
CPU_POWER_SOURCE = "Cloud Carbon Footprint, AWS, max 3.5 W per vCPU"


@dataclass(frozen=True)
class HardwareProfile:
    """Resolved powers of a silo's declared hardware, W, with where each figure came from."""

    cpu_power_w: float
    gpu_model: str | None
    gpu_power_w: float | None
    ram_power_w: float | None
    relative_speed: float
    sources: str


def gpu_power_w(model: str) -> float:
    """Full-load power of a known GPU model (case-insensitive), W."""
    return GPU_MAX_POWER_W[model.upper()]


def cpu_power_from_vcpus(vcpus: int) -> float:
    return vcpus * WATTS_PER_VCPU_BUSY
