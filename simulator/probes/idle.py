"""The host's idle power, found before the run, so training energy can be shown with and without it.

Measured where the host's CPU energy is measured (RAPL): a window in which this process sleeps.
Elsewhere (a cloud VM, this machine) a CPU measurement would only be CodeCarbon's load model fed by
whatever else the machine runs, so the baseline is modelled instead: CodeCarbon's own model at zero
load. The GPU part, where NVML can read a GPU, is its measured power draw before the run.
"""

from __future__ import annotations

from dataclasses import dataclass

from simulator.records.kinds import (
    METHOD_APPORTIONED,
    METHOD_MEASURED,
    METHOD_MODELLED,
    EnergyMethod,
)
from simulator.units import KWH_PER_JOULE

IDLE_MODES = ("auto", "measure", "model", "off")


@dataclass(frozen=True)
class IdleBaseline:
    """Idle power of the host, W, by component; `None` where a part could not be obtained."""

    power_w: float | None
    cpu_w: float | None
    ram_w: float | None
    gpu_w: float | None
    method: EnergyMethod  # measured | modelled | absent
    how: str


def idle_mode_measures(mode: str, cpu_method: str) -> bool:
    """Whether `mode` asks for a measurement on a host whose CPU energy is obtained by `cpu_method`."""
    if mode not in IDLE_MODES:
        raise ValueError(f"unknown idle baseline mode '{mode}'; allowed: {' | '.join(IDLE_MODES)}")
    return mode == "measure" or (mode == "auto" and cpu_method == METHOD_MEASURED)


def idle_energy_kwh(power_w: float, wall_s: float) -> float:
    """Energy the idle host draws over `wall_s` seconds: W x s = J, then J -> kWh."""
    return power_w * wall_s * KWH_PER_JOULE


def host_covered_wall_s(rows) -> float:
    """Seconds of host time the ledger rows' host energy (`host_energy_kwh`) covers.

    Rows follow one another on the host, except apportioned silo rows: concurrent silos share one
    exchange window, whose full length is the server's `wait` row of that exchange. (A row modelled
    on a silo's declared hardware still holds what this host drew meanwhile in its host columns.)
    """
    return sum(
        row.wall_s
        for row in rows
        if row.host_energy_kwh is not None
        and not (row.host_energy_method == METHOD_APPORTIONED and row.silo != "server")
    )


def energy_above_idle_kwh(total_kwh: float | None, idle_power_w: float | None, covered_wall_s: float) -> float | None:
    """Energy beyond what the idle host would have drawn over the host time the rows cover; `None`
    when either is absent.

    Not clipped at zero: a negative figure would show a baseline above the run's draw, which a
    reader must see rather than have hidden.
    """
    if total_kwh is None or idle_power_w is None:
        return None
    return total_kwh - idle_energy_kwh(idle_power_w, covered_wall_s)


def modelled_baseline(cpu_w: float, ram_w: float, gpu_w: float | None) -> IdleBaseline:
    return IdleBaseline(
        power_w=cpu_w + ram_w + (gpu_w or 0.0),
        cpu_w=cpu_w,
        ram_w=ram_w,
        gpu_w=gpu_w,
        method=METHOD_MODELLED,
        how="CodeCarbon 3.3 model at zero load (CPU TDP x 0.1, RAM constant)"
        + ("; GPU power measured by NVML before the run" if gpu_w is not None else "; no readable GPU"),
    )
