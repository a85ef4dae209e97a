"""Ledger breakdowns the report shows: per silo, per round, per measurement method, per grid.

Pure functions over ledger rows. Absent energy stays absent: a group whose rows were all unreadable
sums to `None`, never to 0.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from simulator.ledger import APPROACH_FL, LedgerRow


@dataclass(frozen=True)
class SiloTotals:
    silo: str
    country: str
    energy_kwh: float | None
    co2_kg: float | None
    wall_s: float
    bytes_down: int
    bytes_up: int
    energy_methods: tuple[str, ...]


@dataclass(frozen=True)
class RoundBytes:
    round: int
    bytes_down: int
    bytes_up: int

    @property
    def bytes_total(self) -> int:
        return self.bytes_down + self.bytes_up


@dataclass(frozen=True)
class MethodUse:
    approach: str
    energy_method: str
    rows: int
    energy_kwh: float | None


@dataclass(frozen=True)
class GridIntensity:
    country: str
    intensity_g_per_kwh: float
    approaches: tuple[str, ...]


def sum_present(values) -> float | None:
    present = [value for value in values if value is not None]
    return math.fsum(present) if present else None


def silo_totals(rows: tuple[LedgerRow, ...] | list[LedgerRow], approach: str = APPROACH_FL) -> list[SiloTotals]:
    """One line per silo (the server included), in the order the silos first appear in the ledger."""
    groups: dict[str, list[LedgerRow]] = {}
    for row in rows:
        if row.approach == approach:
            groups.setdefault(row.silo, []).append(row)
    return [
        SiloTotals(
            silo=silo,
            country=group[0].country,
            energy_kwh=sum_present(row.energy_kwh for row in group),
            co2_kg=sum_present(row.co2_kg for row in group),
            wall_s=math.fsum(row.wall_s for row in group),
            bytes_down=sum(row.bytes_down for row in group),
            bytes_up=sum(row.bytes_up for row in group),
            energy_methods=tuple(sorted({row.energy_method for row in group})),
        )
        for silo, group in groups.items()
    ]


def bytes_per_round(rows: tuple[LedgerRow, ...] | list[LedgerRow]) -> list[RoundBytes]:
    """Payload bytes of the federation per round (train and evaluate exchanges together)."""
    down: dict[int, int] = {}
    up: dict[int, int] = {}
    for row in rows:
        if row.approach != APPROACH_FL or row.round < 1:
            continue
        down[row.round] = down.get(row.round, 0) + row.bytes_down
        up[row.round] = up.get(row.round, 0) + row.bytes_up
    return [RoundBytes(r, down[r], up[r]) for r in sorted(down)]


def method_uses(rows: tuple[LedgerRow, ...] | list[LedgerRow]) -> list[MethodUse]:
    """How each approach's energy was obtained: rows and kWh per method."""
    groups: dict[tuple[str, str], list[LedgerRow]] = {}
    for row in rows:
        groups.setdefault((row.approach, row.energy_method), []).append(row)
    return [
        MethodUse(approach, method, len(group), sum_present(row.energy_kwh for row in group))
        for (approach, method), group in sorted(groups.items())
    ]


def grid_intensities(rows: tuple[LedgerRow, ...] | list[LedgerRow]) -> list[GridIntensity]:
    """The grid intensity each country was charged at, and which approaches used it."""
    seen: dict[str, tuple[float, set[str]]] = {}
    for row in rows:
        intensity, approaches = seen.setdefault(row.country, (row.intensity_g_per_kwh, set()))
        approaches.add(row.approach)
    return [
        GridIntensity(country, intensity, tuple(sorted(approaches)))
        for country, (intensity, approaches) in sorted(seen.items())
    ]
