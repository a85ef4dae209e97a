"""Monthly arithmetic of data over the product's life (pure functions, independent of factors).

Months are m = 0 .. lifetime-1. A silo holds V(m) = V0 x (1 + g)^m GB at month m; data arrives at
the start of each month (V0 at m = 0, V(m) - V(m-1) after). The central copy keeps each byte for
`retention` months, so during month m it holds the window R(m) = V(m) - V(m - retention) when
m >= retention, else V(m); models train on that same window.
"""

from __future__ import annotations

import math


def monthly_volumes_gb(initial_gb: float, monthly_growth: float, months: int) -> tuple[float, ...]:
    """V(m) = V0 x (1 + g)^m for m = 0 .. months-1."""
    return tuple(initial_gb * (1.0 + monthly_growth) ** month for month in range(months))


def retained_volumes_gb(volumes_gb: tuple[float, ...], retention_months: int | None) -> tuple[float, ...]:
    """R(m) = V(m) - V(m - retention) for m >= retention, else V(m); no retention: R(m) = V(m)."""
    if retention_months is None:
        return volumes_gb
    return tuple(
        volume - volumes_gb[month - retention_months] if month >= retention_months else volume
        for month, volume in enumerate(volumes_gb)
    )


def arrived_gb(volumes_gb: tuple[float, ...]) -> float:
    """Everything that arrives during the life (and so is copied to the central site): V(L-1)."""
    return volumes_gb[-1]


def gb_months(held_gb: tuple[float, ...]) -> float:
    """GB-months = sum over months of the GB held that month."""
    return math.fsum(held_gb)


def training_months(lifetime_months: int, retrain_every_months: int) -> tuple[int, ...]:
    """Months at which the model is trained: 0, c, 2c, ... while < lifetime (only 0 when c = 0)."""
    if retrain_every_months <= 0:
        return (0,)
    return tuple(range(0, lifetime_months, retrain_every_months))
