"""Decision sensitivity: which inputs can flip the FL-vs-CL decision, and at which value.

For each quantity (CO2, money) the decision is the approach with the lower lifecycle total at the
factors' central values; its margin is CL - FL (positive: FL costs less). One input at a time, the
others central, CL - FL is followed over the input's published range [low, high] (a tornado diagram of
the margin), and the value where it crosses zero is found by the secant method, from the two ends of
the range: exact in one step where the total is linear in the input (every factor but the scan rate,
whose cost goes with 1 / rate; a few steps there). The decision flips within the range when that value
lies in it. Inputs with a single published value, and the energy profile's own figures (payload bytes
per silo-round, energy per sample update: measured, without a published range), get the value at
which the decision would flip, starting from their value and twice it.

Every step evaluates all inputs at once: the stage functions take arrays (one point per input).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from simulator.lifecycle import factors as factor_values
from simulator.lifecycle.factors import FACTOR_NAMES, Factor, FactorSet
from simulator.lifecycle.quantities import LifecyclePlan
from simulator.lifecycle.profile import EnergyProfile
from simulator.lifecycle.stages import fl_stages, cl_stages, unused_factors

QUANTITIES = ("co2_kg", "cost_usd")
# The energy profile's figures that can flip a decision, with their units. The energy per sample
# update is a multiplier on the profile's FL and CL figures alike (1 = as measured).
PAYLOAD = "bytes_per_silo_round"
ENERGY_SCALE = "energy_per_sample_update"
PROFILE_INPUTS = {PAYLOAD: "payload bytes per silo-round", ENERGY_SCALE: "x the profile's kWh per sample update"}
SECANT_STEPS = 12
RELATIVE_TOLERANCE = 1e-9  # of the margin's size: a root closer than this counts as found


@dataclass(frozen=True)
class DecisionFlip:
    quantity: str  # co2_kg | cost_usd
    input: str  # a factor's name, or a profile figure (bytes_per_silo_round, energy_per_sample_update)
    unit: str
    central: float  # the input's value behind the decision (profile figures: as measured)
    low: float | None  # the published range; None for a profile figure (measured, no published range)
    high: float | None
    margin_central: float  # CL - FL at the central values (kg CO2e or USD; positive: FL costs less)
    margin_low: float | None  # CL - FL with the input at its low / high bound
    margin_high: float | None
    flip_value: float | None  # where CL - FL = 0, the others central; None: no positive value flips it
    flips_within_range: bool  # the flip value lies within [low, high]

    @property
    def decision(self) -> str:
        """fl | cl: the approach that costs less at the central values (tie: neither)."""
        return "fl" if self.margin_central > 0 else "cl" if self.margin_central < 0 else "tie"

    @property
    def swing(self) -> float:
        """|CL - FL at high - CL - FL at low| (0 without a range): the tornado bar's length."""
        if self.margin_low is None or self.margin_high is None:
            return 0.0
        return abs(self.margin_high - self.margin_low)


@dataclass(frozen=True)
class _Row:
    quantity: str
    name: str
    unit: str
    central: float
    low: float | None
    high: float | None


def decision_flips(plan: LifecyclePlan, profile: EnergyProfile, factors: FactorSet[Factor]) -> tuple[DecisionFlip, ...]:
    """Every input that moves a quantity's margin: its margin at the range's ends and its flip value.
    Ordered per quantity (CO2 first): inputs with a range by swing (the tornado), then the others.
    Points that overflow (extreme scenarios, or a secant step far out) give no flip value."""
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        return _decision_flips(plan, profile, factors)


def _decision_flips(plan: LifecyclePlan, profile: EnergyProfile, factors: FactorSet[Factor]) -> tuple[DecisionFlip, ...]:
    rows = _rows(plan, profile, factors)
    if not rows:
        return ()
    count = len(rows)
    starts = np.array([row.low if _ranged(row) else row.central for row in rows])
    ends = np.array([row.high if _ranged(row) else (2.0 * row.central if row.central > 0 else 1.0) for row in rows])
    middles = (starts + ends) / 2.0
    # One pass: every row at both ends and the middle, plus the central values (the decision).
    central_rows = [_Row(quantity, ENERGY_SCALE, "", 1.0, None, None) for quantity in QUANTITIES]
    margins = _margins(plan, profile, factors, [*rows, *rows, *rows, *central_rows],
                       np.concatenate([starts, ends, middles, np.ones(len(QUANTITIES))]))
    at_start, at_end, at_middle = margins[:count], margins[count : 2 * count], margins[2 * count : 3 * count]
    central_margin = dict(zip(QUANTITIES, margins[3 * count :]))
    scale = np.array([abs(central_margin[row.quantity]) for row in rows])
    tolerance = RELATIVE_TOLERANCE * np.maximum(np.maximum(np.abs(at_start), np.abs(at_end)), scale) + 1e-300
    secant = ends - at_end * (ends - starts) / (at_end - at_start)
    # Linear in the input (the middle on the line through the ends): the secant's root is exact.
    linear = np.abs(at_middle - (at_start + at_end) / 2.0) <= tolerance
    # An input moves a quantity when its margin changes by more than rounding over [start, end]
    # (serving, alike in FL and CL, moves both totals and their difference only by rounding).
    moves = np.abs(at_end - at_start) > tolerance
    roots = np.where(linear & moves, secant, np.nan)
    curved = np.flatnonzero(~linear & moves)
    if curved.size:
        roots[curved] = _secant(plan, profile, factors, [rows[i] for i in curved], starts[curved], at_start[curved],
                                ends[curved], at_end[curved], tolerance[curved])
    roots[~(roots > 0) | ~np.isfinite(roots)] = np.nan
    flips = []
    for index, row in enumerate(rows):
        if not moves[index]:
            continue
        ranged = _ranged(row)
        root = roots[index]
        flips.append(DecisionFlip(
            quantity=row.quantity,
            input=row.name,
            unit=row.unit,
            central=row.central,
            low=row.low if row.low is not None else None,
            high=row.high if row.high is not None else None,
            margin_central=float(central_margin[row.quantity]),
            margin_low=float(at_start[index]) if ranged else None,
            margin_high=float(at_end[index]) if ranged else None,
            flip_value=None if np.isnan(root) else float(root),
            flips_within_range=bool(ranged and not np.isnan(root) and row.low <= root <= row.high),
        ))
    order = {quantity: position for position, quantity in enumerate(QUANTITIES)}
    return tuple(sorted(flips, key=lambda flip: (order[flip.quantity], not _ranged_flip(flip), -flip.swing)))


def _ranged_flip(flip: DecisionFlip) -> bool:
    return flip.margin_low is not None


def _ranged(row: _Row) -> bool:
    return row.low is not None and row.high is not None and row.low < row.high


def _rows(plan: LifecyclePlan, profile: EnergyProfile, factors: FactorSet[Factor]) -> list[_Row]:
    unused = unused_factors(plan)
    rows = []
    for quantity in QUANTITIES:
        for name in FACTOR_NAMES:
            if name in unused:
                continue
            factor: Factor = getattr(factors, name)
            rows.append(_Row(quantity, name, factor.unit, factor.central, factor.low, factor.high))
        rows.append(_Row(quantity, PAYLOAD, PROFILE_INPUTS[PAYLOAD], float(profile.bytes_per_silo_round), None, None))
        rows.append(_Row(quantity, ENERGY_SCALE, PROFILE_INPUTS[ENERGY_SCALE], 1.0, None, None))
    return rows


def _margins(plan, profile, factors, rows: list[_Row], values) -> np.ndarray:
    """CL - FL of each row's quantity with the row's input at values[k] (one point per row)."""
    values = np.asarray(values, dtype=float)
    points = len(rows)
    centrals = factor_values.central(factors)
    factor_arrays = {name: np.full(points, getattr(centrals, name)) for name in FACTOR_NAMES}
    payload = np.full(points, float(profile.bytes_per_silo_round))
    energy_scale = np.ones(points)
    for index, row in enumerate(rows):
        if row.name == PAYLOAD:
            payload[index] = values[index]
        elif row.name == ENERGY_SCALE:
            energy_scale[index] = values[index]
        else:
            factor_arrays[row.name][index] = values[index]
    batch_profile = replace(
        profile,
        bytes_per_silo_round=payload,
        fl_kwh_per_sample_update=profile.fl_kwh_per_sample_update * energy_scale,
        cl_kwh_per_sample_update=profile.cl_kwh_per_sample_update * energy_scale,
    )
    batch_factors = FactorSet(**factor_arrays)
    fl = fl_stages(plan, batch_profile, batch_factors).total()
    cl = cl_stages(plan, batch_profile, batch_factors).total()
    margins = np.empty(points)
    for quantity in QUANTITIES:
        rows_of = np.array([row.quantity == quantity for row in rows])
        difference = np.broadcast_to(np.asarray(getattr(cl, quantity) - getattr(fl, quantity), dtype=float), (points,))
        margins[rows_of] = difference[rows_of]
    return margins


def _secant(plan, profile, factors, rows, x0, d0, x1, d1, tolerance) -> np.ndarray:
    """Roots of each row's margin by the secant method from (x0, d0) and (x1, d1), all rows in one
    evaluation per step; NaN where none is found."""
    x_previous, d_previous, x_current, d_current = x0.astype(float), d0.astype(float), x1.astype(float), d1.astype(float)
    roots = np.full(len(rows), np.nan)
    active = d_current != d_previous
    for _ in range(SECANT_STEPS):
        if not active.any():
            break
        x_next = x_current - d_current * (x_current - x_previous) / (d_current - d_previous)
        active &= np.isfinite(x_next)
        x_next = np.where(active, x_next, x_current)
        d_next = _margins(plan, profile, factors, rows, x_next)
        active &= np.isfinite(d_next)
        converged = active & (np.abs(d_next) <= tolerance)
        roots[converged] = x_next[converged]
        x_previous, d_previous = np.where(active, x_current, x_previous), np.where(active, d_current, d_previous)
        x_current, d_current = np.where(active, x_next, x_current), np.where(active, d_next, d_current)
        active &= ~converged & (d_current != d_previous)
    return roots
