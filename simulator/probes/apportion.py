"""Splitting one host measurement between silos that ran concurrently on that host (the `ray` runner).

CPU and RAM energy are split by CPU seconds (the server's CPU seconds over the same window count
too); GPU energy by GPU seconds. What no silo's share claims stays with the remainder (the server's
`wait` row), so the silos' parts plus the remainder equal the total, component by component.

A reading with a `host` figure beside its attributed one has both split by the same shares: the
attributed exchange figure (this process and Ray's worker processes, `simulator.probes.attribution`)
and the whole host's, each summing to its own total.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from simulator.probes.energy import METHOD_ABSENT, METHOD_APPORTIONED, EnergyReading


@dataclass(frozen=True)
class SiloWork:
    wall_s: float
    cpu_s: float
    gpu_s: float  # seconds the silo's work ran on a GPU (its wall time on a CUDA device, else 0)


@dataclass(frozen=True)
class Apportioned:
    silos: tuple[EnergyReading, ...]
    remainder: EnergyReading


def shares(work: Sequence[float], extra: float = 0.0) -> list[float]:
    """Each entry's fraction of `sum(work) + extra`; all zero when there is no work at all."""
    total = sum(work) + extra
    return [w / total if total > 0 else 0.0 for w in work]


def apportion(host: EnergyReading, silos: Sequence[SiloWork], server_cpu_s: float) -> Apportioned:
    cpu_shares = shares([s.cpu_s for s in silos], server_cpu_s)
    gpu_shares = shares([s.gpu_s for s in silos])
    method = METHOD_APPORTIONED if host.method != METHOD_ABSENT else METHOD_ABSENT

    def part(value: float | None, share: float) -> float | None:
        return None if value is None else value * share

    readings = tuple(
        EnergyReading(
            wall_s=work.wall_s,
            energy_cpu_kwh=part(host.energy_cpu_kwh, cpu_share),
            energy_ram_kwh=part(host.energy_ram_kwh, cpu_share),
            energy_gpu_kwh=part(host.energy_gpu_kwh, gpu_share),
            method=method,
        )
        for work, cpu_share, gpu_share in zip(silos, cpu_shares, gpu_shares)
    )

    def rest(value: float | None, taken: list[float | None]) -> float | None:
        return None if value is None else value - sum(t for t in taken if t is not None)

    remainder = EnergyReading(
        wall_s=host.wall_s,
        energy_cpu_kwh=rest(host.energy_cpu_kwh, [r.energy_cpu_kwh for r in readings]),
        energy_ram_kwh=rest(host.energy_ram_kwh, [r.energy_ram_kwh for r in readings]),
        energy_gpu_kwh=rest(host.energy_gpu_kwh, [r.energy_gpu_kwh for r in readings]),
        method=method,
    )
    if host.host is None:
        return Apportioned(readings, remainder)
    whole = apportion(host.host, silos, server_cpu_s)
    return Apportioned(
        tuple(replace(reading, host=part) for reading, part in zip(readings, whole.silos)),
        replace(remainder, host=whole.remainder),
    )
