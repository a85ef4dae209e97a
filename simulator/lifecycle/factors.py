"""Emission and price factors: each a central value with [low, high], unit, source and year.

`configs/factors.toml` holds them (shipped inside the package); `load_factors` reads and checks that
file into a `FactorSet[Factor]`. The same generic `FactorSet` carries plain values: `central()`,
`low()` and `high()` give `FactorSet[float]`, and `draw()` gives `FactorSet[np.ndarray]` with one value
per Monte Carlo draw, so the stage formulas run unchanged on one value or on 10,000.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Generic, TypeVar

import numpy as np

from simulator.errors import InputError
from simulator.scenario.load import bundled_config_path, read_toml

FACTORS_FILE_NAME = "factors.toml"

T = TypeVar("T")


@dataclass(frozen=True)
class Factor:
    name: str
    central: float
    low: float
    high: float
    unit: str
    source: str
    year: int


@dataclass(frozen=True)
class FactorSet(Generic[T]):
    """Every factor the lifecycle model uses, by name. The TOML table names are these field names."""

    network_kwh_per_gb: T
    wire_overhead_fraction: T
    storage_hdd_wh_per_tb_hour: T
    storage_ssd_wh_per_tb_hour: T
    replication_block: T
    replication_object: T
    pue_hyperscale: T
    pue_industry_average: T
    server_watts_per_vcpu_idle: T
    server_watts_per_vcpu_max: T
    scan_gb_per_vcpu_hour: T
    analytics_result_bytes: T
    inference_to_training_energy_ratio: T
    price_storage_object_usd_per_gb_month: T
    price_storage_ssd_usd_per_gb_month: T
    price_storage_hdd_usd_per_gb_month: T
    price_egress_inter_region_usd_per_gb: T
    price_egress_internet_usd_per_gb: T
    price_cpu_instance_usd_per_hour: T
    price_gpu_instance_usd_per_hour: T
    # Last, so the Monte Carlo draws of the factors above stay what they were before these existed.
    network_access_kwh_per_gb: T
    ingest_gb_per_vcpu_hour: T


FACTOR_NAMES: tuple[str, ...] = tuple(field.name for field in fields(FactorSet))


def factors_path() -> Path:
    return bundled_config_path(FACTORS_FILE_NAME)


def load_factors(path: str | Path | None = None) -> FactorSet[Factor]:
    """Read and check a factors file (the shipped configs/factors.toml when `path` is None)."""
    source = Path(path) if path is not None else factors_path()
    raw = read_toml(source, "factors")
    unknown = sorted(set(raw) - set(FACTOR_NAMES))
    if unknown:
        raise InputError(f"factors file '{source}': unknown factor '{unknown[0]}'; allowed: {', '.join(FACTOR_NAMES)}")
    missing = [name for name in FACTOR_NAMES if name not in raw]
    if missing:
        raise InputError(f"factors file '{source}': missing factor '{missing[0]}'")
    return FactorSet(**{name: _factor(source, name, raw[name]) for name in FACTOR_NAMES})


def _factor(source: Path, name: str, table: object) -> Factor:
    if not isinstance(table, dict):
        raise InputError(f"factors file '{source}': '{name}' must be a table with value, low, high, unit, source, year")
    expected = {"value", "low", "high", "unit", "source", "year"}
    if set(table) != expected:
        wrong = sorted(set(table) ^ expected)[0]
        raise InputError(
            f"factors file '{source}': key '{name}.{wrong}' is missing or unknown; a factor has exactly "
            "value, low, high, unit, source, year"
        )
    numbers = {}
    for key in ("value", "low", "high"):
        value = table[key]
        if isinstance(value, bool) or not isinstance(value, int | float) or not np.isfinite(value) or value < 0:
            raise InputError(f"factors file '{source}': key '{name}.{key}' must be a finite number >= 0 (got {value!r})")
        numbers[key] = float(value)
    if not numbers["low"] <= numbers["value"] <= numbers["high"]:
        raise InputError(
            f"factors file '{source}': '{name}' needs low <= value <= high "
            f"(got {numbers['low']} <= {numbers['value']} <= {numbers['high']})"
        )
    for key in ("unit", "source"):
        if not isinstance(table[key], str) or not table[key].strip():
            raise InputError(f"factors file '{source}': key '{name}.{key}' must be a non-empty string")
    if isinstance(table["year"], bool) or not isinstance(table["year"], int):
        raise InputError(f"factors file '{source}': key '{name}.year' must be an integer year")
    return Factor(name, numbers["value"], numbers["low"], numbers["high"], table["unit"], table["source"], table["year"])


def central(factors: FactorSet[Factor]) -> FactorSet[float]:
    return FactorSet(**{name: getattr(factors, name).central for name in FACTOR_NAMES})


def low(factors: FactorSet[Factor]) -> FactorSet[float]:
    return FactorSet(**{name: getattr(factors, name).low for name in FACTOR_NAMES})


def high(factors: FactorSet[Factor]) -> FactorSet[float]:
    return FactorSet(**{name: getattr(factors, name).high for name in FACTOR_NAMES})


def draw(factors: FactorSet[Factor], count: int, seed: int) -> FactorSet[np.ndarray]:
    """`count` joint draws, factors independent, each from a two-piece uniform distribution:
    with probability 1/2 uniform on [low, central], else uniform on [central, high].

    Why this shape: its median is the central value (published central estimates are the most
    quoted, not the mean of a known distribution) and it never leaves the published bounds.
    """
    rng = np.random.default_rng(seed)
    values = {}
    for name in FACTOR_NAMES:
        factor: Factor = getattr(factors, name)
        upper_half = rng.random(count) < 0.5
        position = rng.random(count)
        lower_value = factor.low + position * (factor.central - factor.low)
        upper_value = factor.central + position * (factor.high - factor.central)
        values[name] = np.where(upper_half, upper_value, lower_value)
    return FactorSet(**values)


def with_value(values: FactorSet[T], name: str, value: T) -> FactorSet[T]:
    """The same set with one factor changed (used by the sensitivity ranking and by tests)."""
    if name not in FACTOR_NAMES:
        raise KeyError(f"unknown factor '{name}'; known: {', '.join(FACTOR_NAMES)}")
    return replace(values, **{name: value})
