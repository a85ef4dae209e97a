"""Hardware a silo stands for, when the host running the simulation does not have it.

A silo may declare a profile (`[silos.hardware]`: CPU power, GPU model and power, relative speed).
Its energy is then modelled from that profile and the work measured on the host: the time the work
would take there is the measured wall time divided by the relative speed, and each declared part
draws its stated power for that time. Rows so obtained say `modelled`.

Default powers, each with its source (see the project's factors reference):
- GPU, power at full load: Cloud Carbon Footprint's GPU coefficients (from Teads), max W per GPU.
- CPU, when given as vCPUs: Cloud Carbon Footprint's AWS max 3.5 W per vCPU (training keeps the CPU
  busy, so the max of its min..max range applies).
"""

from __future__ import annotations

from dataclasses import dataclass

from simulator.probes.energy import KWH_PER_JOULE, METHOD_MODELLED, EnergyReading

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
# Start of the ledger `detail` of a row modelled on declared hardware: such a row's energy is not the
# host's, so the host's idle baseline does not apply to it.
MODELLED_DETAIL_PREFIX = "modelled on the silo's declared hardware"


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


def host_has_gpu(profile: HardwareProfile, host_gpu_names: list[str], silo_uses_gpu: bool) -> bool:
    """Whether the host can measure this profile directly: it has the declared GPU and the silo uses it."""
    if profile.gpu_model is None or not silo_uses_gpu:
        return False
    return any(profile.gpu_model.upper() in name.upper() for name in host_gpu_names)


def modelled_reading(profile: HardwareProfile, wall_s: float) -> EnergyReading:
    """Energy of `wall_s` seconds of measured work on the declared hardware.

    time on the profile (s) = wall_s / relative_speed; energy (kWh) = power (W) x time (s) / 3.6e6.
    """
    profile_s = wall_s / profile.relative_speed

    def kwh(power_w: float | None) -> float | None:
        return None if power_w is None else power_w * profile_s * KWH_PER_JOULE

    return EnergyReading(
        wall_s=wall_s,
        energy_cpu_kwh=kwh(profile.cpu_power_w),
        energy_ram_kwh=kwh(profile.ram_power_w),
        energy_gpu_kwh=kwh(profile.gpu_power_w),
        method=METHOD_MODELLED,
    )
