"""Energy of hardware a silo stands for, when the host running the simulation does not have it.

A silo may declare a profile (`[silos.hardware]`, resolved by `simulator.scenario.hardware`: CPU
power, GPU model and power, relative speed). Its energy is then modelled from that profile and the
work measured on the host: the time the work would take there is the measured wall time divided by
the relative speed, and each declared part draws its stated power for that time. Rows so obtained
say `modelled`.
"""

from __future__ import annotations

from simulator.probes.energy import EnergyReading
from simulator.records.kinds import METHOD_MODELLED
from simulator.scenario.hardware import HardwareProfile
from simulator.units import KWH_PER_JOULE


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
